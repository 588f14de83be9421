#ifndef MG_CHAIN_H
#define MG_CHAIN_H

/* What the passdb chain around mailbox_guard must not do to a refusal.
   A refusal drops every routing field and answers either with a final
   failure or with OK + nologin for a login process; two settings of the
   chain could still undo that after the plugin answered: override_fields
   naming a routing field (applied after the answer), and a result_success
   that goes on to the next passdb. Both are fatal at start. */

struct passdb_module;

/* Stops the auth process (i_fatal) when any passdb in Dovecot's chains
   using module is configured in a way that could undo a refusal. */
void mg_chain_check(const struct passdb_module *module);

#endif

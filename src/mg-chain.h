#ifndef MG_CHAIN_H
#define MG_CHAIN_H

/* What the passdb chain around mailbox_guard must not do to a refusal.
   A refusal drops every routing field and answers either with a final
   failure or with OK + nologin for a login process; settings of the chain
   could still undo that or go around it, and are fatal at start:
   - a result_success that goes on to the next passdb after the refusal;
   - a result_failure or result_internalfail that says "ok": a wrong
     password or an LDAP failure would be a success;
   - a result_internalfail that goes on to a later passdb that can answer:
     while LDAP can't tell a custom recipient from a mailbox, that passdb
     would let in one it knows;
   - skip, a mechanisms filter or a username_filter on the mailbox_guard
     passdb while another passdb in the same chain can answer: the logins
     it keeps from mailbox_guard reach that passdb unclassified;
   - on 2.3, override_fields naming a routing field (applied after the
     answer). 2.4 has none: its fields { } are the plugin's to apply,
     before the refusal drops them;
   - on 2.4, use_worker: an auth worker doesn't know the request came
     from an auth-client socket, and answers it as a login process;
   - where a failed password check can't be classified (auth_bind_userdn
     binds before reading the entry), a result_failure that goes on to a
     later passdb that can answer: it would let in a custom recipient it
     knows. Elsewhere a custom recipient's failure is final
     (mg_refusal_unverified()). */

struct passdb_module;
struct auth_passdb;

/* Stops the auth process (i_fatal) when any passdb in Dovecot's chains
   using module is configured in a way that could undo a refusal.
   failure_unclassified: module answers some wrong passwords before it
   knows what the entry is. */
void mg_chain_check(const struct passdb_module *module,
		    bool failure_unclassified);

/* Per release (mg-chain-23.c, mg-chain-24.c): */

/* The passdb's name for the messages. */
const char *mg_chain_passdb_name(const struct auth_passdb *passdb);

/* "key = value" of a setting that keeps some logins from passdb (skip, a
   mechanisms or user name filter), or NULL when it sees every login. */
const char *mg_chain_passdb_narrowing(const struct auth_passdb *passdb);

/* The release's own checks of a mailbox_guard passdb (i_fatal). */
void mg_chain_check_release(const struct auth_passdb *passdb);

#endif

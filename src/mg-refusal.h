#ifndef MG_REFUSAL_H
#define MG_REFUSAL_H

/* Refusing a custom recipient: the reason the client is shown, the
   failure-or-tempfail choice, the answer each kind of client can be
   trusted with, the audit trail, and keeping refusals out of the auth
   cache so that every one of them is decided (and logged) here.

   Only Dovecot's login processes honour nologin; every other client
   (Postfix, Exim, doveadm) takes an OK as a success. So a refusal is
   OK + nologin + reason only for a login process asking for one of its
   own services, and a real, final failure for everyone else. */

#include "passdb.h"

struct auth_passdb;
struct mg_db;
struct mg_lookup_result;

/* Whether the client that sent request is a Dovecot login process asking
   for one of the services those processes serve: the only clients that
   refuse an OK carrying nologin. */
bool mg_refusal_client_honours_nologin(const struct auth_request *request);

/* Marks request as refused (nologin + reason) before its password is
   checked. A client never sees the mark unless the password was right
   (Dovecot drops a failed plaintext lookup's fields). Does nothing with
   audit_only. */
void mg_refusal_mark(struct mg_db *db, struct auth_request *request,
		     const struct mg_lookup_result *lookup);

/* A credentials lookup, where the mechanism checks the password only
   afterwards: the entry's password is replaced by one no client can give,
   so every mechanism fails exactly as for a wrong password and nothing
   shows the kind. Routing fields go; nologin stays for auth-master
   lookups (LMTP and doveadm proxies). Does nothing with audit_only. */
void mg_refusal_credentials(struct mg_db *db, struct auth_request *request);

/* The password was right: writes the refusal's audit trail, drops every
   field but nologin and reason, and returns the passdb result to answer
   with: OK for a login process (the mark refuses it),
   USER_DISABLED (final: no later passdb is asked) for any other client,
   USER_DISABLED as a temporary failure with custom_recipient_result =
   tempfail, or OK without a mark with audit_only. */
enum passdb_result mg_refusal_decide(struct mg_db *db,
				     struct auth_request *request,
				     const struct mg_lookup_result *lookup);

/* The password was not verified (wrong, none, or a scheme that can't
   check it): the result to answer with instead of result, a failure that
   no later passdb can turn into a login and that looks like a wrong
   password to the client. OK, INTERNAL_FAILURE and USER_DISABLED are
   kept. */
enum passdb_result mg_refusal_unverified(struct auth_request *request,
					 enum passdb_result result);

/* Replaces the entry's password on request by one no client can give, so
   whatever Dovecot's auth cache keeps of this lookup can let no one in. */
void mg_refusal_poison(struct auth_request *request);

/* Drops what the auth cache kept of this lookup by passdb, under the name
   Dovecot keyed it by. */
void mg_refusal_uncache(struct auth_request *request,
			struct auth_passdb *passdb);

#endif

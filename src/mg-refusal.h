#ifndef MG_REFUSAL_H
#define MG_REFUSAL_H

/* Refusing a custom recipient: the reason the client is shown, the
   failure-or-tempfail choice, the audit trail, and keeping refusals out of
   the auth cache so that every one of them is decided (and logged) here. */

#include "passdb.h"

struct mg_db;
struct mg_lookup_result;

/* Marks request as refused (nologin + reason) before its password is
   checked. A client never sees the mark unless the password was right
   (Dovecot drops a failed plaintext lookup's fields), but a copy of the
   lookup that reaches the auth cache carries it, so no cached answer can
   let the entry in. Does nothing with audit_only. */
void mg_refusal_mark(struct mg_db *db, struct auth_request *request,
		     const struct mg_lookup_result *lookup);

/* The same for a credentials lookup, where the mechanism checks the
   password only afterwards and a failure reply still carries the other
   fields: only nologin, so a wrong password reveals nothing and a right
   one is refused as a plain authentication failure. */
void mg_refusal_mark_credentials(struct mg_db *db,
				 struct auth_request *request);

/* The password was right: writes the refusal's audit trail and returns
   the passdb result to answer with: OK (the mark refuses it at every login
   service), INTERNAL_FAILURE (custom_recipient_result = tempfail), or OK
   without a mark with audit_only. */
enum passdb_result mg_refusal_decide(struct mg_db *db,
				     struct auth_request *request,
				     const struct mg_lookup_result *lookup);

/* Drops what the auth cache kept of this lookup of a custom recipient.
   cache_key is the passdb's, taken before the answer was given. */
void mg_refusal_uncache(struct auth_request *request, const char *cache_key);

#endif

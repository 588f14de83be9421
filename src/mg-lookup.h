#ifndef MG_LOOKUP_H
#define MG_LOOKUP_H

/* The one LDAP search of a login: expand the filter with the user's name
   escaped, search, pick the entry among duplicates, classify it, and keep
   the answer on the auth request so the userdb of the same login reads it
   instead of searching again. */

#include "mg-classify.h"

struct auth_request;
struct mg_db;
struct mg_entry;

enum mg_lookup_status {
	MG_LOOKUP_FOUND,
	MG_LOOKUP_UNKNOWN,
	MG_LOOKUP_TEMPFAIL,
};

struct mg_lookup_result {
	enum mg_lookup_status status;
	/* with FOUND: the entry (in the request's pool), its kind and the
	   rule that decided it */
	const struct mg_entry *entry;
	enum mg_kind kind;
	const char *rule;
	/* with FOUND among duplicates: how many entries matched and the DNs
	   of those not chosen (in the request's pool), else 0 and NULL */
	unsigned int matched;
	const char *ignored;
	/* with TEMPFAIL: what went wrong, for the log */
	const char *error;
	/* with change_feed: the index names (mg-feed-index.h: entryUUID,
	   objectGUID) of every entry the search returned (NULL-terminated,
	   or NULL when one has neither), the user name the filter was
	   expanded with, and the feed's count of changes when the search
	   was sent (mg-feed.h) */
	const char *const *entry_names;
	const char *search_user;
	unsigned int feed_seq;
};

typedef void mg_lookup_callback_t(const struct mg_lookup_result *result,
				  struct auth_request *request, void *context);

/* Searches with filter_template (pass_filter or user_filter) for request's
   user, under base (%-variables expanded, DN-escaped). The request is
   referenced until callback has run. */
void mg_lookup(struct mg_db *db, struct auth_request *request,
	       const char *filter_template,
	       mg_lookup_callback_t *callback, void *context);
#define mg_lookup(db, request, filter_template, callback, context) \
	mg_lookup(db, request, filter_template - \
		CALLBACK_TYPECHECK(callback, void (*)( \
			const struct mg_lookup_result *, \
			struct auth_request *, typeof(context))), \
		(mg_lookup_callback_t *)callback, context)

/* Reads the entry at dn (a base-scope search) instead of searching with a
   filter: for auth_bind_userdn, where the bind already named the entry. */
void mg_lookup_dn(struct mg_db *db, struct auth_request *request,
		  const char *dn, mg_lookup_callback_t *callback,
		  void *context);
#define mg_lookup_dn(db, request, dn, callback, context) \
	mg_lookup_dn(db, request, dn - \
		CALLBACK_TYPECHECK(callback, void (*)( \
			const struct mg_lookup_result *, \
			struct auth_request *, typeof(context))), \
		(mg_lookup_callback_t *)callback, context)

/* Expands a DN template (auth_bind_userdn) with every %-variable escaped
   as an RFC 4514 attribute value. */
int mg_lookup_expand_dn(struct auth_request *request, const char *template,
			const char **dn_r, const char **error_r);

/* Warns that the search matched more than one entry, when it did. The
   passdb calls it only once the password is verified, so that the log of
   a wrong password does not depend on what the entries are. */
void mg_lookup_warn_duplicates(struct auth_request *request,
			       const struct mg_lookup_result *result);

/* Keeps a found entry on request for the userdb of the same login, under
   the request's current user name (after pass_attrs may have changed it).
   The entry already lives in the request's pool. */
void mg_lookup_save(struct mg_db *db, struct auth_request *request,
		    const struct mg_lookup_result *result);

/* The result mg_lookup_save() kept on this request for its current user
   with the same db, or NULL. */
const struct mg_lookup_result *
mg_lookup_get_saved(struct mg_db *db, struct auth_request *request);

/* auth_request_escape_func_t for %-variables put into LDAP filters. */
const char *mg_lookup_filter_escape(const char *str,
				    const struct auth_request *request);

#endif

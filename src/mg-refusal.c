/* The refusal of a custom recipient. */

/* mg_refusal_uncache() names the cache entry as Dovecot's cache code
   does, which takes the user name from the request's fields */
#define AUTH_REQUEST_FIELDS_CONST

#include "auth-common.h"
#include "array.h"
#include "hex-binary.h"
#include "randgen.h"
#include "auth-request.h"
#include "auth-cache.h"
#include "passdb-cache.h"
#include "mg-compat.h"
#include "mg-config.h"
#include "mg-entry.h"
#include "mg-attrmap.h"
#include "mg-db.h"
#include "mg-lookup.h"
#include "mg-audit.h"
#include "mg-refusal.h"

/* The services of Dovecot's *-login processes, the only clients that
   honour nologin (ManageSieve's is "sieve"). */
static const char *const mg_refusal_login_services[] = {
	"imap", "pop3", "submission", "sieve", NULL
};

/* The only fields a refusal keeps: anything else could route the login
   elsewhere (proxy, host, destuser, ...) or change the result
   (noauthenticate). */
static const char *const mg_refusal_kept_fields[] = {
	"nologin", "reason", NULL
};

static const char *mg_refusal_reason(struct mg_db *db,
				     struct auth_request *request,
				     const struct mg_entry *entry)
{
	const char *reason, *error;

	if (mg_attrmap_expand(request, entry,
			      db->config->custom_recipient_reason, NULL,
			      &reason, &error) < 0) {
		/* Still refuse; only the wording falls back. */
		e_error(authdb_event(request),
			"custom_recipient_reason: %s", error);
		return "The requested mailbox is not available on this server.";
	}
	return reason;
}

/* A password no client can give: what a refused entry leaves in the
   auth cache and hands to non-plaintext mechanisms. */
static const char *mg_refusal_unusable_password(pool_t pool)
{
	unsigned char secret[32];

	random_fill(secret, sizeof(secret));
	return p_strconcat(pool, "{PLAIN}",
			   binary_to_hex(secret, sizeof(secret)), NULL);
}

static void mg_refusal_strip(struct auth_request *request)
{
	const ARRAY_TYPE(auth_field) *fields =
		auth_fields_export(request->fields.extra_fields);
	ARRAY_TYPE(const_string) drop;
	const struct auth_field *field;
	const char *key;

	t_array_init(&drop, 8);
	array_foreach(fields, field) {
		if (!str_array_find(mg_refusal_kept_fields, field->key)) {
			key = t_strdup(field->key);
			array_push_back(&drop, &key);
		}
	}
	array_foreach_elem(&drop, key)
		auth_fields_remove(request->fields.extra_fields, key);
	if (request->fields.userdb_reply != NULL)
		auth_fields_reset(request->fields.userdb_reply);
	/* A field's failed check (fail, allow_nets) makes Dovecot turn this
	   passdb's OK into "user unknown" and ask the next passdb, whose OK
	   would then let the custom recipient in: the refusal is the answer
	   and it is final. */
	request->failed = FALSE;
}

bool mg_refusal_client_honours_nologin(const struct auth_request *request)
{
	/* auth_only: the client is not a login process (the auth-client
	   socket Postfix, Exim and doveadm auth test use); a login socket
	   asking for another service is not one either */
	return !request->auth_only &&
		str_array_find(mg_refusal_login_services,
			       mg_request_service(request));
}

void mg_refusal_mark(struct mg_db *db, struct auth_request *request,
		     const struct mg_lookup_result *lookup)
{
	if (db->config->audit_only)
		return;
	auth_request_set_field(request, "nologin", "y", NULL);
	auth_request_set_field(request, "reason",
			       mg_refusal_reason(db, request, lookup->entry),
			       NULL);
}

void mg_refusal_poison(struct auth_request *request)
{
	request->passdb_password = (char *)
		mg_refusal_unusable_password(request->pool);
}

void mg_refusal_credentials(struct mg_db *db, struct auth_request *request)
{
	if (db->config->audit_only)
		return;
	mg_refusal_strip(request);
	auth_request_set_field(request, "nologin", "y", NULL);
	mg_refusal_poison(request);
}

enum passdb_result mg_refusal_decide(struct mg_db *db,
				     struct auth_request *request,
				     const struct mg_lookup_result *lookup)
{
	const struct mg_config *config = db->config;

	if (config->audit_only) {
		mg_audit_refused(db, request, lookup, "audit_only");
		return PASSDB_RESULT_OK;
	}
	mg_refusal_strip(request);
	if (config->custom_recipient_result == MG_REFUSAL_TEMPFAIL) {
		mg_audit_refused(db, request, lookup, "tempfail");
		/* A real temporary failure that is also final: an
		   INTERNAL_FAILURE result would go on to the next passdb
		   and to Dovecot's expired cache entries, either of which
		   could answer OK. */
		request->internal_failure = TRUE;
		return PASSDB_RESULT_USER_DISABLED;
	}
	mg_audit_refused(db, request, lookup, "failure");
	if (mg_refusal_client_honours_nologin(request))
		return PASSDB_RESULT_OK;
	/* Postfix, Exim, doveadm: they take any OK as a success */
	return PASSDB_RESULT_USER_DISABLED;
}

enum passdb_result mg_refusal_unverified(struct auth_request *request,
					enum passdb_result result)
{
	if (result == PASSDB_RESULT_OK ||
	    result == PASSDB_RESULT_INTERNAL_FAILURE ||
	    result == PASSDB_RESULT_USER_DISABLED)
		return result;
	/* A later passdb asked after this failure (result_failure =
	   continue, Dovecot's default) and knowing the name with a password
	   of its own would let the custom recipient in: a disabled user
	   ends the chain. Dovecot keeps a disabled user's fields in the
	   reply, so they go as a failure's would, and without a reason the
	   client sees a wrong password's text. */
	auth_fields_rollback(request->fields.extra_fields);
	if (request->fields.userdb_reply != NULL)
		auth_fields_rollback(request->fields.userdb_reply);
	return PASSDB_RESULT_USER_DISABLED;
}

void mg_refusal_uncache(struct auth_request *request,
			struct auth_passdb *passdb)
{
	struct auth_passdb *current_passdb = request->passdb;
	char *user = request->fields.user;

	if (passdb_cache == NULL || passdb->cache_key == NULL)
		return;
	/* Dovecot keyed the entry by this passdb and by the user name
	   before pass_attrs changed it; by now the request may have moved
	   on to the next passdb and carry the new name. */
	request->passdb = passdb;
	if (request->fields.translated_username != NULL) {
		request->fields.user =
			t_strdup_noconst(request->fields.translated_username);
	}
	auth_cache_remove(passdb_cache, request, passdb->cache_key);
	request->fields.user = user;
	auth_cache_remove(passdb_cache, request, passdb->cache_key);
	request->passdb = current_passdb;
}

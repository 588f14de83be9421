/* The refusal of a custom recipient. */

#include "auth-common.h"
#include "auth-request.h"
#include "auth-cache.h"
#include "passdb-cache.h"
#include "mg-config.h"
#include "mg-entry.h"
#include "mg-attrmap.h"
#include "mg-db.h"
#include "mg-lookup.h"
#include "mg-audit.h"
#include "mg-refusal.h"

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

void mg_refusal_mark_credentials(struct mg_db *db,
				 struct auth_request *request)
{
	if (!db->config->audit_only)
		auth_request_set_field(request, "nologin", "y", NULL);
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
	if (config->custom_recipient_result == MG_REFUSAL_TEMPFAIL) {
		mg_audit_refused(db, request, lookup, "tempfail");
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	mg_audit_refused(db, request, lookup, "failure");
	return PASSDB_RESULT_OK;
}

void mg_refusal_uncache(struct auth_request *request, const char *cache_key)
{
	if (passdb_cache != NULL && cache_key != NULL)
		auth_cache_remove(passdb_cache, request, cache_key);
}

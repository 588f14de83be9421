/* passdb mailbox_guard: one login, from the search to the answer.

   The password is verified before anything about the entry's kind shows:
   a wrong password, or an entry that has none, looks the same to the
   client whether the entry is a mailbox or a custom recipient (only a
   custom recipient's failure ends the passdb chain, so that no later
   passdb lets it in by a password of its own). Only then is a custom
   recipient refused, as a failure or a temporary failure, as configured,
   in the form the asking client honours (mg-refusal.h). Nothing about a
   custom recipient stays in the auth cache, so every refusal is decided,
   and logged, here. */

#include "auth-common.h"
#include "passdb.h"
#include "password-scheme.h"
#include "auth-cache.h"
#include "mg-compat.h"
#include "mg-config.h"
#include "mg-entry.h"
#include "mg-ldap.h"
#include "mg-db.h"
#include "mg-settings-release.h"
#include "mg-fields.h"
#include "mg-lookup.h"
#include "mg-refusal.h"
#include "mg-feed.h"
#include "mg-audit.h"
#include "mg-chain.h"
#include "mailbox-guard.h"

struct mg_passdb_module {
	struct passdb_module module;
	struct mg_db *db;
};

struct mg_passdb_request {
	struct mg_db *db;
	struct auth_request *request;
	/* auth_bind_userdn: the bind came first and verified the password */
	const char *bound_dn;
	struct mg_lookup_result lookup;
	/* this passdb in the request's chain, for dropping a custom
	   recipient's cache entry once the request has moved on */
	struct auth_passdb *auth_passdb;
	verify_plain_callback_t *verify_plain;
	lookup_credentials_callback_t *lookup_credentials;
};

static struct mg_db *mg_passdb_db(struct auth_request *request)
{
	return ((struct mg_passdb_module *)request->passdb->passdb)->db;
}

/* Sets the passdb fields, then keeps the entry for this login's
   userdb under the user name they may have changed. */
static bool mg_passdb_apply_attrs(struct mg_passdb_request *preq,
				  struct auth_request *request)
{
	const char *error;

	if (mg_fields_passdb(preq->db, request, preq->lookup.entry,
			     &error) < 0) {
		e_error(authdb_event(request), "%s", mg_log_safe(error));
		return FALSE;
	}
	mg_lookup_save(preq->db, request, &preq->lookup);
	return TRUE;
}

static bool mg_passdb_is_custom(const struct mg_passdb_request *preq)
{
	return preq->lookup.status == MG_LOOKUP_FOUND &&
		preq->lookup.kind == MG_KIND_CUSTOM_RECIPIENT;
}

/* Answers. The request (and preq in its pool) is kept alive across the
   callback, which may be its last user, so that a custom recipient's
   cache entry can go after Dovecot wrote it. */
static void mg_passdb_finish(struct mg_passdb_request *preq,
			     struct auth_request *request,
			     enum passdb_result result)
{
	bool custom = mg_passdb_is_custom(preq);
	const char *key;

	auth_request_ref(request);
	if (custom && !preq->db->config->audit_only) {
		mg_refusal_poison(request);
		result = mg_refusal_unverified(request, result);
	}
	key = mg_feed_key(preq->db->feed, request, FALSE);
	preq->verify_plain(result, request);
	if (custom)
		mg_refusal_uncache(request, preq->auth_passdb);
	else
		mg_feed_cached(preq->db->feed, key, &preq->lookup);
	auth_request_unref(&request);
}

/* The password is right: a mailbox logs in, a custom recipient is
   refused. */
static void mg_passdb_verified(struct mg_passdb_request *preq,
			       struct auth_request *request)
{
	enum passdb_result result = PASSDB_RESULT_OK;

	/* only now: a wrong password's log must not depend on the entries */
	mg_lookup_warn_duplicates(request, &preq->lookup);
	mg_audit_validated(preq->db, request, &preq->lookup);
	if (mg_passdb_is_custom(preq))
		result = mg_refusal_decide(preq->db, request, &preq->lookup);
	mg_passdb_finish(preq, request, result);
}

static void mg_passdb_lookup_callback(const struct mg_lookup_result *result,
				      struct auth_request *request,
				      struct mg_passdb_request *preq);

static void mg_passdb_bind_callback(enum mg_ldap_result result,
				    const char *error,
				    struct mg_passdb_request *preq)
{
	struct auth_request *request = preq->request;

	switch (result) {
	case MG_LDAP_RESULT_OK:
		if (preq->bound_dn != NULL) {
			/* the one search of this login: the bound entry */
			mg_lookup_dn(preq->db, request, preq->bound_dn,
				     mg_passdb_lookup_callback, preq);
		} else {
			mg_passdb_verified(preq, request);
		}
		break;
	case MG_LDAP_RESULT_INVALID_CREDENTIALS:
		mg_log_password_mismatch(request);
		mg_passdb_finish(preq, request, PASSDB_RESULT_PASSWORD_MISMATCH);
		break;
	case MG_LDAP_RESULT_TEMPFAIL:
		e_error(authdb_event(request), "%s", mg_log_safe(error));
		mg_passdb_finish(preq, request, PASSDB_RESULT_INTERNAL_FAILURE);
		break;
	}
	auth_request_unref(&request);
}

/* auth_bind = yes: the directory checks the password, on a connection of
   its own so lookups never wait behind users' binds. */
static void mg_passdb_verify_bind(struct mg_passdb_request *preq,
				  struct auth_request *request)
{
	preq->request = request;
	auth_request_ref(request);
	mg_ldap_bind(preq->db->ldap, request->pool, preq->lookup.entry->dn,
		     request->mech_password, mg_passdb_bind_callback, preq);
}

static void mg_passdb_verify_password(struct mg_passdb_request *preq,
				      struct auth_request *request)
{
	const char *password = request->passdb_password, *scheme;
	enum passdb_result result;

	if (password == NULL) {
		/* The usual AD contact: no credentials. Say exactly what a
		   wrong password says. */
		mg_log_password_mismatch(request);
		mg_passdb_finish(preq, request, PASSDB_RESULT_PASSWORD_MISMATCH);
		return;
	}
	password = t_strdup(password);
	scheme = password_get_scheme(&password);
	result = mg_password_verify(request, request->mech_password,
				    password, scheme);
	if (result != PASSDB_RESULT_OK) {
		mg_passdb_finish(preq, request, result);
		return;
	}
	mg_passdb_verified(preq, request);
}

static void mg_passdb_lookup_callback(const struct mg_lookup_result *result,
				      struct auth_request *request,
				      struct mg_passdb_request *preq)
{
	preq->lookup = *result;
	switch (result->status) {
	case MG_LOOKUP_TEMPFAIL:
		e_error(authdb_event(request), "%s",
			mg_log_safe(result->error));
		mg_audit_other(request, "unknown", "tempfail");
		mg_passdb_finish(preq, request, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	case MG_LOOKUP_UNKNOWN:
		if (preq->bound_dn != NULL) {
			/* The password was right, but what the entry is
			   can't be told: never let it in unclassified. */
			e_error(authdb_event(request), "bound as %s but can't "
				"read that entry", mg_log_safe(preq->bound_dn));
			mg_passdb_finish(preq, request,
					 PASSDB_RESULT_INTERNAL_FAILURE);
			return;
		}
		mg_log_unknown_user(request);
		mg_audit_other(request, "unknown", "user_unknown");
		mg_passdb_finish(preq, request, PASSDB_RESULT_USER_UNKNOWN);
		return;
	case MG_LOOKUP_FOUND:
		break;
	}
	if (!mg_passdb_apply_attrs(preq, request)) {
		mg_passdb_finish(preq, request, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	if (mg_passdb_is_custom(preq))
		mg_refusal_mark(preq->db, request, &preq->lookup);
	/* skip_password_check: a master user already proved who they are,
	   or an earlier passdb verified the password */
	if (preq->bound_dn != NULL || request->fields.skip_password_check)
		mg_passdb_verified(preq, request);
	else if (preq->db->config->auth_bind)
		mg_passdb_verify_bind(preq, request);
	else
		mg_passdb_verify_password(preq, request);
}

/* auth_bind_userdn: bind as the DN the template names, then read that
   entry; no filter search at all. */
static void mg_passdb_bind_userdn(struct mg_passdb_request *preq,
				  struct auth_request *request)
{
	const char *dn, *error;

	if (mg_lookup_expand_dn(request, preq->db->config->auth_bind_userdn,
				&dn, &error) < 0) {
		e_error(authdb_event(request), "auth_bind_userdn: %s",
			mg_log_safe(error));
		mg_passdb_finish(preq, request, PASSDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	preq->bound_dn = p_strdup(request->pool, dn);
	preq->request = request;
	auth_request_ref(request);
	mg_ldap_bind(preq->db->ldap, request->pool, preq->bound_dn,
		     request->mech_password, mg_passdb_bind_callback, preq);
}

static void mg_passdb_verify_plain(struct auth_request *request,
				   const char *password ATTR_UNUSED,
				   verify_plain_callback_t *callback)
{
	struct mg_passdb_request *preq;

	preq = p_new(request->pool, struct mg_passdb_request, 1);
	preq->db = mg_passdb_db(request);
	preq->auth_passdb = request->passdb;
	preq->verify_plain = callback;
	if (preq->db->config->auth_bind_userdn != NULL &&
	    !request->fields.skip_password_check) {
		mg_passdb_bind_userdn(preq, request);
		return;
	}
	mg_lookup(preq->db, request, preq->db->config->pass_filter,
		  mg_passdb_lookup_callback, preq);
}

static void
mg_passdb_credentials_callback(const struct mg_lookup_result *result,
			       struct auth_request *request,
			       struct mg_passdb_request *preq)
{
	enum passdb_result passdb_result = PASSDB_RESULT_OK;
	const char *password = NULL, *scheme = NULL, *key;

	preq->lookup = *result;
	switch (result->status) {
	case MG_LOOKUP_TEMPFAIL:
		e_error(authdb_event(request), "%s",
			mg_log_safe(result->error));
		mg_audit_other(request, "unknown", "tempfail");
		passdb_result = PASSDB_RESULT_INTERNAL_FAILURE;
		break;
	case MG_LOOKUP_UNKNOWN:
		mg_log_unknown_user(request);
		mg_audit_other(request, "unknown", "user_unknown");
		passdb_result = PASSDB_RESULT_USER_UNKNOWN;
		break;
	case MG_LOOKUP_FOUND:
		if (!mg_passdb_apply_attrs(preq, request)) {
			passdb_result = PASSDB_RESULT_INTERNAL_FAILURE;
			break;
		}
		/* The mechanism verifies the password after this, so a
		   custom recipient fails as a wrong password does, even
		   with custom_recipient_result = tempfail: any other answer
		   given now, before the password is checked, would tell
		   anyone what the entry is. For the same reason no audit
		   line is written here. */
		if (mg_passdb_is_custom(preq))
			mg_refusal_credentials(preq->db, request);
		if (request->passdb_password != NULL) {
			password = t_strdup(request->passdb_password);
			scheme = password_get_scheme(&password);
		}
		break;
	}
	auth_request_ref(request);
	key = mg_feed_key(preq->db->feed, request, FALSE);
	passdb_handle_credentials(passdb_result, password, scheme,
				  preq->lookup_credentials, request);
	if (mg_passdb_is_custom(preq))
		mg_refusal_uncache(request, preq->auth_passdb);
	else
		mg_feed_cached(preq->db->feed, key, &preq->lookup);
	auth_request_unref(&request);
}

static void
mg_passdb_lookup_credentials(struct auth_request *request,
			     lookup_credentials_callback_t *callback)
{
	struct mg_passdb_request *preq;

	preq = p_new(request->pool, struct mg_passdb_request, 1);
	preq->db = mg_passdb_db(request);
	preq->auth_passdb = request->passdb;
	preq->lookup_credentials = callback;
	mg_lookup(preq->db, request, preq->db->config->pass_filter,
		  mg_passdb_credentials_callback, preq);
}

#if DOVECOT_PREREQ(2, 4, 0)
/* 2.4: the settings are dovecot.conf's (mg-settings-24.h) */
static int mg_passdb_preinit(pool_t pool, struct event *event,
			     struct passdb_module **module_r,
			     const char **error_r)
{
	struct mg_passdb_module *module;
	const struct mg_config *config;

	module = p_new(pool, struct mg_passdb_module, 1);
	module->db = mg_db_get_settings(event, MG_SETTINGS_PASSDB, error_r);
	if (module->db == NULL)
		return -1;
	config = module->db->config;
	module->module.default_cache_key = mg_settings_cache_key(pool, event,
		MG_SETTINGS_PASSDB,
		t_strconcat(config->base, config->pass_filter,
			    config->custom_recipient_reason, NULL), error_r);
	if (module->module.default_cache_key == NULL) {
		mg_db_unref(&module->db);
		return -1;
	}
	*module_r = &module->module;
	return 0;
}
#else
/* 2.3: args is the settings file (mg-settings.h) */
static struct passdb_module *mg_passdb_preinit(pool_t pool, const char *args)
{
	struct mg_passdb_module *module;
	const struct mg_config *config;

	module = p_new(pool, struct mg_passdb_module, 1);
	module->db = mg_db_get(args);
	config = module->db->config;
	module->module.default_cache_key = auth_cache_parse_key(pool,
		t_strconcat(config->base, config->pass_attrs,
			    config->pass_filter,
			    config->custom_recipient_reason, NULL));
	module->module.default_pass_scheme = config->default_pass_scheme;
	return &module->module;
}
#endif

static void mg_passdb_init(struct passdb_module *_module)
{
	struct mg_passdb_module *module = (struct mg_passdb_module *)_module;

	/* auth_bind_userdn: a wrong password fails the bind before the
	   entry is read, so its failure can't be told to be a custom
	   recipient's */
	mg_chain_check(_module, module->db->config->auth_bind_userdn != NULL);
	mg_feed_start_delayed(module->db->feed);
}

static void mg_passdb_deinit(struct passdb_module *_module)
{
	struct mg_passdb_module *module = (struct mg_passdb_module *)_module;

	mg_db_shutdown(module->db);
	mg_db_unref(&module->db);
}

struct passdb_module_interface passdb_mailbox_guard = {
	.name = "mailbox_guard",
	.preinit = mg_passdb_preinit,
	.init = mg_passdb_init,
	.deinit = mg_passdb_deinit,
	.verify_plain = mg_passdb_verify_plain,
	.lookup_credentials = mg_passdb_lookup_credentials,
};

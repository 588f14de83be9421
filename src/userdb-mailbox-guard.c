/* userdb mailbox_guard: the fields of a mailbox user; "user unknown" for a
   custom recipient, so LMTP and doveadm see no mailbox where there is
   none. During a login it reads the entry the passdb already found. */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "userdb.h"
#include "auth-cache.h"
#include "mg-compat.h"
#include "mg-config.h"
#include "mg-entry.h"
#include "mg-ldap.h"
#include "mg-db.h"
#include "mg-settings-release.h"
#include "mg-fields.h"
#include "mg-lookup.h"
#include "mg-audit.h"
#include "mg-feed.h"
#include "mailbox-guard.h"

struct mg_userdb_module {
	struct userdb_module module;
	struct mg_db *db;
};

struct mg_userdb_request {
	struct mg_db *db;
	userdb_callback_t *callback;
};

struct mg_userdb_iterate_context {
	struct userdb_iterate_context ctx;
	struct mg_db *db;
	struct mg_entry *const *entries;
	unsigned int count, next;
	bool done, next_wanted, deinitialized;
};

static struct mg_db *mg_userdb_db(struct auth_request *request)
{
	return ((struct mg_userdb_module *)request->userdb->userdb)->db;
}

/* during_login: the passdb of this same login found the entry, so with
   audit_only the custom recipient it let in gets its mailbox; outside a
   login (LMTP, doveadm) it never does. */
static enum userdb_result
mg_userdb_result(struct mg_db *db, struct auth_request *request,
		 const struct mg_lookup_result *result, bool during_login)
{
	const char *error;

	switch (result->status) {
	case MG_LOOKUP_TEMPFAIL:
		e_error(authdb_event(request), "%s",
			mg_log_safe(result->error));
		return USERDB_RESULT_INTERNAL_FAILURE;
	case MG_LOOKUP_UNKNOWN:
		mg_log_unknown_user(request);
		return USERDB_RESULT_USER_UNKNOWN;
	case MG_LOOKUP_FOUND:
		break;
	}
	if (result->kind == MG_KIND_CUSTOM_RECIPIENT) {
		if (!db->config->audit_only || !during_login) {
			e_info(authdb_event(request), "%s is a custom "
			       "recipient (rule %s): no mailbox here",
			       mg_log_safe(result->entry->dn), result->rule);
			return USERDB_RESULT_USER_UNKNOWN;
		}
		e_info(authdb_event(request), "%s is a custom recipient "
		       "(rule %s), served anyway: audit_only = yes",
		       mg_log_safe(result->entry->dn), result->rule);
	}
	mg_init_userdb_reply(request);
	if (mg_fields_userdb(db, request, result->entry, &error) < 0) {
		e_error(authdb_event(request), "%s", error);
		return USERDB_RESULT_INTERNAL_FAILURE;
	}
	return USERDB_RESULT_OK;
}

/* Answers, and tells the change feed which key holds the answer. */
static void mg_userdb_answer(struct mg_db *db, struct auth_request *request,
			     const struct mg_lookup_result *result,
			     bool during_login, userdb_callback_t *callback)
{
	enum userdb_result userdb_result =
		mg_userdb_result(db, request, result, during_login);
	const char *key = mg_feed_key(db->feed, request, TRUE);

	auth_request_ref(request);
	callback(userdb_result, request);
	mg_feed_cached(db->feed, key, result);
	auth_request_unref(&request);
}

static void mg_userdb_lookup_callback(const struct mg_lookup_result *result,
				      struct auth_request *request,
				      struct mg_userdb_request *ureq)
{
	mg_lookup_warn_duplicates(request, result);
	mg_userdb_answer(ureq->db, request, result, FALSE, ureq->callback);
}

static void mg_userdb_lookup(struct auth_request *request,
			     userdb_callback_t *callback)
{
	struct mg_db *db = mg_userdb_db(request);
	const struct mg_lookup_result *saved;
	struct mg_userdb_request *ureq;

	saved = mg_lookup_get_saved(db, request);
	if (saved != NULL) {
		e_debug(authdb_event(request),
			"using the entry the passdb found: %s",
			mg_log_safe(saved->entry->dn));
		mg_userdb_answer(db, request, saved, TRUE, callback);
		return;
	}
	ureq = p_new(request->pool, struct mg_userdb_request, 1);
	ureq->db = db;
	ureq->callback = callback;
	mg_lookup(db, request, db->config->user_filter,
		  mg_userdb_lookup_callback, ureq);
}

static void mg_userdb_iterate_search_callback(enum mg_ldap_result result,
					      struct mg_entry *const *entries,
					      unsigned int count,
					      const char *error,
					      struct mg_userdb_iterate_context *ctx)
{
	struct auth_request *request = ctx->ctx.auth_request;

	if (ctx->deinitialized) {
		auth_request_unref(&request);
		return;
	}
	/* the search's own reference; the context's stays until deinit */
	auth_request_unref(&request);
	request = ctx->ctx.auth_request;
	if (result != MG_LDAP_RESULT_OK) {
		e_error(authdb_event(request), "iterate: %s", error);
		ctx->ctx.failed = TRUE;
	}
	ctx->entries = entries;
	ctx->count = count;
	ctx->done = TRUE;
	if (ctx->next_wanted)
		userdb_mailbox_guard.iterate_next(&ctx->ctx);
}

static struct userdb_iterate_context *
mg_userdb_iterate_init(struct auth_request *request,
		       userdb_iter_callback_t *callback, void *context)
{
	struct mg_userdb_iterate_context *ctx;
	struct mg_ldap_search search;
	struct mg_db *db = mg_userdb_db(request);
	string_t *filter = t_str_new(128);
	const char *error;

	ctx = p_new(request->pool, struct mg_userdb_iterate_context, 1);
	ctx->ctx.auth_request = request;
	ctx->ctx.callback = callback;
	ctx->ctx.context = context;
	ctx->db = db;
	auth_request_ref(request);

	if (!MG_VAR_EXPAND_OK(auth_request_var_expand(filter,
			db->config->iterate_filter, request,
			mg_lookup_filter_escape, &error))) {
		e_error(authdb_event(request), "iterate_filter: %s", error);
		ctx->ctx.failed = TRUE;
		ctx->done = TRUE;
		return &ctx->ctx;
	}
	i_zero(&search);
	search.base = db->config->base;
	search.scope = (int)db->config->scope;
	search.filter = str_c(filter);
	search.attrs = db->iterate_search_attrs;
	search.page_size = db->config->iterate_page_size;
	auth_request_ref(request);
	mg_ldap_search(db->ldap, request->pool, &search,
		       mg_userdb_iterate_search_callback, ctx);
	return &ctx->ctx;
}

static void mg_userdb_set_user(struct auth_request *request ATTR_UNUSED,
			       const char *field, const char *const *values,
			       const char **user_r)
{
	if (strcmp(field, "user") == 0)
		*user_r = values[0];
}

/* The user name of a mailbox entry, or NULL for anything else. */
static const char *
mg_userdb_iterate_user(struct mg_userdb_iterate_context *ctx,
		       const struct mg_entry *entry)
{
	struct auth_request *request = ctx->ctx.auth_request;
	struct mg_entry_view view;
	const char *rule, *user = NULL, *error;

	mg_entry_view_init(&view, entry);
	if (mg_classify(ctx->db->config->classifier, &view, &rule) !=
	    MG_KIND_MAILBOX)
		return NULL;
	if (mg_attrmap_apply(&ctx->db->iterate_attrs, request, entry,
			     mg_userdb_set_user, &user, &error) < 0) {
		e_error(authdb_event(request), "iterate_attrs: %s", error);
		return NULL;
	}
	return user;
}

static void mg_userdb_iterate_next(struct userdb_iterate_context *_ctx)
{
	struct mg_userdb_iterate_context *ctx =
		(struct mg_userdb_iterate_context *)_ctx;

	if (!ctx->done) {
		ctx->next_wanted = TRUE;
		return;
	}
	ctx->next_wanted = FALSE;
	while (ctx->next < ctx->count) {
		const char *user;

		T_BEGIN {
			user = mg_userdb_iterate_user(ctx,
					ctx->entries[ctx->next++]);
			if (user != NULL)
				_ctx->callback(user, _ctx->context);
		} T_END;
		if (user != NULL)
			return;
	}
	_ctx->callback(NULL, _ctx->context);
}

static int mg_userdb_iterate_deinit(struct userdb_iterate_context *_ctx)
{
	struct mg_userdb_iterate_context *ctx =
		(struct mg_userdb_iterate_context *)_ctx;
	struct auth_request *request = ctx->ctx.auth_request;
	int ret = _ctx->failed ? -1 : 0;

	ctx->deinitialized = TRUE;
	auth_request_unref(&request);
	return ret;
}

#if DOVECOT_PREREQ(2, 4, 0)
/* 2.4: the settings are dovecot.conf's (mg-settings-24.h) */
static int mg_userdb_preinit(pool_t pool, struct event *event,
			     struct userdb_module **module_r,
			     const char **error_r)
{
	struct mg_userdb_module *module;
	const struct mg_config *config;

	module = p_new(pool, struct mg_userdb_module, 1);
	module->db = mg_db_get_settings(event, MG_SETTINGS_USERDB, error_r);
	if (module->db == NULL)
		return -1;
	config = module->db->config;
	module->module.default_cache_key = mg_settings_cache_key(pool, event,
		MG_SETTINGS_USERDB,
		t_strconcat(config->base, config->user_filter, NULL), error_r);
	if (module->module.default_cache_key == NULL) {
		mg_db_unref(&module->db);
		return -1;
	}
	*module_r = &module->module;
	return 0;
}
#else
/* 2.3: args is the settings file (mg-settings.h) */
static struct userdb_module *mg_userdb_preinit(pool_t pool, const char *args)
{
	struct mg_userdb_module *module;
	const struct mg_config *config;

	module = p_new(pool, struct mg_userdb_module, 1);
	module->db = mg_db_get(args);
	config = module->db->config;
	module->module.default_cache_key = auth_cache_parse_key(pool,
		t_strconcat(config->base, config->user_attrs,
			    config->user_filter, NULL));
	return &module->module;
}
#endif

static void mg_userdb_deinit(struct userdb_module *_module)
{
	struct mg_userdb_module *module = (struct mg_userdb_module *)_module;

	mg_db_shutdown(module->db);
	mg_db_unref(&module->db);
}

struct userdb_module_interface userdb_mailbox_guard = {
	.name = "mailbox_guard",
	.preinit = mg_userdb_preinit,
	.deinit = mg_userdb_deinit,
	.lookup = mg_userdb_lookup,
	.iterate_init = mg_userdb_iterate_init,
	.iterate_next = mg_userdb_iterate_next,
	.iterate_deinit = mg_userdb_iterate_deinit,
};

/* Dovecot 2.4: the passdb and userdb fields { } blocks, expanded with
   the request's variables and the found entry's attributes as
   %{ldap:attr} (the first value) and %{ldap_multi:attr} (all,
   comma-separated), as 2.4's LDAP driver names them; %{ldap:dn} is the
   entry's DN. Field by field: a field naming an attribute the entry
   lacks is not set, as with 2.3's pass_attrs and user_attrs (the usual AD
   contact has no userPassword: it must get what a wrong password gets,
   not a tempfail, which is what one expansion of the whole block gives). */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "var-expand.h"
#include "settings.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "auth-request-var-expand.h"
#include "mg-escape.h"
#include "mg-entry.h"
#include "mg-db.h"
#include "mg-attrmap.h"
#include "mg-fields.h"

struct mg_fields_context {
	const struct mg_entry *entry;
	/* an expansion failed because the entry lacks an attribute */
	bool missing;
};

/* The expansion under way. Dovecot's own providers (%{passdb:...}, ...)
   take the request's context, which is private to Dovecot: ours finds
   its entry here instead (var_expand() runs synchronously). */
static struct mg_fields_context *mg_fields_current;

static int mg_fields_ldap(const char *data, const char **value_r,
			  void *context ATTR_UNUSED, bool multi,
			  const char **error_r)
{
	struct mg_fields_context *ctx = mg_fields_current;
	const struct mg_entry *entry = ctx->entry;
	const char *const *values;

	if (strcasecmp(data, "dn") == 0) {
		*value_r = entry->dn;
		return 0;
	}
	values = mg_entry_get(entry, data);
	if (values == NULL || values[0] == NULL) {
		/* as 2.4's LDAP driver: "| default" gives a fallback */
		ctx->missing = TRUE;
		*error_r = t_strdup_printf("No such attribute '%s'", data);
		return -1;
	}
	*value_r = multi ? t_strarray_join(values, ",") : values[0];
	return 0;
}

static int mg_fields_ldap_single(const char *data, const char **value_r,
				 void *context, const char **error_r)
{
	return mg_fields_ldap(data, value_r, context, FALSE, error_r);
}

static int mg_fields_ldap_multi(const char *data, const char **value_r,
				void *context, const char **error_r)
{
	return mg_fields_ldap(data, value_r, context, TRUE, error_r);
}

static const struct var_expand_provider mg_fields_providers[] = {
	{ .key = "ldap", .func = mg_fields_ldap_single },
	{ .key = "ldap_multi", .func = mg_fields_ldap_multi },
	VAR_EXPAND_TABLE_END
};

/* The request's variables and providers, as Dovecot's settings expand
   them for this request. */
static void mg_fields_request_params(struct auth_request *request,
				     struct var_expand_params *params_r)
{
	struct event *event;

	for (event = authdb_event(request); event != NULL;
	     event = event_get_parent(event)) {
		settings_var_expand_t *callback =
			event_get_ptr(event, SETTINGS_EVENT_VAR_EXPAND_CALLBACK);

		if (callback != NULL) {
			callback(event_get_ptr(event,
				SETTINGS_EVENT_VAR_EXPAND_CALLBACK_CONTEXT),
				params_r);
			return;
		}
	}
	params_r->table = auth_request_get_var_expand_table(request);
}

static int mg_fields_expand(struct auth_request *request,
			    struct mg_fields_context *ctx,
			    const char *template, const char **value_r,
			    const char **error_r)
{
	struct var_expand_params request_params = { .table = NULL };
	string_t *str = t_str_new(128);
	int ret;

	mg_fields_request_params(request, &request_params);
	const struct var_expand_table *const tables[] = {
		request_params.table, NULL
	};
	const struct var_expand_provider *const providers[] = {
		mg_fields_providers,
		request_params.providers != NULL ?
			request_params.providers : mg_fields_providers,
		NULL
	};
	const struct var_expand_params params = {
		.tables_arr = tables,
		.providers_arr = providers,
		.context = request_params.context,
		.event = authdb_event(request),
	};

	i_assert(mg_fields_current == NULL);
	mg_fields_current = ctx;
	ret = var_expand(str, template, &params, error_r);
	mg_fields_current = NULL;
	if (ret < 0)
		return -1;
	*value_r = str_c(str);
	return 0;
}

/* custom_recipient_reason and userdb_mailbox_guard_iterate_fields: the
   request's variables and the entry's attributes (2.4 has no %$: value
   is unused). */
int mg_attrmap_expand(struct auth_request *request,
		      const struct mg_entry *entry, const char *template,
		      const char *value ATTR_UNUSED, const char **value_r,
		      const char **error_r)
{
	struct mg_fields_context ctx = { .entry = entry };

	return mg_fields_expand(request, &ctx, template, value_r, error_r);
}

/* The fields { } block of the request's passdb (passdb = TRUE) or
   userdb, set on the request. */
static int mg_fields_apply(struct auth_request *request,
			   const struct mg_entry *entry, bool passdb,
			   const char *what, const char **error_r)
{
	const struct setting_parser_info *info = passdb ?
		&auth_passdb_post_setting_parser_info :
		&auth_userdb_post_setting_parser_info;
	/* both post structs start with pool, then fields */
	const struct auth_passdb_post_settings *post;
	const char *const *fields, *value, *error;
	unsigned int i, count;
	int ret = 0;

	if (settings_get(authdb_event(request), info,
			 SETTINGS_GET_FLAG_NO_CHECK | SETTINGS_GET_FLAG_NO_EXPAND,
			 &post, &error) < 0) {
		*error_r = t_strdup_printf("%s: %s", what, error);
		return -1;
	}
	fields = array_is_created(&post->fields) ?
		array_get(&post->fields, &count) : NULL;
	if (fields == NULL)
		count = 0;
	for (i = 0; i + 1 < count && ret == 0; i += 2) {
		struct mg_fields_context ctx = { .entry = entry };

		if (mg_fields_expand(request, &ctx, fields[i + 1], &value,
				     &error) < 0) {
			if (ctx.missing)
				continue;
			*error_r = t_strdup_printf("%s: %s: %s", what,
						   fields[i], error);
			ret = -1;
		} else if (mg_attrmap_check_rename(fields[i], value,
						   &error) < 0) {
			/* before Dovecot logs the rename */
			*error_r = t_strdup_printf("%s: %s", what, error);
			ret = -1;
		} else if (passdb) {
			auth_request_set_field(request, fields[i], value,
				request->passdb->set->default_password_scheme);
		} else {
			auth_request_set_userdb_field(request, fields[i], value);
		}
	}
	settings_free(post);
	return ret;
}

/* A rename by the fields must not give a name Dovecot would log as it
   is. */
static int mg_fields_check_user(struct auth_request *request,
				const char *old_user, const char *what,
				const char **error_r)
{
	if (strcmp(old_user, request->fields.user) == 0 ||
	    mg_escape_is_log_safe(request->fields.user))
		return 0;
	*error_r = t_strdup_printf("%s: the user name it sets holds control "
				   "characters or invalid UTF-8", what);
	return -1;
}

int mg_fields_passdb(struct mg_db *db ATTR_UNUSED,
		     struct auth_request *request,
		     const struct mg_entry *entry, const char **error_r)
{
	const char *old_user = t_strdup(request->fields.user);

	if (mg_fields_apply(request, entry, TRUE, "passdb fields",
			    error_r) < 0)
		return -1;
	return mg_fields_check_user(request, old_user, "passdb fields",
				    error_r);
}

int mg_fields_userdb(struct mg_db *db ATTR_UNUSED,
		     struct auth_request *request,
		     const struct mg_entry *entry, const char **error_r)
{
	const char *old_user = t_strdup(request->fields.user);

	if (mg_fields_apply(request, entry, FALSE, "userdb fields",
			    error_r) < 0)
		return -1;
	return mg_fields_check_user(request, old_user, "userdb fields",
				    error_r);
}

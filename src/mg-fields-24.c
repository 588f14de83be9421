/* Dovecot 2.4: the passdb and userdb fields { } blocks, expanded by
   Dovecot's settings with the found entry's attributes as %{ldap:attr}
   (the first value) and %{ldap_multi:attr} (all, comma-separated), as
   2.4's LDAP driver names them; %{ldap:dn} is the entry's DN. */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "var-expand.h"
#include "auth-request.h"
#include "auth-request-var-expand.h"
#include "mg-escape.h"
#include "mg-entry.h"
#include "mg-db.h"
#include "mg-attrmap.h"
#include "mg-fields.h"

static int mg_fields_ldap(const char *data, const char **value_r,
			  void *context, bool multi, const char **error_r)
{
	const struct mg_entry *entry = context;
	const char *const *values;

	if (strcasecmp(data, "dn") == 0) {
		*value_r = entry->dn;
		return 0;
	}
	values = mg_entry_get(entry, data);
	if (values == NULL || values[0] == NULL) {
		/* as 2.4's LDAP driver: "| default" gives a fallback */
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

/* custom_recipient_reason and userdb_mailbox_guard_iterate_fields: the
   request's variables and the entry's attributes (2.4 has no %$: value
   is unused). */
int mg_attrmap_expand(struct auth_request *request,
		      const struct mg_entry *entry, const char *template,
		      const char *value ATTR_UNUSED, const char **value_r,
		      const char **error_r)
{
	const struct var_expand_params params = {
		.table = auth_request_get_var_expand_table(request),
		.providers = mg_fields_providers,
		.context = (void *)entry,
		.event = authdb_event(request),
	};
	string_t *str = t_str_new(128);

	if (var_expand(str, template, &params, error_r) < 0)
		return -1;
	*value_r = str_c(str);
	return 0;
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

	if (auth_request_set_passdb_fields_ex(request, (void *)entry,
			request->passdb->set->default_password_scheme,
			mg_fields_providers) < 0) {
		*error_r = "passdb fields: can't expand (see the error above)";
		return -1;
	}
	return mg_fields_check_user(request, old_user, "passdb fields",
				    error_r);
}

int mg_fields_userdb(struct mg_db *db ATTR_UNUSED,
		     struct auth_request *request,
		     const struct mg_entry *entry, const char **error_r)
{
	const char *old_user = t_strdup(request->fields.user);

	if (auth_request_set_userdb_fields_ex(request, (void *)entry,
					      mg_fields_providers) < 0) {
		*error_r = "userdb fields: can't expand (see the error above)";
		return -1;
	}
	return mg_fields_check_user(request, old_user, "userdb fields",
				    error_r);
}

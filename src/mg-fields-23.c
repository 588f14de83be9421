/* Dovecot 2.3: pass_attrs and user_attrs applied through mg-attrmap, and
   templates expanded with 2.3's %-variables, %{ldap:attr[:default]},
   %{ldap_multi:attr[:default]} and %$. */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "var-expand.h"
#include "auth-request.h"
#include "mg-config.h"
#include "mg-entry.h"
#include "mg-db.h"
#include "mg-attrmap.h"
#include "mg-fields.h"

static int mg_var_ldap(const char *data, void *context, bool multi,
		       const char **value_r)
{
	const struct mg_entry *entry = context;
	const char *const *values;
	const char *p = strchr(data, ':');
	const char *attr = p == NULL ? data : t_strdup_until(data, p);
	const char *default_value = p == NULL ? "" : p + 1;

	values = mg_entry_get(entry, attr);
	if (values == NULL || values[0] == NULL)
		*value_r = default_value;
	else if (!multi)
		*value_r = values[0];
	else
		*value_r = t_strarray_join(values, ",");
	return 1;
}

static int mg_var_ldap_single(const char *data, void *context,
			      const char **value_r,
			      const char **error_r ATTR_UNUSED)
{
	return mg_var_ldap(data, context, FALSE, value_r);
}

static int mg_var_ldap_multi(const char *data, void *context,
			     const char **value_r,
			     const char **error_r ATTR_UNUSED)
{
	return mg_var_ldap(data, context, TRUE, value_r);
}

static const struct var_expand_func_table mg_attrmap_funcs[] = {
	{ "ldap", mg_var_ldap_single },
	{ "ldap_multi", mg_var_ldap_multi },
	{ NULL, NULL }
};

/* Dovecot's table for the request, plus %$ for the attribute's value in
   the one slot it reserves at the front for the caller (count is how many
   to reserve on the way in). */
static const struct var_expand_table *
mg_attrmap_var_table(struct auth_request *request, const char *value)
{
	struct var_expand_table *table;
	unsigned int count = 1;

	table = auth_request_get_var_expand_table_full(request,
		request->fields.user, NULL, &count);
	table[0].key = '$';
	table[0].value = value;
	return table;
}

int mg_attrmap_expand(struct auth_request *request,
		      const struct mg_entry *entry, const char *template,
		      const char *value, const char **value_r,
		      const char **error_r)
{
	string_t *str = t_str_new(128);

	if (var_expand_with_funcs(str, template,
				  mg_attrmap_var_table(request, value),
				  mg_attrmap_funcs, (void *)entry,
				  error_r) <= 0)
		return -1;
	*value_r = str_c(str);
	return 0;
}

static void mg_fields_set_passdb_field(struct auth_request *request,
				       const char *field,
				       const char *const *values,
				       struct mg_db *db)
{
	auth_request_set_field(request, field, values[0],
			       db->config->default_pass_scheme);
}

int mg_fields_passdb(struct mg_db *db, struct auth_request *request,
		     const struct mg_entry *entry, const char **error_r)
{
	if (mg_attrmap_apply(&db->pass_attrs, request, entry,
			     mg_fields_set_passdb_field, db, error_r) < 0) {
		*error_r = t_strconcat("pass_attrs: ", *error_r, NULL);
		return -1;
	}
	return 0;
}

static void mg_fields_set_userdb_field(struct auth_request *request,
				       const char *field,
				       const char *const *values,
				       void *context ATTR_UNUSED)
{
	if (values[1] == NULL)
		auth_request_set_userdb_field(request, field, values[0]);
	else
		auth_request_set_userdb_field_values(request, field, values);
}

int mg_fields_userdb(struct mg_db *db, struct auth_request *request,
		     const struct mg_entry *entry, const char **error_r)
{
	if (mg_attrmap_apply(&db->user_attrs, request, entry,
			     mg_fields_set_userdb_field, (void *)NULL,
			     error_r) < 0) {
		*error_r = t_strconcat("user_attrs: ", *error_r, NULL);
		return -1;
	}
	return 0;
}

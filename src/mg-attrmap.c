/* pass_attrs / user_attrs: entry attributes to auth fields. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "auth-request.h"
#include "mg-escape.h"
#include "mg-attrmap.h"

static bool mg_attrmap_parse_item(pool_t pool, const char *item,
				  struct mg_attrmap_item *result_r,
				  const char **error_r)
{
	const char *field = strchr(item, '='), *template;

	i_zero(result_r);
	if (item[0] == '@') {
		*error_r = t_strdup_printf("'%s': '@' items are not supported",
					   item);
		return FALSE;
	}
	if (field == NULL) {
		/* a bare attribute is also its field's name */
		result_r->ldap_attr = p_strdup(pool, item);
		result_r->field = result_r->ldap_attr;
		return TRUE;
	}
	if (field != item)
		result_r->ldap_attr = p_strdup_until(pool, item, field);
	field++;
	template = strchr(field, '=');
	if (template == NULL) {
		if (result_r->ldap_attr == NULL) {
			*error_r = t_strdup_printf(
				"'%s': expected =field=template", item);
			return FALSE;
		}
		result_r->field = p_strdup(pool, field);
	} else {
		result_r->field = p_strdup_until(pool, field, template);
		result_r->template = p_strdup(pool, template + 1);
	}
	if (result_r->field[0] == '\0') {
		*error_r = t_strdup_printf("'%s': field name missing", item);
		return FALSE;
	}
	return TRUE;
}

bool mg_attrmap_parse(pool_t pool, const char *text,
		      ARRAY_TYPE(mg_attrmap_item) *items,
		      const char **error_r)
{
	const char *const *list = t_strsplit(text, ",");

	p_array_init(items, pool, 8);
	for (; *list != NULL; list++) {
		const char *item = t_str_trim(*list, " \t");
		struct mg_attrmap_item parsed;

		if (item[0] == '\0')
			continue;
		if (!mg_attrmap_parse_item(pool, item, &parsed, error_r))
			return FALSE;
		array_push_back(items, &parsed);
	}
	return TRUE;
}

void mg_attrs_add(pool_t pool, ARRAY_TYPE(const_string) *attrs,
		  const char *attr)
{
	const char *existing;

	array_foreach_elem(attrs, existing) {
		if (strcasecmp(existing, attr) == 0)
			return;
	}
	attr = p_strdup(pool, attr);
	array_push_back(attrs, &attr);
}

/* The attributes a template names as %{ldap:attr} or %{ldap_multi:attr}
   (2.3: an optional ":default" follows the name; 2.4: filters do,
   "%{ldap:attr | default}"). */
void mg_attrmap_add_template_attrs(const char *template, pool_t pool,
				   ARRAY_TYPE(const_string) *attrs)
{
	static const char *const prefixes[] = { "%{ldap:", "%{ldap_multi:" };

	for (unsigned int i = 0; i < N_ELEMENTS(prefixes); i++) {
		const char *p = template;

		while ((p = strstr(p, prefixes[i])) != NULL) {
			const char *name = p + strlen(prefixes[i]);
			size_t len = strcspn(name, ":} |");

			if (len > 0)
				mg_attrs_add(pool, attrs, t_strndup(name, len));
			p = name;
		}
	}
}

void mg_attrmap_add_attrs(const ARRAY_TYPE(mg_attrmap_item) *items,
			  pool_t pool, ARRAY_TYPE(const_string) *attrs)
{
	const struct mg_attrmap_item *item;

	array_foreach(items, item) {
		if (item->ldap_attr != NULL)
			mg_attrs_add(pool, attrs, item->ldap_attr);
		if (item->template != NULL)
			mg_attrmap_add_template_attrs(item->template, pool,
						      attrs);
	}
}

#undef mg_attrmap_apply
/* The fields Dovecot takes as a new user name, whole or in part */
static const char *const mg_attrmap_rename_fields[] = {
	"user", "username", "domain", NULL
};

int mg_attrmap_check_rename(const char *field, const char *value,
			    const char **error_r)
{
	if (!str_array_find(mg_attrmap_rename_fields, field) ||
	    mg_escape_is_log_safe(value))
		return 0;
	*error_r = t_strdup_printf("the user name it sets (%s) holds control "
				   "characters or invalid UTF-8", field);
	return -1;
}

int mg_attrmap_apply(const ARRAY_TYPE(mg_attrmap_item) *items,
		     struct auth_request *request, const struct mg_entry *entry,
		     mg_attrmap_field_callback_t *callback, void *context,
		     const char **error_r)
{
	const struct mg_attrmap_item *item;

	array_foreach(items, item) {
		const char *const *values = NULL, *single[2] = { NULL, NULL };

		if (item->ldap_attr != NULL) {
			values = mg_entry_get(entry, item->ldap_attr);
			if (values == NULL || values[0] == NULL)
				continue;
		}
		if (item->template != NULL) {
			if (mg_attrmap_expand(request, entry, item->template,
					      values == NULL ? NULL : values[0],
					      &single[0], error_r) < 0) {
				*error_r = t_strdup_printf(
					"expanding %s=%s: %s", item->field,
					item->template, *error_r);
				return -1;
			}
			values = single;
		}
		if (mg_attrmap_check_rename(item->field, values[0],
					    error_r) < 0)
			return -1;
		callback(request, item->field, values, context);
	}
	return 0;
}

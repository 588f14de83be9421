/* pass_attrs, for the user name and the password it yields. */

#include <string.h>
#include "check-entry.h"
#include "check-expand.h"
#include "check-pass-attrs.h"

struct check_pass_attr {
	/* NULL for "=field=template" */
	char *ldap_attr;
	char *field;
	/* NULL for "attr=field" */
	char *template;
};

struct check_pass_attrs {
	GArray *items;
};

static void item_clear(struct check_pass_attr *item)
{
	g_free(item->ldap_attr);
	g_free(item->field);
	g_free(item->template);
}

static bool parse_item(const char *text, struct check_pass_attr *item_r,
		       char **error_r)
{
	const char *field = strchr(text, '='), *template;

	memset(item_r, 0, sizeof(*item_r));
	if (text[0] == '@') {
		*error_r = g_strdup_printf("pass_attrs: '%s': '@' items are "
					   "not supported", text);
		return false;
	}
	if (field == NULL) {
		/* a bare attribute names its field too */
		item_r->ldap_attr = g_strdup(text);
		item_r->field = g_strdup(text);
		return true;
	}
	if (field != text)
		item_r->ldap_attr = g_strndup(text, field - text);
	field++;
	template = strchr(field, '=');
	if (template == NULL && item_r->ldap_attr == NULL) {
		*error_r = g_strdup_printf("pass_attrs: '%s': expected "
					   "=field=template", text);
		return false;
	}
	item_r->field = template == NULL ? g_strdup(field) :
		g_strndup(field, template - field);
	if (template != NULL)
		item_r->template = g_strdup(template + 1);
	if (item_r->field[0] == '\0') {
		*error_r = g_strdup_printf("pass_attrs: '%s': field name "
					   "missing", text);
		item_clear(item_r);
		return false;
	}
	return true;
}

struct check_pass_attrs *check_pass_attrs_parse(const char *text,
						char **error_r)
{
	struct check_pass_attrs *attrs = check_pass_attrs_new();
	char **list = g_strsplit(text == NULL ? "" : text, ",", -1);
	bool ok = true;

	for (unsigned int i = 0; ok && list[i] != NULL; i++) {
		const char *item = g_strstrip(list[i]);
		struct check_pass_attr parsed;

		if (item[0] == '\0')
			continue;
		ok = parse_item(item, &parsed, error_r);
		if (ok)
			g_array_append_val(attrs->items, parsed);
	}
	g_strfreev(list);
	if (!ok)
		check_pass_attrs_free(&attrs);
	return attrs;
}

struct check_pass_attrs *check_pass_attrs_new(void)
{
	struct check_pass_attrs *attrs = g_new0(struct check_pass_attrs, 1);

	attrs->items = g_array_new(FALSE, FALSE, sizeof(struct check_pass_attr));
	g_array_set_clear_func(attrs->items, (GDestroyNotify)item_clear);
	return attrs;
}

void check_pass_attrs_add(struct check_pass_attrs *attrs,
			  const char *ldap_attr, const char *field,
			  const char *template)
{
	struct check_pass_attr item = {
		g_strdup(ldap_attr), g_strdup(field), g_strdup(template)
	};

	g_array_append_val(attrs->items, item);
}

void check_pass_attrs_free(struct check_pass_attrs **_attrs)
{
	struct check_pass_attrs *attrs = *_attrs;

	if (attrs == NULL)
		return;
	*_attrs = NULL;
	g_array_unref(attrs->items);
	g_free(attrs);
}

void check_pass_attrs_add_search_attrs(const struct check_pass_attrs *attrs,
				       GPtrArray *search_attrs)
{
	for (unsigned int i = 0; i < attrs->items->len; i++) {
		const struct check_pass_attr *item =
			&g_array_index(attrs->items, struct check_pass_attr, i);

		if (item->ldap_attr != NULL)
			check_expand_add_attr(search_attrs, item->ldap_attr);
		if (item->template != NULL)
			check_expand_add_ldap_attrs(item->template,
						    search_attrs);
	}
}

static bool is_password_field(const char *field)
{
	return strcmp(field, "password") == 0 ||
		strcmp(field, "password_noscheme") == 0;
}

/* The field's value for entry, or NULL when the entry lacks the item's
   attribute (then the item gives no field at all). */
static char *item_value(const struct check_pass_attr *item,
			const struct check_entry *entry,
			const struct check_expand_vars *vars, char **error_r,
			bool *failed_r)
{
	const char *const *values = NULL;
	struct check_expand_context ctx = { vars, NULL, entry, NULL };
	GString *str;

	*failed_r = false;
	if (item->ldap_attr != NULL) {
		values = check_entry_get(entry, item->ldap_attr);
		if (values == NULL || values[0] == NULL)
			return NULL;
		if (item->template == NULL)
			return g_strdup(values[0]);
		ctx.dollar = values[0];
	}
	str = g_string_new(NULL);
	if (!check_expand(str, item->template, &ctx, error_r)) {
		char *error = *error_r;

		*error_r = g_strdup_printf("pass_attrs: expanding %s=%s: %s",
					   item->field, item->template, error);
		g_free(error);
		g_string_free(str, TRUE);
		*failed_r = true;
		return NULL;
	}
	return g_string_free(str, FALSE);
}

bool check_pass_attrs_apply(const struct check_pass_attrs *attrs,
			    const struct check_entry *entry,
			    const struct check_expand_vars *vars,
			    struct check_pass_attrs_result *result_r,
			    char **error_r)
{
	struct check_expand_vars current = *vars;

	result_r->user = g_strdup(vars->user);
	result_r->has_password = false;
	for (unsigned int i = 0; i < attrs->items->len; i++) {
		const struct check_pass_attr *item =
			&g_array_index(attrs->items, struct check_pass_attr, i);
		bool failed;
		char *value;

		/* later templates see the user name earlier items set */
		current.user = result_r->user;
		value = item_value(item, entry, &current, error_r, &failed);
		if (failed) {
			g_free(result_r->user);
			result_r->user = NULL;
			return false;
		}
		if (value == NULL)
			continue;
		if (strcmp(item->field, "user") == 0) {
			g_free(result_r->user);
			result_r->user = value;
			continue;
		}
		if (is_password_field(item->field))
			result_r->has_password = true;
		g_free(value);
	}
	return true;
}

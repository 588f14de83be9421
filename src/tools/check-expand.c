/* %-variable expansion for the tool; the forms that differ by release
   are in check-expand-23.c and check-expand-24.c. */

#include <string.h>
#include "mg-escape.h"
#include "check-entry.h"
#include "check-expand-private.h"

char *check_expand_var_value(const struct check_expand_vars *vars, char key)
{
	const char *at = strchr(vars->user, '@');

	switch (key) {
	case 'u':
		return g_strdup(vars->user);
	case 'n':
		return at == NULL ? g_strdup(vars->user) :
			g_strndup(vars->user, at - vars->user);
	case 'd':
		return g_strdup(at == NULL ? "" : at + 1);
	case 's':
		return g_strdup(vars->service);
	case 'r':
		return g_strdup(vars->rip);
	}
	return g_strdup(vars->master_user == NULL ? "" : vars->master_user);
}

static bool var_key_by_name(const char *name, char *key_r)
{
	for (unsigned int i = 0; i < check_expand_var_names_count; i++) {
		if (strcmp(check_expand_var_names[i].name, name) == 0) {
			*key_r = check_expand_var_names[i].key;
			return true;
		}
	}
	return false;
}

/* %{ldap:attr[:default]}: the first value, or all of them joined with
   "," for ldap_multi; the default (else "") when the entry lacks attr. */
static char *ldap_value(const struct check_entry *entry, const char *data,
			bool multi)
{
	const char *colon = strchr(data, ':');
	char *attr = colon == NULL ? g_strdup(data) :
		g_strndup(data, colon - data);
	const char *const *values = check_entry_get(entry, attr);
	char *value;

	g_free(attr);
	if (values == NULL || values[0] == NULL)
		value = g_strdup(colon == NULL ? "" : colon + 1);
	else if (multi)
		value = g_strjoinv(",", (char **)values);
	else
		value = g_strdup(values[0]);
	return value;
}

char *check_expand_named_value(const struct check_expand_context *ctx,
			       const char *name, char **error_r)
{
	bool multi = g_str_has_prefix(name, CHECK_EXPAND_LDAP_MULTI_FUNC);
	char key;

	if (multi || g_str_has_prefix(name, CHECK_EXPAND_LDAP_FUNC)) {
		if (ctx->entry == NULL) {
			*error_r = g_strdup_printf("%%{%s}: no entry to read "
						   "here", name);
			return NULL;
		}
		return ldap_value(ctx->entry, name + strlen(multi ?
				  CHECK_EXPAND_LDAP_MULTI_FUNC :
				  CHECK_EXPAND_LDAP_FUNC), multi);
	}
	if (!var_key_by_name(name, &key)) {
		*error_r = g_strdup_printf("unknown or unsupported variable "
					   "%%{%s}", name);
		return NULL;
	}
	return check_expand_var_value(ctx->vars, key);
}

static char *apply_modifiers(char *value, const char *modifiers)
{
	for (const char *m = modifiers; *m != '\0'; m++) {
		char *changed = *m == 'L' ? g_ascii_strdown(value, -1) :
			g_ascii_strup(value, -1);

		g_free(value);
		value = changed;
	}
	return value;
}

static void append_escaped(GString *out, const char *value,
			   check_escape_func_t *escape)
{
	size_t len = strlen(value);
	char *buf;

	if (escape == NULL) {
		g_string_append(out, value);
		return;
	}
	buf = g_malloc(MG_ESCAPE_BUFSIZE(len));
	(void)escape(value, len, buf);
	g_string_append(out, buf);
	g_free(buf);
}

/* One %-sequence starting after the '%'. Returns where the template goes
   on, or NULL with *error_r set. */
static const char *expand_one(GString *out, const char *p,
			      const struct check_expand_context *ctx,
			      char **error_r)
{
	const char *start = p;
	char *modifiers, *value = NULL;

	p += check_expand_modifiers_len(p);
	modifiers = g_strndup(start, p - start);
	if (*p == '{') {
		const char *end = strchr(p, '}');
		char *name;

		if (end == NULL) {
			*error_r = g_strdup_printf("missing '}' after %%%s",
						   modifiers);
			g_free(modifiers);
			return NULL;
		}
		name = g_strndup(p + 1, end - p - 1);
		value = check_expand_braced(ctx, name, error_r);
		g_free(name);
		p = end + 1;
	} else if (!check_expand_unbraced(ctx, &p, &value)) {
		*error_r = g_strdup_printf("unknown or unsupported variable "
					   "or modifier %%%.*s",
					   (int)(p - start) + (*p != '\0'),
					   start);
	}
	if (value == NULL) {
		g_free(modifiers);
		return NULL;
	}
	value = apply_modifiers(value, modifiers);
	append_escaped(out, value, ctx->escape);
	g_free(value);
	g_free(modifiers);
	return p;
}

bool check_expand(GString *out, const char *template,
		  const struct check_expand_context *ctx, char **error_r)
{
	const char *p = template;

	while (*p != '\0') {
		const char *percent = strchr(p, '%');

		if (percent == NULL) {
			g_string_append(out, p);
			break;
		}
		g_string_append_len(out, p, percent - p);
		if (percent[1] == '%') {
			g_string_append_c(out, '%');
			p = percent + 2;
			continue;
		}
		p = expand_one(out, percent + 1, ctx, error_r);
		if (p == NULL)
			return false;
	}
	return true;
}

void check_expand_add_attr(GPtrArray *attrs, const char *attr)
{
	for (unsigned int i = 0; i < attrs->len; i++) {
		if (g_ascii_strcasecmp(g_ptr_array_index(attrs, i), attr) == 0)
			return;
	}
	g_ptr_array_add(attrs, g_strdup(attr));
}

void check_expand_add_ldap_attrs(const char *template, GPtrArray *attrs)
{
	static const char *const prefixes[] = {
		"%{" CHECK_EXPAND_LDAP_FUNC, "%{" CHECK_EXPAND_LDAP_MULTI_FUNC
	};

	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		const char *p = template;

		while ((p = strstr(p, prefixes[i])) != NULL) {
			const char *name = p + strlen(prefixes[i]);
			size_t len = strcspn(name, ":}");

			if (len > 0) {
				char *attr = g_strndup(name, len);

				check_expand_add_attr(attrs, attr);
				g_free(attr);
			}
			p = name;
		}
	}
}

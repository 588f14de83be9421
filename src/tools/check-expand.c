/* %-variable expansion for the tool. */

#include <string.h>
#include "mg-escape.h"
#include "check-entry.h"
#include "check-expand.h"

#define LDAP_FUNC "ldap:"
#define LDAP_MULTI_FUNC "ldap_multi:"

static const struct {
	char key;
	const char *name;
} var_names[] = {
#ifdef MG_CHECK_DOVECOT_24
	{ 'u', "user" }, { 's', "protocol" }, { 'r', "remote_ip" },
#else
	{ 'u', "user" }, { 'n', "username" }, { 'd', "domain" },
	{ 's', "service" }, { 'r', "rip" },
#endif
	{ '\0', "master_user" },
};

static char *var_value(const struct check_expand_vars *vars, char key)
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

static bool var_key_by_name(const char *name, size_t len, char *key_r)
{
	for (size_t i = 0; i < G_N_ELEMENTS(var_names); i++) {
		if (strlen(var_names[i].name) == len &&
		    strncmp(var_names[i].name, name, len) == 0) {
			*key_r = var_names[i].key;
			return true;
		}
	}
	return false;
}

static bool var_key_valid(char key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(var_names); i++) {
		if (key != '\0' && var_names[i].key == key)
			return true;
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

/* The value of %{NAME}, or NULL with *error_r set. */
static char *braced_value(const struct check_expand_context *ctx,
			  const char *name, char **error_r)
{
	bool multi = g_str_has_prefix(name, LDAP_MULTI_FUNC);
	char key;

	if (multi || g_str_has_prefix(name, LDAP_FUNC)) {
		if (ctx->entry == NULL) {
			*error_r = g_strdup_printf("%%{%s}: no entry to read "
						   "here", name);
			return NULL;
		}
#ifdef MG_CHECK_DOVECOT_24
		if (!multi && g_ascii_strcasecmp(name + strlen(LDAP_FUNC),
						 "dn") == 0)
			return g_strdup(ctx->entry->dn);
#endif
		return ldap_value(ctx->entry, name + strlen(multi ?
				  LDAP_MULTI_FUNC : LDAP_FUNC), multi);
	}
	if (!var_key_by_name(name, strlen(name), &key)) {
		*error_r = g_strdup_printf("unknown or unsupported variable "
					   "%%{%s}", name);
		return NULL;
	}
	return var_value(ctx->vars, key);
}

#ifdef MG_CHECK_DOVECOT_24
/* NAME('TEXT') or NAME("TEXT"): TEXT in *text_r, with \xHH and \ before
   any other character undone. */
static bool quoted_arg(const char *expr, const char *name, char **text_r)
{
	size_t len = strlen(expr), nlen = strlen(name);
	GString *text;
	char quote;

	if (len < nlen + 4 || strncmp(expr, name, nlen) != 0 ||
	    expr[nlen] != '(' || expr[len - 1] != ')')
		return false;
	quote = expr[nlen + 1];
	if ((quote != '\'' && quote != '"') || expr[len - 2] != quote)
		return false;
	text = g_string_new(NULL);
	for (const char *p = expr + nlen + 2; p < expr + len - 2; p++) {
		if (*p == '\\' && p[1] == 'x' && g_ascii_isxdigit(p[2]) &&
		    g_ascii_isxdigit(p[3])) {
			g_string_append_c(text, g_ascii_xdigit_value(p[2]) * 16 +
					  g_ascii_xdigit_value(p[3]));
			p += 3;
		} else {
			if (*p == '\\' && p + 1 < expr + len - 2)
				p++;
			g_string_append_c(text, *p);
		}
	}
	*text_r = g_string_free(text, FALSE);
	return true;
}

char *check_expand_name_filter(const char *filter, const char *value)
{
	const char *at = strchr(value, '@');

	if (strcmp(filter, "lower") == 0)
		return g_ascii_strdown(value, -1);
	if (strcmp(filter, "upper") == 0)
		return g_ascii_strup(value, -1);
	if (strcmp(filter, "username") == 0)
		return at == NULL ? g_strdup(value) : g_strndup(value, at - value);
	if (strcmp(filter, "domain") == 0)
		return g_strdup(at == NULL ? "" : at + 1);
	return NULL;
}

/* default, default('TEXT') or default("TEXT"): TEXT ("" for none) in
   *text_r. */
static bool filter_default(const char *filter, char **text_r)
{
	if (strcmp(filter, "default") == 0) {
		*text_r = g_strdup("");
		return true;
	}
	return quoted_arg(filter, "default", text_r);
}

/* Dovecot 2.4: %{NAME | filter | ...} with the filters lower, upper,
   username, domain and default('TEXT') (TEXT when the value is empty:
   the entry lacks the attribute); NAME may be literal('TEXT'). */
static char *braced_value_24(const struct check_expand_context *ctx,
			     const char *expr, char **error_r)
{
	char **parts = g_strsplit(expr, "|", -1);
	char *name = g_strstrip(parts[0]), *value;

	if (!quoted_arg(name, "literal", &value))
		value = braced_value(ctx, name, error_r);
	for (unsigned int i = 1; value != NULL && parts[i] != NULL; i++) {
		const char *filter = g_strstrip(parts[i]);
		char *changed = check_expand_name_filter(filter, value);

		if (changed != NULL)
			;
		else if (filter_default(filter, &changed))
			changed = *value != '\0' ? g_strdup(value) : changed;
		else {
			*error_r = g_strdup_printf("%%{%s}: unsupported "
						   "filter '%s'", expr, filter);
			changed = NULL;
		}
		g_free(value);
		value = changed;
	}
	g_strfreev(parts);
	return value;
}
#endif

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

#ifndef MG_CHECK_DOVECOT_24
	while (*p == 'L' || *p == 'U')
		p++;
#endif
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
#ifdef MG_CHECK_DOVECOT_24
		value = braced_value_24(ctx, name, error_r);
#else
		value = braced_value(ctx, name, error_r);
#endif
		g_free(name);
		p = end + 1;
#ifndef MG_CHECK_DOVECOT_24
	} else if (*p == '$' && ctx->dollar != NULL) {
		value = g_strdup(ctx->dollar);
		p++;
	} else if (var_key_valid(*p)) {
		value = var_value(ctx->vars, *p);
		p++;
#endif
	} else {
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
		"%{" LDAP_FUNC, "%{" LDAP_MULTI_FUNC
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

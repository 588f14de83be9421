/* Dovecot 2.4's variable forms for the tool: %{NAME | filter | ...} with
   %{user}, %{protocol}, %{remote_ip}, %{ldap:dn} and %{literal('TEXT')}. */

#include <string.h>
#include "check-entry.h"
#include "check-expand-private.h"

const struct check_expand_var_name check_expand_var_names[] = {
	{ 'u', "user" }, { 's', "protocol" }, { 'r', "remote_ip" },
	{ '\0', "master_user" },
};
const unsigned int check_expand_var_names_count =
	G_N_ELEMENTS(check_expand_var_names);

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

/* 2.4's name filters (lower, upper, username, domain) applied to value:
   a new string, or NULL for any other filter. */
static char *name_filter(const char *filter, const char *value)
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

/* NAME's value: as on 2.3, and %{ldap:dn} is the entry's DN. */
static char *name_value(const struct check_expand_context *ctx,
			const char *name, char **error_r)
{
	if (ctx->entry != NULL &&
	    g_str_has_prefix(name, CHECK_EXPAND_LDAP_FUNC) &&
	    g_ascii_strcasecmp(name + strlen(CHECK_EXPAND_LDAP_FUNC),
			       "dn") == 0)
		return g_strdup(ctx->entry->dn);
	return check_expand_named_value(ctx, name, error_r);
}

size_t check_expand_modifiers_len(const char *p G_GNUC_UNUSED)
{
	return 0;
}

/* %{NAME | filter | ...} with the filters lower, upper, username, domain
   and default('TEXT') (TEXT when the value is empty: the entry lacks the
   attribute); NAME may be literal('TEXT'). */
char *check_expand_braced(const struct check_expand_context *ctx,
			  const char *expr, char **error_r)
{
	char **parts = g_strsplit(expr, "|", -1);
	char *name = g_strstrip(parts[0]), *value;

	if (!quoted_arg(name, "literal", &value))
		value = name_value(ctx, name, error_r);
	for (unsigned int i = 1; value != NULL && parts[i] != NULL; i++) {
		const char *filter = g_strstrip(parts[i]);
		char *changed = name_filter(filter, value);

		if (changed != NULL)
			;
		else if (filter_default(filter, &changed)) {
			if (*value != '\0') {
				g_free(changed);
				changed = g_strdup(value);
			}
		} else {
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

bool check_expand_unbraced(const struct check_expand_context *ctx G_GNUC_UNUSED,
			   const char **p G_GNUC_UNUSED,
			   char **value_r G_GNUC_UNUSED)
{
	return false;
}

/* The formats the tool applies exactly: %{user} with the filters lower,
   upper, username and domain (2.4's default is %{user | lower}). Returns
   NULL for any other. */
char *check_expand_username_format(const char *format, const char *user)
{
	size_t len = strlen(format);
	char *value = NULL, **parts;

	if (len < 3 || !g_str_has_prefix(format, "%{") ||
	    strchr(format, '}') != format + len - 1 ||
	    strchr(format + 2, '%') != NULL)
		return NULL;
	parts = g_strsplit_set(format + 2, "|}", -1);
	if (strcmp(g_strstrip(parts[0]), "user") == 0)
		value = g_strdup(user);
	/* the last part is what follows the '}': nothing */
	for (unsigned int i = 1; value != NULL && parts[i + 1] != NULL; i++) {
		char *changed = name_filter(g_strstrip(parts[i]), value);

		g_free(value);
		value = changed;
	}
	g_strfreev(parts);
	return value;
}

/* Dovecot 2.3's variable forms for the tool: %u %n %d %s %r, their long
   names, the modifiers L and U, and %$. */

#include <string.h>
#include "check-expand-private.h"

const struct check_expand_var_name check_expand_var_names[] = {
	{ 'u', "user" }, { 'n', "username" }, { 'd', "domain" },
	{ 's', "service" }, { 'r', "rip" }, { '\0', "master_user" },
};
const unsigned int check_expand_var_names_count =
	G_N_ELEMENTS(check_expand_var_names);

/* 2.3's one-letter variables (%u, %n, ...) */
static bool var_key_valid(char key)
{
	for (unsigned int i = 0; i < check_expand_var_names_count; i++) {
		if (key != '\0' && check_expand_var_names[i].key == key)
			return true;
	}
	return false;
}

size_t check_expand_modifiers_len(const char *p)
{
	size_t len = 0;

	while (p[len] == 'L' || p[len] == 'U')
		len++;
	return len;
}

char *check_expand_braced(const struct check_expand_context *ctx,
			  const char *expr, char **error_r)
{
	return check_expand_named_value(ctx, expr, error_r);
}

bool check_expand_unbraced(const struct check_expand_context *ctx,
			   const char **p, char **value_r)
{
	if (**p == '$' && ctx->dollar != NULL)
		*value_r = g_strdup(ctx->dollar);
	else if (var_key_valid(**p))
		*value_r = check_expand_var_value(ctx->vars, **p);
	else
		return false;
	(*p)++;
	return true;
}

/* The formats the tool applies exactly: one variable (%u, %n, %d or
   their %{user}, %{username}, %{domain} names), with at most an L (lower
   case) or U (upper case) modifier. Returns NULL for any other. */
char *check_expand_username_format(const char *format, const char *user)
{
	GRegex *regex = g_regex_new("^%([LU]?)(?:([und])|\\{(user|username|"
				    "domain)\\})$", 0, 0, NULL);
	GMatchInfo *match;
	const char *at = strchr(user, '@');
	char *mod, *var, *value = NULL, *result;

	if (!g_regex_match(regex, format, 0, &match)) {
		g_match_info_free(match);
		g_regex_unref(regex);
		return NULL;
	}
	mod = g_match_info_fetch(match, 1);
	var = g_match_info_fetch(match, 2);
	if (*var == '\0') {
		g_free(var);
		var = g_match_info_fetch(match, 3);
	}
	if (strcmp(var, "u") == 0 || strcmp(var, "user") == 0)
		value = g_strdup(user);
	else if (strcmp(var, "n") == 0 || strcmp(var, "username") == 0)
		value = at == NULL ? g_strdup(user) : g_strndup(user, at - user);
	else
		value = g_strdup(at == NULL ? "" : at + 1);
	if (strcmp(mod, "L") == 0)
		result = g_ascii_strdown(value, -1);
	else if (strcmp(mod, "U") == 0)
		result = g_ascii_strup(value, -1);
	else
		result = g_strdup(value);
	g_free(value);
	g_free(var);
	g_free(mod);
	g_match_info_free(match);
	g_regex_unref(regex);
	return result;
}

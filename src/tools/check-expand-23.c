/* Dovecot 2.3's variable forms for the tool: %u %n %d %s %r, their long
   names, the modifiers L and U, and %$. */

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

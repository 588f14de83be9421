/* Dovecot 2.3's side of the auth cache keys (mg-cache-key.h). */

#include "auth-common.h"
#include "str.h"
#include "auth-request.h"
#include "mg-cache-key.h"

int mg_cache_key_expand(struct auth_request *request, const char *cache_key,
			string_t *dest)
{
	const struct var_expand_table *table;
	const char *template, *error;
	unsigned int count = 0;

	/* %! is the db's id */
	template = mg_cache_key_template(request, "%!", cache_key);
	table = auth_request_get_var_expand_table_full(request,
		request->fields.translated_username, mg_cache_key_escape,
		&count);
	/* an unknown variable (0) expands as in Dovecot's own key */
	return auth_request_var_expand_with_table(dest, template, request,
		table, mg_cache_key_escape, &error) < 0 ? -1 : 0;
}

const char *mg_cache_key_literal(const char *text)
{
	string_t *str = t_str_new(strlen(text) + 8);

	for (; *text != '\0'; text++) {
		if (*text == '%')
			str_append_c(str, '%');
		str_append_c(str, *text);
	}
	return str_c(str);
}

/* Dovecot 2.4's side of the auth cache keys (mg-cache-key.h). */

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

	/* %{id} is the db's id */
	template = mg_cache_key_template(request, "%{id}", cache_key);
	table = auth_request_get_var_expand_table_full(request,
		request->fields.translated_username, &count);
	/* Dovecot stores what an unknown variable leaves of its key (and
	   logs it once): that is no key this one can be sure to match */
	return auth_request_var_expand_with_table(dest, template, request,
		table, mg_cache_key_escape, &error);
}

/* 2.4's var_expand reads "%{" as a variable and "%%{" as a literal "%{";
   every other character, '%' and '\\' too, is itself */
const char *mg_cache_key_literal(const char *text)
{
	string_t *str = t_str_new(strlen(text) + 8);

	for (; *text != '\0'; text++) {
		if (text[0] == '%' && text[1] == '{')
			str_append_c(str, '%');
		str_append_c(str, *text);
	}
	return str_c(str);
}

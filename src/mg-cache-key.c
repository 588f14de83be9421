/* Dovecot's auth cache keys, kept as strings. */

/* mg_cache_key_remove() fills a request's fields by hand */
#define AUTH_REQUEST_FIELDS_CONST

#include "auth-common.h"
#include "str.h"
#include "strescape.h"
#include "auth-request.h"
#include "auth-cache.h"
#include "passdb.h"
#include "userdb.h"
#include "passdb-cache.h"
#include "mg-compat.h"
#include "mg-cache-key.h"

#if DOVECOT_PREREQ(2, 4, 0)

int mg_cache_key_get(struct auth_request *request ATTR_UNUSED,
		     bool userdb ATTR_UNUSED, const char **key_r)
{
	*key_r = NULL;
	return -1;
}

void mg_cache_key_remove(const char *key ATTR_UNUSED)
{
}

#else

static const char *
mg_cache_key_escape(const char *str,
		    const struct auth_request *request ATTR_UNUSED)
{
	return str_tabescape(str);
}

int mg_cache_key_get(struct auth_request *request, bool userdb,
		     const char **key_r)
{
	const struct var_expand_table *table;
	const char *template, *username, *error;
	string_t *key;
	unsigned int count = 0;
	bool userdb_lookup = request->userdb_lookup;
	int ret;

	template = userdb ? request->userdb->cache_key :
		request->passdb->cache_key;
	*key_r = NULL;
	if (passdb_cache == NULL || template == NULL)
		return 0;
	/* what auth_cache_insert() names the entry by */
	username = request->fields.translated_username;
	request->userdb_lookup = userdb;
	template = t_strconcat(userdb ? "U" : "P", "%!",
			       request->fields.master_user == NULL ? "" :
			       "+%{master_user}", "\t", template, NULL);
	key = t_str_new(128);
	table = auth_request_get_var_expand_table_full(request, username,
		mg_cache_key_escape, &count);
	ret = auth_request_var_expand_with_table(key, template, request,
		table, mg_cache_key_escape, &error);
	request->userdb_lookup = userdb_lookup;
	if (ret < 0)
		return -1;
	*key_r = str_c(key);
	return 1;
}

/* key as a template that expands to itself */
static const char *mg_cache_key_literal(const char *key)
{
	string_t *str = t_str_new(strlen(key) + 8);

	for (; *key != '\0'; key++) {
		if (*key == '%')
			str_append_c(str, '%');
		str_append_c(str, *key);
	}
	return str_c(str);
}

void mg_cache_key_remove(const char *key)
{
	struct passdb_module passdb_module;
	struct userdb_module userdb_module;
	struct auth_passdb passdb;
	struct auth_userdb userdb;
	struct auth_request *request;
	const char *p = key + 1, *tab;
	unsigned int id = 0;

	if (passdb_cache == NULL || (*key != 'P' && *key != 'U'))
		return;
	for (; *p >= '0' && *p <= '9'; p++)
		id = id * 10 + (unsigned int)(*p - '0');
	tab = strchr(p, '\t');
	if (tab == NULL || (*p != '+' && p != tab))
		return;

	/* auth_cache_remove() names the entry by the request's db and
	   master user, then the rest: a request that holds just those */
	i_zero(&passdb_module);
	i_zero(&userdb_module);
	i_zero(&passdb);
	i_zero(&userdb);
	passdb_module.id = id;
	userdb_module.id = id;
	passdb.passdb = &passdb_module;
	userdb.userdb = &userdb_module;
	request = auth_request_new_dummy(auth_event);
	request->fields.user = p_strdup(request->pool, "");
	request->fields.service = "";
	request->userdb_lookup = *key == 'U';
	request->passdb = &passdb;
	request->userdb = &userdb;
	if (*p == '+') {
		request->fields.master_user = p_strdup(request->pool,
			str_tabunescape(t_strdup_noconst(
				t_strdup_until(p + 1, tab))));
	}
	auth_cache_remove(passdb_cache, request,
			  mg_cache_key_literal(tab + 1));
	auth_request_unref(&request);
}

#endif

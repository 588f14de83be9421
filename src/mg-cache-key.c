/* Dovecot's auth cache keys, kept as strings. What differs between
   releases (the db id's variable, how a template is expanded and how a
   literal is written in one) is in mg-cache-key-23.c and -24.c. */

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

const char *mg_cache_key_escape(const char *str,
				const struct auth_request *request ATTR_UNUSED)
{
	return str_tabescape(str);
}

const char *mg_cache_key_template(const struct auth_request *request,
				  const char *id_var, const char *cache_key)
{
	return t_strconcat(request->userdb_lookup ? "U" : "P", id_var,
			   request->fields.master_user == NULL ? "" :
			   "+%{master_user}", "\t", cache_key, NULL);
}

int mg_cache_key_get(struct auth_request *request, bool userdb,
		     const char **key_r)
{
	const char *template;
	string_t *key;
	bool userdb_lookup = request->userdb_lookup;
	int ret;

	template = userdb ? request->userdb->cache_key :
		request->passdb->cache_key;
	*key_r = NULL;
	if (passdb_cache == NULL || template == NULL)
		return 0;
	/* the db whose id names the entry */
	request->userdb_lookup = userdb;
	key = t_str_new(128);
	ret = mg_cache_key_expand(request, template, key);
	request->userdb_lookup = userdb_lookup;
	if (ret < 0)
		return -1;
	*key_r = str_c(key);
	return 1;
}

/* The auth cache functions name an entry by a request's db (its id) and
   master user, then a template expanded for it: a request that holds
   just those, and the rest of key as a template that expands to itself.
   mg_cache_key_standin_init() is FALSE when key is not one of
   Dovecot's. */
struct mg_cache_key_standin {
	struct passdb_module passdb_module;
	struct userdb_module userdb_module;
	struct auth_passdb passdb;
	struct auth_userdb userdb;
	struct auth_request *request;
	const char *template;
};

static bool
mg_cache_key_standin_init(struct mg_cache_key_standin *standin,
			  const char *key)
{
	struct auth_request *request;
	const char *p = key + 1, *tab;
	unsigned int id = 0;

	if (passdb_cache == NULL || (*key != 'P' && *key != 'U'))
		return FALSE;
	for (; *p >= '0' && *p <= '9'; p++)
		id = id * 10 + (unsigned int)(*p - '0');
	tab = strchr(p, '\t');
	if (tab == NULL || (*p != '+' && p != tab))
		return FALSE;

	i_zero(standin);
	standin->passdb_module.id = id;
	standin->userdb_module.id = id;
	standin->passdb.passdb = &standin->passdb_module;
	standin->userdb.userdb = &standin->userdb_module;
	request = auth_request_new_dummy(auth_event);
	request->fields.user = p_strdup(request->pool, "");
	mg_request_service(request) = "";
	request->userdb_lookup = *key == 'U';
	request->passdb = &standin->passdb;
	request->userdb = &standin->userdb;
	if (*p == '+') {
		request->fields.master_user = p_strdup(request->pool,
			str_tabunescape(t_strdup_noconst(
				t_strdup_until(p + 1, tab))));
	}
	standin->template = mg_cache_key_literal(tab + 1);
	standin->request = request;
	return TRUE;
}

void mg_cache_key_remove(const char *key)
{
	struct mg_cache_key_standin standin;

	if (!mg_cache_key_standin_init(&standin, key))
		return;
	auth_cache_remove(passdb_cache, standin.request, standin.template);
	auth_request_unref(&standin.request);
}

const char *mg_cache_key_marker(struct auth_request *request)
{
	const char *user = request->fields.translated_username != NULL ?
		request->fields.translated_username : request->fields.user;
	unsigned int id;

	if (passdb_cache == NULL)
		return NULL;
	if (request->userdb_lookup) {
		if (request->userdb == NULL)
			return NULL;
		id = request->userdb->userdb->id;
	} else {
		if (request->passdb == NULL)
			return NULL;
		id = request->passdb->passdb->id;
	}
	/* Dovecot tab-escapes every value it puts in a key, \001 too: a
	   raw \001 never starts one of its fields */
	return t_strdup_printf("%c%u%s%s\t%s\t\001mailbox_guard",
		request->userdb_lookup ? 'U' : 'P', id,
		request->fields.master_user == NULL ? "" : "+",
		request->fields.master_user == NULL ? "" :
		str_tabescape(request->fields.master_user),
		str_tabescape(user));
}

void mg_cache_key_marker_set(const char *key)
{
	struct mg_cache_key_standin standin;

	if (!mg_cache_key_standin_init(&standin, key))
		return;
	/* positive (an empty value is a negative entry, which Dovecot
	   does not keep with auth_cache_negative_ttl = 0) */
	auth_cache_insert(passdb_cache, standin.request, standin.template,
			  "\001", FALSE);
	auth_request_unref(&standin.request);
}

bool mg_cache_key_present(const char *key)
{
	struct mg_cache_key_standin standin;
	const char *value;
	bool expired, neg_expired;

	if (!mg_cache_key_standin_init(&standin, key))
		return FALSE;
	/* expired or not: only a flush or an eviction takes it away */
	value = auth_cache_lookup(passdb_cache, standin.request,
				  standin.template, NULL, &expired,
				  &neg_expired);
	auth_request_unref(&standin.request);
	return value != NULL;
}

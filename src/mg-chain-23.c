/* Dovecot 2.3's side of the passdb chain checks (mg-chain.h). */

#include "auth-common.h"
#include "auth.h"
#include "passdb.h"
#include "mg-chain.h"

/* Fields that would route a refused login elsewhere, or turn its OK into
   "ask the next passdb" (noauthenticate). */
static const char *const mg_chain_routing_fields[] = {
	"proxy", "proxy_maybe", "proxy_always", "host", "hostip", "port",
	"destuser", "master", "pass", "noauthenticate", NULL
};

const char *mg_chain_passdb_name(const struct auth_passdb *passdb)
{
	return passdb->set->driver;
}

const char *mg_chain_passdb_narrowing(const struct auth_passdb *passdb)
{
	const struct auth_passdb_settings *set = passdb->set;

	if (passdb->skip != AUTH_PASSDB_SKIP_NEVER)
		return t_strdup_printf("skip = %s", set->skip);
	if (*set->mechanisms != '\0')
		return t_strdup_printf("mechanisms = %s", set->mechanisms);
	if (*set->username_filter != '\0') {
		return t_strdup_printf("username_filter = %s",
				       set->username_filter);
	}
	return NULL;
}

static const char *mg_chain_field_key(const char *field)
{
	const char *p = strchr(field, '=');

	return p == NULL ? field : t_strdup_until(field, p);
}

/* override_fields are applied after the plugin answered */
void mg_chain_check_release(const struct auth_passdb *passdb)
{
	const char *const *fields;
	const char *key;

	fields = t_strsplit_spaces(passdb->set->override_fields, " ");
	for (; *fields != NULL; fields++) {
		key = mg_chain_field_key(*fields);
		if (str_array_find(mg_chain_routing_fields, key)) {
			i_fatal("passdb %s: override_fields sets %s, which a "
				"refused custom recipient would get after the "
				"refusal dropped it: set it with pass_attrs",
				passdb->set->driver, key);
		}
	}
}

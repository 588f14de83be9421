/* Dovecot 2.4's side of the passdb chain checks (mg-chain.h). */

#include "auth-common.h"
#include "auth.h"
#include "passdb.h"
#include "mg-chain.h"

const char *mg_chain_passdb_name(const struct auth_passdb *passdb)
{
	return passdb->name;
}

const char *mg_chain_passdb_narrowing(const struct auth_passdb *passdb)
{
	const struct auth_passdb_settings *set = passdb->set;

	if (passdb->skip != AUTH_PASSDB_SKIP_NEVER)
		return t_strdup_printf("skip = %s", set->skip);
	if (passdb->mechanisms_filter != NULL) {
		return t_strdup_printf("mechanisms_filter = %s",
			t_strarray_join(passdb->mechanisms_filter, " "));
	}
	if (passdb->username_filter != NULL) {
		return t_strdup_printf("username_filter = %s",
				       set->username_filter);
	}
	return NULL;
}

/* Nothing more: 2.4 has no override_fields, and a passdb's fields { }
   are applied by the plugin itself, before a refusal drops them. */
void mg_chain_check_release(const struct auth_passdb *passdb ATTR_UNUSED)
{
}

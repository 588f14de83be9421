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

/* 2.4 has no override_fields: a passdb's fields { } are applied by the
   plugin itself, before a refusal drops them. But use_worker runs the
   passdb in an auth-worker process, which is not told that the request
   came from an auth-client socket (Postfix, doveadm auth test): it would
   answer those with the OK + nologin that only login processes refuse. */
void mg_chain_check_release(const struct auth_passdb *passdb)
{
	if (passdb->set->use_worker) {
		i_fatal("passdb %s: use_worker = yes would answer a refusal to "
			"Postfix and doveadm with an OK they take as a success "
			"(an auth worker can't tell who asked): remove it, the "
			"plugin never blocks", passdb->name);
	}
}

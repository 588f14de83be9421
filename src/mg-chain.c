/* The passdb chain settings a refusal depends on, checked at start. */

#include "auth-common.h"
#include "auth.h"
#include "passdb.h"
#include "mg-compat.h"
#include "mg-chain.h"

/* The services whose passdb chains may differ from the default one
   (protocol { passdb { } } blocks). */
static const char *const mg_chain_services[] = {
	"imap", "pop3", "submission", "sieve", "lmtp", "doveadm", "smtp", NULL
};

#if !DOVECOT_PREREQ(2, 4, 0)
/* 2.4 has no override_fields: a passdb's fields are the driver's to set */

/* Fields that would route a refused login elsewhere, or turn its OK into
   "ask the next passdb" (noauthenticate). */
static const char *const mg_chain_routing_fields[] = {
	"proxy", "proxy_maybe", "proxy_always", "host", "hostip", "port",
	"destuser", "master", "pass", "noauthenticate", NULL
};

static const char *mg_chain_field_key(const char *field)
{
	const char *p = strchr(field, '=');

	return p == NULL ? field : t_strdup_until(field, p);
}

static void mg_chain_check_override_fields(const struct auth_passdb *passdb)
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
#endif

static void mg_chain_check_passdb(const struct auth_passdb *passdb)
{
#if !DOVECOT_PREREQ(2, 4, 0)
	mg_chain_check_override_fields(passdb);
#endif
	switch (passdb->result_success) {
	case AUTH_DB_RULE_RETURN:
	case AUTH_DB_RULE_RETURN_OK:
	case AUTH_DB_RULE_RETURN_FAIL:
		break;
	case AUTH_DB_RULE_CONTINUE:
	case AUTH_DB_RULE_CONTINUE_OK:
	case AUTH_DB_RULE_CONTINUE_FAIL:
		i_fatal("passdb %s: result_success = %s would let the next "
			"passdb answer after a refusal: use return-ok",
			passdb->set->driver, passdb->set->result_success);
	}
}

static void mg_chain_check_list(const struct passdb_module *module,
				const struct auth_passdb *passdb)
{
	for (; passdb != NULL; passdb = passdb->next) {
		if (passdb->passdb == module)
			mg_chain_check_passdb(passdb);
	}
}

void mg_chain_check(const struct passdb_module *module)
{
	const struct auth *auth;

	T_BEGIN {
		mg_chain_check_list(module, mg_auth_default()->passdbs);
		for (const char *const *service = mg_chain_services;
		     *service != NULL; service++) {
			auth = mg_auth_find(*service);
			mg_chain_check_list(module, auth->masterdbs);
			mg_chain_check_list(module, auth->passdbs);
		}
	} T_END;
}

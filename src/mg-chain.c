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

static bool mg_chain_rule_continues(enum auth_db_rule rule)
{
	return rule == AUTH_DB_RULE_CONTINUE ||
		rule == AUTH_DB_RULE_CONTINUE_OK ||
		rule == AUTH_DB_RULE_CONTINUE_FAIL;
}

/* Dovecot answers OK at the end of a chain in which a rule said "ok" */
static bool mg_chain_rule_succeeds(enum auth_db_rule rule)
{
	return rule == AUTH_DB_RULE_RETURN_OK ||
		rule == AUTH_DB_RULE_CONTINUE_OK;
}

static void mg_chain_check_result(const struct auth_passdb *passdb)
{
	const struct auth_passdb_settings *set = passdb->set;

	if (mg_chain_rule_continues(passdb->result_success)) {
		i_fatal("passdb %s: result_success = %s would let the next "
			"passdb answer after a refusal: use return-ok",
			mg_chain_passdb_name(passdb), set->result_success);
	}
	if (mg_chain_rule_succeeds(passdb->result_failure)) {
		i_fatal("passdb %s: result_failure = %s would make a wrong "
			"password a success: use continue or return-fail",
			mg_chain_passdb_name(passdb), set->result_failure);
	}
	if (mg_chain_rule_succeeds(passdb->result_internalfail)) {
		i_fatal("passdb %s: result_internalfail = %s would make an "
			"LDAP failure a success: use return-fail",
			mg_chain_passdb_name(passdb), set->result_internalfail);
	}
}

/* Another passdb of the chain that can let a login in: not a deny
   passdb, not one that classifies as well. */
static const struct auth_passdb *
mg_chain_other_answerer(const struct auth_passdb *list)
{
	for (; list != NULL; list = list->next) {
		if (!list->set->deny &&
		    strcmp(list->passdb->iface.name, "mailbox_guard") != 0)
			return list;
	}
	return NULL;
}

static void mg_chain_check_narrowing(const struct auth_passdb *passdb,
				     const struct auth_passdb *list)
{
	const struct auth_passdb *other = mg_chain_other_answerer(list);
	const char *narrowing;

	if (other == NULL)
		return;
	narrowing = mg_chain_passdb_narrowing(passdb);
	if (narrowing == NULL)
		return;
	i_fatal("passdb %s: %s keeps some logins from it, and passdb %s "
		"would answer those without telling a custom recipient from "
		"a mailbox: remove it, or the other passdb",
		mg_chain_passdb_name(passdb), narrowing,
		mg_chain_passdb_name(other));
}

/* A later passdb that can let a login in, handed one by rule (setting
   = value) without knowing what the entry is, would let in a custom
   recipient it knows. why: what comes before the setting in the
   message; what: the login handed on. */
static void mg_chain_check_handoff(const struct auth_passdb *passdb,
				   enum auth_db_rule rule, const char *setting,
				   const char *value, const char *why,
				   const char *what)
{
	const struct auth_passdb *other;

	if (!mg_chain_rule_continues(rule))
		return;
	other = mg_chain_other_answerer(passdb->next);
	if (other == NULL)
		return;
	i_fatal("passdb %s: %s%s = %s (Dovecot's default is continue) would "
		"hand %s to passdb %s, which would let in a custom recipient "
		"it knows: use return-fail", mg_chain_passdb_name(passdb),
		why, setting, value, what, mg_chain_passdb_name(other));
}

static void mg_chain_check_list(const struct passdb_module *module,
				const struct auth_passdb *list,
				bool failure_unclassified)
{
	const struct auth_passdb *passdb;

	for (passdb = list; passdb != NULL; passdb = passdb->next) {
		if (passdb->passdb != module)
			continue;
		mg_chain_check_release(passdb);
		mg_chain_check_result(passdb);
		mg_chain_check_narrowing(passdb, list);
		/* while LDAP can't answer, nothing tells a custom
		   recipient from a mailbox */
		mg_chain_check_handoff(passdb, passdb->result_internalfail,
			"result_internalfail", passdb->set->result_internalfail,
			"", "a login LDAP could not answer");
		if (failure_unclassified) {
			mg_chain_check_handoff(passdb, passdb->result_failure,
				"result_failure", passdb->set->result_failure,
				"with auth_bind_userdn a wrong password fails "
				"before the entry is read, and ", "it");
		}
	}
}

void mg_chain_check(const struct passdb_module *module,
		    bool failure_unclassified)
{
	const struct auth *auth;

	T_BEGIN {
		mg_chain_check_list(module, mg_auth_default()->passdbs,
				    failure_unclassified);
		for (const char *const *service = mg_chain_services;
		     *service != NULL; service++) {
			auth = mg_auth_find(*service);
			mg_chain_check_list(module, auth->masterdbs,
					    failure_unclassified);
			mg_chain_check_list(module, auth->passdbs,
					    failure_unclassified);
		}
	} T_END;
}

#ifndef CHECK_VERDICT_H
#define CHECK_VERDICT_H

/* What one IMAP or POP3 login with the right password gets, decided in
   the plugin's order (search, password, kind, refusal), with the reply
   line the client sees and the Exchange lines the plugin logs. */

#include <stdbool.h>
#include <glib.h>

struct mg_config;
struct check_lookup;

struct check_login {
	/* "imap" or "pop3" */
	const char *service;
	/* the user after pass_attrs, as the plugin names it from then on */
	const char *user;
	/* a delegate logon's master user, else NULL */
	const char *master_user;
	/* the client's address, in the plugin's canonical form */
	const char *addr;
	/* whether the passdb has a password to verify (pass_attrs gave one,
	   or the directory checks it with auth_bind) */
	bool password_available;
};

struct check_verdict {
	/* "ok", "failure", "tempfail", "audit_only", "user_unknown",
	   "password_mismatch" */
	const char *result;
	char *reply;
	/* char *: the Exchange lines, in the order the plugin logs them */
	GPtrArray *exchange;
	/* what the plugin would log as an error on the way, or NULL */
	char *warning;
};

void check_verdict_decide(struct check_verdict *verdict_r,
			  const struct mg_config *config,
			  const struct check_lookup *lookup,
			  const struct check_login *login);
void check_verdict_clear(struct check_verdict *verdict);

#endif

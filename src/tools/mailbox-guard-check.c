/* mailbox-guard-check: what a user would get at an IMAP and a POP3 login,
   and why, decided by the same core as the mailbox_guard plugin. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <glib.h>
#include "mg-config.h"
#include "check-entry.h"
#include "check-expand.h"
#include "check-json.h"
#include "check-ldap.h"
#include "check-lookup.h"
#include "check-pass-attrs.h"
#include "check-settings.h"
#include "check-to24.h"
#include "check-username.h"
#include "check-verdict.h"

enum check_exit {
	CHECK_EXIT_MAILBOX = 0,
	CHECK_EXIT_CUSTOM_RECIPIENT = 1,
	CHECK_EXIT_UNKNOWN_USER = 2,
	CHECK_EXIT_ERROR = 3,
};

static const char *const services[] = { "imap", "pop3" };
#define SERVICE_COUNT G_N_ELEMENTS(services)

struct check_options {
	char *settings_path;
	char *remote_ip;
	char *master_user;
	char *dovecot_conf;
	/* --to-2.4: the settings file to convert */
	char *to_24;
	gboolean json;
	/* as given, then as Dovecot hands it to the passdb */
	const char *user;
};

/* What one service's login found and got. lookup may be shared with the
   other service when both expand to the same search. */
struct check_service {
	const char *service;
	struct check_lookup *lookup;
	bool own_lookup;
	/* the user after pass_attrs; NULL when nothing was found */
	char *login_user;
	/* "available", "none" or "not checked" */
	const char *password;
	struct check_verdict verdict;
};

struct check_run {
	struct check_options options;
	/* the client address as the plugin prints it */
	char addr[INET6_ADDRSTRLEN];
	struct check_settings settings;
	struct mg_config *config;
	struct check_pass_attrs *pass_attrs;
	struct check_ldap *ldap;
	struct check_service services[SERVICE_COUNT];
	/* what Dovecot makes of the given name, and a word about it */
	struct check_username username;
};

static bool parse_options(int argc, char **argv, struct check_options *opts_r,
			  char **error_r)
{
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME,
		  &opts_r->settings_path,
		  CHECK_SETTINGS_OPTION_HELP, "SETTINGS" },
		{ "remote-ip", 0, 0, G_OPTION_ARG_STRING, &opts_r->remote_ip,
		  "The client's address (default 127.0.0.1)", "ADDR" },
		{ "master", 0, 0, G_OPTION_ARG_STRING, &opts_r->master_user,
		  "Check a delegate logon by master user MASTER", "MASTER" },
		{ "dovecot-conf", 0, 0, G_OPTION_ARG_FILENAME,
		  &opts_r->dovecot_conf,
		  CHECK_DOVECOT_CONF_OPTION_HELP, "CONF" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &opts_r->json,
		  "Print one JSON object", NULL },
		{ "to-2.4", 0, 0, G_OPTION_ARG_FILENAME, &opts_r->to_24,
		  "Print the Dovecot 2.4 settings meaning the same as the "
		  "2.3 settings file SETTINGS (no USER)", "SETTINGS" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL }
	};
	GOptionContext *context = g_option_context_new("USER");
	GError *error = NULL;
	bool ok;

	g_option_context_set_summary(context, "Shows what USER would get at an "
		"IMAP and a POP3 login with the right password, and why,\n"
		"as the mailbox_guard passdb decides it.");
	g_option_context_add_main_entries(context, entries, NULL);
	ok = g_option_context_parse(context, &argc, &argv, &error);
	if (!ok) {
		*error_r = g_strdup(error->message);
		g_error_free(error);
	} else if (opts_r->to_24 != NULL) {
		if (argc != 1) {
			*error_r = g_strdup("--to-2.4 takes no USER");
			ok = false;
		}
	} else if (argc != 2) {
		*error_r = g_strdup("exactly one USER is needed "
				    "(see --help)");
		ok = false;
	} else {
		opts_r->user = argv[1];
	}
	g_option_context_free(context);
	if (opts_r->remote_ip == NULL)
		opts_r->remote_ip = g_strdup("127.0.0.1");
	return ok;
}

/* Writes the address the way the plugin's log shows the client's. */
static bool canonical_addr(const char *text, char *buf, size_t size)
{
	unsigned char raw[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, text, raw) == 1)
		return inet_ntop(AF_INET, raw, buf, size) != NULL;
	if (inet_pton(AF_INET6, text, raw) == 1)
		return inet_ntop(AF_INET6, raw, buf, size) != NULL;
	return false;
}

static bool run_setup(struct check_run *run, char **error_r)
{
	bool ok;

	if (!canonical_addr(run->options.remote_ip, run->addr,
			    sizeof(run->addr))) {
		*error_r = g_strdup_printf("--remote-ip: '%s' is not an IPv4 "
					   "or IPv6 address",
					   run->options.remote_ip);
		return false;
	}
	if (!check_username_fix(run->options.dovecot_conf, run->options.user,
				&run->username, error_r))
		return false;
	if (run->username.note != NULL)
		fprintf(stderr, "mailbox-guard-check: note: %s\n",
			run->username.note);
	run->options.user = run->username.user;
	ok = check_settings_load(run->options.settings_path,
				 run->options.dovecot_conf, &run->settings,
				 error_r);
	run->config = run->settings.config;
	run->pass_attrs = run->settings.pass_attrs;
	if (!ok)
		return false;
	run->ldap = check_ldap_connect(run->config, error_r);
	return run->ldap != NULL;
}

/* The search of each service, run once when both are the same search. */
static bool run_lookups(struct check_run *run, char **error_r)
{
	GPtrArray *attrs = check_lookup_search_attrs(run->config,
						     run->pass_attrs);
	bool ok = true;

	for (unsigned int i = 0; ok && i < SERVICE_COUNT; i++) {
		struct check_service *svc = &run->services[i];
		const struct check_expand_vars vars = {
			run->options.user, services[i], run->addr,
			run->options.master_user,
		};

		svc->service = services[i];
		svc->lookup = g_new0(struct check_lookup, 1);
		svc->own_lookup = true;
		ok = check_lookup_prepare(svc->lookup, run->config, &vars,
					  error_r);
		if (ok && i > 0 && check_lookup_same_search(
				run->services[0].lookup, svc->lookup)) {
			check_lookup_clear(svc->lookup);
			g_free(svc->lookup);
			svc->lookup = run->services[0].lookup;
			svc->own_lookup = false;
			continue;
		}
		if (ok)
			ok = check_lookup_run(svc->lookup, run->config,
					      run->ldap,
					      (const char *const *)attrs->pdata,
					      error_r);
	}
	g_ptr_array_unref(attrs);
	return ok;
}

static bool decide_service(struct check_run *run, struct check_service *svc,
			   char **error_r)
{
	struct check_login login = {
		.service = svc->service,
		.user = run->options.user,
		.master_user = run->options.master_user,
		.addr = run->addr,
	};
	struct check_pass_attrs_result attrs;

	if (svc->lookup->status == CHECK_LOOKUP_FOUND) {
		const struct check_expand_vars vars = {
			run->options.user, svc->service, run->addr,
			run->options.master_user,
		};

		if (!check_pass_attrs_apply(run->pass_attrs, svc->lookup->entry,
					    &vars, &attrs, error_r))
			return false;
		svc->login_user = attrs.user;
		login.user = attrs.user;
		login.password_available = run->config->auth_bind ||
			attrs.has_password;
		svc->password = run->options.master_user != NULL ?
			"not checked" : login.password_available ?
			"available" : "none";
	}
	check_verdict_decide(&svc->verdict, run->config, svc->lookup, &login);
	return true;
}

static const char *scope_name(enum mg_scope scope)
{
	switch (scope) {
	case MG_SCOPE_BASE:
		return "base";
	case MG_SCOPE_ONELEVEL:
		return "onelevel";
	case MG_SCOPE_SUBTREE:
		break;
	}
	return "subtree";
}

static int exit_status(const struct check_lookup *lookup)
{
	switch (lookup->status) {
	case CHECK_LOOKUP_FOUND:
		return lookup->kind == MG_KIND_MAILBOX ? CHECK_EXIT_MAILBOX :
			CHECK_EXIT_CUSTOM_RECIPIENT;
	case CHECK_LOOKUP_UNKNOWN:
		return CHECK_EXIT_UNKNOWN_USER;
	case CHECK_LOOKUP_AMBIGUOUS:
		break;
	}
	return CHECK_EXIT_ERROR;
}

/* ---- text output ---- */

static void print_lookup(const char *prefix, const struct check_service *svc,
			 const char *user)
{
	const struct check_lookup *lookup = svc->lookup;

	printf("%ssearch: base=%s scope=%s filter=%s\n", prefix, lookup->base,
	       scope_name(lookup->scope), lookup->filter);
	if (lookup->note != NULL)
		printf("%snote: %s\n", prefix, lookup->note);
	if (lookup->status != CHECK_LOOKUP_FOUND) {
		printf("%sdn: %s\n", prefix, lookup->status ==
		       CHECK_LOOKUP_UNKNOWN ? "(no entry matched)" :
		       "(several mailboxes matched)");
		return;
	}
	printf("%sdn: %s\n%skind: %s\n%srule: %s\n", prefix, lookup->entry->dn,
	       prefix, mg_kind_name(lookup->kind), prefix, lookup->rule);
	if (check_entry_disabled(lookup->entry)) {
		printf("%sdisabled: yes (userAccountControl has "
		       "ACCOUNTDISABLE: its logins fail like a wrong password; "
		       "doveadm user, LMTP and iteration still find it)\n",
		       prefix);
	}
	if (strcmp(svc->login_user, user) != 0)
		printf("%suser after pass_attrs: %s\n", prefix,
		       svc->login_user);
	printf("%spassword: %s\n", prefix, svc->password);
}

/* A custom recipient whose password failed: the plugin ends the passdb
   chain with a disabled user's failure. */
static bool custom_recipient_failed(const struct check_run *run)
{
	const struct check_service *svc = &run->services[0];

	return strcmp(svc->verdict.result, "password_mismatch") == 0 &&
		!run->config->audit_only &&
		svc->lookup->status == CHECK_LOOKUP_FOUND &&
		svc->lookup->kind == MG_KIND_CUSTOM_RECIPIENT;
}

/* What clients other than Dovecot's login processes (Postfix, Exim,
   doveadm) get, given the IMAP login's verdict: they take any OK as a
   success, so the plugin answers them with a real failure instead. */
static const char *other_clients_reply(const struct check_run *run)
{
	const char *result = run->services[0].verdict.result;

	if (strcmp(result, "ok") == 0 || strcmp(result, "audit_only") == 0)
		return "OK (Postfix: 235)";
	if (strcmp(result, "failure") == 0 || custom_recipient_failed(run))
		return "FAIL code=user_disabled (Postfix: 535)";
	if (strcmp(result, "tempfail") == 0)
		return "FAIL code=temp_fail (Postfix: 535)";
	return "FAIL (Postfix: 535)";
}

static void print_text(const struct check_run *run)
{
	printf("user: %s\n", run->options.user);
	if (run->options.master_user != NULL)
		printf("master user: %s\n", run->options.master_user);
	printf("remote ip: %s\nserver: %s\n", run->addr,
	       check_ldap_uri(run->ldap));
	/* a second search only when %{service} made it differ */
	for (unsigned int i = 0; i < SERVICE_COUNT; i++) {
		const struct check_service *svc = &run->services[i];
		char *prefix;

		if (i > 0 && !svc->own_lookup)
			continue;
		prefix = i == 0 ? g_strdup("") :
			g_strdup_printf("%s ", svc->service);
		print_lookup(prefix, svc, run->options.user);
		g_free(prefix);
	}
	for (unsigned int i = 0; i < SERVICE_COUNT; i++) {
		const struct check_service *svc = &run->services[i];

		printf("%s: %s\n", svc->service, svc->verdict.reply);
		for (unsigned int j = 0; j < svc->verdict.exchange->len; j++)
			printf("%s exchange: %s\n", svc->service,
			       (const char *)svc->verdict.exchange->pdata[j]);
		if (svc->verdict.warning != NULL)
			printf("%s warning: %s\n", svc->service,
			       svc->verdict.warning);
	}
	printf("other clients: %s\n", other_clients_reply(run));
}

/* ---- JSON output ---- */

static void json_member(GString *out, const char *key, const char *value)
{
	check_json_key(out, key);
	check_json_string(out, value);
}

static void json_lookup(GString *out, const struct check_lookup *lookup)
{
	bool found = lookup->status == CHECK_LOOKUP_FOUND;

	json_member(out, "dn", found ? lookup->entry->dn : NULL);
	json_member(out, "kind", found ? mg_kind_name(lookup->kind) : NULL);
	json_member(out, "rule", found ? lookup->rule : NULL);
	check_json_key(out, "disabled");
	g_string_append(out, !found ? "null" :
			check_entry_disabled(lookup->entry) ? "true" : "false");
}

static void json_service(GString *out, const struct check_service *svc)
{
	const struct check_lookup *lookup = svc->lookup;

	check_json_key(out, svc->service);
	g_string_append(out, "{");
	check_json_key(out, "search");
	g_string_append(out, "{");
	json_member(out, "base", lookup->base);
	json_member(out, "scope", scope_name(lookup->scope));
	json_member(out, "filter", lookup->filter);
	g_string_append(out, "}");
	json_member(out, "note", lookup->note);
	json_lookup(out, lookup);
	json_member(out, "login_user", svc->login_user);
	json_member(out, "password", svc->password);
	json_member(out, "result", svc->verdict.result);
	json_member(out, "reply", svc->verdict.reply);
	check_json_key(out, "exchange");
	g_string_append(out, "[");
	for (unsigned int j = 0; j < svc->verdict.exchange->len; j++) {
		if (j > 0)
			g_string_append_c(out, ',');
		check_json_string(out, svc->verdict.exchange->pdata[j]);
	}
	g_string_append(out, "]");
	json_member(out, "warning", svc->verdict.warning);
	g_string_append(out, "}");
}

static void print_json(const struct check_run *run, int status)
{
	GString *out = g_string_new("{");

	json_member(out, "user", run->options.user);
	json_member(out, "user_note", run->username.note);
	json_member(out, "master_user", run->options.master_user);
	json_member(out, "remote_ip", run->addr);
	json_member(out, "settings", run->settings.source);
	json_member(out, "server", check_ldap_uri(run->ldap));
	/* the IMAP login's entry, which also decides the exit status */
	json_lookup(out, run->services[0].lookup);
	for (unsigned int i = 0; i < SERVICE_COUNT; i++)
		json_service(out, &run->services[i]);
	json_member(out, "other_clients", other_clients_reply(run));
	check_json_key(out, "exit_status");
	g_string_append_printf(out, "%d}", status);
	puts(out->str);
	g_string_free(out, TRUE);
}

static void print_error(const struct check_run *run, const char *error)
{
	GString *out;

	fprintf(stderr, "mailbox-guard-check: %s\n", error);
	if (!run->options.json)
		return;
	out = g_string_new("{");
	json_member(out, "user", run->options.user);
	json_member(out, "error", error);
	check_json_key(out, "exit_status");
	g_string_append_printf(out, "%d}", CHECK_EXIT_ERROR);
	puts(out->str);
	g_string_free(out, TRUE);
}

static void run_free(struct check_run *run)
{
	for (unsigned int i = 0; i < SERVICE_COUNT; i++) {
		struct check_service *svc = &run->services[i];

		if (svc->own_lookup) {
			check_lookup_clear(svc->lookup);
			g_free(svc->lookup);
		}
		g_free(svc->login_user);
		check_verdict_clear(&svc->verdict);
	}
	check_ldap_close(&run->ldap);
	check_pass_attrs_free(&run->pass_attrs);
	mg_config_free(&run->config);
	g_free(run->settings.source);
	g_free(run->options.settings_path);
	g_free(run->options.remote_ip);
	g_free(run->options.master_user);
	g_free(run->options.dovecot_conf);
	g_free(run->options.to_24);
	g_free(run->username.user);
	g_free(run->username.note);
}

static bool run_check(struct check_run *run, char **error_r)
{
	if (!run_setup(run, error_r) || !run_lookups(run, error_r))
		return false;
	for (unsigned int i = 0; i < SERVICE_COUNT; i++) {
		if (!decide_service(run, &run->services[i], error_r))
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct check_run run;
	char *error = NULL;
	int status;

	memset(&run, 0, sizeof(run));
	if (parse_options(argc, argv, &run.options, &error) &&
	    run.options.to_24 != NULL) {
		status = check_to24(run.options.to_24);
		run_free(&run);
		return status;
	}
	if (error != NULL || !run_check(&run, &error)) {
		print_error(&run, error);
		g_free(error);
		run_free(&run);
		return CHECK_EXIT_ERROR;
	}
	status = exit_status(run.services[0].lookup);
	if (run.options.json)
		print_json(&run, status);
	else
		print_text(&run);
	run_free(&run);
	return status;
}

/* One login's outcome, reply text and Exchange lines. */

#include <string.h>
#include "mg-config.h"
#include "mg-escape.h"
#include "mg-exchange.h"
#include "check-entry.h"
#include "check-expand.h"
#include "check-lookup.h"
#include "check-verdict.h"

/* the plugin formats its lines into buffers of this size, so a line it
   cuts is cut here at the same place */
#define CHECK_EXCHANGE_LINE_MAX 2048

/* the plugin's wording when custom_recipient_reason does not expand */
#define CHECK_FALLBACK_REASON \
	"The requested mailbox is not available on this server."

enum check_outcome {
	CHECK_OUTCOME_OK,
	CHECK_OUTCOME_REFUSED,
	CHECK_OUTCOME_TEMPFAIL,
	CHECK_OUTCOME_AUTHFAIL,
};

/* What Dovecot's login processes answer for each outcome; the refusal's
   text is followed by the reason. */
static const struct {
	const char *service;
	const char *replies[4];
} service_replies[] = {
	{ "imap", {
		"OK Logged in",
		"NO [CONTACTADMIN] ",
		"NO [UNAVAILABLE] Temporary authentication failure.",
		"NO [AUTHENTICATIONFAILED] Authentication failed.",
	} },
	{ "pop3", {
		"+OK Logged in.",
		"-ERR [AUTH] ",
		"-ERR [SYS/TEMP] Temporary authentication failure.",
		"-ERR [AUTH] Authentication failed.",
	} },
};

static void set_reply(struct check_verdict *verdict, const char *service,
		      enum check_outcome outcome, const char *reason)
{
	for (size_t i = 0; i < G_N_ELEMENTS(service_replies); i++) {
		if (strcmp(service_replies[i].service, service) != 0)
			continue;
		verdict->reply = g_strconcat(service_replies[i].replies[outcome],
					     outcome == CHECK_OUTCOME_REFUSED ?
					     reason : "", NULL);
		return;
	}
}

static void add_exchange(struct check_verdict *verdict,
			 const struct mg_config *config,
			 enum mg_exchange_event_kind kind,
			 const struct mg_exchange_names *names,
			 const char *suffix)
{
	char line[CHECK_EXCHANGE_LINE_MAX];

	if (!config->exchange_events ||
	    !mg_exchange_event_wanted(kind, config->diagnostics_logging))
		return;
	(void)mg_exchange_format_line(kind, &names->params, line, sizeof(line));
	/* as the plugin writes it: no client's control characters */
	(void)mg_escape_log_text(line);
	g_ptr_array_add(verdict->exchange, g_strconcat(line, suffix, NULL));
}

static char *refusal_reason(struct check_verdict *verdict,
			    const struct mg_config *config,
			    const struct check_lookup *lookup,
			    const struct check_login *login)
{
	const struct check_expand_vars vars = {
		login->user, login->service, login->addr, login->master_user,
	};
	struct check_expand_context ctx = { &vars, NULL, lookup->entry, NULL };
	GString *str = g_string_new(NULL);
	char *error;

	if (check_expand(str, config->custom_recipient_reason, &ctx, &error))
		return g_string_free(str, FALSE);
	/* the plugin still refuses; only the wording falls back */
	verdict->warning = g_strdup_printf("custom_recipient_reason: %s",
					   error);
	g_free(error);
	g_string_free(str, TRUE);
	return g_strdup(CHECK_FALLBACK_REASON);
}

/* The password was right: mg_audit_validated(), then for a custom
   recipient mg_refusal_decide() with mg_audit_refused(). */
static enum check_outcome validated(struct check_verdict *verdict,
				    const struct mg_config *config,
				    const struct check_lookup *lookup,
				    const struct check_login *login,
				    char **reason_r)
{
	const struct mg_exchange_identity identity = {
		.nt_domain = config->nt_domain,
		.org = config->exchange_org,
		.site = config->exchange_site,
		.alias_attr = config->mailbox_alias_attr,
	};
	const char *suffix = config->audit_only ?
		" [audit_only: not refused]" : "";
	struct mg_exchange_names names;
	struct mg_entry_view view;
	bool imap = strcmp(login->service, "imap") == 0;

	check_entry_view_init(&view, lookup->entry);
	mg_exchange_names_init(&names, &identity, &view, login->user,
			       login->master_user, login->addr);
	if (imap) {
		add_exchange(verdict, config, MG_EXCHANGE_IMAP4_LOGON_SUCCESS,
			     &names, "");
	}
	if (lookup->kind == MG_KIND_MAILBOX) {
		verdict->result = "ok";
		return CHECK_OUTCOME_OK;
	}
	if (imap) {
		add_exchange(verdict, config, MG_EXCHANGE_IS_LOGON_FAILURE,
			     &names, suffix);
		add_exchange(verdict, config, MG_EXCHANGE_IMAP4_LOGON_FAILED,
			     &names, suffix);
	} else if (strcmp(login->service, "pop3") == 0) {
		add_exchange(verdict, config, MG_EXCHANGE_POP3_LOGON_FAILED,
			     &names, suffix);
	}
	if (config->audit_only) {
		verdict->result = "audit_only";
		return CHECK_OUTCOME_OK;
	}
	if (config->custom_recipient_result == MG_REFUSAL_TEMPFAIL) {
		verdict->result = "tempfail";
		return CHECK_OUTCOME_TEMPFAIL;
	}
	verdict->result = "failure";
	*reason_r = refusal_reason(verdict, config, lookup, login);
	return CHECK_OUTCOME_REFUSED;
}

void check_verdict_decide(struct check_verdict *verdict_r,
			  const struct mg_config *config,
			  const struct check_lookup *lookup,
			  const struct check_login *login)
{
	enum check_outcome outcome;
	char *reason = NULL;

	memset(verdict_r, 0, sizeof(*verdict_r));
	verdict_r->exchange = g_ptr_array_new_with_free_func(g_free);
	switch (lookup->status) {
	case CHECK_LOOKUP_AMBIGUOUS:
		verdict_r->result = "tempfail";
		outcome = CHECK_OUTCOME_TEMPFAIL;
		break;
	case CHECK_LOOKUP_UNKNOWN:
		verdict_r->result = "user_unknown";
		outcome = CHECK_OUTCOME_AUTHFAIL;
		break;
	case CHECK_LOOKUP_FOUND:
	default:
		/* a master user's login skips the target's password */
		if (login->master_user == NULL && !login->password_available) {
			verdict_r->result = "password_mismatch";
			outcome = CHECK_OUTCOME_AUTHFAIL;
			break;
		}
		outcome = validated(verdict_r, config, lookup, login, &reason);
		break;
	}
	set_reply(verdict_r, login->service, outcome, reason);
	g_free(reason);
}

void check_verdict_clear(struct check_verdict *verdict)
{
	g_free(verdict->reply);
	g_free(verdict->warning);
	if (verdict->exchange != NULL)
		g_ptr_array_unref(verdict->exchange);
	memset(verdict, 0, sizeof(*verdict));
}

/* Exchange event lines and Dovecot events for each decision. */

#include "auth-common.h"
#include "net.h"
#include "auth-request.h"
#include "mg-compat.h"
#include "mg-config.h"
#include "mg-escape.h"
#include "mg-entry.h"
#include "mg-db.h"
#include "mg-lookup.h"
#include "mg-audit.h"

#define MG_AUDIT_LINE_MAX 2048

const char *mg_log_safe(const char *str)
{
	char *safe;

	if (str == NULL)
		return NULL;
	safe = t_strdup_noconst(str);
	(void)mg_escape_log_text(safe);
	return safe;
}

static struct event_category event_category_mailbox_guard = {
	.parent = &event_category_auth,
	.name = "mailbox_guard",
};

static struct event *mg_audit_event(struct auth_request *request,
				    const char *name)
{
	struct event *event = event_create(authdb_event(request));

	event_add_category(event, &event_category_mailbox_guard);
	event_set_name(event, name);
	/* audits are written whatever auth_verbose says */
	event_set_min_log_level(event, LOG_TYPE_INFO);
	return event;
}

static void mg_audit_names_init(struct mg_db *db, struct auth_request *request,
				const struct mg_lookup_result *lookup,
				struct mg_exchange_names *names_r)
{
	const struct mg_config *config = db->config;
	const struct mg_exchange_identity identity = {
		.nt_domain = config->nt_domain,
		.org = config->exchange_org,
		.site = config->exchange_site,
		.alias_attr = config->mailbox_alias_attr,
	};
	struct mg_entry_view view;

	mg_entry_view_init(&view, lookup->entry);
	mg_exchange_names_init(names_r, &identity, &view, request->fields.user,
			       request->fields.master_user,
			       net_ip2addr(&request->fields.remote_ip));
}

static void mg_audit_exchange(struct mg_db *db, struct auth_request *request,
			      enum mg_exchange_event_kind kind,
			      const struct mg_exchange_names *names,
			      const char *suffix)
{
	const struct mg_exchange_event *def = mg_exchange_event_get(kind);
	char description[MG_AUDIT_LINE_MAX], line[MG_AUDIT_LINE_MAX];
	struct event *event;

	if (!db->config->exchange_events ||
	    !mg_exchange_event_wanted(kind, db->config->diagnostics_logging))
		return;
	(void)mg_exchange_format_description(kind, &names->params,
					     description, sizeof(description));
	(void)mg_exchange_format_line(kind, &names->params, line, sizeof(line));
	/* names and values come from clients and the directory */
	(void)mg_escape_log_text(description);
	(void)mg_escape_log_text(line);

	event = mg_audit_event(request, "mailbox_guard_exchange_event");
	event_add_int(event, "event_id", def->id);
	event_add_str(event, "source", def->source);
	event_add_str(event, "event_type", def->type);
	event_add_str(event, "category", def->category);
	event_add_str(event, "description", description);
	if (def->error)
		e_error(event, "%s%s", line, suffix);
	else
		e_info(event, "%s%s", line, suffix);
	event_unref(&event);
}

static struct event *
mg_audit_decision_event(struct auth_request *request, const char *kind,
			const char *result, const char *rule, const char *dn)
{
	struct event *event = mg_audit_event(request, "mailbox_guard_decision");

	event_add_str(event, "kind", kind);
	event_add_str(event, "result", result);
	event_add_str(event, "rule", rule);
	event_add_str(event, "dn", dn);
	return event;
}

void mg_audit_validated(struct mg_db *db, struct auth_request *request,
			const struct mg_lookup_result *lookup)
{
	struct mg_exchange_names names;

	mg_audit_names_init(db, request, lookup, &names);
	if (strcmp(mg_request_service(request), "imap") == 0) {
		mg_audit_exchange(db, request, MG_EXCHANGE_IMAP4_LOGON_SUCCESS,
				  &names, "");
	}
	if (lookup->kind == MG_KIND_MAILBOX) {
		struct event *event = mg_audit_decision_event(request,
			"mailbox", "ok", lookup->rule, lookup->entry->dn);

		/* counted by stats when a metric wants it, printed only
		   with auth_debug */
		e_debug(event, "mailbox %s logs in",
			mg_log_safe(lookup->entry->dn));
		event_unref(&event);
	}
}

void mg_audit_refused(struct mg_db *db, struct auth_request *request,
		      const struct mg_lookup_result *lookup,
		      const char *result)
{
	const char *service = mg_request_service(request);
	const char *suffix = db->config->audit_only ?
		" [audit_only: not refused]" : "";
	const char *master = request->fields.master_user;
	struct mg_exchange_names names;
	struct event *event;

	mg_audit_names_init(db, request, lookup, &names);
	if (strcmp(service, "imap") == 0) {
		mg_audit_exchange(db, request, MG_EXCHANGE_IS_LOGON_FAILURE,
				  &names, suffix);
		mg_audit_exchange(db, request, MG_EXCHANGE_IMAP4_LOGON_FAILED,
				  &names, suffix);
	} else if (strcmp(service, "pop3") == 0) {
		mg_audit_exchange(db, request, MG_EXCHANGE_POP3_LOGON_FAILED,
				  &names, suffix);
	}
	event = mg_audit_decision_event(request, "custom_recipient", result,
					lookup->rule, lookup->entry->dn);
	e_info(event, "custom recipient %s %s%s%s for %s (rule %s)",
	       mg_log_safe(lookup->entry->dn),
	       db->config->audit_only ? "would be refused" : "refused",
	       master == NULL ? "" : " for master user ",
	       master == NULL ? "" : mg_log_safe(master),
	       *service == '\0' ? "no service" : mg_log_safe(service),
	       lookup->rule);
	event_unref(&event);
}

void mg_audit_other(struct auth_request *request, const char *kind,
		    const char *result)
{
	struct event *event = mg_audit_decision_event(request, kind, result,
						      "", "");

	e_debug(event, "decision: %s %s", kind, result);
	event_unref(&event);
}

#ifndef MG_AUDIT_H
#define MG_AUDIT_H

/* Makes every decision visible: Exchange's event lines (1023, 13003,
   11202) as admins coming from Exchange monitor them, and named Dovecot
   events (mailbox_guard_decision, mailbox_guard_exchange_event) that
   metric and event_exporter blocks can count and ship. The events are
   children of the request's event, so they carry service, remote_ip, user
   and session. */

struct auth_request;
struct mg_db;
struct mg_lookup_result;

/* str (from a client or the directory) made safe for a log line: no
   character that could end the line and start a forged one. Allocated
   from the data stack. */
const char *mg_log_safe(const char *str);

/* The password of the entry in lookup was verified. */
void mg_audit_validated(struct mg_db *db, struct auth_request *request,
			const struct mg_lookup_result *lookup);

/* A custom recipient is refused (or, with audit_only, would have been);
   result names what the client got: "failure", "tempfail" or
   "audit_only". */
void mg_audit_refused(struct mg_db *db, struct auth_request *request,
		      const struct mg_lookup_result *lookup,
		      const char *result);

/* A decision that is not about an entry's kind: "unknown" user or
   LDAP "tempfail". */
void mg_audit_other(struct auth_request *request, const char *kind,
		    const char *result);

#endif

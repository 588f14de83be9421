#ifndef MG_EXCHANGE_H
#define MG_EXCHANGE_H

/* The Exchange 5.x events an IMAP or POP3 logon to a custom recipient
   wrote (KB Q173776), with their exact texts, so monitoring keyed on
   Exchange event IDs keeps working. Pure text: the caller decides where
   the lines go. Nothing here allocates; texts are formatted into the
   caller's buffer. */

#include <stdbool.h>
#include <stddef.h>
#include "mg-entry-view.h"

enum mg_exchange_event_kind {
	/* MSExchangeIS Private 1023: validated but unable to log on */
	MG_EXCHANGE_IS_LOGON_FAILURE,
	/* MSExchange IMAP4 13003: EcDoPrivateLogon() failed */
	MG_EXCHANGE_IMAP4_LOGON_FAILED,
	/* MSExchange POP3 13003: EcGetMailboxDN() failed */
	MG_EXCHANGE_POP3_LOGON_FAILED,
	/* MSExchange IMAP4 11202: successfully logged on */
	MG_EXCHANGE_IMAP4_LOGON_SUCCESS,
};

/* Exchange's Diagnostics Logging levels for Authentication. */
enum mg_diagnostics_level {
	MG_DIAGNOSTICS_NONE = 0,
	MG_DIAGNOSTICS_MINIMUM = 1,
	MG_DIAGNOSTICS_MEDIUM = 3,
	MG_DIAGNOSTICS_MAXIMUM = 5,
};

struct mg_exchange_event {
	unsigned int id;
	const char *source;
	/* "Failure Audit", "Error", "Success Audit" */
	const char *type;
	const char *category;
	/* written when the diagnostics level is at least this */
	enum mg_diagnostics_level level;
	/* an error (as opposed to an audit) */
	bool error;
};

struct mg_exchange_params {
	/* DOMAIN of DOMAIN\LOGIN */
	const char *domain;
	/* who was validated: the login, or the master user of a delegate
	   logon */
	const char *login;
	/* the target entry's alias */
	const char *alias;
	/* X.500 DNs of LOGIN's entry and of the target */
	const char *login_x500;
	const char *target_x500;
	/* the client's address */
	const char *addr;
};

/* Who the events name, per directory. */
struct mg_exchange_identity {
	const char *nt_domain;
	const char *org;
	const char *site;
	/* the attribute holding an entry's alias (uid, mailNickname) */
	const char *alias_attr;
};

/* Everything one logon's events say, derived once. params' strings point
   into this struct, into the entry's values or into the arguments, so it
   lives no longer than they do. */
struct mg_exchange_names {
	struct mg_exchange_params params;
	char login_x500[512];
	char target_x500[512];
};

/* The target's alias is its alias_attr value (else user); its X.500 DN is
   its legacyExchangeDN (else built from the alias). LOGIN is master for a
   delegate logon (master != NULL), with an X.500 DN built from that name;
   else user, with the target's. */
void mg_exchange_names_init(struct mg_exchange_names *names,
			    const struct mg_exchange_identity *identity,
			    const struct mg_entry_view *entry,
			    const char *user, const char *master,
			    const char *addr);

const struct mg_exchange_event *
mg_exchange_event_get(enum mg_exchange_event_kind kind);

/* Whether kind is written at diagnostics level. */
bool mg_exchange_event_wanted(enum mg_exchange_event_kind kind,
			      enum mg_diagnostics_level level);

/* The description (Exchange's message text). Returns the length it needs,
   as snprintf() does: the text is cut when that is >= size. */
size_t mg_exchange_format_description(enum mg_exchange_event_kind kind,
				      const struct mg_exchange_params *params,
				      char *buf, size_t size);

/* The whole line: "SOURCE: Event ID N (TYPE, CATEGORY): DESCRIPTION".
   Returns as mg_exchange_format_description() does. */
size_t mg_exchange_format_line(enum mg_exchange_event_kind kind,
			       const struct mg_exchange_params *params,
			       char *buf, size_t size);

/* /o=ORG/ou=SITE/cn=Recipients/cn=ALIAS. Returns as snprintf() does. */
size_t mg_exchange_x500_dn(const char *org, const char *site,
			   const char *alias, char *buf, size_t size);

/* "none", "minimum", "medium", "maximum". */
bool mg_diagnostics_parse(const char *name, enum mg_diagnostics_level *level_r);

/* Defaults taken from a base DN such as ou=Site,o=Org or
   dc=corp,dc=example: the NT domain is the first dc= value upper-cased
   (else the first o=); the organization is the o= value (else the first
   dc=), the site the first ou= value (else the second dc=, else the
   organization). Each writes "" when the DN has nothing to offer and
   returns as snprintf() does. */
size_t mg_exchange_default_domain(const char *base, char *buf, size_t size);
size_t mg_exchange_default_org(const char *base, char *buf, size_t size);
size_t mg_exchange_default_site(const char *base, char *buf, size_t size);

#endif

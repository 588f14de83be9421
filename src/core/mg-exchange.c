/* Exchange event records and their exact texts. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "mg-exchange.h"

static const struct mg_exchange_event exchange_events[] = {
	[MG_EXCHANGE_IS_LOGON_FAILURE] = {
		1023, "MSExchangeIS Private", "Failure Audit", "Logons",
		MG_DIAGNOSTICS_NONE, false,
	},
	[MG_EXCHANGE_IMAP4_LOGON_FAILED] = {
		13003, "MSExchange IMAP4", "Error", "Authentication",
		MG_DIAGNOSTICS_NONE, true,
	},
	[MG_EXCHANGE_POP3_LOGON_FAILED] = {
		13003, "MSExchange POP3", "Error", "Authentication",
		MG_DIAGNOSTICS_NONE, true,
	},
	[MG_EXCHANGE_IMAP4_LOGON_SUCCESS] = {
		11202, "MSExchange IMAP4", "Success Audit", "Authentication",
		MG_DIAGNOSTICS_MINIMUM, false,
	},
};

const struct mg_exchange_event *
mg_exchange_event_get(enum mg_exchange_event_kind kind)
{
	return &exchange_events[kind];
}

bool mg_exchange_event_wanted(enum mg_exchange_event_kind kind,
			      enum mg_diagnostics_level level)
{
	return exchange_events[kind].level <= level;
}

size_t mg_exchange_format_description(enum mg_exchange_event_kind kind,
				      const struct mg_exchange_params *p,
				      char *buf, size_t size)
{
	int ret = 0;

	switch (kind) {
	case MG_EXCHANGE_IS_LOGON_FAILURE:
		ret = snprintf(buf, size, "%s\\%s was validated as %s but was "
			       "unable to log on to %s.", p->domain, p->login,
			       p->login_x500, p->target_x500);
		break;
	case MG_EXCHANGE_IMAP4_LOGON_FAILED:
		ret = snprintf(buf, size, "Logon attempt from %s to %s/%s has "
			       "failed: EcDoPrivateLogon() call failed with "
			       "error Logon failure.", p->addr, p->login,
			       p->alias);
		break;
	case MG_EXCHANGE_POP3_LOGON_FAILED:
		ret = snprintf(buf, size, "Logon attempt from %s to %s/%s has "
			       "failed: EcGetMailboxDN() call failed with "
			       "error. The requested mailbox is not available "
			       "on this server.", p->addr, p->login, p->alias);
		break;
	case MG_EXCHANGE_IMAP4_LOGON_SUCCESS:
		ret = snprintf(buf, size, "An IMAP4 client %s successfully "
			       "logged on to the mailbox %s/%s.", p->addr,
			       p->login, p->alias);
		break;
	}
	return ret < 0 ? 0 : (size_t)ret;
}

size_t mg_exchange_format_line(enum mg_exchange_event_kind kind,
			       const struct mg_exchange_params *params,
			       char *buf, size_t size)
{
	const struct mg_exchange_event *event = &exchange_events[kind];
	int prefix;

	prefix = snprintf(buf, size, "%s: Event ID %u (%s, %s): ",
			  event->source, event->id, event->type,
			  event->category);
	if (prefix < 0)
		return 0;
	if ((size_t)prefix >= size) {
		return (size_t)prefix +
			mg_exchange_format_description(kind, params, NULL, 0);
	}
	return (size_t)prefix +
		mg_exchange_format_description(kind, params, buf + prefix,
					       size - (size_t)prefix);
}

size_t mg_exchange_x500_dn(const char *org, const char *site,
			   const char *alias, char *buf, size_t size)
{
	int ret = snprintf(buf, size, "/o=%s/ou=%s/cn=Recipients/cn=%s",
			   org, site, alias);

	return ret < 0 ? 0 : (size_t)ret;
}

static const char *entry_first(const struct mg_entry_view *entry,
			       const char *attr)
{
	const char *const *values;

	if (attr == NULL || entry->get_values(entry->context, attr, &values) == 0)
		return NULL;
	return values[0];
}

void mg_exchange_names_init(struct mg_exchange_names *names,
			    const struct mg_exchange_identity *identity,
			    const struct mg_entry_view *entry,
			    const char *user, const char *master,
			    const char *addr)
{
	const char *alias = entry_first(entry, identity->alias_attr);
	const char *legacy_dn = entry_first(entry, "legacyExchangeDN");

	if (alias == NULL)
		alias = user;
	if (legacy_dn != NULL) {
		(void)snprintf(names->target_x500, sizeof(names->target_x500),
			       "%s", legacy_dn);
	} else {
		(void)mg_exchange_x500_dn(identity->org, identity->site, alias,
					  names->target_x500,
					  sizeof(names->target_x500));
	}
	if (master != NULL) {
		(void)mg_exchange_x500_dn(identity->org, identity->site, master,
					  names->login_x500,
					  sizeof(names->login_x500));
	} else {
		memcpy(names->login_x500, names->target_x500,
		       sizeof(names->login_x500));
	}
	names->params.domain = identity->nt_domain;
	names->params.login = master != NULL ? master : user;
	names->params.alias = alias;
	names->params.login_x500 = names->login_x500;
	names->params.target_x500 = names->target_x500;
	names->params.addr = addr;
}

bool mg_diagnostics_parse(const char *name, enum mg_diagnostics_level *level_r)
{
	static const struct {
		const char *name;
		enum mg_diagnostics_level level;
	} levels[] = {
		{ "none", MG_DIAGNOSTICS_NONE },
		{ "minimum", MG_DIAGNOSTICS_MINIMUM },
		{ "medium", MG_DIAGNOSTICS_MEDIUM },
		{ "maximum", MG_DIAGNOSTICS_MAXIMUM },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++) {
		if (strcmp(levels[i].name, name) == 0) {
			*level_r = levels[i].level;
			return true;
		}
	}
	return false;
}

/* The value of the nth (from 0) RDN of type attr in dn, copied into buf
   (size > 0). Multi-valued RDNs and escaped commas are rare in a search
   base; an escaped character is kept as written. */
static bool dn_rdn_value(const char *dn, const char *attr, unsigned int nth,
			 char *buf, size_t size)
{
	size_t attr_len = strlen(attr);
	const char *p = dn;

	while (*p != '\0') {
		const char *end = p;

		while (*p == ' ')
			p++;
		while (*end != '\0' && *end != ',') {
			if (*end == '\\' && end[1] != '\0')
				end++;
			end++;
		}
		if ((size_t)(end - p) > attr_len && p[attr_len] == '=' &&
		    strncasecmp(p, attr, attr_len) == 0 && nth-- == 0) {
			size_t len = (size_t)(end - p) - attr_len - 1;

			if (len >= size)
				len = size - 1;
			memcpy(buf, p + attr_len + 1, len);
			buf[len] = '\0';
			return true;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return false;
}

static size_t copy_out(const char *value, char *buf, size_t size)
{
	int ret = snprintf(buf, size, "%s", value);

	return ret < 0 ? 0 : (size_t)ret;
}

size_t mg_exchange_default_domain(const char *base, char *buf, size_t size)
{
	char value[256];

	if (!dn_rdn_value(base, "dc", 0, value, sizeof(value)) &&
	    !dn_rdn_value(base, "o", 0, value, sizeof(value)))
		value[0] = '\0';
	for (char *p = value; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return copy_out(value, buf, size);
}

size_t mg_exchange_default_org(const char *base, char *buf, size_t size)
{
	char value[256];

	if (!dn_rdn_value(base, "o", 0, value, sizeof(value)) &&
	    !dn_rdn_value(base, "dc", 0, value, sizeof(value)))
		value[0] = '\0';
	return copy_out(value, buf, size);
}

size_t mg_exchange_default_site(const char *base, char *buf, size_t size)
{
	char value[256];

	if (!dn_rdn_value(base, "ou", 0, value, sizeof(value)) &&
	    !dn_rdn_value(base, "dc", 1, value, sizeof(value)) &&
	    !dn_rdn_value(base, "o", 0, value, sizeof(value)) &&
	    !dn_rdn_value(base, "dc", 0, value, sizeof(value)))
		value[0] = '\0';
	return copy_out(value, buf, size);
}

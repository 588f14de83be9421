/* Settings validation: one key at a time, then the whole. */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mg-filter.h"
#include "mg-config.h"

enum mg_config_type {
	MG_CONFIG_STRING,
	/* sent to the server: syntax only */
	MG_CONFIG_FILTER,
	/* evaluated by the local matcher */
	MG_CONFIG_LOCAL_FILTER,
	MG_CONFIG_URIS,
	MG_CONFIG_BOOL,
	MG_CONFIG_COUNT,
	MG_CONFIG_MSECS,
	MG_CONFIG_SCOPE,
	MG_CONFIG_PROFILE,
	MG_CONFIG_REFUSAL,
	MG_CONFIG_DIAGNOSTICS,
	MG_CONFIG_TLS_REQUIRE,
	MG_CONFIG_CHANGE_FEED,
};

struct mg_config_key {
	const char *name;
	enum mg_config_type type;
	size_t offset;
};

#define KEY(name, type) { #name, type, offsetof(struct mg_config, name) }

static const struct mg_config_key config_keys[] = {
	KEY(uris, MG_CONFIG_URIS),
	KEY(dn, MG_CONFIG_STRING),
	KEY(dnpass, MG_CONFIG_STRING),
	KEY(base, MG_CONFIG_STRING),
	KEY(scope, MG_CONFIG_SCOPE),
	KEY(pass_filter, MG_CONFIG_FILTER),
	KEY(user_filter, MG_CONFIG_FILTER),
	KEY(pass_attrs, MG_CONFIG_STRING),
	KEY(user_attrs, MG_CONFIG_STRING),
	KEY(iterate_filter, MG_CONFIG_FILTER),
	KEY(iterate_attrs, MG_CONFIG_STRING),
	KEY(iterate_page_size, MG_CONFIG_COUNT),
	KEY(default_pass_scheme, MG_CONFIG_STRING),
	KEY(auth_bind, MG_CONFIG_BOOL),
	KEY(auth_bind_userdn, MG_CONFIG_STRING),
	KEY(tls, MG_CONFIG_BOOL),
	KEY(tls_ca_cert_file, MG_CONFIG_STRING),
	KEY(tls_ca_cert_dir, MG_CONFIG_STRING),
	KEY(tls_cert_file, MG_CONFIG_STRING),
	KEY(tls_key_file, MG_CONFIG_STRING),
	KEY(tls_require_cert, MG_CONFIG_TLS_REQUIRE),
	KEY(sasl_bind, MG_CONFIG_BOOL),
	KEY(sasl_mech, MG_CONFIG_STRING),
	KEY(sasl_authz_id, MG_CONFIG_STRING),
	KEY(recipient_profile, MG_CONFIG_PROFILE),
	KEY(custom_recipient_match, MG_CONFIG_LOCAL_FILTER),
	KEY(mailbox_match, MG_CONFIG_LOCAL_FILTER),
	KEY(custom_recipient_result, MG_CONFIG_REFUSAL),
	KEY(custom_recipient_reason, MG_CONFIG_STRING),
	KEY(exchange_events, MG_CONFIG_BOOL),
	KEY(diagnostics_logging, MG_CONFIG_DIAGNOSTICS),
	KEY(nt_domain, MG_CONFIG_STRING),
	KEY(exchange_org, MG_CONFIG_STRING),
	KEY(exchange_site, MG_CONFIG_STRING),
	KEY(mailbox_alias_attr, MG_CONFIG_STRING),
	KEY(audit_only, MG_CONFIG_BOOL),
	KEY(connections, MG_CONFIG_COUNT),
	KEY(max_pending, MG_CONFIG_COUNT),
	KEY(change_feed, MG_CONFIG_CHANGE_FEED),
	{ "request_timeout", MG_CONFIG_MSECS,
	  offsetof(struct mg_config, request_timeout_msecs) },
	{ "change_feed_timeout", MG_CONFIG_MSECS,
	  offsetof(struct mg_config, change_feed_timeout_msecs) },
};

/* The same defaults as Dovecot's LDAP driver where the key is shared, so a
   dovecot-ldap.conf.ext moves over unchanged. */
static const struct {
	const char *key, *value;
} config_defaults[] = {
	{ "scope", "subtree" },
	{ "pass_filter", "(&(objectClass=posixAccount)(uid=%u))" },
	{ "user_filter", "(&(objectClass=posixAccount)(uid=%u))" },
	{ "pass_attrs", "uid=user,userPassword=password" },
	{ "user_attrs", "homeDirectory=home,uidNumber=uid,gidNumber=gid" },
	{ "iterate_filter", "(objectClass=posixAccount)" },
	{ "iterate_attrs", "uid=user" },
	/* OpenLDAP's default size limit: a page never runs into it */
	{ "iterate_page_size", "500" },
	{ "default_pass_scheme", "CRYPT" },
	{ "tls_require_cert", "demand" },
	{ "sasl_mech", "EXTERNAL" },
	{ "recipient_profile", "none" },
	{ "custom_recipient_result", "failure" },
	{ "custom_recipient_reason",
	  "The requested mailbox is not available on this server." },
	{ "exchange_events", "yes" },
	{ "diagnostics_logging", "none" },
	{ "audit_only", "no" },
	{ "connections", "2" },
	{ "max_pending", "256" },
	{ "request_timeout", "5s" },
	{ "change_feed", "no" },
	{ "change_feed_timeout", "10s" },
};

static const struct mg_config_key *config_key_find(const char *name)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++) {
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

static bool parse_bool(const char *value, bool *result_r)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0) {
		*result_r = true;
		return true;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "n") == 0) {
		*result_r = false;
		return true;
	}
	return false;
}

/* A decimal number at the start of value; *end_r is what follows it. */
static bool parse_number(const char *value, unsigned long max,
			 unsigned long *n_r, char **end_r)
{
	if (value[0] < '0' || value[0] > '9')
		return false;
	errno = 0;
	*n_r = strtoul(value, end_r, 10);
	return errno == 0 && *n_r <= max;
}

static bool parse_count(const char *value, unsigned int *count_r)
{
	unsigned long n;
	char *end;

	if (!parse_number(value, 100000, &n, &end) || *end != '\0' || n == 0)
		return false;
	*count_r = (unsigned int)n;
	return true;
}

/* "5", "5s", "5 secs", "500ms", "500 msecs": the forms an admin types in
   Dovecot's own settings. */
static bool parse_msecs(const char *value, unsigned int *msecs_r)
{
	static const struct {
		const char *unit;
		unsigned long factor;
	} units[] = {
		{ "", 1000 }, { "s", 1000 }, { "sec", 1000 }, { "secs", 1000 },
		{ "ms", 1 }, { "msec", 1 }, { "msecs", 1 },
	};
	const unsigned long max = 3600UL * 1000;
	unsigned long n;
	char *end;

	if (!parse_number(value, max, &n, &end))
		return false;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			n *= units[i].factor;
			if (n == 0 || n > max)
				return false;
			*msecs_r = (unsigned int)n;
			return true;
		}
	}
	return false;
}

static bool uri_scheme_valid(const char *uri, size_t len)
{
	static const char *const schemes[] = {
		"ldap://", "ldaps://", "ldapi://"
	};

	for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++) {
		size_t n = strlen(schemes[i]);

		if (len >= n && strncmp(uri, schemes[i], n) == 0)
			return true;
	}
	return false;
}

static bool validate_uris(const char *value, struct mg_error *error_r)
{
	const char *p = value;
	unsigned int count = 0;

	while (*p != '\0') {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (len == 0)
			break;
		if (!uri_scheme_valid(p, len)) {
			mg_error_set(error_r, "uris: '%.*s' is not an ldap://, "
				     "ldaps:// or ldapi:// URI", (int)len, p);
			return false;
		}
		count++;
		p += len;
	}
	if (count == 0) {
		mg_error_set(error_r, "uris: no URI given");
		return false;
	}
	return true;
}

static bool validate_filter(const char *key, const char *value, bool local,
			    struct mg_error *error_r)
{
	struct mg_error error;
	struct mg_filter *filter;
	bool ret = true;

	filter = mg_filter_parse(value, &error);
	if (filter == NULL) {
		mg_error_set(error_r, "%s: invalid LDAP filter: %s",
			     key, error.message);
		return false;
	}
	if (local && !mg_filter_check_local(filter, &error)) {
		mg_error_set(error_r, "%s: filter not evaluated locally: %s",
			     key, error.message);
		ret = false;
	}
	mg_filter_free(&filter);
	return ret;
}

static bool set_string(char **field, const char *value,
		       struct mg_error *error_r)
{
	char *copy = strdup(value);

	if (copy == NULL) {
		mg_error_set(error_r, "out of memory");
		return false;
	}
	free(*field);
	*field = copy;
	return true;
}

static bool config_set_typed(struct mg_config *config,
			     const struct mg_config_key *key,
			     const char *value, struct mg_error *error_r)
{
	void *field = (char *)config + key->offset;

	switch (key->type) {
	case MG_CONFIG_FILTER:
	case MG_CONFIG_LOCAL_FILTER:
		if (!validate_filter(key->name, value,
				     key->type == MG_CONFIG_LOCAL_FILTER,
				     error_r))
			return false;
		return set_string(field, value, error_r);
	case MG_CONFIG_URIS:
		if (!validate_uris(value, error_r))
			return false;
		return set_string(field, value, error_r);
	case MG_CONFIG_STRING:
		return set_string(field, value, error_r);
	case MG_CONFIG_BOOL:
		if (parse_bool(value, field))
			return true;
		mg_error_set(error_r, "%s: expected yes or no, got '%s'",
			     key->name, value);
		return false;
	case MG_CONFIG_COUNT:
		if (parse_count(value, field))
			return true;
		mg_error_set(error_r, "%s: expected a number from 1 to 100000, "
			     "got '%s'", key->name, value);
		return false;
	case MG_CONFIG_MSECS:
		if (parse_msecs(value, field))
			return true;
		mg_error_set(error_r, "%s: expected a time such as 5s or "
			     "500ms (at most 1 hour), got '%s'",
			     key->name, value);
		return false;
	case MG_CONFIG_SCOPE:
		if (strcmp(value, "base") == 0)
			*(enum mg_scope *)field = MG_SCOPE_BASE;
		else if (strcmp(value, "onelevel") == 0 ||
			 strcmp(value, "one") == 0)
			*(enum mg_scope *)field = MG_SCOPE_ONELEVEL;
		else if (strcmp(value, "subtree") == 0 ||
			 strcmp(value, "sub") == 0)
			*(enum mg_scope *)field = MG_SCOPE_SUBTREE;
		else {
			mg_error_set(error_r, "scope: expected base, onelevel "
				     "or subtree, got '%s'", value);
			return false;
		}
		return true;
	case MG_CONFIG_PROFILE:
		if (mg_profile_parse(value, field))
			return true;
		mg_error_set(error_r, "recipient_profile: expected exchange55, "
			     "ad, openldap or none, got '%s'", value);
		return false;
	case MG_CONFIG_DIAGNOSTICS:
		if (mg_diagnostics_parse(value, field))
			return true;
		mg_error_set(error_r, "diagnostics_logging: expected none, "
			     "minimum, medium or maximum, got '%s'", value);
		return false;
	case MG_CONFIG_TLS_REQUIRE: {
		static const char *const names[] = {
			"never", "hard", "demand", "allow", "try"
		};

		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
			if (strcmp(value, names[i]) == 0) {
				*(enum mg_tls_require_cert *)field =
					(enum mg_tls_require_cert)i;
				return true;
			}
		}
		mg_error_set(error_r, "tls_require_cert: expected never, hard, "
			     "demand, allow or try, got '%s'", value);
		return false;
	}
	case MG_CONFIG_CHANGE_FEED:
		if (strcmp(value, "no") == 0)
			*(enum mg_change_feed *)field = MG_CHANGE_FEED_NO;
		else if (strcmp(value, "syncrepl") == 0)
			*(enum mg_change_feed *)field = MG_CHANGE_FEED_SYNCREPL;
		else if (strcmp(value, "auto") == 0)
			*(enum mg_change_feed *)field = MG_CHANGE_FEED_AUTO;
		else if (strcmp(value, "ad-notify") == 0)
			*(enum mg_change_feed *)field = MG_CHANGE_FEED_AD_NOTIFY;
		else {
			mg_error_set(error_r, "change_feed: expected no, "
				     "syncrepl, ad-notify or auto, got '%s'",
				     value);
			return false;
		}
		return true;
	case MG_CONFIG_REFUSAL:
		if (strcmp(value, "failure") == 0)
			*(enum mg_refusal *)field = MG_REFUSAL_FAILURE;
		else if (strcmp(value, "tempfail") == 0)
			*(enum mg_refusal *)field = MG_REFUSAL_TEMPFAIL;
		else {
			mg_error_set(error_r, "custom_recipient_result: "
				     "expected failure or tempfail, got '%s'",
				     value);
			return false;
		}
		return true;
	}
	mg_error_set(error_r, "%s: unhandled setting type", key->name);
	return false;
}

bool mg_config_set(struct mg_config *config, const char *key,
		   const char *value, struct mg_error *error_r)
{
	const struct mg_config_key *def = config_key_find(key);

	if (def == NULL) {
		mg_error_set(error_r, "unknown setting '%s'", key);
		return false;
	}
	return config_set_typed(config, def, value, error_r);
}

struct mg_config *mg_config_new(void)
{
	struct mg_config *config = calloc(1, sizeof(*config));
	struct mg_error error;

	if (config == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(config_defaults) / sizeof(*config_defaults); i++) {
		if (!mg_config_set(config, config_defaults[i].key,
				   config_defaults[i].value, &error)) {
			mg_config_free(&config);
			return NULL;
		}
	}
	return config;
}

void mg_config_free(struct mg_config **_config)
{
	struct mg_config *config = *_config;

	if (config == NULL)
		return;
	*_config = NULL;
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++) {
		const struct mg_config_key *key = &config_keys[i];

		if (key->type == MG_CONFIG_STRING ||
		    key->type == MG_CONFIG_FILTER ||
		    key->type == MG_CONFIG_LOCAL_FILTER ||
		    key->type == MG_CONFIG_URIS)
			free(*(char **)((char *)config + key->offset));
	}
	mg_classifier_free(&config->classifier);
	free(config);
}

static bool uris_have_scheme(const char *uris, const char *scheme)
{
	size_t len = strlen(scheme);

	for (const char *p = uris; (p = strstr(p, scheme)) != NULL; p += len) {
		if (p == uris || p[-1] == ' ' || p[-1] == '\t')
			return true;
	}
	return false;
}

/* Combinations that would connect in a way the admin did not ask for. */
static bool config_check_tls_sasl(const struct mg_config *config,
				  struct mg_error *error_r)
{
	if (config->tls && uris_have_scheme(config->uris, "ldaps://")) {
		mg_error_set(error_r, "tls = yes (StartTLS) and ldaps:// URIs "
			     "don't go together: use one or the other");
		return false;
	}
	if ((config->tls_cert_file == NULL) != (config->tls_key_file == NULL)) {
		mg_error_set(error_r, "tls_cert_file and tls_key_file go "
			     "together: set both or neither");
		return false;
	}
	if (config->sasl_bind && strcasecmp(config->sasl_mech, "EXTERNAL") != 0) {
		mg_error_set(error_r, "sasl_mech: only EXTERNAL is supported "
			     "(over ldapi:// or with a TLS client "
			     "certificate), got '%s'", config->sasl_mech);
		return false;
	}
	if (config->sasl_bind && config->dn != NULL) {
		mg_error_set(error_r, "sasl_bind = yes and dn don't go "
			     "together: the SASL identity replaces dn");
		return false;
	}
	return true;
}

typedef size_t mg_config_derive_t(const char *base, char *buf, size_t size);

static bool config_derive(char **field, mg_config_derive_t *derive,
			  const char *base, struct mg_error *error_r)
{
	char value[256];

	if (*field != NULL)
		return true;
	(void)derive(base, value, sizeof(value));
	return set_string(field, value, error_r);
}

/* The audit trail's names default to what the base DN says, and the alias
   to what the directory family calls it. */
static bool config_derive_exchange(struct mg_config *config,
				   struct mg_error *error_r)
{
	if (config->mailbox_alias_attr == NULL &&
	    !set_string(&config->mailbox_alias_attr,
			config->recipient_profile == MG_PROFILE_AD ?
			"mailNickname" : "uid", error_r))
		return false;
	return config_derive(&config->nt_domain, mg_exchange_default_domain,
			     config->base, error_r) &&
		config_derive(&config->exchange_org, mg_exchange_default_org,
			      config->base, error_r) &&
		config_derive(&config->exchange_site, mg_exchange_default_site,
			      config->base, error_r);
}

bool mg_config_finish(struct mg_config *config, struct mg_error *error_r)
{
	if (config->uris == NULL) {
		mg_error_set(error_r, "missing required setting 'uris'");
		return false;
	}
	if (config->base == NULL) {
		mg_error_set(error_r, "missing required setting 'base'");
		return false;
	}
	if (config->dnpass != NULL && config->dn == NULL) {
		mg_error_set(error_r, "dnpass is set but dn is not");
		return false;
	}
	/* a DN without a password (or with an empty one) is an
	   unauthenticated bind, which servers answer as anonymous: almost
	   certainly not what was meant */
	if (config->dn != NULL && config->dnpass == NULL) {
		mg_error_set(error_r, "dn is set but dnpass is not");
		return false;
	}
	if (config->dn != NULL && config->dnpass[0] == '\0') {
		mg_error_set(error_r, "dn is set but dnpass is empty");
		return false;
	}
	if (!config_check_tls_sasl(config, error_r))
		return false;
	if (config->auth_bind_userdn != NULL && !config->auth_bind) {
		mg_error_set(error_r, "auth_bind_userdn is set but "
			     "auth_bind = no");
		return false;
	}
	if (!config_derive_exchange(config, error_r))
		return false;
	mg_classifier_free(&config->classifier);
	config->classifier = mg_classifier_new(config->recipient_profile,
					       config->custom_recipient_match,
					       config->mailbox_match, error_r);
	return config->classifier != NULL;
}

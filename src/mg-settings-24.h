#ifndef MG_SETTINGS_24_H
#define MG_SETTINGS_24_H

/* Dovecot 2.4: the plugin's settings are Dovecot settings in dovecot.conf,
   declared by mg_setting_parser_info (compiled into the auth module and
   into the settings module Dovecot's config process loads, so doveconf
   knows, shows and checks them). Global keys are mailbox_guard_*, those
   of one passdb or userdb passdb_mailbox_guard_* and
   userdb_mailbox_guard_*, written without the prefix inside a
   passdb NAME { } or userdb NAME { } block. TLS takes Dovecot's own
   ssl_client_* settings (mg-settings-24.c). Every value is validated by
   the core (mg-config.h), as the 2.3 settings file is. */

#include "mg-config.h"

enum mg_settings_role {
	MG_SETTINGS_PASSDB,
	MG_SETTINGS_USERDB,
};

struct mg_settings {
	pool_t pool;

	const char *uris;
	const char *auth_dn;
	const char *auth_dn_password;
	ARRAY_TYPE(const_string) auth_sasl_mechanisms;
	const char *auth_sasl_authz_id;
	const char *base;
	const char *scope;
	bool starttls;

	const char *recipient_profile;
	const char *custom_recipient_match;
	const char *mailbox_match;
	const char *custom_recipient_result;
	const char *custom_recipient_reason;
	bool exchange_events;
	const char *diagnostics_logging;
	const char *nt_domain;
	const char *exchange_org;
	const char *exchange_site;
	const char *mailbox_alias_attr;
	bool audit_only;
	unsigned int connections;
	unsigned int max_pending;
	unsigned int request_timeout;
	const char *change_feed;
	unsigned int change_feed_timeout;

	/* passdb_mailbox_guard_* */
	const char *passdb_filter;
	bool passdb_bind;
	const char *passdb_bind_userdn;
	/* userdb_mailbox_guard_* */
	const char *userdb_filter;
	const char *userdb_iterate_filter;
	ARRAY_TYPE(const_string) userdb_iterate_fields;
	unsigned int userdb_iterate_page_size;
};

extern const struct setting_parser_info mg_setting_parser_info;

/* Applies set's keys to config: the shared ones, and those of role.
   Returns FALSE with error_r naming the 2.4 key. */
bool mg_settings_apply(const struct mg_settings *set,
		       enum mg_settings_role role, struct mg_config *config,
		       const char **error_r);

/* The shared keys and their values, one string: two passdbs or userdbs
   whose strings are equal share one LDAP client and one search per
   login. */
const char *mg_settings_shared_id(const struct mg_settings *set);

/* A core message with its 2.3 key names replaced by the 2.4 ones. */
const char *mg_settings_translate_error(const char *message);

struct event;
struct mg_db;

/* The db for the passdb or userdb whose settings event reads (with a new
   reference), created the first time its shared settings are seen; the
   role's own keys are added to it. Returns NULL with error_r naming the
   setting when one is wrong or two passdbs (or userdbs) share the shared
   settings but not their own. */
struct mg_db *mg_db_get_settings(struct event *event,
				 enum mg_settings_role role,
				 const char **error_r);
/* Dovecot's cache key for the answers of the passdb or userdb whose
   settings event reads: key_vars (what its search reads) and the
   variables of its fields { }. Returns NULL with error_r on error. */
const char *mg_settings_cache_key(pool_t pool, struct event *event,
				  enum mg_settings_role role,
				  const char *key_vars, const char **error_r);

#endif

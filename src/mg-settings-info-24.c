/* Dovecot 2.4: the plugin's settings as Dovecot declares settings, and
   their way into the core's validation. Compiled into the auth module and
   into the settings module (mg-settings-module-24.c). */

#include "lib.h"
#include <ctype.h>
#include "array.h"
#include "str.h"
#include "settings-parser.h"
#include "mg-settings-24.h"

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type("mailbox_guard_"#name, name, \
				     struct mg_settings)
#define DEF_DB(type, db, name) \
	SETTING_DEFINE_STRUCT_##type(#db"_mailbox_guard_"#name, db##_##name, \
				     struct mg_settings)

static bool mg_settings_check(void *set, pool_t pool, const char **error_r);

static const struct setting_define mg_setting_defines[] = {
	{ .type = SET_FILTER_NAME, .key = "passdb_mailbox_guard", },
	{ .type = SET_FILTER_NAME, .key = "userdb_mailbox_guard", },
	DEF(STR, uris),
	DEF(STR, auth_dn),
	DEF(STR, auth_dn_password),
	DEF(BOOLLIST, auth_sasl_mechanisms),
	DEF(STR, auth_sasl_authz_id),
	DEF(STR, base),
	DEF(STR, scope),
	DEF(BOOL, starttls),
	DEF(STR, recipient_profile),
	DEF(STR, custom_recipient_match),
	DEF(STR, mailbox_match),
	DEF(STR, custom_recipient_result),
	DEF(STR, custom_recipient_reason),
	DEF(BOOL, exchange_events),
	DEF(STR, diagnostics_logging),
	DEF(STR, nt_domain),
	DEF(STR, exchange_org),
	DEF(STR, exchange_site),
	DEF(STR, mailbox_alias_attr),
	DEF(BOOL, audit_only),
	DEF(UINT, connections),
	DEF(UINT, max_pending),
	DEF(TIME_MSECS, request_timeout),
	DEF_DB(STR, passdb, filter),
	DEF_DB(BOOL, passdb, bind),
	DEF_DB(STR, passdb, bind_userdn),
	DEF_DB(STR, userdb, filter),
	DEF_DB(STR, userdb, iterate_filter),
	DEF_DB(STRLIST, userdb, iterate_fields),
	DEF_DB(UINT, userdb, iterate_page_size),
	SETTING_DEFINE_LIST_END
};

/* The 2.3 defaults, in 2.4's variables where they have any. */
static const struct mg_settings mg_default_settings = {
	.uris = "",
	.auth_dn = "",
	.auth_dn_password = "",
	.auth_sasl_mechanisms = ARRAY_INIT,
	.auth_sasl_authz_id = "",
	.base = "",
	.scope = "subtree",
	.starttls = FALSE,
	.recipient_profile = "none",
	.custom_recipient_match = "",
	.mailbox_match = "",
	.custom_recipient_result = "failure",
	.custom_recipient_reason =
		"The requested mailbox is not available on this server.",
	.exchange_events = TRUE,
	.diagnostics_logging = "none",
	.nt_domain = "",
	.exchange_org = "",
	.exchange_site = "",
	.mailbox_alias_attr = "",
	.audit_only = FALSE,
	.connections = 2,
	.max_pending = 256,
	.request_timeout = 5000,
	.passdb_filter = "(&(objectClass=posixAccount)(uid=%{user}))",
	.passdb_bind = FALSE,
	.passdb_bind_userdn = "",
	.userdb_filter = "(&(objectClass=posixAccount)(uid=%{user}))",
	.userdb_iterate_filter = "(objectClass=posixAccount)",
	.userdb_iterate_fields = ARRAY_INIT,
	/* OpenLDAP's default size limit: a page never runs into it */
	.userdb_iterate_page_size = 500,
};

static const struct setting_keyvalue mg_default_settings_keyvalue[] = {
	{ "passdb_mailbox_guard/passdb_default_password_scheme", "crypt" },
	{ "passdb_mailbox_guard/passdb_fields_import_all", "no" },
	{ "userdb_mailbox_guard/userdb_fields_import_all", "no" },
	{ NULL, NULL }
};

const struct setting_parser_info mg_setting_parser_info = {
	.name = "mailbox_guard",
	.defines = mg_setting_defines,
	.defaults = &mg_default_settings,
	.default_settings = mg_default_settings_keyvalue,
	.check_func = mg_settings_check,
	.struct_size = sizeof(struct mg_settings),
	.pool_offset1 = 1 + offsetof(struct mg_settings, pool),
};

enum mg_key_scope {
	MG_KEY_SHARED,
	MG_KEY_PASSDB,
	MG_KEY_USERDB,
};

enum mg_key_vars {
	/* used as it is, % and all: a password */
	MG_KEY_VARS_LITERAL,
	/* no %-variables mean anything here */
	MG_KEY_VARS_NONE,
	/* LDAP URLs: no variables, %XX is an escaped character */
	MG_KEY_VARS_URL,
	/* the request's variables (a filter, a DN) */
	MG_KEY_VARS_REQUEST,
	/* and the found entry's, %{ldap:attr} */
	MG_KEY_VARS_ENTRY,
};

/* how the struct holds the value (the core takes them all as text) */
enum mg_key_type {
	MG_KEY_STR,
	MG_KEY_BOOL,
	MG_KEY_UINT,
	MG_KEY_MSECS,
};

struct mg_key {
	/* the 2.4 setting and the core's (2.3) key */
	const char *name, *core;
	enum mg_key_scope scope;
	enum mg_key_vars vars;
	size_t offset;
	enum mg_key_type type;
};

#define KEY(name, core, scope, vars) \
	{ "mailbox_guard_"#name, core, scope, vars, \
	  offsetof(struct mg_settings, name), MG_KEY_STR }
#define KEY_TYPED(name, core, type) \
	{ "mailbox_guard_"#name, core, MG_KEY_SHARED, MG_KEY_VARS_NONE, \
	  offsetof(struct mg_settings, name), type }
#define KEY_BOOL(name, core, scope) KEY_TYPED(name, core, MG_KEY_BOOL)
#define KEY_DB(db, name, core, scope, vars) \
	{ #db"_mailbox_guard_"#name, core, scope, vars, \
	  offsetof(struct mg_settings, db##_##name), MG_KEY_STR }

static const struct mg_key mg_keys[] = {
	KEY(uris, "uris", MG_KEY_SHARED, MG_KEY_VARS_URL),
	KEY(auth_dn, "dn", MG_KEY_SHARED, MG_KEY_VARS_NONE),
	KEY(auth_dn_password, "dnpass", MG_KEY_SHARED, MG_KEY_VARS_LITERAL),
	KEY(auth_sasl_authz_id, "sasl_authz_id", MG_KEY_SHARED,
	    MG_KEY_VARS_NONE),
	KEY(base, "base", MG_KEY_SHARED, MG_KEY_VARS_REQUEST),
	KEY(scope, "scope", MG_KEY_SHARED, MG_KEY_VARS_NONE),
	KEY_BOOL(starttls, "tls", MG_KEY_SHARED),
	KEY(recipient_profile, "recipient_profile", MG_KEY_SHARED,
	    MG_KEY_VARS_NONE),
	KEY(custom_recipient_match, "custom_recipient_match", MG_KEY_SHARED,
	    MG_KEY_VARS_NONE),
	KEY(mailbox_match, "mailbox_match", MG_KEY_SHARED, MG_KEY_VARS_NONE),
	KEY(custom_recipient_result, "custom_recipient_result", MG_KEY_SHARED,
	    MG_KEY_VARS_NONE),
	KEY(custom_recipient_reason, "custom_recipient_reason", MG_KEY_SHARED,
	    MG_KEY_VARS_ENTRY),
	KEY_BOOL(exchange_events, "exchange_events", MG_KEY_SHARED),
	KEY(diagnostics_logging, "diagnostics_logging", MG_KEY_SHARED,
	    MG_KEY_VARS_NONE),
	KEY(nt_domain, "nt_domain", MG_KEY_SHARED, MG_KEY_VARS_NONE),
	KEY(exchange_org, "exchange_org", MG_KEY_SHARED, MG_KEY_VARS_NONE),
	KEY(exchange_site, "exchange_site", MG_KEY_SHARED, MG_KEY_VARS_NONE),
	KEY(mailbox_alias_attr, "mailbox_alias_attr", MG_KEY_SHARED,
	    MG_KEY_VARS_NONE),
	KEY_BOOL(audit_only, "audit_only", MG_KEY_SHARED),
	KEY_TYPED(connections, "connections", MG_KEY_UINT),
	KEY_TYPED(max_pending, "max_pending", MG_KEY_UINT),
	KEY_TYPED(request_timeout, "request_timeout", MG_KEY_MSECS),
	KEY_DB(passdb, filter, "pass_filter", MG_KEY_PASSDB,
	       MG_KEY_VARS_REQUEST),
	{ "passdb_mailbox_guard_bind", "auth_bind", MG_KEY_PASSDB,
	  MG_KEY_VARS_NONE, offsetof(struct mg_settings, passdb_bind),
	  MG_KEY_BOOL },
	KEY_DB(passdb, bind_userdn, "auth_bind_userdn", MG_KEY_PASSDB,
	       MG_KEY_VARS_REQUEST),
	KEY_DB(userdb, filter, "user_filter", MG_KEY_USERDB,
	       MG_KEY_VARS_REQUEST),
	KEY_DB(userdb, iterate_filter, "iterate_filter", MG_KEY_USERDB,
	       MG_KEY_VARS_REQUEST),
	{ "userdb_mailbox_guard_iterate_page_size", "iterate_page_size",
	  MG_KEY_USERDB, MG_KEY_VARS_NONE,
	  offsetof(struct mg_settings, userdb_iterate_page_size),
	  MG_KEY_UINT },
};

/* 2.3's variables and what 2.4 calls them. */
static const struct {
	const char *old, *new;
} mg_old_vars[] = {
	{ "%u", "%{user}" },
	{ "%n", "%{user | username}" },
	{ "%d", "%{user | domain}" },
	{ "%s", "%{protocol}" },
	{ "%r", "%{remote_ip}" },
	{ "%l", "%{local_ip}" },
	{ "%{username}", "%{user | username}" },
	{ "%{domain}", "%{user | domain}" },
	{ "%{service}", "%{protocol}" },
	{ "%{rip}", "%{remote_ip}" },
	{ "%{lip}", "%{local_ip}" },
};

/* A 2.3 variable in value is an error: 2.4 would send it as it is. */
static bool mg_settings_check_vars(const struct mg_key *key,
				   const char *value, const char **error_r)
{
	const char *p;

	for (p = strchr(value, '%'); p != NULL; p = strchr(p + 1, '%')) {
		if (p[1] == '%') {
			p++;
			continue;
		}
		if (key->vars == MG_KEY_VARS_URL) {
			if (i_isxdigit(p[1]) && i_isxdigit(p[2]))
				continue;
			*error_r = t_strdup_printf("%s: '%%' must be followed "
				"by two hex digits in an LDAP URL (takes no "
				"%%{variables})", key->name);
			return FALSE;
		}
		if (p[1] == '$') {
			*error_r = t_strdup_printf("%s: %%$ is Dovecot 2.3 "
				"syntax: write %%{ldap:ATTRIBUTE}", key->name);
			return FALSE;
		}
		for (unsigned int i = 0; i < N_ELEMENTS(mg_old_vars); i++) {
			if (str_begins_with(p, mg_old_vars[i].old)) {
				*error_r = t_strdup_printf(
					"%s: %s is Dovecot 2.3 syntax: write %s",
					key->name, mg_old_vars[i].old,
					mg_old_vars[i].new);
				return FALSE;
			}
		}
		if (p[1] != '{') {
			*error_r = t_strdup_printf("%s: '%%%c' is Dovecot 2.3 "
				"syntax: 2.4's variables are written %%{name}",
				key->name, p[1] == '\0' ? ' ' : p[1]);
			return FALSE;
		}
		if (key->vars == MG_KEY_VARS_NONE) {
			*error_r = t_strdup_printf("%s: takes no %%{variables}",
						   key->name);
			return FALSE;
		}
		if (key->vars == MG_KEY_VARS_REQUEST &&
		    (str_begins_with(p, "%{ldap:") ||
		     str_begins_with(p, "%{ldap_multi:"))) {
			*error_r = t_strdup_printf("%s: %%{ldap:...} names an "
				"attribute of the found entry, which isn't "
				"known yet here", key->name);
			return FALSE;
		}
	}
	return TRUE;
}

static const char *mg_settings_value(const struct mg_settings *set,
				     const struct mg_key *key)
{
	const void *field = CONST_PTR_OFFSET(set, key->offset);

	switch (key->type) {
	case MG_KEY_STR:
		break;
	case MG_KEY_BOOL:
		return *(const bool *)field ? "yes" : "no";
	case MG_KEY_UINT:
		return dec2str(*(const unsigned int *)field);
	case MG_KEY_MSECS:
		return t_strdup_printf("%ums", *(const unsigned int *)field);
	}
	return *(const char *const *)field;
}

static bool mg_settings_set(struct mg_config *config, const char *key,
			    const char *value, const char **error_r)
{
	struct mg_error error;

	if (mg_config_set(config, key, value, &error))
		return TRUE;
	*error_r = mg_settings_translate_error(error.message);
	return FALSE;
}

static bool mg_settings_apply_sasl(const struct mg_settings *set,
				   struct mg_config *config,
				   const char **error_r)
{
	const char *const *mechs;
	unsigned int count;

	if (array_is_empty(&set->auth_sasl_mechanisms))
		return TRUE;
	mechs = array_get(&set->auth_sasl_mechanisms, &count);
	if (count > 1) {
		*error_r = "mailbox_guard_auth_sasl_mechanisms: give one "
			"mechanism (EXTERNAL)";
		return FALSE;
	}
	return mg_settings_set(config, "sasl_bind", "yes", error_r) &&
		mg_settings_set(config, "sasl_mech", mechs[0], error_r);
}

/* with_vars = FALSE skips the keys that take %{variables}: in the config
   process they reach check_func already (fake-)expanded. */
static bool
mg_settings_apply_keys(const struct mg_settings *set,
		       enum mg_settings_role role, bool with_vars,
		       struct mg_config *config, const char **error_r)
{
	enum mg_key_scope scope = role == MG_SETTINGS_PASSDB ?
		MG_KEY_PASSDB : MG_KEY_USERDB;

	for (unsigned int i = 0; i < N_ELEMENTS(mg_keys); i++) {
		const struct mg_key *key = &mg_keys[i];
		const char *value = mg_settings_value(set, key);

		if (key->scope != MG_KEY_SHARED && key->scope != scope)
			continue;
		if (!with_vars && key->vars >= MG_KEY_VARS_REQUEST)
			continue;
		/* an empty string is an unset key, as in 2.4's drivers */
		if (value[0] == '\0')
			continue;
		if ((key->vars != MG_KEY_VARS_LITERAL &&
		     !mg_settings_check_vars(key, value, error_r)) ||
		    !mg_settings_set(config, key->core, value, error_r))
			return FALSE;
	}
	/* 2.3's attribute maps: on 2.4 the passdb and userdb fields { } */
	return mg_settings_set(config, "pass_attrs", "", error_r) &&
		mg_settings_set(config, "user_attrs", "", error_r) &&
		mg_settings_set(config, "iterate_attrs", "", error_r) &&
		mg_settings_apply_sasl(set, config, error_r);
}

bool mg_settings_apply(const struct mg_settings *set,
		       enum mg_settings_role role, struct mg_config *config,
		       const char **error_r)
{
	return mg_settings_apply_keys(set, role, TRUE, config, error_r);
}

const char *mg_settings_shared_id(const struct mg_settings *set)
{
	string_t *id = t_str_new(256);

	for (unsigned int i = 0; i < N_ELEMENTS(mg_keys); i++) {
		if (mg_keys[i].scope != MG_KEY_SHARED)
			continue;
		str_printfa(id, "%s=%s\n", mg_keys[i].name,
			    mg_settings_value(set, &mg_keys[i]));
	}
	if (!array_is_empty(&set->auth_sasl_mechanisms)) {
		str_append(id, "sasl=");
		str_append(id, t_strarray_join(
			array_front(&set->auth_sasl_mechanisms), " "));
	}
	return str_c(id);
}

static const char *mg_settings_core_to_name(const char *core, size_t len)
{
	for (unsigned int i = 0; i < N_ELEMENTS(mg_keys); i++) {
		if (strlen(mg_keys[i].core) == len &&
		    strncmp(mg_keys[i].core, core, len) == 0)
			return mg_keys[i].name;
	}
	if (len == 9 && strncmp(core, "sasl_bind", len) == 0)
		return "mailbox_guard_auth_sasl_mechanisms";
	if (len == 9 && strncmp(core, "sasl_mech", len) == 0)
		return "mailbox_guard_auth_sasl_mechanisms";
	return NULL;
}

/* A key name in a core message is followed by one of these. */
static bool mg_settings_is_key_end(const char *p)
{
	static const char *const ends[] = {
		":", "'", " =", " is ", " and ", " go ", " don't", NULL
	};

	for (unsigned int i = 0; ends[i] != NULL; i++) {
		if (str_begins_with(p, ends[i]))
			return TRUE;
	}
	return FALSE;
}

const char *mg_settings_translate_error(const char *message)
{
	string_t *str = t_str_new(strlen(message) + 64);
	const char *p = message;

	while (*p != '\0') {
		size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		const char *name;

		if (len == 0) {
			str_append_c(str, *p++);
			continue;
		}
		name = mg_settings_core_to_name(p, len);
		if (name != NULL && mg_settings_is_key_end(p + len))
			str_append(str, name);
		else
			str_append_data(str, p, len);
		p += len;
	}
	return str_c(str);
}

/* What doveconf and the config process can check: each value without
   variables on its own (the rest, and the whole with its required keys,
   is checked when a passdb or userdb uses the settings). */
static bool mg_settings_check(void *_set, pool_t pool ATTR_UNUSED,
			      const char **error_r)
{
	const struct mg_settings *set = _set;
	struct mg_config *config = mg_config_new();
	bool ret;

	ret = mg_settings_apply_keys(set, MG_SETTINGS_PASSDB, FALSE, config,
				     error_r) &&
		mg_settings_apply_keys(set, MG_SETTINGS_USERDB, FALSE, config,
				       error_r);
	mg_config_free(&config);
	return ret;
}

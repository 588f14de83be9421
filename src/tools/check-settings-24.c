/* Dovecot 2.4: the plugin's settings are dovecot.conf's. doveconf reads
   them (the settings module declares the keys, so a misspelt one fails
   there first), and they go into the core as the plugin puts them
   (src/mg-settings-info-24.c): the shared mailbox_guard_* keys, then the
   first mailbox_guard passdb's and userdb's own, validated by the core. */

#include <string.h>
#include <glib.h>
#include "mg-config.h"
#include "check-pass-attrs.h"
#include "check-settings.h"

#define DEFAULT_DOVECOT_CONF "/etc/dovecot/dovecot.conf"
#define SHARED_PREFIX "mailbox_guard_"

/* A 2.4 setting and the core's (2.3) key it sets. */
struct doveconf_key {
	const char *name, *core;
};

static const struct doveconf_key keys[] = {
	{ "mailbox_guard_uris", "uris" },
	{ "mailbox_guard_auth_dn", "dn" },
	{ "mailbox_guard_auth_dn_password", "dnpass" },
	{ "mailbox_guard_auth_sasl_authz_id", "sasl_authz_id" },
	{ "mailbox_guard_base", "base" },
	{ "mailbox_guard_scope", "scope" },
	{ "mailbox_guard_starttls", "tls" },
	{ "mailbox_guard_tls_ca_cert_file", "tls_ca_cert_file" },
	{ "mailbox_guard_tls_ca_cert_dir", "tls_ca_cert_dir" },
	{ "mailbox_guard_tls_cert_file", "tls_cert_file" },
	{ "mailbox_guard_tls_key_file", "tls_key_file" },
	{ "mailbox_guard_tls_require_cert", "tls_require_cert" },
	{ "mailbox_guard_recipient_profile", "recipient_profile" },
	{ "mailbox_guard_custom_recipient_match", "custom_recipient_match" },
	{ "mailbox_guard_mailbox_match", "mailbox_match" },
	{ "mailbox_guard_custom_recipient_result", "custom_recipient_result" },
	{ "mailbox_guard_custom_recipient_reason", "custom_recipient_reason" },
	{ "mailbox_guard_exchange_events", "exchange_events" },
	{ "mailbox_guard_diagnostics_logging", "diagnostics_logging" },
	{ "mailbox_guard_nt_domain", "nt_domain" },
	{ "mailbox_guard_exchange_org", "exchange_org" },
	{ "mailbox_guard_exchange_site", "exchange_site" },
	{ "mailbox_guard_mailbox_alias_attr", "mailbox_alias_attr" },
	{ "mailbox_guard_audit_only", "audit_only" },
	{ "mailbox_guard_connections", "connections" },
	{ "mailbox_guard_max_pending", "max_pending" },
	{ "mailbox_guard_request_timeout", "request_timeout" },
	{ "passdb_mailbox_guard_filter", "pass_filter" },
	{ "passdb_mailbox_guard_bind", "auth_bind" },
	{ "passdb_mailbox_guard_bind_userdn", "auth_bind_userdn" },
	{ "userdb_mailbox_guard_filter", "user_filter" },
	{ "userdb_mailbox_guard_iterate_filter", "iterate_filter" },
	{ "mailbox_guard_auth_sasl_mechanisms", "sasl_mech" },
	{ "mailbox_guard_auth_sasl_mechanisms", "sasl_bind" },
};

/* The plugin's 2.4 defaults where they differ from the core's (2.3
   variables, 2.3's attribute maps). */
static const struct doveconf_key defaults[] = {
	{ "(&(objectClass=posixAccount)(uid=%{user}))", "pass_filter" },
	{ "(&(objectClass=posixAccount)(uid=%{user}))", "user_filter" },
	{ "", "pass_attrs" },
	{ "", "user_attrs" },
	{ "", "iterate_attrs" },
};

/* What 2.3 wrote and 2.4 calls it: the plugin refuses to start on these
   (2.4 would send them as they are). */
static const struct doveconf_key old_vars[] = {
	{ "%{user}", "%u" }, { "%{user | username}", "%n" },
	{ "%{user | domain}", "%d" }, { "%{protocol}", "%s" },
	{ "%{remote_ip}", "%r" }, { "%{local_ip}", "%l" },
	{ "%{ldap:ATTRIBUTE}", "%$" },
	{ "%{user | username}", "%{username}" },
	{ "%{user | domain}", "%{domain}" }, { "%{protocol}", "%{service}" },
	{ "%{remote_ip}", "%{rip}" }, { "%{local_ip}", "%{lip}" },
};

/* What doveconf -n says of dovecot.conf: the shared keys, and the blocks
   of the first passdb and userdb that use the plugin. */
struct doveconf_settings {
	/* 2.4 name -> value, the blocks' keys over the top level's */
	GHashTable *values;
	/* the passdb's fields { }: name, template, ... */
	GPtrArray *fields;
};

/* The block being read. */
struct doveconf_block {
	/* "passdb", "userdb" or NULL for any other */
	const char *kind;
	char *name;
	GHashTable *values;
	GPtrArray *fields;
	bool in_fields;
	/* in a filter such as passdb_mailbox_guard { }, which doveconf
	   prints when the block's name is not the driver's: its name */
	char *filter;
	/* a block nested in one we don't read */
	unsigned int skip_depth;
};

static char *unquote(const char *value)
{
	size_t len = strlen(value);
	char *inner, *value_r;

	if (len < 2 || value[0] != '"' || value[len - 1] != '"')
		return g_strdup(value);
	inner = g_strndup(value + 1, len - 2);
	value_r = g_strcompress(inner);
	g_free(inner);
	return value_r;
}

/* The key as the plugin knows it: inside passdb { } a key without its
   passdb_mailbox_guard_ prefix (Dovecot's own keys there, such as driver,
   get one too, and are never looked up). */
static char *block_key(const char *kind, const char *key)
{
	if (g_str_has_prefix(key, SHARED_PREFIX) ||
	    g_str_has_prefix(key, "passdb_") || g_str_has_prefix(key, "userdb_"))
		return g_strdup(key);
	return g_strdup_printf("%s_mailbox_guard_%s", kind, key);
}

static bool block_is_ours(const struct doveconf_block *block)
{
	const char *driver = g_hash_table_lookup(block->values, "driver");
	const char *master = g_hash_table_lookup(block->values, "master");

	if (driver == NULL)
		driver = block->name;
	return strcmp(driver, "mailbox_guard") == 0 &&
		(master == NULL || strcmp(master, "yes") != 0);
}

static void block_end(struct doveconf_block *block, bool *seen,
		      struct doveconf_settings *set)
{
	if (!*seen && block_is_ours(block)) {
		GHashTableIter iter;
		gpointer key, value;

		*seen = true;
		g_hash_table_iter_init(&iter, block->values);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			char *name = block_key(block->kind, key);

			g_hash_table_replace(set->values, name,
					     g_strdup(value));
		}
		if (strcmp(block->kind, "passdb") == 0)
			g_ptr_array_extend_and_steal(set->fields,
						     block->fields);
		else
			g_ptr_array_unref(block->fields);
	} else {
		g_ptr_array_unref(block->fields);
	}
	g_hash_table_unref(block->values);
	g_free(block->name);
	g_free(block->filter);
	memset(block, 0, sizeof(*block));
}

/* One line of `doveconf -n`: "key = value", "name [label] {" or "}". */
static void parse_line(const char *line, struct doveconf_block *block,
		       bool seen[2], struct doveconf_settings *set)
{
	size_t len = strlen(line);
	const char *eq;

	if (len == 0 || line[0] == '#')
		return;
	if (line[len - 1] == '{') {
		char **words = g_strsplit(line, " ", 3);

		if (block->kind == NULL && block->skip_depth == 0 &&
		    (strcmp(words[0], "passdb") == 0 ||
		     strcmp(words[0], "userdb") == 0) && words[1] != NULL &&
		    words[2] != NULL) {
			block->kind = strcmp(words[0], "passdb") == 0 ?
				"passdb" : "userdb";
			block->name = g_strdup(words[1]);
			block->values = g_hash_table_new_full(
				g_str_hash, g_str_equal, g_free, g_free);
			block->fields = g_ptr_array_new_with_free_func(g_free);
		} else if (block->kind != NULL && block->skip_depth == 0 &&
			   !block->in_fields && block->filter == NULL &&
			   words[1] != NULL && words[2] == NULL) {
			if (strcmp(words[0], "fields") == 0)
				block->in_fields = true;
			else
				block->filter = g_strdup(words[0]);
		} else {
			block->skip_depth++;
		}
		g_strfreev(words);
		return;
	}
	if (strcmp(line, "}") == 0) {
		if (block->skip_depth > 0)
			block->skip_depth--;
		else if (block->in_fields)
			block->in_fields = false;
		else if (block->filter != NULL) {
			g_free(block->filter);
			block->filter = NULL;
		} else if (block->kind != NULL) {
			block_end(block, &seen[block->kind[0] == 'u'], set);
		}
		return;
	}
	eq = strstr(line, " = ");
	if (eq == NULL || block->skip_depth > 0)
		return;
	if (block->in_fields) {
		g_ptr_array_add(block->fields, g_strndup(line, eq - line));
		g_ptr_array_add(block->fields, unquote(eq + 3));
	} else if (block->kind != NULL) {
		char *key = g_strndup(line, eq - line);

		if (block->filter != NULL) {
			char *full = g_strconcat(block->filter, "_", key, NULL);

			g_free(key);
			key = full;
		}
		g_hash_table_replace(block->values, key, unquote(eq + 3));
	} else if (g_str_has_prefix(line, SHARED_PREFIX) ||
		   g_str_has_prefix(line, "passdb_" SHARED_PREFIX) ||
		   g_str_has_prefix(line, "userdb_" SHARED_PREFIX)) {
		/* a block's own value wins over the top level's */
		char *key = g_strndup(line, eq - line);

		if (g_hash_table_contains(set->values, key))
			g_free(key);
		else
			g_hash_table_insert(set->values, key, unquote(eq + 3));
	}
}

static bool doveconf_read(const char *dovecot_conf,
			  struct doveconf_settings *set, char **error_r)
{
	const char *argv[6] = { "doveconf" };
	char *out = NULL, *err = NULL, **lines;
	struct doveconf_block block;
	GError *gerror = NULL;
	bool seen[2] = { false, false };
	unsigned int argc = 1;
	int status;

	argv[argc++] = "-c";
	argv[argc++] = dovecot_conf;
	argv[argc++] = "-n";
	argv[argc++] = "-P";
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
			  NULL, NULL, &out, &err, &status, &gerror) ||
	    !g_spawn_check_wait_status(status, &gerror)) {
		*error_r = g_strdup_printf("doveconf -c %s -n: %s",
			dovecot_conf, err != NULL && *err != '\0' ?
			g_strchomp(err) : gerror->message);
		g_error_free(gerror);
		g_free(out);
		g_free(err);
		return false;
	}
	memset(&block, 0, sizeof(block));
	lines = g_strsplit(out, "\n", -1);
	for (unsigned int i = 0; lines[i] != NULL; i++)
		parse_line(g_strstrip(lines[i]), &block, seen, set);
	if (block.kind != NULL)
		block_end(&block, &seen[block.kind[0] == 'u'], set);
	g_strfreev(lines);
	g_free(out);
	g_free(err);
	if (!seen[0]) {
		*error_r = g_strdup_printf("%s has no passdb with driver = "
					   "mailbox_guard", dovecot_conf);
		return false;
	}
	return true;
}

/* Core key names in a core message as dovecot.conf's. */
static char *translate_error(const char *message)
{
	static const char *const ends[] = {
		":", "'", " =", " is ", " and ", " go ", " don't", NULL
	};
	GString *out = g_string_new(NULL);
	const char *p = message;

	while (*p != '\0') {
		size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		const char *name = NULL;

		if (len == 0) {
			g_string_append_c(out, *p++);
			continue;
		}
		for (unsigned int i = 0; name == NULL &&
		     i < G_N_ELEMENTS(keys); i++) {
			if (strlen(keys[i].core) == len &&
			    strncmp(keys[i].core, p, len) == 0)
				name = keys[i].name;
		}
		for (unsigned int i = 0; name != NULL && ends[i] != NULL; i++) {
			if (g_str_has_prefix(p + len, ends[i]))
				break;
			if (ends[i + 1] == NULL)
				name = NULL;
		}
		if (name != NULL)
			g_string_append(out, name);
		else
			g_string_append_len(out, p, len);
		p += len;
	}
	return g_string_free(out, FALSE);
}

/* A 2.3 variable where the plugin expands variables is an error at its
   start, naming the 2.4 form. */
static bool check_vars(const char *name, const char *value, char **error_r)
{
	for (const char *p = strchr(value, '%'); p != NULL;
	     p = strchr(p + 1, '%')) {
		if (p[1] == '%') {
			p++;
			continue;
		}
		for (unsigned int i = 0; i < G_N_ELEMENTS(old_vars); i++) {
			if (g_str_has_prefix(p, old_vars[i].core)) {
				*error_r = g_strdup_printf("%s: %s is Dovecot "
					"2.3 syntax: write %s", name,
					old_vars[i].core, old_vars[i].name);
				return false;
			}
		}
		if (p[1] == '{')
			continue;
		*error_r = g_strdup_printf("%s: '%%%c' is Dovecot 2.3 syntax: "
			"2.4's variables are written %%{name}", name,
			p[1] == '\0' ? ' ' : p[1]);
		return false;
	}
	return true;
}

static bool config_set(struct mg_config *config, const char *core,
		       const char *value, char **error_r)
{
	struct mg_error error;

	if (mg_config_set(config, core, value, &error))
		return true;
	*error_r = translate_error(error.message);
	return false;
}

static bool apply_key(struct mg_config *config, const struct doveconf_key *key,
		      const char *value, char **error_r)
{
	/* an empty string is an unset key, as in 2.4's drivers */
	if (value == NULL || *value == '\0')
		return true;
	if (strcmp(key->core, "dnpass") != 0 &&
	    !check_vars(key->name, value, error_r))
		return false;
	if (strcmp(key->core, "sasl_bind") == 0)
		return config_set(config, "sasl_bind", "yes", error_r);
	if (strcmp(key->core, "sasl_mech") == 0 && strchr(value, ' ') != NULL) {
		*error_r = g_strdup_printf("%s: give one mechanism (EXTERNAL)",
					   key->name);
		return false;
	}
	return config_set(config, key->core, value, error_r);
}

static struct mg_config *config_build(const struct doveconf_settings *set,
				      char **error_r)
{
	struct mg_config *config = mg_config_new();
	struct mg_error error;
	bool ok = true;

	for (unsigned int i = 0; ok && i < G_N_ELEMENTS(defaults); i++)
		ok = config_set(config, defaults[i].core, defaults[i].name,
				error_r);
	for (unsigned int i = 0; ok && i < G_N_ELEMENTS(keys); i++) {
		ok = apply_key(config, &keys[i],
			       g_hash_table_lookup(set->values, keys[i].name),
			       error_r);
	}
	if (ok && !mg_config_finish(config, &error)) {
		*error_r = translate_error(error.message);
		ok = false;
	}
	if (!ok)
		mg_config_free(&config);
	return config;
}

/* The passdb's fields { }: "%{ldap:attr}" alone is attr=field (not set
   when the entry lacks attr), anything else a template. */
static struct check_pass_attrs *fields_build(const GPtrArray *fields)
{
	struct check_pass_attrs *attrs = check_pass_attrs_new();
	GRegex *plain = g_regex_new("^%\\{ldap:([A-Za-z0-9;-]+)\\}$", 0, 0,
				    NULL);

	for (unsigned int i = 0; i + 1 < fields->len; i += 2) {
		const char *field = fields->pdata[i];
		const char *template = fields->pdata[i + 1];
		GMatchInfo *match;

		if (g_regex_match(plain, template, 0, &match)) {
			char *attr = g_match_info_fetch(match, 1);

			check_pass_attrs_add(attrs, attr, field, NULL);
			g_free(attr);
		} else {
			check_pass_attrs_add(attrs, NULL, field, template);
		}
		g_match_info_free(match);
	}
	g_regex_unref(plain);
	return attrs;
}

bool check_settings_load(const char *settings_path, const char *dovecot_conf,
			 struct check_settings *set_r, char **error_r)
{
	struct doveconf_settings set;
	bool ok;

	if (settings_path != NULL) {
		*error_r = g_strdup("-c: Dovecot 2.4 has no mailbox_guard "
			"settings file, its settings are dovecot.conf's (give "
			"that with --dovecot-conf)");
		return false;
	}
	if (dovecot_conf != NULL && *dovecot_conf == '\0') {
		*error_r = g_strdup("--dovecot-conf \"\": on Dovecot 2.4 the "
				    "settings are dovecot.conf's");
		return false;
	}
	set_r->source = g_strdup(dovecot_conf != NULL ? dovecot_conf :
				 DEFAULT_DOVECOT_CONF);
	set.values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   g_free);
	set.fields = g_ptr_array_new_with_free_func(g_free);
	ok = doveconf_read(set_r->source, &set, error_r);
	if (ok) {
		set_r->config = config_build(&set, error_r);
		ok = set_r->config != NULL;
	}
	if (ok)
		set_r->pass_attrs = fields_build(set.fields);
	g_hash_table_unref(set.values);
	g_ptr_array_unref(set.fields);
	return ok;
}

/* Dovecot 2.4: a passdb's or userdb's settings from dovecot.conf into
   the shared db, validated by the core as the 2.3 settings file is. */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "settings.h"
#include "ssl-settings.h"
#include "auth-settings.h"
#include "auth-cache.h"
#include "mg-config.h"
#include "mg-db.h"
#include "mg-settings-24.h"

/* raw: the %{variables} are expanded per request, escaped by the plugin */
#define MG_SETTINGS_RAW \
	(SETTINGS_GET_FLAG_NO_CHECK | SETTINGS_GET_FLAG_NO_EXPAND)

static const char *
mg_settings_role_id(const struct mg_settings *set, enum mg_settings_role role)
{
	const ARRAY_TYPE(const_string) *fields = &set->userdb_iterate_fields;

	if (role == MG_SETTINGS_PASSDB) {
		return t_strdup_printf("%s\n%d\n%s", set->passdb_filter,
				       set->passdb_bind ? 1 : 0,
				       set->passdb_bind_userdn);
	}
	return t_strdup_printf("%s\n%s\n%u\n%s", set->userdb_filter,
			       set->userdb_iterate_filter,
			       set->userdb_iterate_page_size,
			       array_is_empty(fields) ? "" :
			       t_strarray_join(array_front(fields), "\n"));
}

/* userdb_mailbox_guard_iterate_fields: "user = %{ldap:uid}" and the
   like, as templates of the iteration's attribute map. Without any, the
   user is the entry's uid, as with 2.3's default iterate_attrs (and the
   default filters); 2.4's LDAP driver has no default and lists nothing. */
static void mg_settings_iterate_fields(struct mg_db *db,
				       const struct mg_settings *set)
{
	static const char *const default_fields[] = { "user", "%{ldap:uid}" };
	const char *const *fields;
	unsigned int i, count;

	if (array_is_empty(&set->userdb_iterate_fields)) {
		fields = default_fields;
		count = N_ELEMENTS(default_fields);
	} else {
		fields = array_get(&set->userdb_iterate_fields, &count);
	}
	for (i = 0; i + 1 < count; i += 2) {
		struct mg_attrmap_item *item = array_append_space(&db->iterate_attrs);

		item->field = p_strdup(db->pool, fields[i]);
		item->template = p_strdup(db->pool, fields[i + 1]);
	}
}

/* TLS: 2.4's own ssl_client_* settings of the passdb's or userdb's scope,
   with the meaning 2.4's LDAP driver gives them: the files by path (libldap
   reads them itself), ssl_client_require_valid_cert = yes a hard check of
   the server's certificate, no one that lets any certificate through. */
struct mg_settings_tls {
	const char *ca_file, *ca_dir, *cert_file, *key_file;
	bool require_valid_cert;
};

static int mg_settings_tls_path(const char *name, const char *value,
				const char **path_r, const char **error_r)
{
	struct settings_file file;

	*path_r = "";
	if (value[0] == '\0')
		return 0;
	settings_file_get(value, unsafe_data_stack_pool, &file);
	if (file.path[0] == '\0') {
		*error_r = t_strdup_printf("%s: libldap reads the file itself: "
					   "give its path, not inline content",
					   name);
		return -1;
	}
	*path_r = file.path;
	return 0;
}

static int mg_settings_tls_get(struct event *event,
			       struct mg_settings_tls *tls_r,
			       const char **error_r)
{
	const struct ssl_settings *ssl_set;
	int ret;

	if (ssl_client_settings_get(event, &ssl_set, error_r) < 0)
		return -1;
	ret = mg_settings_tls_path("ssl_client_ca_file",
				   ssl_set->ssl_client_ca_file,
				   &tls_r->ca_file, error_r) < 0 ||
		mg_settings_tls_path("ssl_client_cert_file",
				     ssl_set->ssl_client_cert_file,
				     &tls_r->cert_file, error_r) < 0 ||
		mg_settings_tls_path("ssl_client_key_file",
				     ssl_set->ssl_client_key_file,
				     &tls_r->key_file, error_r) < 0 ? -1 : 0;
	tls_r->ca_dir = t_strdup(ssl_set->ssl_client_ca_dir);
	tls_r->require_valid_cert = ssl_set->ssl_client_require_valid_cert;
	settings_free(ssl_set);
	return ret;
}

static const char *mg_settings_tls_id(const struct mg_settings_tls *tls)
{
	return t_strdup_printf("tls=%s\n%s\n%s\n%s\n%d\n", tls->ca_file,
			       tls->ca_dir, tls->cert_file, tls->key_file,
			       tls->require_valid_cert ? 1 : 0);
}

static bool mg_settings_apply_tls(const struct mg_settings_tls *tls,
				  struct mg_config *config,
				  const char **error_r)
{
	const struct {
		const char *core, *name, *value;
	} keys[] = {
		{ "tls_ca_cert_file", "ssl_client_ca_file", tls->ca_file },
		{ "tls_ca_cert_dir", "ssl_client_ca_dir", tls->ca_dir },
		{ "tls_cert_file", "ssl_client_cert_file", tls->cert_file },
		{ "tls_key_file", "ssl_client_key_file", tls->key_file },
		{ "tls_require_cert", "ssl_client_require_valid_cert",
		  tls->require_valid_cert ? "hard" : "allow" },
	};
	struct mg_error error;

	for (unsigned int i = 0; i < N_ELEMENTS(keys); i++) {
		if (keys[i].value[0] == '\0')
			continue;
		if (!mg_config_set(config, keys[i].core, keys[i].value,
				   &error)) {
			*error_r = t_strdup_printf("%s: %s", keys[i].name,
						   error.message);
			return FALSE;
		}
	}
	return TRUE;
}

static const struct setting_parser_info *
mg_settings_post_info(enum mg_settings_role role)
{
	return role == MG_SETTINGS_PASSDB ?
		&auth_passdb_post_setting_parser_info :
		&auth_userdb_post_setting_parser_info;
}

static int mg_settings_add_fields(struct mg_db *db, struct event *event,
				  enum mg_settings_role role,
				  const char **error_r)
{
	/* both post structs start with pool, then fields */
	const struct auth_passdb_post_settings *post;

	if (settings_get(event, mg_settings_post_info(role), MG_SETTINGS_RAW,
			 &post, error_r) < 0)
		return -1;
	mg_db_add_field_attrs(db, &post->fields);
	settings_free(post);
	return 0;
}

static struct mg_db *
mg_settings_db(const struct mg_settings *set,
	       const struct mg_settings_tls *tls, enum mg_settings_role role,
	       const char **error_r)
{
	struct mg_config *config = mg_config_new();
	const char *name = t_strconcat(mg_settings_shared_id(set),
				       mg_settings_tls_id(tls), NULL);
	const char *role_id = mg_settings_role_id(set, role);
	struct mg_error error;
	struct mg_db *db;

	/* the role's settings with the shared ones must make a whole */
	if (!mg_settings_apply(set, role, config, error_r) ||
	    !mg_settings_apply_tls(tls, config, error_r))
		goto failed;
	if (!mg_config_finish(config, &error)) {
		*error_r = mg_settings_translate_error(error.message);
		goto failed;
	}
	db = mg_db_find(name);
	if (db == NULL) {
		db = mg_db_create(name, set->uris, config);
	} else {
		mg_config_free(&config);
		if (db->role_ids[role] != NULL &&
		    strcmp(db->role_ids[role], role_id) != 0) {
			*error_r = t_strdup_printf("two %ss with the same "
				"mailbox_guard settings but different "
				"%s_mailbox_guard settings: give each its own "
				"mailbox_guard_base or mailbox_guard_uris",
				role == MG_SETTINGS_PASSDB ? "passdb" : "userdb",
				role == MG_SETTINGS_PASSDB ? "passdb" : "userdb");
			mg_db_unref(&db);
			return NULL;
		}
		/* the shared keys are equal; this adds the role's own */
		if (!mg_settings_apply(set, role, db->config, error_r))
			i_unreached();
	}
	if (db->role_ids[role] == NULL) {
		db->role_ids[role] = p_strdup(db->pool, role_id);
		if (role == MG_SETTINGS_USERDB)
			mg_settings_iterate_fields(db, set);
	}
	return db;
failed:
	mg_config_free(&config);
	return NULL;
}

struct mg_db *mg_db_get_settings(struct event *event,
				 enum mg_settings_role role,
				 const char **error_r)
{
	const struct mg_settings *set;
	struct mg_settings_tls tls;
	struct mg_db *db;

	if (mg_settings_tls_get(event, &tls, error_r) < 0)
		return NULL;
	if (settings_get(event, &mg_setting_parser_info, MG_SETTINGS_RAW,
			 &set, error_r) < 0)
		return NULL;
	db = mg_settings_db(set, &tls, role, error_r);
	settings_free(set);
	if (db != NULL && mg_settings_add_fields(db, event, role, error_r) < 0)
		mg_db_unref(&db);
	return db;
}

#define MG_POST_SETTINGS_FLAGS \
	(SETTINGS_GET_FLAG_NO_CHECK | SETTINGS_GET_FLAG_NO_EXPAND)

const char *mg_settings_cache_key(pool_t pool, struct event *event,
				  enum mg_settings_role role,
				  const char *key_vars, const char **error_r)
{
	const struct auth_passdb_post_settings *passdb_post;
	const struct auth_userdb_post_settings *userdb_post;
	const char *key;

	/* the two roles' fields { } are settings of different types */
	if (role == MG_SETTINGS_PASSDB) {
		if (settings_get(event, &auth_passdb_post_setting_parser_info,
				 MG_POST_SETTINGS_FLAGS, &passdb_post,
				 error_r) < 0)
			return NULL;
		key = auth_cache_parse_key_and_fields(pool, key_vars,
						      &passdb_post->fields,
						      NULL);
		settings_free(passdb_post);
	} else {
		if (settings_get(event, &auth_userdb_post_setting_parser_info,
				 MG_POST_SETTINGS_FLAGS, &userdb_post,
				 error_r) < 0)
			return NULL;
		key = auth_cache_parse_key_and_fields(pool, key_vars,
						      &userdb_post->fields,
						      NULL);
		settings_free(userdb_post);
	}
	return key;
}

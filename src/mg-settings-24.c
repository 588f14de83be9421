/* Dovecot 2.4: a passdb's or userdb's settings from dovecot.conf into
   the shared db, validated by the core as the 2.3 settings file is. */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "settings.h"
#include "auth-settings.h"
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
   like, as templates of the iteration's attribute map */
static void mg_settings_iterate_fields(struct mg_db *db,
				       const struct mg_settings *set)
{
	const char *const *fields;
	unsigned int i, count;

	if (array_is_empty(&set->userdb_iterate_fields))
		return;
	fields = array_get(&set->userdb_iterate_fields, &count);
	for (i = 0; i + 1 < count; i += 2) {
		struct mg_attrmap_item *item = array_append_space(&db->iterate_attrs);

		item->field = p_strdup(db->pool, fields[i]);
		item->template = p_strdup(db->pool, fields[i + 1]);
	}
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
mg_settings_db(const struct mg_settings *set, enum mg_settings_role role,
	       const char **error_r)
{
	struct mg_config *config = mg_config_new();
	const char *name = mg_settings_shared_id(set);
	const char *role_id = mg_settings_role_id(set, role);
	struct mg_error error;
	struct mg_db *db;

	/* the role's settings with the shared ones must make a whole */
	if (!mg_settings_apply(set, role, config, error_r))
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
	struct mg_db *db;

	if (settings_get(event, &mg_setting_parser_info, MG_SETTINGS_RAW,
			 &set, error_r) < 0)
		return NULL;
	db = mg_settings_db(set, role, error_r);
	settings_free(set);
	if (db != NULL && mg_settings_add_fields(db, event, role, error_r) < 0)
		mg_db_unref(&db);
	return db;
}

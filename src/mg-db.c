/* One shared db per settings file. */

#include "auth-common.h"
#include "array.h"
#include "mg-config.h"
#include "mg-ldap.h"
#include "mg-recipient-cache.h"
#include "mg-feed.h"
#include "mg-db.h"

/* Custom recipients kept in memory at most: they are rare, and each one
   costs about a kilobyte. */
#define MG_DB_RECIPIENT_CACHE_MAX 4096


static struct mg_db *mg_dbs = NULL;

static void mg_db_parse_attrmap(struct mg_db *db, const char *key,
				const char *text,
				ARRAY_TYPE(mg_attrmap_item) *items)
{
	const char *error;

	if (!mg_attrmap_parse(db->pool, text == NULL ? "" : text, items,
			      &error)) {
		i_fatal("mailbox_guard: Error in configuration file %s: %s: %s",
			db->path, key, error);
	}
}

static const char *const *mg_db_attr_list(ARRAY_TYPE(const_string) *attrs)
{
	array_append_zero(attrs);
	return array_front(attrs);
}

static void mg_db_build_search_attrs(struct mg_db *db)
{
	ARRAY_TYPE(const_string) attrs, iterate_attrs;
	const char *const *attr, *attr_name;

	p_array_init(&attrs, db->pool, 16);
	mg_attrmap_add_attrs(&db->pass_attrs, db->pool, &attrs);
	mg_attrmap_add_attrs(&db->user_attrs, db->pool, &attrs);
	if (array_is_created(&db->field_attrs))
		array_foreach_elem(&db->field_attrs, attr_name)
			mg_attrs_add(db->pool, &attrs, attr_name);
	for (attr = mg_classifier_attrs(db->config->classifier);
	     *attr != NULL; attr++)
		mg_attrs_add(db->pool, &attrs, *attr);
	mg_attrmap_add_template_attrs(db->config->custom_recipient_reason,
				      db->pool, &attrs);
	/* what the audit trail names the entry by */
	mg_attrs_add(db->pool, &attrs, db->config->mailbox_alias_attr);
	mg_attrs_add(db->pool, &attrs, "legacyExchangeDN");
	/* what the change feed names entries by: OpenLDAP's and AD's */
	if (db->config->change_feed != MG_CHANGE_FEED_NO) {
		mg_attrs_add(db->pool, &attrs, "entryUUID");
		mg_attrs_add(db->pool, &attrs, MG_LDAP_OBJECT_GUID);
	}
	p_array_init(&iterate_attrs, db->pool, 8);
	mg_attrmap_add_attrs(&db->iterate_attrs, db->pool, &iterate_attrs);
	/* iteration lists mailboxes only, so it reads what classifies */
	for (attr = mg_classifier_attrs(db->config->classifier);
	     *attr != NULL; attr++)
		mg_attrs_add(db->pool, &iterate_attrs, *attr);
	db->search_attrs = mg_db_attr_list(&attrs);
	db->iterate_search_attrs = mg_db_attr_list(&iterate_attrs);
}

void mg_db_add_field_attrs(struct mg_db *db,
			   const ARRAY_TYPE(const_string) *fields)
{
	unsigned int i, count;

	if (!array_is_created(&db->field_attrs))
		p_array_init(&db->field_attrs, db->pool, 8);
	count = fields == NULL || !array_is_created(fields) ? 0 :
		array_count(fields);
	/* key, value pairs: the values name the attributes */
	for (i = 1; i < count; i += 2) {
		mg_attrmap_add_template_attrs(array_idx_elem(fields, i),
					      db->pool, &db->field_attrs);
	}
	mg_db_build_search_attrs(db);
}

struct mg_db *mg_db_create(const char *id, const char *label,
			   struct mg_config *config)
{
	struct mg_ldap_settings ldap_set;
	struct mg_db *db;
	pool_t pool;

	pool = pool_alloconly_create("mailbox_guard db", 2048);
	db = p_new(pool, struct mg_db, 1);
	db->refcount = 1;
	db->pool = pool;
	db->id = p_strdup(pool, id);
	db->path = p_strdup(pool, label);
	db->config = config;

	mg_db_parse_attrmap(db, "pass_attrs", db->config->pass_attrs,
			    &db->pass_attrs);
	mg_db_parse_attrmap(db, "user_attrs", db->config->user_attrs,
			    &db->user_attrs);
	mg_db_parse_attrmap(db, "iterate_attrs", db->config->iterate_attrs,
			    &db->iterate_attrs);
	mg_db_build_search_attrs(db);

	i_zero(&ldap_set);
	ldap_set.name = db->path;
	ldap_set.uris = db->config->uris;
	ldap_set.dn = db->config->dn;
	ldap_set.dnpass = db->config->dnpass;
	if (db->config->sasl_bind) {
		ldap_set.sasl_mech = db->config->sasl_mech;
		ldap_set.sasl_authz_id = db->config->sasl_authz_id;
	}
	ldap_set.starttls = db->config->tls;
	ldap_set.tls_ca_cert_file = db->config->tls_ca_cert_file;
	ldap_set.tls_ca_cert_dir = db->config->tls_ca_cert_dir;
	ldap_set.tls_cert_file = db->config->tls_cert_file;
	ldap_set.tls_key_file = db->config->tls_key_file;
	ldap_set.tls_require_cert = db->config->tls_require_cert;
	ldap_set.connections = db->config->connections;
	ldap_set.max_pending = db->config->max_pending;
	ldap_set.request_timeout_msecs = db->config->request_timeout_msecs;
	db->ldap = mg_ldap_init(&ldap_set, auth_event);
	db->recipient_cache =
		mg_recipient_cache_init(MG_DB_RECIPIENT_CACHE_MAX);
	db->feed = mg_feed_init(db, &ldap_set);
	db->next = mg_dbs;
	mg_dbs = db;
	return db;
}

struct mg_db *mg_db_find(const char *id)
{
	struct mg_db *db;

	for (db = mg_dbs; db != NULL; db = db->next) {
		if (strcmp(db->id, id) == 0) {
			db->refcount++;
			return db;
		}
	}
	return NULL;
}

void mg_db_shutdown(struct mg_db *db)
{
	mg_feed_deinit(&db->feed);
	mg_ldap_shutdown(db->ldap);
}

void mg_db_unref(struct mg_db **_db)
{
	struct mg_db *db = *_db, **p;

	*_db = NULL;
	if (--db->refcount > 0)
		return;
	for (p = &mg_dbs; *p != NULL; p = &(*p)->next) {
		if (*p == db) {
			*p = db->next;
			break;
		}
	}
	mg_feed_deinit(&db->feed);
	mg_recipient_cache_deinit(&db->recipient_cache);
	mg_ldap_deinit(&db->ldap);
	mg_config_free(&db->config);
	pool_unref(&db->pool);
}

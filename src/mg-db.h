#ifndef MG_DB_H
#define MG_DB_H

/* Everything one settings file stands for, shared by the passdb and the
   userdb that name it: the validated settings, the LDAP client, the parsed
   attribute maps and the attribute list of the one search per login. */

#include "mg-attrmap.h"

struct mg_config;

struct mg_db {
	struct mg_db *next;
	int refcount;
	pool_t pool;
	/* what mg_db_find() knows it by, and what its log lines name */
	const char *id;
	const char *path;

	struct mg_config *config;
	struct mg_ldap *ldap;
	struct mg_recipient_cache *recipient_cache;
	/* NULL with change_feed = no */
	struct mg_feed *feed;

	ARRAY_TYPE(mg_attrmap_item) pass_attrs;
	ARRAY_TYPE(mg_attrmap_item) user_attrs;
	ARRAY_TYPE(mg_attrmap_item) iterate_attrs;
	/* 2.4: what the passdb and userdb fields { } read, and what the
	   passdb's and the userdb's own settings were (one of each may
	   share this db) */
	ARRAY_TYPE(const_string) field_attrs;
	const char *role_ids[2];
	/* pass_attrs + user_attrs + what classification reads, so the
	   userdb of a login reuses the entry the passdb found */
	const char *const *search_attrs;
	const char *const *iterate_search_attrs;
};

/* The db registered under id (2.3: the settings file's path; 2.4: the
   shared settings), with a new reference, or NULL. */
struct mg_db *mg_db_find(const char *id);
/* A new db for config, which it takes over, registered under id; label
   names it in log lines (2.3: the path; 2.4: the uris, as the id holds
   the password). A bad attribute map stops the auth process naming it. */
struct mg_db *mg_db_create(const char *id, const char *label,
			   struct mg_config *config);
/* 2.4: adds the attributes that fields (key, value pairs of a fields { }
   block, or NULL) read to the one search per login, and rebuilds the
   attribute lists. */
void mg_db_add_field_attrs(struct mg_db *db,
			   const ARRAY_TYPE(const_string) *fields);
void mg_db_unref(struct mg_db **db);

#endif

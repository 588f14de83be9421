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
	const char *path;

	struct mg_config *config;
	struct mg_ldap *ldap;
	struct mg_recipient_cache *recipient_cache;

	ARRAY_TYPE(mg_attrmap_item) pass_attrs;
	ARRAY_TYPE(mg_attrmap_item) user_attrs;
	ARRAY_TYPE(mg_attrmap_item) iterate_attrs;
	/* pass_attrs + user_attrs + what classification reads, so the
	   userdb of a login reuses the entry the passdb found */
	const char *const *search_attrs;
	const char *const *iterate_search_attrs;
};

/* Returns the db of the settings file at path, reading it the first time.
   A bad file stops the auth process with the file, the line and what is
   wrong. */
struct mg_db *mg_db_get(const char *path);
void mg_db_unref(struct mg_db **db);

#endif

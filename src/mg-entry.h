#ifndef MG_ENTRY_H
#define MG_ENTRY_H

/* One directory entry as the search returned it, copied into the pool of
   the auth request that asked for it, so the passdb and the userdb of the
   same login read the same entry without a second search. */

#include "mg-entry-view.h"

struct mg_entry_attr {
	const char *name;
	/* NULL-terminated; binary values are cut at their first NUL, but
	   objectGUID's are its bytes in lowercase hex. */
	const char *const *values;
	unsigned int count;
};

/* AD's and Samba's stable id of an entry: 16 bytes */
#define MG_LDAP_OBJECT_GUID "objectGUID"

struct mg_entry {
	const char *dn;
	ARRAY(struct mg_entry_attr) attrs;
};

/* Returns the values of attr (case-insensitive name) or NULL. */
const char *const *mg_entry_get(const struct mg_entry *entry, const char *attr);

/* A deep copy of entry allocated from pool. */
struct mg_entry *mg_entry_dup(pool_t pool, const struct mg_entry *entry);

/* A view for the pure core (filter matching, classification). */
void mg_entry_view_init(struct mg_entry_view *view_r,
			const struct mg_entry *entry);

#endif

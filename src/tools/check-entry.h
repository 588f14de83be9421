#ifndef CHECK_ENTRY_H
#define CHECK_ENTRY_H

/* One directory entry as the search returned it, in GLib containers, and
   the view through which the core reads it. */

#include <glib.h>
#include "mg-entry-view.h"

struct check_entry {
	char *dn;
	/* lower-cased attribute name -> GPtrArray of values (char *) with
	   a NULL after the last, so the core gets a NULL-terminated list */
	GHashTable *attrs;
};

struct check_entry *check_entry_new(const char *dn);
void check_entry_free(struct check_entry *entry);

/* Appends value to attr (any case). */
void check_entry_add(struct check_entry *entry, const char *attr,
		     const char *value);

/* The values of attr (case-insensitive), NULL-terminated, or NULL when
   the entry lacks it. */
const char *const *check_entry_get(const struct check_entry *entry,
				   const char *attr);

/* An AD account the directory has disabled: userAccountControl has
   ACCOUNTDISABLE (bit value 2). Its binds fail, so its logins fail like a
   wrong password, but doveadm user, LMTP and iteration still find it. */
gboolean check_entry_disabled(const struct check_entry *entry);

void check_entry_view_init(struct mg_entry_view *view_r,
			   const struct check_entry *entry);

#endif

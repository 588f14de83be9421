#ifndef MG_ENTRY_VIEW_H
#define MG_ENTRY_VIEW_H

/* How the core reads a directory entry without knowing how the caller
   stores it (Dovecot pools in the plugin, GLib in the tools and tests). */

struct mg_entry_view {
	/* Returns the number of values of attr (attribute names compare
	   case-insensitively, ASCII) and sets *values_r to them, each a
	   NUL-terminated string. Returns 0 when the entry lacks attr. The
	   values stay owned by the caller and valid while the view is used. */
	unsigned int (*get_values)(void *context, const char *attr,
				   const char *const **values_r);
	void *context;
};

#endif

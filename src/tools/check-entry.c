/* Directory entries held in GLib containers. */

#include "check-entry.h"

struct check_entry *check_entry_new(const char *dn)
{
	struct check_entry *entry = g_new0(struct check_entry, 1);

	entry->dn = g_strdup(dn);
	entry->attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)g_ptr_array_unref);
	return entry;
}

void check_entry_free(struct check_entry *entry)
{
	if (entry == NULL)
		return;
	g_hash_table_unref(entry->attrs);
	g_free(entry->dn);
	g_free(entry);
}

void check_entry_add(struct check_entry *entry, const char *attr,
		     const char *value)
{
	char *key = g_ascii_strdown(attr, -1);
	GPtrArray *values = g_hash_table_lookup(entry->attrs, key);

	if (values == NULL) {
		values = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(values, NULL);
		g_hash_table_insert(entry->attrs, key, values);
	} else {
		g_free(key);
	}
	/* the terminating NULL becomes the value, a new one follows */
	g_ptr_array_index(values, values->len - 1) = g_strdup(value);
	g_ptr_array_add(values, NULL);
}

static GPtrArray *entry_values(const struct check_entry *entry,
			       const char *attr)
{
	char *key = g_ascii_strdown(attr, -1);
	GPtrArray *values = g_hash_table_lookup(entry->attrs, key);

	g_free(key);
	return values;
}

const char *const *check_entry_get(const struct check_entry *entry,
				   const char *attr)
{
	GPtrArray *values = entry_values(entry, attr);

	return values == NULL ? NULL : (const char *const *)values->pdata;
}

static unsigned int entry_view_get_values(void *context, const char *attr,
					  const char *const **values_r)
{
	GPtrArray *values = entry_values(context, attr);

	if (values == NULL)
		return 0;
	*values_r = (const char *const *)values->pdata;
	return values->len - 1;
}

void check_entry_view_init(struct mg_entry_view *view_r,
			   const struct check_entry *entry)
{
	view_r->get_values = entry_view_get_values;
	/* the core only reads through the view */
	view_r->context = (void *)entry;
}

gboolean check_entry_disabled(const struct check_entry *entry)
{
	const char *const *values = check_entry_get(entry,
						    "userAccountControl");
	gint64 uac;
	char *end;

	if (values == NULL || values[0] == NULL)
		return FALSE;
	/* a 32-bit flag word, written as a signed decimal by AD */
	uac = g_ascii_strtoll(values[0], &end, 10);
	if (end == values[0] || *end != '\0')
		return FALSE;
	return (uac & 2) != 0;
}

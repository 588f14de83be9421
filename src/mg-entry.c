/* Directory entries held in an auth request's pool. */

#include "lib.h"
#include "array.h"
#include "mg-entry.h"

static const struct mg_entry_attr *
mg_entry_find(const struct mg_entry *entry, const char *attr)
{
	const struct mg_entry_attr *a;

	array_foreach(&entry->attrs, a) {
		if (strcasecmp(a->name, attr) == 0)
			return a;
	}
	return NULL;
}

const char *const *mg_entry_get(const struct mg_entry *entry, const char *attr)
{
	const struct mg_entry_attr *a = mg_entry_find(entry, attr);

	return a == NULL ? NULL : a->values;
}

const char *mg_entry_get_first(const struct mg_entry *entry, const char *attr)
{
	const char *const *values = mg_entry_get(entry, attr);

	return values == NULL ? NULL : values[0];
}

static unsigned int
mg_entry_view_get_values(void *context, const char *attr,
			 const char *const **values_r)
{
	const struct mg_entry_attr *a = mg_entry_find(context, attr);

	if (a == NULL)
		return 0;
	*values_r = a->values;
	return a->count;
}

void mg_entry_view_init(struct mg_entry_view *view_r,
			const struct mg_entry *entry)
{
	view_r->get_values = mg_entry_view_get_values;
	/* The core's interface is read-only in spirit; it takes void * so
	   that any container can sit behind it. */
	view_r->context = (void *)entry;
}

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

struct mg_entry *mg_entry_dup(pool_t pool, const struct mg_entry *entry)
{
	struct mg_entry *copy = p_new(pool, struct mg_entry, 1);
	const struct mg_entry_attr *attr;

	copy->dn = p_strdup(pool, entry->dn);
	p_array_init(&copy->attrs, pool, array_count(&entry->attrs));
	array_foreach(&entry->attrs, attr) {
		struct mg_entry_attr *dst = array_append_space(&copy->attrs);
		const char **values = p_new(pool, const char *, attr->count + 1);

		for (unsigned int i = 0; i < attr->count; i++)
			values[i] = p_strdup(pool, attr->values[i]);
		dst->name = p_strdup(pool, attr->name);
		dst->values = values;
		dst->count = attr->count;
	}
	return copy;
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

/* The change feed's index: names (entryUUIDs, objectGUIDs, logins) to
   cache keys. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "llist.h"
#include "mg-feed-index.h"

struct mg_feed_index_record;

/* One name of a record, in that name's list */
struct mg_feed_index_link {
	struct mg_feed_index_link *prev, *next;
	struct mg_feed_index_record *record;
	struct mg_feed_index_list *list;
};

struct mg_feed_index_list {
	char *name;
	struct mg_feed_index_link *head;
};

struct mg_feed_index_record {
	/* newest at the head */
	struct mg_feed_index_record *prev, *next;
	char *key;
	struct mg_feed_index_link *links;
	unsigned int link_count;
};

struct mg_feed_index {
	HASH_TABLE(char *, struct mg_feed_index_record *) records;
	HASH_TABLE(char *, struct mg_feed_index_list *) lists;
	struct mg_feed_index_record *head, *tail;
	unsigned int count, max_records;
	mg_feed_index_remove_t *remove_key;
	void *context;
};

struct mg_feed_index *
mg_feed_index_init(unsigned int max_records,
		   mg_feed_index_remove_t *remove_key, void *context)
{
	struct mg_feed_index *index = i_new(struct mg_feed_index, 1);

	hash_table_create(&index->records, default_pool, 0, str_hash, strcmp);
	hash_table_create(&index->lists, default_pool, 0, str_hash, strcmp);
	index->max_records = I_MAX(max_records, 1);
	index->remove_key = remove_key;
	index->context = context;
	return index;
}

static void mg_feed_index_free(struct mg_feed_index *index,
			       struct mg_feed_index_record *record)
{
	struct mg_feed_index_list *list;

	for (unsigned int i = 0; i < record->link_count; i++) {
		list = record->links[i].list;
		DLLIST_REMOVE(&list->head, &record->links[i]);
		if (list->head == NULL) {
			hash_table_remove(index->lists, list->name);
			i_free(list->name);
			i_free(list);
		}
	}
	hash_table_remove(index->records, record->key);
	DLLIST2_REMOVE(&index->head, &index->tail, record);
	index->count--;
	i_free(record->links);
	i_free(record->key);
	i_free(record);
}

/* Out of the index and out of the cache */
static void mg_feed_index_drop(struct mg_feed_index *index,
			       struct mg_feed_index_record *record)
{
	index->remove_key(record->key, index->context);
	mg_feed_index_free(index, record);
}

static struct mg_feed_index_list *
mg_feed_index_list_get(struct mg_feed_index *index, const char *name)
{
	struct mg_feed_index_list *list;

	list = hash_table_lookup(index->lists, name);
	if (list == NULL) {
		list = i_new(struct mg_feed_index_list, 1);
		list->name = i_strdup(name);
		hash_table_insert(index->lists, list->name, list);
	}
	return list;
}

void mg_feed_index_add(struct mg_feed_index *index, const char *key,
		       const char *const *names)
{
	struct mg_feed_index_record *record;
	struct mg_feed_index_link *link;
	unsigned int i, count = str_array_length(names);

	record = hash_table_lookup(index->records, key);
	if (record != NULL) {
		/* the key was cached again: the new answer's names count */
		mg_feed_index_free(index, record);
	}
	while (index->count >= index->max_records)
		mg_feed_index_drop(index, index->tail);

	record = i_new(struct mg_feed_index_record, 1);
	record->key = i_strdup(key);
	record->links = i_new(struct mg_feed_index_link, I_MAX(count, 1));
	for (i = 0; i < count; i++) {
		if (i > 0 && str_array_find(names + i + 1, names[i]))
			continue;
		link = &record->links[record->link_count++];
		link->record = record;
		link->list = mg_feed_index_list_get(index, names[i]);
		DLLIST_PREPEND(&link->list->head, link);
	}
	hash_table_insert(index->records, record->key, record);
	DLLIST2_PREPEND(&index->head, &index->tail, record);
	index->count++;
}

unsigned int mg_feed_index_invalidate(struct mg_feed_index *index,
				      const char *name)
{
	struct mg_feed_index_list *list;
	unsigned int count = 0;

	/* the list goes with its last record */
	while ((list = hash_table_lookup(index->lists, name)) != NULL) {
		mg_feed_index_drop(index, list->head->record);
		count++;
	}
	return count;
}

unsigned int mg_feed_index_clear(struct mg_feed_index *index)
{
	unsigned int count = index->count;

	while (index->head != NULL)
		mg_feed_index_free(index, index->head);
	return count;
}

unsigned int mg_feed_index_count(const struct mg_feed_index *index)
{
	return index->count;
}

void mg_feed_index_deinit(struct mg_feed_index **_index)
{
	struct mg_feed_index *index = *_index;

	*_index = NULL;
	(void)mg_feed_index_clear(index);
	hash_table_destroy(&index->records);
	hash_table_destroy(&index->lists);
	i_free(index);
}

const char *const *mg_feed_index_login_names(const char *user)
{
	const char **names = t_new(const char *, 3);
	const char *at = strchr(user, '@');

	names[0] = t_strconcat("t:", t_str_lcase(user), NULL);
	if (at != NULL) {
		names[1] = t_strconcat("t:", t_str_lcase(
			t_strdup_until(user, at)), NULL);
	}
	return names;
}

const char *mg_feed_index_uuid_name(const char *uuid)
{
	return t_strconcat("u:", t_str_lcase(uuid), NULL);
}

const char *mg_feed_index_guid_name(const char *hex)
{
	if (strlen(hex) != 32 || strspn(hex, "0123456789abcdefABCDEF") != 32)
		return NULL;
	return t_strconcat("g:", t_str_lcase(hex), NULL);
}

/* A bounded, expiring cache of custom recipients' search results. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "ioloop.h"
#include "llist.h"
#include "mg-entry.h"
#include "mg-lookup.h"
#include "mg-recipient-cache.h"

struct mg_recipient_cache_node {
	/* newest at the head */
	struct mg_recipient_cache_node *prev, *next;
	pool_t pool;
	char *key;
	time_t expires;
	struct mg_entry *entry;
	const char *rule;
	unsigned int matched;
	const char *ignored;
	const char *const *entry_names;
	const char *search_user;
	const char *marker;
};

struct mg_recipient_cache {
	HASH_TABLE(char *, struct mg_recipient_cache_node *) nodes;
	struct mg_recipient_cache_node *head, *tail;
	unsigned int count, max_entries;
};

struct mg_recipient_cache *mg_recipient_cache_init(unsigned int max_entries)
{
	struct mg_recipient_cache *cache = i_new(struct mg_recipient_cache, 1);

	hash_table_create(&cache->nodes, default_pool, 0, str_hash, strcmp);
	cache->max_entries = max_entries;
	return cache;
}

static void mg_recipient_cache_remove(struct mg_recipient_cache *cache,
				      struct mg_recipient_cache_node *node)
{
	hash_table_remove(cache->nodes, node->key);
	DLLIST2_REMOVE(&cache->head, &cache->tail, node);
	cache->count--;
	pool_unref(&node->pool);
}

unsigned int mg_recipient_cache_clear(struct mg_recipient_cache *cache)
{
	unsigned int count = cache->count;

	while (cache->head != NULL)
		mg_recipient_cache_remove(cache, cache->head);
	return count;
}

void mg_recipient_cache_forget(struct mg_recipient_cache *cache,
			       const char *key)
{
	struct mg_recipient_cache_node *node;

	node = hash_table_lookup(cache->nodes, key);
	if (node != NULL)
		mg_recipient_cache_remove(cache, node);
}

void mg_recipient_cache_deinit(struct mg_recipient_cache **_cache)
{
	struct mg_recipient_cache *cache = *_cache;

	*_cache = NULL;
	(void)mg_recipient_cache_clear(cache);
	hash_table_destroy(&cache->nodes);
	i_free(cache);
}

bool mg_recipient_cache_lookup(struct mg_recipient_cache *cache,
			       const char *key, pool_t pool,
			       struct mg_lookup_result *result_r,
			       const char **marker_r)
{
	struct mg_recipient_cache_node *node;

	node = hash_table_lookup(cache->nodes, key);
	if (node == NULL)
		return FALSE;
	if (node->expires <= ioloop_time) {
		mg_recipient_cache_remove(cache, node);
		return FALSE;
	}
	i_zero(result_r);
	*marker_r = p_strdup(pool, node->marker);
	result_r->status = MG_LOOKUP_FOUND;
	result_r->kind = MG_KIND_CUSTOM_RECIPIENT;
	result_r->entry = mg_entry_dup(pool, node->entry);
	result_r->rule = p_strdup(pool, node->rule);
	result_r->matched = node->matched;
	result_r->ignored = p_strdup(pool, node->ignored);
	result_r->entry_names = node->entry_names == NULL ? NULL :
		(const char *const *)p_strarray_dup(pool, node->entry_names);
	result_r->search_user = p_strdup(pool, node->search_user);
	return TRUE;
}

void mg_recipient_cache_store(struct mg_recipient_cache *cache,
			      const char *key, unsigned int ttl_secs,
			      const struct mg_lookup_result *result,
			      const char *marker)
{
	struct mg_recipient_cache_node *node;
	pool_t pool;

	node = hash_table_lookup(cache->nodes, key);
	if (node != NULL)
		mg_recipient_cache_remove(cache, node);
	if (cache->count >= cache->max_entries)
		mg_recipient_cache_remove(cache, cache->tail);

	pool = pool_alloconly_create("mailbox_guard recipient", 1024);
	node = p_new(pool, struct mg_recipient_cache_node, 1);
	node->pool = pool;
	node->key = p_strdup(pool, key);
	node->expires = ioloop_time + ttl_secs;
	node->entry = mg_entry_dup(pool, result->entry);
	node->rule = p_strdup(pool, result->rule);
	node->matched = result->matched;
	node->ignored = p_strdup(pool, result->ignored);
	node->entry_names = result->entry_names == NULL ? NULL :
		(const char *const *)p_strarray_dup(pool, result->entry_names);
	node->search_user = p_strdup(pool, result->search_user);
	node->marker = p_strdup(pool, marker);
	hash_table_insert(cache->nodes, node->key, node);
	DLLIST2_PREPEND(&cache->head, &cache->tail, node);
	cache->count++;
}

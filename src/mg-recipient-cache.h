#ifndef MG_RECIPIENT_CACHE_H
#define MG_RECIPIENT_CACHE_H

/* What the searches for custom recipients found, kept for auth_cache_ttl
   while Dovecot's auth cache is on. Dovecot's own cache must never answer
   for a custom recipient (every refusal is decided and logged by the
   plugin), so without this a refused client that keeps retrying would
   cost a search each time while a mailbox user costs none. Keyed by the
   exact search (base, filter); bounded, the oldest entry goes first. */

struct mg_recipient_cache;
struct mg_lookup_result;

struct mg_recipient_cache *mg_recipient_cache_init(unsigned int max_entries);
void mg_recipient_cache_deinit(struct mg_recipient_cache **cache);

/* Forgets every entry (the change feed lost track); returns how many. */
unsigned int mg_recipient_cache_clear(struct mg_recipient_cache *cache);

/* Forgets key, if it is kept (the change feed heard its entry change). */
void mg_recipient_cache_forget(struct mg_recipient_cache *cache,
			       const char *key);

/* Fills result_r (the entry copied into pool) and *marker_r (what store
   was given, copied, or NULL) and returns TRUE when key is cached and
   has not expired. */
bool mg_recipient_cache_lookup(struct mg_recipient_cache *cache,
			       const char *key, pool_t pool,
			       struct mg_lookup_result *result_r,
			       const char **marker_r);
/* Keeps a found custom recipient for ttl_secs, with the key of its marker
   in Dovecot's auth cache (mg-cache-key.h; NULL: none). */
void mg_recipient_cache_store(struct mg_recipient_cache *cache,
			      const char *key, unsigned int ttl_secs,
			      const struct mg_lookup_result *result,
			      const char *marker);

#endif

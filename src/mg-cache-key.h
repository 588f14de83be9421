#ifndef MG_CACHE_KEY_H
#define MG_CACHE_KEY_H

/* Dovecot's auth cache key of an answer, as a string the change feed can
   keep after the request is gone, and the removal of a cache entry by
   that string alone.

   The key is built as Dovecot's cache builds it when it stores the
   answer: "P" (passdb) or "U" (userdb), the db's id, "+" and the master
   user when there is one, a tab, then the db's cache key template
   expanded for the translated user name, tab-escaped. Dovecot 2.4 builds
   its keys another way: there these return NULL and the feed empties the
   whole cache instead. */

struct auth_request;

/* The key under which Dovecot caches request's answer from its current
   passdb (userdb: its current userdb), in data stack: returns 1. Returns
   0 when nothing is cached (no auth cache, or the db has no cache key),
   -1 when the key can't be told (Dovecot 2.4, or the template does not
   expand). */
int mg_cache_key_get(struct auth_request *request, bool userdb,
		     const char **key_r);

/* Removes the auth cache entry stored under key (from mg_cache_key_get())
   if there is one. */
void mg_cache_key_remove(const char *key);

/* A marker: an entry of the plugin's own in Dovecot's auth cache, which
   goes with the cache's whole flush (doveadm auth cache flush, SIGHUP)
   and with doveadm auth cache flush USER for request's user (its key
   starts as that user's keys do), and which no lookup of Dovecot's can
   hit. This is how the plugin's memory of custom recipients learns of a
   flush Dovecot gives it no hook for. mg_cache_key_marker() names
   request's (NULL: no cache, or Dovecot 2.4), mg_cache_key_marker_set()
   stores it, mg_cache_key_present() says whether it is still there (2.4:
   always TRUE). */
const char *mg_cache_key_marker(struct auth_request *request);
void mg_cache_key_marker_set(const char *key);
bool mg_cache_key_present(const char *key);

#endif

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

#endif

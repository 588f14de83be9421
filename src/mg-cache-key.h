#ifndef MG_CACHE_KEY_H
#define MG_CACHE_KEY_H

/* Dovecot's auth cache key of an answer, as a string the change feed can
   keep after the request is gone, and the removal of a cache entry by
   that string alone.

   The key is built as Dovecot's cache builds it when it stores the
   answer: "P" (passdb) or "U" (userdb), the db's id, "+" and the master
   user when there is one, a tab, then the db's cache key template
   expanded for the translated user name, tab-escaped. Both releases
   build it so; they differ in the template's language. */

#include "str.h"

struct auth_request;

/* The key under which Dovecot caches request's answer from its current
   passdb (userdb: its current userdb), in data stack: returns 1. Returns
   0 when nothing is cached (no auth cache, or the db has no cache key),
   -1 when the key can't be told (the template does not expand). */
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
   request's (NULL: no cache), mg_cache_key_marker_set() stores it,
   mg_cache_key_present() says whether it is still there. */
const char *mg_cache_key_marker(struct auth_request *request);
void mg_cache_key_marker_set(const char *key);
bool mg_cache_key_present(const char *key);

/* For the release files: str tab-escaped, as every value Dovecot puts in
   a key; the template auth_cache_insert() expands for request under the
   db's cache_key, id_var being the release's variable for the db's id. */
const char *mg_cache_key_escape(const char *str,
				const struct auth_request *request);
const char *mg_cache_key_template(const struct auth_request *request,
				  const char *id_var, const char *cache_key);

/* Per release (mg-cache-key-23.c, mg-cache-key-24.c): */

/* Appends to dest the key auth_cache_insert() gives request's answer
   under the db's cache_key template (the db is request's userdb when
   request->userdb_lookup, else its passdb). Returns 0, or -1 when the
   template does not expand. */
int mg_cache_key_expand(struct auth_request *request, const char *cache_key,
			string_t *dest);

/* A template that expands to text itself, in data stack. */
const char *mg_cache_key_literal(const char *text);

#endif

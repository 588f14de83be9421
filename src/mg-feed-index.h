#ifndef MG_FEED_INDEX_H
#define MG_FEED_INDEX_H

/* Which cached answers came from which entries: the change feed's index.
   Every answer the plugin gives while the feed runs is recorded under its
   cache key (Dovecot's auth cache key, or the plugin's own memory of a
   custom recipient) and the names that can make it wrong: the stable ids
   of every entry its search returned ("u:" + entryUUID on OpenLDAP, "g:"
   + objectGUID's 16 bytes in hex on AD and Samba), and the login it was
   asked for ("t:" + the name and its local part, lowercased), which a new
   or changed entry holding that name would match.

   Bounded: past max_records the oldest record goes, and its key with it
   (remove_key is called), so the index never forgets a key that is still
   cached. */

struct mg_feed_index;

/* Removes one cached answer by its key. */
typedef void mg_feed_index_remove_t(const char *key, void *context);

struct mg_feed_index *
mg_feed_index_init(unsigned int max_records,
		   mg_feed_index_remove_t *remove_key, void *context);
void mg_feed_index_deinit(struct mg_feed_index **index);

/* Records key under names (NULL-terminated), replacing what key had. */
void mg_feed_index_add(struct mg_feed_index *index, const char *key,
		       const char *const *names);
/* Removes every key recorded under name, from the cache and the index;
   returns how many. */
unsigned int mg_feed_index_invalidate(struct mg_feed_index *index,
				      const char *name);
/* Forgets every record without calling remove_key: the caches were
   emptied as a whole. Returns how many. */
unsigned int mg_feed_index_clear(struct mg_feed_index *index);
unsigned int mg_feed_index_count(const struct mg_feed_index *index);

/* The name of an entry by its entryUUID: "u:" + uuid, lowercased (data
   stack). */
const char *mg_feed_index_uuid_name(const char *uuid);
/* The name of an entry by its objectGUID given as hex: "g:" + 32 hex
   digits, lowercased (data stack); NULL when hex is not 16 bytes' worth.
   Bytes, not AD's string form: both sides write them the same way. */
const char *mg_feed_index_guid_name(const char *hex);

/* The names for the login user: "t:" + user and "t:" + its local part,
   lowercased (data stack). */
const char *const *mg_feed_index_login_names(const char *user);

#endif

#ifndef MG_FEED_H
#define MG_FEED_H

/* The change feed: a connection of its own running RFC 4533
   refreshAndPersist under base, so that a change in the directory reaches
   the auth cache within a second instead of at auth_cache_ttl.

   What it takes off its callers' hands: the sync control and its cookie
   (kept in memory, so a reconnect replays only what changed), reading
   the rootDSE for change_feed = auto, reconnecting, and the rule that
   nothing cached may outlive the feed's trust: while the feed is not
   persisting (starting, refreshing, down) what it protects is flushed
   when it stops being trusted and again when it is trusted again.

   On Active Directory and Samba (change_feed = ad-notify, or auto when
   the rootDSE lists no RFC 4533 but AD's notification control) the
   stream is mg-feed-ad.c's: its "up", "changed" and "down" stand for the
   refresh's end, an entry's change and the stream's end.

   Exact invalidation: every answer the plugin gives is recorded, with
   the cache key it is stored under, in an index (mg-feed-index.h) by the
   stable ids of the entries its search returned (entryUUID; objectGUID
   on AD) and by the login's name. A change removes the keys of the
   changed entry's id and of every cached login whose name one of the
   entry's values holds (an entry that starts to match a cached login).
   What the index can't answer exactly empties everything instead,
   counted: a filter that is not anchored on the login's name
   (mg-anchor.h), auth_bind_userdn, a key that could not be told, a
   change without a readable id, a bulk change (syncIdSet). */

struct auth_request;
struct mg_db;
struct mg_feed;
struct mg_ldap_settings;
struct mg_lookup_result;

/* The index key of an answer from the plugin's memory of custom
   recipients: this, then the recipient cache's key. */
#define MG_FEED_RECIPIENT_KEY_PREFIX "R"

/* The feed for db, not started yet. Returns NULL with
   change_feed = no or in an auth worker. ldap_set are the lookups'
   settings: the feed opens one connection of its own with them. */
struct mg_feed *mg_feed_init(struct mg_db *db,
			     const struct mg_ldap_settings *ldap_set);
/* Starts feed (NULL: nothing) once the ioloop runs, unless there is no
   auth cache; from the passdb's init, when the ioloop exists. Calling it
   again does nothing. */
void mg_feed_start_delayed(struct mg_feed *feed);
void mg_feed_deinit(struct mg_feed **feed);

/* The count of changes (and flushes) the feed has seen, 0 without a
   feed. A search sent at one count whose answer comes back at another
   may predate the change: it is not kept. */
unsigned int mg_feed_seq(const struct mg_feed *feed);
bool mg_feed_fresh(const struct mg_feed *feed, unsigned int seq);

/* The auth cache key request's answer is about to be stored under by its
   current passdb (userdb), before the answer is given; NULL without a
   feed. Call mg_feed_cached() with it once Dovecot has stored the
   answer. Data stack. */
const char *mg_feed_key(struct mg_feed *feed, struct auth_request *request,
			bool userdb);
/* Records that key now holds result's answer (feed NULL: nothing). A
   result that predates a change the feed has seen since its search was
   sent is removed from the cache at once instead. */
void mg_feed_cached(struct mg_feed *feed, const char *key,
		    const struct mg_lookup_result *result);

#endif

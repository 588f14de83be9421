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

   This step flushes Dovecot's auth cache (passdb and userdb entries) and
   the plugin's memory of custom recipients on every change it hears of;
   removing only the changed entry's keys is left for later. */

struct mg_db;
struct mg_feed;
struct mg_ldap_settings;

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

#endif

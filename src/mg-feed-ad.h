#ifndef MG_FEED_AD_H
#define MG_FEED_AD_H

/* The change feed on Active Directory and Samba: the change notification
   control (LDAP_SERVER_NOTIFICATION_OID, 1.2.840.113556.1.4.528), what
   AD offers to ordinary accounts.

   A notification search has no cookie and no refresh phase: the server
   sends an entry each time an object in its scope changes, from the
   moment it registered the search. So the stream says only three things
   to its owner, which decides what they do to the caches:
   - up: the search is registered; every change from here on is heard,
     what happened before (while down) is not;
   - changed: an entry changed, was added, renamed or moved, or was
     deleted (struct mg_feed_ad_change);
   - down: the search ended or its connection dropped: changes from here
     on are not heard until the next up.

   The search watches the whole naming context that holds base (subtree,
   "(objectClass=*)", with the show-deleted control), reading objectGUID,
   isDeleted and the attributes it is given: an entry moved out
   of base or deleted leaves base, and only the naming context sees it
   go. Deletes are seen only by an account allowed to list and read the
   Deleted Objects container; the stream warns once when it can't see
   any deleted object there. */

#define MG_FEED_AD_NOTIFICATION_OID "1.2.840.113556.1.4.528"

struct mg_feed_ad;
struct mg_ldap;

struct mg_feed_ad_change {
	/* its DN now: under Deleted Objects when deleted */
	const char *dn;
	/* its objectGUID's 16 bytes in lowercase hex, NULL when the server
	   sent none (or not 16 bytes) */
	const char *guid;
	/* isDeleted: TRUE */
	bool deleted;
	/* every value of the attributes the stream was given to read
	   (NULL-terminated) */
	const char *const *values;
};

struct mg_feed_ad_events {
	void (*up)(void *context);
	void (*changed)(void *context, const struct mg_feed_ad_change *change);
	void (*down)(void *context, const char *error);
};

/* ldap is a client of its own (connections = 1), kept by the caller and
   deinitialized before mg_feed_ad_deinit(); base is copied; attrs
   (NULL-terminated, "*" ignored) are read of each changed entry and kept
   by the caller. */
struct mg_feed_ad *mg_feed_ad_init(struct mg_ldap *ldap, struct event *event,
				   const char *base, const char *const *attrs,
				   const struct mg_feed_ad_events *events,
				   void *context);
/* Registers the notification search; one of up or down follows. Only
   after down (or before the first start) may it be called again. */
void mg_feed_ad_start(struct mg_feed_ad *ad);
void mg_feed_ad_deinit(struct mg_feed_ad **ad);

#endif

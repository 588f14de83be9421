/* The change feed: RFC 4533 refreshAndPersist on a connection of its
   own, and what it does to the caches. */

#include "auth-common.h"
#include "ioloop.h"
#include "str.h"
#include "auth-cache.h"
#include "passdb-cache.h"
#include "auth-request.h"
#include "mg-compat.h"
#include "mg-config.h"
#include "mg-ldap.h"
#include "mg-db.h"
#include "mg-recipient-cache.h"
#include "mg-feed-ad.h"
#include "mg-lookup.h"
#include "mg-anchor.h"
#include "mg-filter.h"
#include "mg-cache-key.h"
#include "mg-feed-index.h"
#include "mg-feed.h"

#include <ldap.h>

/* How soon a feed that went down tries again; libldap's connection
   setup adds its own timeout. */
#define MG_FEED_RESTART_MSECS 500
/* The index holds at most one record per this many bytes of
   auth_cache_size: a cached answer (node, key and value) is rarely
   smaller. */
#define MG_FEED_INDEX_BYTES_PER_RECORD 128

enum mg_feed_state {
	/* not started, or switched off (auto found no syncprov) */
	MG_FEED_OFF,
	/* change_feed = auto: reading the rootDSE */
	MG_FEED_PROBING,
	/* the sync search is sent; its refresh phase is running */
	MG_FEED_REFRESHING,
	/* refresh done: every change arrives as it happens */
	MG_FEED_PERSISTING,
	/* waiting to start again */
	MG_FEED_DOWN,
};

struct mg_feed {
	struct mg_db *db;
	struct mg_ldap *ldap;
	struct event *event;
	enum mg_feed_state state;
	struct timeout *to;
	/* a server that holds the connection open but answers nothing
	   sends no changes either: a probe every half change_feed_timeout,
	   answered within the other half, or the connection is dropped */
	struct timeout *to_ping;
	pool_t ping_pool;
	/* a refresh still under way after change_feed_timeout: said */
	struct timeout *to_refresh;

	/* the stream under way: its request lives in this pool, the
	   control it was sent with is libldap's */
	pool_t stream_pool;
	LDAPControl *ctrls[2];
	/* the server's last cookie (i_malloc), NULL before the first */
	struct berval cookie;
	/* AD's change notification, with ad-notify or auto */
	struct mg_feed_ad *ad;
	/* what the sync search asks for: the attributes the filters read */
	const char *const *attrs;

	/* which cached answers came from which entries and logins */
	struct mg_feed_index *index;
	/* changes and flushes seen (mg_feed_seq()) */
	unsigned int seq;
	/* the index answers exactly for a new or changed entry: the filters
	   are anchored on the login's name */
	bool exact;
	/* an answer was cached under a key the index does not know: the
	   next change empties everything */
	bool untracked;
	/* since the start, for the log */
	unsigned int changes, keys_removed, full_flushes;

	/* change_feed = auto: the rootDSE lists the sync control */
	bool sync_offered;
	/* change_feed = auto: ... and AD's notification control */
	bool ad_offered;
	/* the outage was logged; said again when the feed is back */
	bool down_logged;
	bool deinitializing;
};

static void mg_feed_start(struct mg_feed *feed);
static void mg_feed_ad_begin(struct mg_feed *feed);

static void mg_feed_set_cookie(struct mg_feed *feed,
			       const struct berval *cookie)
{
	i_free(feed->cookie.bv_val);
	feed->cookie.bv_len = cookie == NULL ? 0 : cookie->bv_len;
	feed->cookie.bv_val = cookie == NULL || cookie->bv_len == 0 ? NULL :
		i_memdup(cookie->bv_val, cookie->bv_len);
	if (feed->cookie.bv_val == NULL)
		feed->cookie.bv_len = 0;
}

/* Everything the feed protects: Dovecot's auth cache (its passdb and
   userdb entries live in one cache) and the plugin's own memory of
   custom recipients. */
static void mg_feed_flush(struct mg_feed *feed, const char *why)
{
	unsigned int count = 0;

	if (passdb_cache != NULL)
		count = auth_cache_clear(passdb_cache);
	count += mg_recipient_cache_clear(feed->db->recipient_cache);
	if (feed->index != NULL)
		(void)mg_feed_index_clear(feed->index);
	feed->seq++;
	feed->untracked = FALSE;
	e_debug(feed->event, "%s: %u cache entries flushed", why, count);
}

/* What the index can't judge exactly: everything goes, counted */
static void mg_feed_flush_unsure(struct mg_feed *feed, const char *why)
{
	feed->full_flushes++;
	mg_feed_flush(feed, why);
}

static void mg_feed_remove_key(const char *key, void *context)
{
	struct mg_feed *feed = context;

	if (str_begins_with(key, MG_FEED_RECIPIENT_KEY_PREFIX)) {
		mg_recipient_cache_forget(feed->db->recipient_cache,
			key + strlen(MG_FEED_RECIPIENT_KEY_PREFIX));
	} else {
		mg_cache_key_remove(key);
	}
	feed->keys_removed++;
}

static void mg_feed_restart_timeout(struct mg_feed *feed)
{
	timeout_remove(&feed->to);
	mg_feed_start(feed);
}

/* The feed stopped: nothing it protected may be trusted past this point,
   so it all goes, and answers expire by auth_cache_ttl until the feed is
   back. */
static void mg_feed_down(struct mg_feed *feed, const char *error)
{
	timeout_remove(&feed->to_ping);
	timeout_remove(&feed->to_refresh);
	mg_feed_flush(feed, "down");
	if (!feed->down_logged) {
		e_error(feed->event, "down, auth cache flushed; answers now "
			"expire by auth_cache_ttl until it is back: %s", error);
		feed->down_logged = TRUE;
	} else {
		e_debug(feed->event, "still down: %s", error);
	}
	feed->state = MG_FEED_DOWN;
	feed->to = timeout_add_short(MG_FEED_RESTART_MSECS,
				     mg_feed_restart_timeout, feed);
}

/* The refresh phase is over: from here on every change is heard as it
   happens. What was cached before (while the feed was starting, down or
   catching up) may predate a change the refresh reported, or a delete
   a present phase reports only by omission: it goes. */
static void mg_feed_refresh_done(struct mg_feed *feed)
{
	if (feed->state != MG_FEED_REFRESHING)
		return;
	timeout_remove(&feed->to_refresh);
	mg_feed_flush(feed, "refresh done");
	feed->state = MG_FEED_PERSISTING;
	if (feed->down_logged) {
		e_info(feed->event, "back: changes reach the auth cache "
		       "again as they happen");
		feed->down_logged = FALSE;
	} else {
		e_info(feed->event, "running: changes reach the auth cache "
		       "as they happen");
	}
}

static void mg_feed_changed(struct mg_feed *feed, const char *what)
{
	feed->seq++;
	if (feed->state == MG_FEED_PERSISTING)
		mg_feed_flush_unsure(feed, what);
	/* during the refresh: mg_feed_refresh_done() flushes */
}

/* RFC 4122's text form of the 16 bytes of a syncUUID, as slapd writes
   entryUUID */
static const char *mg_feed_uuid_text(const struct berval *uuid)
{
	static const char hex[] = "0123456789abcdef";
	string_t *str = t_str_new(40);

	for (ber_len_t i = 0; i < uuid->bv_len; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			str_append_c(str, '-');
		str_append_c(str, hex[((unsigned char)uuid->bv_val[i]) >> 4]);
		str_append_c(str, hex[((unsigned char)uuid->bv_val[i]) & 15]);
	}
	return str_c(str);
}

/* The keys of the logins a changed entry may now answer for, by one of
   its values: the value and its local part. */
static unsigned int mg_feed_invalidate_login(struct mg_feed *feed,
					     const char *value)
{
	const char *const *names = mg_feed_index_login_names(value);
	unsigned int count = 0;

	for (; *names != NULL; names++)
		count += mg_feed_index_invalidate(feed->index, *names);
	return count;
}

/* ... by each value of the attributes the filters read */
static unsigned int mg_feed_invalidate_values(struct mg_feed *feed,
					      LDAP *ld, LDAPMessage *msg)
{
	struct berval **vals;
	BerElement *ber = NULL;
	unsigned int count = 0;
	char *attr;
	int i;

	for (attr = ldap_first_attribute(ld, msg, &ber); attr != NULL;
	     attr = ldap_next_attribute(ld, msg, ber)) {
		vals = ldap_get_values_len(ld, msg, attr);
		for (i = 0; vals != NULL && vals[i] != NULL; i++) {
			count += mg_feed_invalidate_login(feed, t_strndup(
				vals[i]->bv_val, vals[i]->bv_len));
		}
		ldap_value_free_len(vals);
		ldap_memfree(attr);
	}
	ber_free(ber, 0);
	return count;
}

/* One entry added, changed, renamed or deleted, known by its index name
   (NULL: none readable): counts it and, while persisting, removes the
   keys that came from it (*count_r). Returns FALSE when that was not
   exact and everything was emptied instead, or not persisting. Unless it
   was deleted, the caller then removes the keys of the logins the entry
   may now match; a delete only takes an entry away from those that
   found it. */
static bool mg_feed_entry_changed(struct mg_feed *feed, const char *name,
				  bool deleted, const char *what,
				  unsigned int *count_r)
{
	*count_r = 0;
	feed->seq++;
	if (feed->state != MG_FEED_PERSISTING)
		return FALSE;
	feed->changes++;
	if (feed->untracked) {
		mg_feed_flush_unsure(feed, t_strdup_printf(
			"%s (an answer was cached under a key not indexed)",
			what));
		return FALSE;
	}
	if (name == NULL) {
		mg_feed_flush_unsure(feed, t_strdup_printf(
			"%s (no readable entryUUID or objectGUID)", what));
		return FALSE;
	}
	if (!deleted && !feed->exact) {
		mg_feed_flush_unsure(feed, t_strdup_printf(
			"%s (the filters are not anchored on the login name)",
			what));
		return FALSE;
	}
	*count_r = mg_feed_index_invalidate(feed->index, name);
	return TRUE;
}

/* syncStateValue: SEQUENCE { state ENUMERATED, entryUUID OCTET STRING,
   cookie OCTET STRING OPTIONAL } */
static bool mg_feed_parse_state(struct mg_feed *feed, LDAPControl *ctrl,
				ber_int_t *state_r, const char **uuid_r)
{
	BerElement *ber = ber_init(&ctrl->ldctl_value);
	struct berval uuid, cookie;
	ber_len_t len;
	bool ok;

	if (ber == NULL)
		return FALSE;
	ok = ber_scanf(ber, "{em", state_r, &uuid) != LBER_ERROR;
	/* uuid points into ber */
	*uuid_r = ok && uuid.bv_len == 16 ? mg_feed_uuid_text(&uuid) : NULL;
	if (ok && ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE) {
		ok = ber_scanf(ber, "m", &cookie) != LBER_ERROR;
		if (ok)
			mg_feed_set_cookie(feed, &cookie);
	}
	ber_free(ber, 1);
	return ok;
}

static void mg_feed_sync_changed(struct mg_feed *feed, LDAP *ld,
				 LDAPMessage *msg, ber_int_t state,
				 const char *uuid, const char *what)
{
	bool deleted = state == LDAP_SYNC_DELETE;
	unsigned int count;

	if (!mg_feed_entry_changed(feed, uuid == NULL ? NULL :
				   mg_feed_index_uuid_name(uuid),
				   deleted, what, &count))
		return;
	if (!deleted)
		count += mg_feed_invalidate_values(feed, ld, msg);
	e_debug(feed->event, "%s: %u cached answers removed", what, count);
}

static void mg_feed_entry(struct mg_feed *feed, LDAP *ld, LDAPMessage *msg)
{
	LDAPControl **ctrls = NULL, *ctrl;
	const char *uuid;
	ber_int_t state;
	char *dn;

	if (ldap_get_entry_controls(ld, msg, &ctrls) != LDAP_SUCCESS)
		ctrls = NULL;
	ctrl = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL);
	if (ctrl == NULL || !mg_feed_parse_state(feed, ctrl, &state, &uuid)) {
		/* a change the feed can't read is still a change */
		mg_feed_changed(feed, "entry without a readable sync state");
	} else if (state != LDAP_SYNC_PRESENT) {
		dn = ldap_get_dn(ld, msg);
		T_BEGIN {
			mg_feed_sync_changed(feed, ld, msg, state, uuid,
				t_strdup_printf("%s %s",
				state == LDAP_SYNC_ADD ? "add" :
				state == LDAP_SYNC_DELETE ? "delete" :
				"modify", dn == NULL ? "?" : dn));
		} T_END;
		ldap_memfree(dn);
	}
	ldap_controls_free(ctrls);
}

/* syncInfoValue: newcookie, refreshDelete, refreshPresent or syncIdSet,
   each with an optional cookie. Returns FALSE when it can't be read. */
static bool mg_feed_info(struct mg_feed *feed, BerElement *ber)
{
	struct berval cookie;
	ber_tag_t tag;
	ber_len_t len;
	ber_int_t done = 1;

	tag = ber_peek_tag(ber, &len);
	if (tag == LDAP_TAG_SYNC_NEW_COOKIE) {
		if (ber_scanf(ber, "m", &cookie) == LBER_ERROR)
			return FALSE;
		mg_feed_set_cookie(feed, &cookie);
		return TRUE;
	}
	if (ber_scanf(ber, "{") == LBER_ERROR)
		return FALSE;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    ber_scanf(ber, "m", &cookie) != LBER_ERROR)
		mg_feed_set_cookie(feed, &cookie);
	switch (tag) {
	case LDAP_TAG_SYNC_REFRESH_DELETE:
	case LDAP_TAG_SYNC_REFRESH_PRESENT:
		/* refreshDone: DEFAULT TRUE */
		if (ber_peek_tag(ber, &len) == LBER_BOOLEAN)
			(void)ber_scanf(ber, "b", &done);
		if (done != 0)
			mg_feed_refresh_done(feed);
		break;
	case LDAP_TAG_SYNC_ID_SET:
		/* entries deleted (or present) in bulk */
		mg_feed_changed(feed, "a set of entries changed");
		break;
	default:
		return FALSE;
	}
	return TRUE;
}

static void mg_feed_intermediate(struct mg_feed *feed, LDAP *ld,
				 LDAPMessage *msg)
{
	char *oid = NULL;
	struct berval *data = NULL;
	BerElement *ber;

	if (ldap_parse_intermediate(ld, msg, &oid, &data, NULL, 0) !=
	    LDAP_SUCCESS) {
		/* it may have been a set of deleted entries */
		mg_feed_changed(feed, "an intermediate message it can't read");
		return;
	}
	if (oid != NULL && strcmp(oid, LDAP_SYNC_INFO) == 0) {
		ber = data == NULL ? NULL : ber_init(data);
		if (ber == NULL || !mg_feed_info(feed, ber))
			mg_feed_changed(feed, "a sync info message it can't read");
		if (ber != NULL)
			ber_free(ber, 1);
	}
	ldap_memfree(oid);
	ber_bvfree(data);
}

static void mg_feed_result(struct mg_feed *feed, LDAP *ld, LDAPMessage *msg)
{
	int err;

	if (ldap_parse_result(ld, msg, &err, NULL, NULL, NULL, NULL, 0) ==
	    LDAP_SUCCESS && err == LDAP_SYNC_REFRESH_REQUIRED) {
		/* the server can't replay from this cookie */
		e_debug(feed->event, "the server asks for a full refresh");
		mg_feed_set_cookie(feed, NULL);
	}
}

static void mg_feed_msg(LDAP *ld, LDAPMessage *msg, struct mg_feed *feed)
{
	switch (ldap_msgtype(msg)) {
	case LDAP_RES_SEARCH_ENTRY:
		mg_feed_entry(feed, ld, msg);
		break;
	case LDAP_RES_INTERMEDIATE:
		mg_feed_intermediate(feed, ld, msg);
		break;
	case LDAP_RES_SEARCH_RESULT:
		mg_feed_result(feed, ld, msg);
		break;
	default:
		break;
	}
}

static void mg_feed_stream_end(enum mg_ldap_result result,
			       struct mg_entry *const *entries ATTR_UNUSED,
			       unsigned int count ATTR_UNUSED,
			       const char *error, struct mg_feed *feed)
{
	pool_unref(&feed->stream_pool);
	ldap_control_free(feed->ctrls[0]);
	feed->ctrls[0] = NULL;
	if (feed->deinitializing)
		return;
	mg_feed_down(feed, result == MG_LDAP_RESULT_OK ?
		     "the server ended the sync search" : error);
}

/* syncRequestValue: SEQUENCE { mode ENUMERATED, cookie OCTET STRING
   OPTIONAL, reloadHint BOOLEAN DEFAULT FALSE } */
static LDAPControl *mg_feed_sync_control(struct mg_feed *feed)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	LDAPControl *ctrl = NULL;
	struct berval value;
	int ret;

	if (ber == NULL)
		return NULL;
	if (feed->cookie.bv_len > 0) {
		ret = ber_printf(ber, "{eO}", LDAP_SYNC_REFRESH_AND_PERSIST,
				 &feed->cookie);
	} else {
		ret = ber_printf(ber, "{e}", LDAP_SYNC_REFRESH_AND_PERSIST);
	}
	/* critical: a server without syncprov must refuse, not ignore it */
	if (ret != -1 && ber_flatten2(ber, &value, 0) != -1 &&
	    ldap_control_create(LDAP_CONTROL_SYNC, 1, &value, 1,
				&ctrl) != LDAP_SUCCESS)
		ctrl = NULL;
	ber_free(ber, 1);
	return ctrl;
}

static void mg_feed_ping_end(enum mg_ldap_result result,
			      struct mg_entry *const *entries ATTR_UNUSED,
			      unsigned int count ATTR_UNUSED,
			      const char *error, struct mg_feed *feed)
{
	pool_unref(&feed->ping_pool);
	/* a silent server: the client drops the connection, which ends
	   the stream (mg_feed_stream_end()) */
	if (result != MG_LDAP_RESULT_OK && !feed->deinitializing)
		e_debug(feed->event, "ping failed: %s", error);
}

/* A search on the feed's connection that finds nothing: base under a
   filter it can't match (not the rootDSE: AD returns that whatever the
   filter, an entry without a DN the reader refuses). */
static void mg_feed_ping(struct mg_feed *feed)
{
	static const char *const attrs[] = { LDAP_NO_ATTRS, NULL };
	struct mg_ldap_search search;

	if (feed->ping_pool != NULL) {
		/* the last one is still out: its timeout decides */
		return;
	}
	i_zero(&search);
	search.base = feed->db->config->base;
	search.scope = LDAP_SCOPE_BASE;
	search.filter = "(!(objectClass=*))";
	search.attrs = attrs;
	feed->ping_pool = pool_alloconly_create("mailbox_guard feed ping",
						 256);
	mg_ldap_search(feed->ldap, feed->ping_pool, &search,
		       mg_feed_ping_end, feed);
}

/* A server that holds the stream and answers the pings but never ends
   the refresh keeps the feed from running: not silently. Until then the
   answers expire by auth_cache_ttl, as while the feed is down. */
static void mg_feed_refresh_slow(struct mg_feed *feed)
{
	timeout_remove(&feed->to_refresh);
	e_warning(feed->event, "refresh not done after %u ms "
		  "(change_feed_timeout): until it is, changes don't reach "
		  "the auth cache and answers expire by auth_cache_ttl",
		  feed->db->config->change_feed_timeout_msecs);
}

/* A stream has started: either sends nothing while the directory is
   quiet, so the pings tell a quiet server from a silent one; and its
   refresh is watched. */
static void mg_feed_watch_start(struct mg_feed *feed)
{
	unsigned int msecs = feed->db->config->change_feed_timeout_msecs;

	if (feed->state != MG_FEED_REFRESHING)
		return;
	if (feed->to_ping == NULL)
		feed->to_ping = timeout_add(msecs / 2, mg_feed_ping, feed);
	if (feed->to_refresh == NULL) {
		feed->to_refresh = timeout_add(msecs, mg_feed_refresh_slow,
					       feed);
	}
}

static void mg_feed_stream_start(struct mg_feed *feed)
{
	struct mg_ldap_search search;

	feed->ctrls[0] = mg_feed_sync_control(feed);
	if (feed->ctrls[0] == NULL) {
		mg_feed_down(feed, "can't encode the sync request control");
		return;
	}
	e_debug(feed->event, "sync search under %s (%s)",
		feed->db->config->base, feed->cookie.bv_len > 0 ?
		"replaying from the last cookie" : "full refresh");
	i_zero(&search);
	search.base = feed->db->config->base;
	search.scope = (int)feed->db->config->scope;
	search.filter = "(objectClass=*)";
	search.attrs = feed->attrs;
	search.server_ctrls = feed->ctrls;
	feed->state = MG_FEED_REFRESHING;
	feed->stream_pool = pool_alloconly_create("mailbox_guard feed", 1024);
	mg_ldap_stream(feed->ldap, feed->stream_pool, &search, mg_feed_msg,
		       mg_feed_stream_end, feed);
	mg_feed_watch_start(feed);
}

/* AD's change notification (mg-feed-ad.c): its events do what the
   sync search's do. It has no cookie, so every start is a full one. */
static void mg_feed_ad_up(void *context)
{
	mg_feed_refresh_done(context);
}

static void mg_feed_ad_changed(void *context,
			       const struct mg_feed_ad_change *change)
{
	struct mg_feed *feed = context;
	const char *what;
	unsigned int count;

	what = t_strdup_printf("%s %s (objectGUID %s)",
			       change->deleted ? "delete" : "change",
			       change->dn, change->guid == NULL ? "?" :
			       change->guid);
	if (!mg_feed_entry_changed(feed, change->guid == NULL ? NULL :
				   mg_feed_index_guid_name(change->guid),
				   change->deleted, what, &count))
		return;
	for (const char *const *value = change->values;
	     !change->deleted && *value != NULL; value++)
		count += mg_feed_invalidate_login(feed, *value);
	e_debug(feed->event, "%s: %u cached answers removed", what, count);
}

static void mg_feed_ad_down(void *context, const char *error)
{
	struct mg_feed *feed = context;

	if (!feed->deinitializing)
		mg_feed_down(feed, error);
}

static const struct mg_feed_ad_events mg_feed_ad_events = {
	.up = mg_feed_ad_up,
	.changed = mg_feed_ad_changed,
	.down = mg_feed_ad_down,
};

static void mg_feed_ad_begin(struct mg_feed *feed)
{
	feed->state = MG_FEED_REFRESHING;
	mg_feed_ad_start(feed->ad);
	mg_feed_watch_start(feed);
}

/* The rootDSE, read as a stream: its DN is empty, which the lookups'
   entry reader rightly refuses. */
static void mg_feed_probe_msg(LDAP *ld, LDAPMessage *msg, struct mg_feed *feed)
{
	struct berval **vals;
	int i, count;

	if (ldap_msgtype(msg) != LDAP_RES_SEARCH_ENTRY)
		return;
	vals = ldap_get_values_len(ld, msg, "supportedControl");
	if (vals == NULL)
		return;
	count = ldap_count_values_len(vals);
	for (i = 0; i < count; i++) {
		if (vals[i]->bv_len == strlen(LDAP_CONTROL_SYNC) &&
		    memcmp(vals[i]->bv_val, LDAP_CONTROL_SYNC,
			   vals[i]->bv_len) == 0)
			feed->sync_offered = TRUE;
		if (vals[i]->bv_len == strlen(MG_FEED_AD_NOTIFICATION_OID) &&
		    memcmp(vals[i]->bv_val, MG_FEED_AD_NOTIFICATION_OID,
			   vals[i]->bv_len) == 0)
			feed->ad_offered = TRUE;
	}
	ldap_value_free_len(vals);
}

static void mg_feed_probe_end(enum mg_ldap_result result,
			      struct mg_entry *const *entries ATTR_UNUSED,
			      unsigned int count ATTR_UNUSED,
			      const char *error, struct mg_feed *feed)
{
	pool_unref(&feed->stream_pool);
	if (feed->deinitializing)
		return;
	if (result != MG_LDAP_RESULT_OK) {
		mg_feed_down(feed, t_strdup_printf(
			"reading the rootDSE failed: %s", error));
		return;
	}
	if (!feed->sync_offered && feed->ad_offered) {
		mg_feed_ad_begin(feed);
		return;
	}
	if (!feed->sync_offered) {
		e_info(feed->event, "change_feed = auto: the server does not "
		       "offer Content Synchronization (RFC 4533, slapd's "
		       "syncprov) nor AD's change notification: no feed, "
		       "answers expire by auth_cache_ttl");
		feed->state = MG_FEED_OFF;
		return;
	}
	mg_feed_stream_start(feed);
}

static void mg_feed_start(struct mg_feed *feed)
{
	static const char *const attrs[] = { "supportedControl", NULL };
	struct mg_ldap_search search;

	if (feed->db->config->change_feed == MG_CHANGE_FEED_AD_NOTIFY) {
		mg_feed_ad_begin(feed);
		return;
	}
	if (feed->db->config->change_feed != MG_CHANGE_FEED_AUTO) {
		mg_feed_stream_start(feed);
		return;
	}
	/* asked again at every start: the server may have changed */
	i_zero(&search);
	search.base = "";
	search.scope = LDAP_SCOPE_BASE;
	search.filter = "(objectClass=*)";
	search.attrs = attrs;
	feed->state = MG_FEED_PROBING;
	feed->sync_offered = FALSE;
	feed->ad_offered = FALSE;
	feed->stream_pool = pool_alloconly_create("mailbox_guard feed", 1024);
	mg_ldap_stream(feed->ldap, feed->stream_pool, &search,
		       mg_feed_probe_msg, mg_feed_probe_end, feed);
}

/* Dovecot creates the auth cache only after the passdbs' init: the feed
   looks for it once the ioloop runs. */
static void mg_feed_first_start(struct mg_feed *feed)
{
	uoff_t records;

	timeout_remove(&feed->to);
	if (passdb_cache == NULL) {
		e_warning(feed->event, "not started: the auth cache is off "
			  "(auth_cache_size = 0), there is nothing to keep "
			  "fresh");
		return;
	}
	records = global_auth_settings->cache_size /
		MG_FEED_INDEX_BYTES_PER_RECORD;
	feed->index = mg_feed_index_init(records > UINT_MAX ? UINT_MAX :
					 (unsigned int)records,
					 mg_feed_remove_key, feed);
	if (!feed->exact) {
		e_warning(feed->event, "pass_filter or user_filter is not "
			  "anchored on the login name (or auth_bind_userdn is "
			  "set): every added or changed entry empties the "
			  "whole auth cache");
	}
	mg_feed_start(feed);
}

static void mg_feed_add_filter_attrs(pool_t pool,
				     ARRAY_TYPE(const_string) *attrs,
				     const char *filter_text, bool *ok)
{
	struct mg_filter *filter;
	struct mg_error error;
	const char *const *names;

	filter = mg_filter_parse(filter_text, &error);
	if (filter == NULL) {
		*ok = FALSE;
		return;
	}
	for (names = mg_filter_attrs(filter); *names != NULL; names++) {
		const char *name = p_strdup(pool, *names);

		array_push_back(attrs, &name);
	}
	mg_filter_free(&filter);
}

/* What the sync search reads of each entry: the attributes the filters
   compare (their values are the logins an entry answers for); all of
   them when a filter can't be read. */
static const char *const *mg_feed_attrs(struct mg_db *db)
{
	static const char *const all[] = { "*", NULL };
	ARRAY_TYPE(const_string) attrs;
	bool ok = TRUE;

	p_array_init(&attrs, db->pool, 8);
	mg_feed_add_filter_attrs(db->pool, &attrs, db->config->pass_filter,
				 &ok);
	mg_feed_add_filter_attrs(db->pool, &attrs, db->config->user_filter,
				 &ok);
	if (!ok || array_count(&attrs) == 0)
		return all;
	array_append_zero(&attrs);
	return array_front(&attrs);
}

struct mg_feed *mg_feed_init(struct mg_db *db,
			     const struct mg_ldap_settings *ldap_set)
{
	struct mg_ldap_settings set = *ldap_set;
	struct mg_feed *feed;

	/* auth workers have no cache of their own */
	if (db->config->change_feed == MG_CHANGE_FEED_NO || worker)
		return NULL;
	feed = i_new(struct mg_feed, 1);
	feed->db = db;
	feed->event = event_create(auth_event);
	event_set_append_log_prefix(feed->event, t_strdup_printf(
		"mailbox_guard(%s): change feed: ", db->path));
	set.name = t_strdup_printf("%s, change feed", ldap_set->name);
	/* one connection, held by the stream; the probe goes on it too */
	set.connections = 1;
	set.request_timeout_msecs =
		I_MAX(db->config->change_feed_timeout_msecs / 2, 1);
	feed->ldap = mg_ldap_init(&set, auth_event);
	feed->attrs = mg_feed_attrs(db);
	if (db->config->change_feed == MG_CHANGE_FEED_AD_NOTIFY ||
	    db->config->change_feed == MG_CHANGE_FEED_AUTO) {
		feed->ad = mg_feed_ad_init(feed->ldap, feed->event,
					   db->config->base, feed->attrs,
					   &mg_feed_ad_events, feed);
	}
	feed->exact = mg_anchor_filter(db->config->pass_filter) &&
		mg_anchor_filter(db->config->user_filter) &&
		db->config->auth_bind_userdn == NULL;
	return feed;
}

void mg_feed_start_delayed(struct mg_feed *feed)
{
	if (feed == NULL || feed->state != MG_FEED_OFF || feed->to != NULL)
		return;
	feed->to = timeout_add_short(0, mg_feed_first_start, feed);
}

void mg_feed_deinit(struct mg_feed **_feed)
{
	struct mg_feed *feed = *_feed;

	if (feed == NULL)
		return;
	*_feed = NULL;
	feed->deinitializing = TRUE;
	timeout_remove(&feed->to);
	timeout_remove(&feed->to_ping);
	timeout_remove(&feed->to_refresh);
	/* ends the stream, whose callback frees what it held */
	mg_ldap_deinit(&feed->ldap);
	mg_feed_ad_deinit(&feed->ad);
	if (feed->index != NULL) {
		e_info(feed->event, "%u changes heard, %u cached answers "
		       "removed one by one, %u times everything emptied "
		       "instead", feed->changes, feed->keys_removed,
		       feed->full_flushes);
		mg_feed_index_deinit(&feed->index);
	}
	i_free(feed->cookie.bv_val);
	event_unref(&feed->event);
	i_free(feed);
}

unsigned int mg_feed_seq(const struct mg_feed *feed)
{
	return feed == NULL ? 0 : feed->seq;
}

bool mg_feed_fresh(const struct mg_feed *feed, unsigned int seq)
{
	return feed == NULL || feed->seq == seq;
}

const char *mg_feed_key(struct mg_feed *feed, struct auth_request *request,
			bool userdb)
{
	const char *key;

	if (feed == NULL || feed->index == NULL)
		return NULL;
	if (mg_cache_key_get(request, userdb, &key) < 0)
		feed->untracked = TRUE;
	return key;
}

void mg_feed_cached(struct mg_feed *feed, const char *key,
		    const struct mg_lookup_result *result)
{
	ARRAY_TYPE(const_string) names;
	const char *const *login;

	if (feed == NULL || feed->index == NULL || key == NULL ||
	    result->status == MG_LOOKUP_TEMPFAIL)
		return;
	if (!mg_feed_fresh(feed, result->feed_seq)) {
		/* the directory answered before a change the feed has
		   since heard of, which may be about this very entry */
		mg_feed_remove_key(key, feed);
		return;
	}
	if (result->status == MG_LOOKUP_FOUND && result->entry_names == NULL) {
		/* an entry without entryUUID or objectGUID: its delete could
		   not be traced back to this key */
		feed->untracked = TRUE;
	}
	t_array_init(&names, 8);
	if (result->entry_names != NULL)
		array_append(&names, result->entry_names,
			     str_array_length(result->entry_names));
	if (result->search_user != NULL) {
		for (login = mg_feed_index_login_names(result->search_user);
		     *login != NULL; login++)
			array_push_back(&names, login);
	}
	array_append_zero(&names);
	mg_feed_index_add(feed->index, key, array_front(&names));
}

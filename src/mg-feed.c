/* The change feed: RFC 4533 refreshAndPersist on a connection of its
   own, and what it does to the caches. */

#include "auth-common.h"
#include "ioloop.h"
#include "auth-cache.h"
#include "passdb-cache.h"
#include "mg-config.h"
#include "mg-ldap.h"
#include "mg-db.h"
#include "mg-recipient-cache.h"
#include "mg-feed-ad.h"
#include "mg-feed.h"

#include <ldap.h>

/* How soon a feed that went down tries again; libldap's connection
   setup adds its own timeout. */
#define MG_FEED_RESTART_MSECS 500

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

	/* the stream under way: its request lives in this pool, the
	   control it was sent with is libldap's */
	pool_t stream_pool;
	LDAPControl *ctrls[2];
	/* the server's last cookie (i_malloc), NULL before the first */
	struct berval cookie;
	/* AD's change notification, with ad-notify or auto */
	struct mg_feed_ad *ad;

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
	e_debug(feed->event, "%s: %u cache entries flushed", why, count);
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
	if (feed->state == MG_FEED_PERSISTING)
		mg_feed_flush(feed, what);
	/* during the refresh: mg_feed_refresh_done() flushes */
}

/* syncStateValue: SEQUENCE { state ENUMERATED, entryUUID OCTET STRING,
   cookie OCTET STRING OPTIONAL } */
static bool mg_feed_parse_state(struct mg_feed *feed, LDAPControl *ctrl,
				ber_int_t *state_r)
{
	BerElement *ber = ber_init(&ctrl->ldctl_value);
	struct berval uuid, cookie;
	ber_len_t len;
	bool ok;

	if (ber == NULL)
		return FALSE;
	ok = ber_scanf(ber, "{em", state_r, &uuid) != LBER_ERROR;
	if (ok && ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE) {
		ok = ber_scanf(ber, "m", &cookie) != LBER_ERROR;
		if (ok)
			mg_feed_set_cookie(feed, &cookie);
	}
	ber_free(ber, 1);
	return ok;
}

static void mg_feed_entry(struct mg_feed *feed, LDAP *ld, LDAPMessage *msg)
{
	LDAPControl **ctrls = NULL, *ctrl;
	ber_int_t state;
	char *dn;

	if (ldap_get_entry_controls(ld, msg, &ctrls) != LDAP_SUCCESS)
		ctrls = NULL;
	ctrl = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL);
	if (ctrl == NULL || !mg_feed_parse_state(feed, ctrl, &state)) {
		/* a change the feed can't read is still a change */
		mg_feed_changed(feed, "entry without a readable sync state");
	} else if (state != LDAP_SYNC_PRESENT) {
		dn = ldap_get_dn(ld, msg);
		T_BEGIN {
			mg_feed_changed(feed, t_strdup_printf(
				"%s %s", state == LDAP_SYNC_ADD ? "add" :
				state == LDAP_SYNC_DELETE ? "delete" :
				"modify", dn == NULL ? "?" : dn));
		} T_END;
		ldap_memfree(dn);
	}
	ldap_controls_free(ctrls);
}

/* syncInfoValue: newcookie, refreshDelete, refreshPresent or syncIdSet,
   each with an optional cookie. */
static void mg_feed_info(struct mg_feed *feed, BerElement *ber)
{
	struct berval cookie;
	ber_tag_t tag;
	ber_len_t len;
	ber_int_t done = 1;

	tag = ber_peek_tag(ber, &len);
	if (tag == LDAP_TAG_SYNC_NEW_COOKIE) {
		if (ber_scanf(ber, "m", &cookie) != LBER_ERROR)
			mg_feed_set_cookie(feed, &cookie);
		return;
	}
	if (ber_scanf(ber, "{") == LBER_ERROR)
		return;
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
		break;
	}
}

static void mg_feed_intermediate(struct mg_feed *feed, LDAP *ld,
				 LDAPMessage *msg)
{
	char *oid = NULL;
	struct berval *data = NULL;
	BerElement *ber;

	if (ldap_parse_intermediate(ld, msg, &oid, &data, NULL, 0) !=
	    LDAP_SUCCESS)
		return;
	if (oid != NULL && strcmp(oid, LDAP_SYNC_INFO) == 0 && data != NULL &&
	    (ber = ber_init(data)) != NULL) {
		mg_feed_info(feed, ber);
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

static void mg_feed_stream_start(struct mg_feed *feed)
{
	/* no attributes: the DN and the sync state say all it needs */
	static const char *const attrs[] = { LDAP_NO_ATTRS, NULL };
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
	search.attrs = attrs;
	search.server_ctrls = feed->ctrls;
	feed->state = MG_FEED_REFRESHING;
	feed->stream_pool = pool_alloconly_create("mailbox_guard feed", 1024);
	mg_ldap_stream(feed->ldap, feed->stream_pool, &search, mg_feed_msg,
		       mg_feed_stream_end, feed);
}

/* AD's change notification (mg-feed-ad.c): its events do what the
   sync search's do. It has no cookie, so every start is a full one. */
static void mg_feed_ad_up(void *context)
{
	mg_feed_refresh_done(context);
}

static void mg_feed_ad_changed(void *context, const char *dn,
			       const char *guid, bool deleted)
{
	T_BEGIN {
		mg_feed_changed(context, t_strdup_printf(
			"%s %s (objectGUID %s)", deleted ? "delete" : "change",
			dn, guid == NULL ? "?" : guid));
	} T_END;
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
	timeout_remove(&feed->to);
	if (passdb_cache == NULL) {
		e_warning(feed->event, "not started: the auth cache is off "
			  "(auth_cache_size = 0), there is nothing to keep "
			  "fresh");
		return;
	}
	mg_feed_start(feed);
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
	/* one connection, held by the stream */
	set.connections = 1;
	feed->ldap = mg_ldap_init(&set, auth_event);
	if (db->config->change_feed == MG_CHANGE_FEED_AD_NOTIFY ||
	    db->config->change_feed == MG_CHANGE_FEED_AUTO) {
		feed->ad = mg_feed_ad_init(feed->ldap, feed->event,
					   db->config->base,
					   &mg_feed_ad_events, feed);
	}
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
	/* ends the stream, whose callback frees what it held */
	mg_ldap_deinit(&feed->ldap);
	mg_feed_ad_deinit(&feed->ad);
	i_free(feed->cookie.bv_val);
	event_unref(&feed->event);
	i_free(feed);
}

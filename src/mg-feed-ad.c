/* The change feed on Active Directory and Samba: a notification search
   (1.2.840.113556.1.4.528) over the naming context that holds base. */

#include "lib.h"
#include "array.h"
#include "hex-binary.h"
#include "mg-ldap.h"
#include "mg-feed-ad.h"

#include <ldap.h>

/* LDAP_SERVER_SHOW_DELETED_OID: deleted objects are found too, so that
   a delete is heard as a change of an entry with isDeleted */
#define MG_FEED_AD_SHOW_DELETED_OID "1.2.840.113556.1.4.417"
/* the Deleted Objects container's well-known GUID */
#define MG_FEED_AD_DELETED_WKGUID "18e2ea80684f11d2b9aa00c04f79f805"

/* One start: the rootDSE read, then the notification search and, behind
   it on the same connection, a look into Deleted Objects. Its pool lives
   until its last stream ended; a run that went down says nothing more. */
struct mg_feed_ad_run {
	struct mg_feed_ad *ad;
	pool_t pool;
	unsigned int streams;
	/* the naming context holding base, from namingContexts */
	const char *nc;
	unsigned int deleted_seen;
	LDAPControl notify_ctrl, show_deleted_ctrl;
	LDAPControl *notify_ctrls[3], *show_deleted_ctrls[2];
	bool down;
};

struct mg_feed_ad {
	struct mg_ldap *ldap;
	struct event *event;
	char *base;
	/* what the notification search reads beside objectGUID and
	   isDeleted */
	const char *const *attrs;
	const struct mg_feed_ad_events *events;
	void *context;
	/* the current run, NULL when none is under way */
	struct mg_feed_ad_run *run;
	bool deletes_warned;
};

static bool mg_feed_ad_run_current(struct mg_feed_ad_run *run)
{
	return run->ad != NULL && run->ad->run == run && !run->down;
}

static void mg_feed_ad_run_down(struct mg_feed_ad_run *run, const char *error)
{
	if (!mg_feed_ad_run_current(run))
		return;
	run->down = TRUE;
	run->ad->events->down(run->ad->context, error);
}

static void mg_feed_ad_stream_done(struct mg_feed_ad_run *run)
{
	pool_t pool = run->pool;

	i_assert(run->streams > 0);
	if (--run->streams > 0)
		return;
	if (run->ad != NULL && run->ad->run == run)
		run->ad->run = NULL;
	pool_unref(&pool);
}

/* objectGUID's bytes in hex, as the lookups' entries hold it: AD's
   string form would reorder them */
static const char *mg_feed_ad_guid(const struct berval *bv)
{
	if (bv->bv_len != 16)
		return NULL;
	return binary_to_hex((const unsigned char *)bv->bv_val, bv->bv_len);
}

/* Every value of the watched attributes (data stack) */
static const char *const *
mg_feed_ad_values(struct mg_feed_ad *ad, LDAP *ld, LDAPMessage *msg)
{
	ARRAY_TYPE(const_string) values;
	struct berval **vals;
	const char *value;

	t_array_init(&values, 8);
	for (const char *const *attr = ad->attrs; *attr != NULL; attr++) {
		if (strcmp(*attr, "*") == 0)
			continue;
		vals = ldap_get_values_len(ld, msg, *attr);
		for (int i = 0; vals != NULL && vals[i] != NULL; i++) {
			value = t_strndup(vals[i]->bv_val, vals[i]->bv_len);
			array_push_back(&values, &value);
		}
		ldap_value_free_len(vals);
	}
	array_append_zero(&values);
	return array_front(&values);
}

static void mg_feed_ad_entry(struct mg_feed_ad_run *run, LDAP *ld,
			     LDAPMessage *msg)
{
	struct mg_feed_ad_change change;
	struct berval **guids, **deleted;
	char *dn;

	i_zero(&change);
	dn = ldap_get_dn(ld, msg);
	change.dn = dn == NULL ? "" : dn;
	guids = ldap_get_values_len(ld, msg, MG_LDAP_OBJECT_GUID);
	if (guids != NULL && guids[0] != NULL)
		change.guid = mg_feed_ad_guid(guids[0]);
	deleted = ldap_get_values_len(ld, msg, "isDeleted");
	change.deleted = deleted != NULL && deleted[0] != NULL &&
		deleted[0]->bv_len == 4 &&
		strncasecmp(deleted[0]->bv_val, "TRUE", 4) == 0;
	change.values = mg_feed_ad_values(run->ad, ld, msg);
	run->ad->events->changed(run->ad->context, &change);
	ldap_value_free_len(guids);
	ldap_value_free_len(deleted);
	ldap_memfree(dn);
}

static void mg_feed_ad_notify_msg(LDAP *ld, LDAPMessage *msg,
				  struct mg_feed_ad_run *run)
{
	if (ldap_msgtype(msg) != LDAP_RES_SEARCH_ENTRY ||
	    !mg_feed_ad_run_current(run))
		return;
	T_BEGIN {
		mg_feed_ad_entry(run, ld, msg);
	} T_END;
}

static void mg_feed_ad_notify_end(enum mg_ldap_result result,
				  struct mg_entry *const *entries ATTR_UNUSED,
				  unsigned int count ATTR_UNUSED,
				  const char *error, struct mg_feed_ad_run *run)
{
	mg_feed_ad_run_down(run, result == MG_LDAP_RESULT_OK ?
			    "the server ended the notification search" :
			    error);
	mg_feed_ad_stream_done(run);
}

static void mg_feed_ad_deleted_msg(LDAP *ld ATTR_UNUSED, LDAPMessage *msg,
				   struct mg_feed_ad_run *run)
{
	if (ldap_msgtype(msg) == LDAP_RES_SEARCH_ENTRY)
		run->deleted_seen++;
}

/* Answered after the notification search on the same connection: the
   server has registered it. */
static void mg_feed_ad_deleted_end(enum mg_ldap_result result ATTR_UNUSED,
				   struct mg_entry *const *entries ATTR_UNUSED,
				   unsigned int count ATTR_UNUSED,
				   const char *error ATTR_UNUSED,
				   struct mg_feed_ad_run *run)
{
	struct mg_feed_ad *ad = run->ad;

	if (mg_feed_ad_run_current(run)) {
		if (run->deleted_seen == 0 && !ad->deletes_warned) {
			e_warning(ad->event, "no deleted object is visible "
				  "under Deleted Objects of %s: either none "
				  "exists yet or this account may not list "
				  "them; without that right a delete is not "
				  "heard and a deleted account's cached "
				  "answer lasts until auth_cache_ttl", run->nc);
			ad->deletes_warned = TRUE;
		} else if (run->deleted_seen > 0) {
			ad->deletes_warned = FALSE;
		}
		ad->events->up(ad->context);
	}
	mg_feed_ad_stream_done(run);
}

static void mg_feed_ad_watch(struct mg_feed_ad_run *run)
{
	static const char *const no_attrs[] = { LDAP_NO_ATTRS, NULL };
	ARRAY_TYPE(const_string) notify_attrs;
	struct mg_ldap_search search;
	const char *attr;

	run->notify_ctrl.ldctl_oid = MG_FEED_AD_NOTIFICATION_OID;
	/* critical: a server without it must refuse, not answer once */
	run->notify_ctrl.ldctl_iscritical = 1;
	run->show_deleted_ctrl.ldctl_oid = MG_FEED_AD_SHOW_DELETED_OID;
	run->notify_ctrls[0] = &run->notify_ctrl;
	run->notify_ctrls[1] = &run->show_deleted_ctrl;
	run->show_deleted_ctrls[0] = &run->show_deleted_ctrl;

	p_array_init(&notify_attrs, run->pool, 8);
	attr = MG_LDAP_OBJECT_GUID;
	array_push_back(&notify_attrs, &attr);
	attr = "isDeleted";
	array_push_back(&notify_attrs, &attr);
	for (const char *const *a = run->ad->attrs; *a != NULL; a++)
		array_push_back(&notify_attrs, a);
	array_append_zero(&notify_attrs);

	e_debug(run->ad->event, "notification search under %s", run->nc);
	i_zero(&search);
	search.base = run->nc;
	search.scope = LDAP_SCOPE_SUBTREE;
	/* the only filter AD allows with the control */
	search.filter = "(objectClass=*)";
	search.attrs = array_front(&notify_attrs);
	search.server_ctrls = run->notify_ctrls;
	run->streams++;
	mg_ldap_stream(run->ad->ldap, run->pool, &search,
		       mg_feed_ad_notify_msg, mg_feed_ad_notify_end, run);

	i_zero(&search);
	search.base = p_strdup_printf(run->pool, "<WKGUID=%s,%s>",
				      MG_FEED_AD_DELETED_WKGUID, run->nc);
	search.scope = LDAP_SCOPE_ONELEVEL;
	search.filter = "(objectClass=*)";
	search.attrs = no_attrs;
	search.server_ctrls = run->show_deleted_ctrls;
	run->streams++;
	mg_ldap_stream(run->ad->ldap, run->pool, &search,
		       mg_feed_ad_deleted_msg, mg_feed_ad_deleted_end, run);
}

/* nc holds dn: dn is nc or ends with ",nc" (as the server writes DNs,
   case aside) */
static bool mg_feed_ad_dn_under(const char *dn, const char *nc, size_t nc_len)
{
	size_t len = strlen(dn);

	if (len == nc_len)
		return strcasecmp(dn, nc) == 0;
	return len > nc_len && dn[len - nc_len - 1] == ',' &&
		strcasecmp(dn + len - nc_len, nc) == 0;
}

static void mg_feed_ad_root_msg(LDAP *ld, LDAPMessage *msg,
				struct mg_feed_ad_run *run)
{
	struct berval **vals;
	size_t best = 0;
	int i, count;

	if (ldap_msgtype(msg) != LDAP_RES_SEARCH_ENTRY ||
	    !mg_feed_ad_run_current(run))
		return;
	vals = ldap_get_values_len(ld, msg, "namingContexts");
	if (vals == NULL)
		return;
	count = ldap_count_values_len(vals);
	for (i = 0; i < count; i++) {
		const char *nc = p_strndup(run->pool, vals[i]->bv_val,
					   vals[i]->bv_len);
		size_t len = strlen(nc);

		/* the innermost: the schema is inside the configuration */
		if (len > best && mg_feed_ad_dn_under(run->ad->base, nc, len)) {
			run->nc = nc;
			best = len;
		}
	}
	ldap_value_free_len(vals);
}

static void mg_feed_ad_root_end(enum mg_ldap_result result,
				struct mg_entry *const *entries ATTR_UNUSED,
				unsigned int count ATTR_UNUSED,
				const char *error, struct mg_feed_ad_run *run)
{
	if (!mg_feed_ad_run_current(run)) {
		/* replaced or down: nothing more to do */
	} else if (result != MG_LDAP_RESULT_OK) {
		mg_feed_ad_run_down(run, t_strdup_printf(
			"reading the rootDSE failed: %s", error));
	} else if (run->nc == NULL) {
		mg_feed_ad_run_down(run, t_strdup_printf(
			"base %s is in none of the server's namingContexts",
			run->ad->base));
	} else {
		mg_feed_ad_watch(run);
	}
	mg_feed_ad_stream_done(run);
}

void mg_feed_ad_start(struct mg_feed_ad *ad)
{
	static const char *const attrs[] = { "namingContexts", NULL };
	pool_t pool = pool_alloconly_create("mailbox_guard ad feed", 1024);
	struct mg_feed_ad_run *run = p_new(pool, struct mg_feed_ad_run, 1);
	struct mg_ldap_search search;

	/* a run that went down may still wait for its last answer: it
	   keeps its pool until then and says nothing more */
	if (ad->run != NULL)
		ad->run->ad = NULL;
	run->ad = ad;
	run->pool = pool;
	ad->run = run;

	i_zero(&search);
	search.base = "";
	search.scope = LDAP_SCOPE_BASE;
	search.filter = "(objectClass=*)";
	search.attrs = attrs;
	run->streams++;
	mg_ldap_stream(ad->ldap, run->pool, &search, mg_feed_ad_root_msg,
		       mg_feed_ad_root_end, run);
}

struct mg_feed_ad *mg_feed_ad_init(struct mg_ldap *ldap, struct event *event,
				   const char *base, const char *const *attrs,
				   const struct mg_feed_ad_events *events,
				   void *context)
{
	struct mg_feed_ad *ad = i_new(struct mg_feed_ad, 1);

	ad->attrs = attrs;
	ad->ldap = ldap;
	ad->event = event;
	event_ref(event);
	ad->base = i_strdup(base);
	ad->events = events;
	ad->context = context;
	return ad;
}

void mg_feed_ad_deinit(struct mg_feed_ad **_ad)
{
	struct mg_feed_ad *ad = *_ad;

	if (ad == NULL)
		return;
	*_ad = NULL;
	/* the client is gone before: every stream has ended */
	i_assert(ad->run == NULL);
	event_unref(&ad->event);
	i_free(ad->base);
	i_free(ad);
}

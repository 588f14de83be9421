/* The one search per login, and its result kept on the request. */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "auth-request.h"
#include "mg-escape.h"
#include "mg-compat.h"
#include "mg-config.h"
#include "mg-entry.h"
#include "mg-ldap.h"
#include "mg-db.h"
#include "mg-recipient-cache.h"
#include "mg-feed.h"
#include "mg-feed-index.h"
#include "mg-cache-key.h"
#include "mg-audit.h"
#include "mg-lookup.h"

#include <ldap.h>

#define MG_LOOKUP_SAVED_KEY "mailbox_guard_lookup"

struct mg_lookup_saved {
	const struct mg_db *db;
	const char *user;
	struct mg_lookup_result result;
};

struct mg_lookup_request {
	struct mg_db *db;
	struct auth_request *auth_request;
	mg_lookup_callback_t *callback;
	void *context;
	/* set when a custom recipient found by this search is kept */
	const char *recipient_cache_key;
	/* the user name the filter was expanded with */
	const char *search_user;
	unsigned int feed_seq;
};

const char *mg_lookup_filter_escape(const char *str,
				    const struct auth_request *request ATTR_UNUSED)
{
	size_t len = strlen(str);
	char *dest = t_malloc_no0(MG_ESCAPE_BUFSIZE(len));

	(void)mg_escape_filter_value(str, len, dest);
	return dest;
}

/* auth_request_escape_func_t for %-variables put into a DN */
static const char *
mg_lookup_dn_escape(const char *str,
		    const struct auth_request *request ATTR_UNUSED)
{
	size_t len = strlen(str);
	char *dest = t_malloc_no0(MG_ESCAPE_BUFSIZE(len));

	(void)mg_escape_dn_value(str, len, dest);
	return dest;
}

/* The DNs of entries[] other than except; only the mailboxes' when
   only_mailboxes. */
static const char *mg_lookup_dn_list(struct mg_entry *const *entries,
				     const enum mg_kind *kinds,
				     unsigned int count,
				     const struct mg_entry *except,
				     bool only_mailboxes)
{
	string_t *str = t_str_new(256);

	for (unsigned int i = 0; i < count; i++) {
		if (entries[i] == except ||
		    (only_mailboxes && kinds[i] != MG_KIND_MAILBOX))
			continue;
		if (str_len(str) > 0)
			str_append(str, ", ");
		str_append(str, entries[i]->dn);
	}
	return str_c(str);
}

static void mg_lookup_choose(struct mg_lookup_request *lreq,
			     struct mg_entry *const *entries,
			     unsigned int count,
			     struct mg_lookup_result *result)
{
	struct mg_entry_view *views = t_new(struct mg_entry_view, count);
	enum mg_kind *kinds = t_new(enum mg_kind, count);
	const char **rules = t_new(const char *, count);
	unsigned int i, chosen, mailboxes;

	for (i = 0; i < count; i++)
		mg_entry_view_init(&views[i], entries[i]);
	mailboxes = mg_classify_choose(lreq->db->config->classifier, views,
				       count, kinds, rules, &chosen);
	if (mailboxes > 1) {
		result->status = MG_LOOKUP_TEMPFAIL;
		result->error = t_strdup_printf(
			"the filter matched %u entries with a mailbox, "
			"refusing to choose: %s", mailboxes,
			mg_lookup_dn_list(entries, kinds, count, NULL, TRUE));
		return;
	}
	result->status = MG_LOOKUP_FOUND;
	result->entry = entries[chosen];
	result->kind = kinds[chosen];
	result->rule = rules[chosen];
	result->matched = count;
	result->ignored = p_strdup(lreq->auth_request->pool,
		mg_lookup_dn_list(entries, kinds, count, result->entry,
				  FALSE));
}

void mg_lookup_warn_duplicates(struct auth_request *request,
			       const struct mg_lookup_result *result)
{
	if (result->status != MG_LOOKUP_FOUND || result->ignored == NULL)
		return;
	e_warning(authdb_event(request),
		  "the filter matched %u entries; using %s (%s), "
		  "ignoring %s", result->matched, mg_log_safe(result->entry->dn),
		  mg_kind_name(result->kind), mg_log_safe(result->ignored));
}

void mg_lookup_save(struct mg_db *db, struct auth_request *request,
		    const struct mg_lookup_result *result)
{
	struct mg_lookup_saved *saved;

	saved = p_new(request->pool, struct mg_lookup_saved, 1);
	saved->db = db;
	saved->user = p_strdup(request->pool, request->fields.user);
	saved->result = *result;
	saved->result.rule = p_strdup(request->pool, result->rule);
	saved->result.error = NULL;
	event_set_ptr(request->event, MG_LOOKUP_SAVED_KEY, saved);
}

/* The index names of entries[] (the change feed asks for them): their
   entryUUIDs (OpenLDAP) and objectGUIDs (AD), or NULL when one has
   neither */
static const char *const *
mg_lookup_entry_names(pool_t pool, struct mg_entry *const *entries,
		      unsigned int count)
{
	ARRAY_TYPE(const_string) names;
	const char *const *values, *name;
	unsigned int before;

	p_array_init(&names, pool, count + 1);
	for (unsigned int i = 0; i < count; i++) {
		before = array_count(&names);
		values = mg_entry_get(entries[i], "entryUUID");
		for (; values != NULL && *values != NULL; values++) {
			name = p_strdup(pool, mg_feed_index_uuid_name(*values));
			array_push_back(&names, &name);
		}
		values = mg_entry_get(entries[i], MG_LDAP_OBJECT_GUID);
		for (; values != NULL && *values != NULL; values++) {
			name = mg_feed_index_guid_name(*values);
			if (name == NULL)
				continue;
			name = p_strdup(pool, name);
			array_push_back(&names, &name);
		}
		if (array_count(&names) == before)
			return NULL;
	}
	array_append_zero(&names);
	return array_front(&names);
}

static void mg_lookup_search_callback(enum mg_ldap_result ldap_result,
				      struct mg_entry *const *entries,
				      unsigned int count, const char *error,
				      struct mg_lookup_request *lreq)
{
	struct auth_request *request = lreq->auth_request;
	struct mg_lookup_result result;

	i_zero(&result);
	if (ldap_result != MG_LDAP_RESULT_OK) {
		result.status = MG_LOOKUP_TEMPFAIL;
		result.error = error;
	} else if (count == 0) {
		result.status = MG_LOOKUP_UNKNOWN;
	} else if (count == 1) {
		struct mg_entry_view view;

		mg_entry_view_init(&view, entries[0]);
		result.status = MG_LOOKUP_FOUND;
		result.entry = entries[0];
		result.kind = mg_classify(lreq->db->config->classifier, &view,
					  &result.rule);
	} else {
		mg_lookup_choose(lreq, entries, count, &result);
	}
	result.search_user = lreq->search_user;
	result.feed_seq = lreq->feed_seq;
	if (lreq->db->feed != NULL && ldap_result == MG_LDAP_RESULT_OK)
		result.entry_names = mg_lookup_entry_names(request->pool,
							   entries, count);
	if (lreq->recipient_cache_key != NULL &&
	    result.status == MG_LOOKUP_FOUND &&
	    result.kind == MG_KIND_CUSTOM_RECIPIENT &&
	    mg_feed_fresh(lreq->db->feed, result.feed_seq)) {
		const char *marker = mg_cache_key_marker(request);

		if (marker != NULL)
			mg_cache_key_marker_set(marker);
		mg_recipient_cache_store(lreq->db->recipient_cache,
					 lreq->recipient_cache_key,
					 request->set->cache_ttl, &result,
					 marker);
		mg_feed_cached(lreq->db->feed, t_strconcat(
			MG_FEED_RECIPIENT_KEY_PREFIX,
			lreq->recipient_cache_key, NULL), &result);
	}
	lreq->callback(&result, request, lreq->context);
	auth_request_unref(&request);
}

/* Whether custom recipients are kept in memory: only while Dovecot's auth
   cache is on, for as long as it keeps its entries. */
static bool mg_lookup_recipient_cache_on(const struct auth_request *request)
{
	return request->set->cache_size > 0 && request->set->cache_ttl > 0;
}

/* The custom recipient kept for the search key, unless the auth cache was
   flushed since: doveadm auth cache flush (all, or this user), SIGHUP or
   the cache's own eviction took its marker. */
static bool mg_lookup_from_memory(struct mg_db *db,
				  struct auth_request *request,
				  const char *key,
				  struct mg_lookup_result *result_r)
{
	const char *marker;

	if (!mg_recipient_cache_lookup(db->recipient_cache, key,
				       request->pool, result_r, &marker))
		return FALSE;
	if (marker == NULL || mg_cache_key_present(marker))
		return TRUE;
	e_debug(authdb_event(request), "custom recipient %s forgotten: the "
		"auth cache was flushed", mg_log_safe(result_r->entry->dn));
	mg_recipient_cache_forget(db->recipient_cache, key);
	return FALSE;
}

static void mg_lookup_start(struct mg_db *db, struct auth_request *request,
			    const struct mg_ldap_search *search,
			    mg_lookup_callback_t *callback, void *context)
{
	struct mg_lookup_request *lreq;
	const char *key = NULL;

	if (mg_lookup_recipient_cache_on(request)) {
		struct mg_lookup_result result;

		key = t_strdup_printf("%d\t%s\t%s", search->scope,
				      search->base, search->filter);
		if (mg_lookup_from_memory(db, request, key, &result)) {
			/* the feed forgets it as soon as it changes */
			result.feed_seq = mg_feed_seq(db->feed);
			e_debug(authdb_event(request), "custom recipient %s "
				"from memory (search base=%s filter=%s)",
				mg_log_safe(result.entry->dn),
				mg_log_safe(search->base),
				mg_log_safe(search->filter));
			auth_request_ref(request);
			callback(&result, request, context);
			auth_request_unref(&request);
			return;
		}
	}

	lreq = p_new(request->pool, struct mg_lookup_request, 1);
	lreq->db = db;
	lreq->auth_request = request;
	lreq->callback = callback;
	lreq->context = context;
	lreq->recipient_cache_key = p_strdup(request->pool, key);
	lreq->search_user = p_strdup(request->pool, request->fields.user);
	lreq->feed_seq = mg_feed_seq(db->feed);
	e_debug(authdb_event(request), "search base=%s scope=%d filter=%s",
		mg_log_safe(search->base), search->scope,
		mg_log_safe(search->filter));

	auth_request_ref(request);
	mg_ldap_search(db->ldap, request->pool, search,
		       mg_lookup_search_callback, lreq);
}

/* Answers without a search. */
static void mg_lookup_answer(struct auth_request *request,
			     enum mg_lookup_status status, const char *error,
			     mg_lookup_callback_t *callback, void *context)
{
	struct mg_lookup_result result;

	i_zero(&result);
	result.status = status;
	result.error = error;
	/* as for an answer from the directory: the callback may drop the
	   last other reference while its caller still reads the request */
	auth_request_ref(request);
	callback(&result, request, context);
	auth_request_unref(&request);
}

#undef mg_lookup
void mg_lookup(struct mg_db *db, struct auth_request *request,
	       const char *filter_template,
	       mg_lookup_callback_t *callback, void *context)
{
	struct mg_ldap_search search;
	string_t *filter = t_str_new(256);
	const char *base, *error;

	if (!mg_escape_is_log_safe(request->fields.user)) {
		/* A name with control characters is nobody's: Dovecot
		   itself would log it as it is once pass_attrs renamed
		   the user, so it goes no further. */
		mg_lookup_answer(request, MG_LOOKUP_UNKNOWN, NULL,
				 callback, context);
		return;
	}
	if (mg_lookup_expand_dn(request, db->config->base, &base, &error) < 0) {
		mg_lookup_answer(request, MG_LOOKUP_TEMPFAIL, t_strdup_printf(
			"can't expand base %s: %s", db->config->base, error),
			callback, context);
		return;
	}
	if (!MG_VAR_EXPAND_OK(auth_request_var_expand(filter, filter_template,
			request, mg_lookup_filter_escape, &error))) {
		mg_lookup_answer(request, MG_LOOKUP_TEMPFAIL, t_strdup_printf(
			"can't expand filter %s: %s", filter_template, error),
			callback, context);
		return;
	}
	i_zero(&search);
	search.base = base;
	search.scope = (int)db->config->scope;
	search.filter = str_c(filter);
	search.attrs = db->search_attrs;
	mg_lookup_start(db, request, &search, callback, context);
}

#undef mg_lookup_dn
void mg_lookup_dn(struct mg_db *db, struct auth_request *request,
		  const char *dn, mg_lookup_callback_t *callback,
		  void *context)
{
	struct mg_ldap_search search;

	i_zero(&search);
	search.base = dn;
	search.scope = LDAP_SCOPE_BASE;
	search.filter = "(objectClass=*)";
	search.attrs = db->search_attrs;
	mg_lookup_start(db, request, &search, callback, context);
}

int mg_lookup_expand_dn(struct auth_request *request, const char *template,
			const char **dn_r, const char **error_r)
{
	string_t *dn = t_str_new(256);

	if (!MG_VAR_EXPAND_OK(auth_request_var_expand(dn, template, request,
			mg_lookup_dn_escape, error_r)))
		return -1;
	*dn_r = str_c(dn);
	return 0;
}

const struct mg_lookup_result *
mg_lookup_get_saved(struct mg_db *db, struct auth_request *request)
{
	const struct mg_lookup_saved *saved =
		event_get_ptr(request->event, MG_LOOKUP_SAVED_KEY);

	if (saved == NULL || saved->db != db ||
	    strcmp(saved->user, request->fields.user) != 0)
		return NULL;
	return &saved->result;
}

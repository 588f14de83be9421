/* The LDAP client's requests: the queue with its bound, dispatch to the
   pool of connections, timeouts, answers, and the public API. */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "llist.h"
#include "str.h"
#include "hex-binary.h"
#include "time-util.h"
#include "mg-ldap-private.h"

struct mg_ldap_queue *
mg_ldap_queue_of(struct mg_ldap *ldap, bool for_user_binds)
{
	return for_user_binds ? &ldap->bind_queue : &ldap->queue;
}

void mg_ldap_request_finish(struct mg_ldap_request *request,
				   enum mg_ldap_result result,
				   const char *error)
{
	struct mg_ldap *ldap = request->ldap;
	struct mg_ldap_conn *conn = request->conn;
	bool for_user_binds = request->type == MG_LDAP_REQUEST_BIND;

	if (conn != NULL) {
		DLLIST2_REMOVE(&conn->inflight.head, &conn->inflight.tail,
			       request);
		conn->inflight_count--;
	} else {
		struct mg_ldap_queue *queue =
			mg_ldap_queue_of(ldap, for_user_binds);

		DLLIST2_REMOVE(&queue->head, &queue->tail, request);
	}
	timeout_remove(&request->to);
	ldap->pending--;

	if (request->type == MG_LDAP_REQUEST_SEARCH) {
		struct mg_entry *const *entries = NULL;
		unsigned int count = 0;

		if (result == MG_LDAP_RESULT_OK)
			entries = array_get(&request->entries, &count);
		request->search_callback(result, entries, count, error,
					 request->context);
	} else {
		request->bind_callback(result, error, request->context);
	}
	/* The slot it held on a connection may be what a queued request
	   waits for (a user-bind connection has only one). The request
	   itself may be gone with its pool by now. */
	if (conn != NULL)
		mg_ldap_dispatch(ldap, for_user_binds);
}

void mg_ldap_fail_queue(struct mg_ldap *ldap, bool for_user_binds,
			       const char *error)
{
	struct mg_ldap_queue *queue = mg_ldap_queue_of(ldap, for_user_binds);

	while (queue->head != NULL) {
		mg_ldap_request_finish(queue->head, MG_LDAP_RESULT_TEMPFAIL,
				       error);
	}
}

bool mg_ldap_any_ready(struct mg_ldap *ldap, bool for_user_binds)
{
	struct mg_ldap_conn *conn;

	array_foreach_elem(for_user_binds ? &ldap->bind_conns : &ldap->conns,
			   conn) {
		if (conn->state == MG_LDAP_CONN_READY)
			return TRUE;
	}
	return FALSE;
}

/* objectGUID is 16 bytes that may hold NULs: kept as hex, which the
   change feed compares byte for byte. Other values are text. */
static const char *
mg_ldap_copy_value(pool_t pool, const char *attr, const struct berval *bv)
{
	if (strcasecmp(attr, MG_LDAP_OBJECT_GUID) == 0) {
		return p_strdup(pool, binary_to_hex(
			(const unsigned char *)bv->bv_val, bv->bv_len));
	}
	return p_strndup(pool, bv->bv_val, bv->bv_len);
}

/* Copies msg's entry into pool, or returns NULL with error_r when its DN,
   an attribute or a value can't be decoded. libldap says so only through
   the handle's result code: the attribute iterators return NULL both at
   the end and on an error. */
static struct mg_entry *
mg_ldap_copy_entry(struct mg_ldap_conn *conn, pool_t pool, LDAPMessage *msg,
		   const char **error_r)
{
	struct mg_entry *entry = p_new(pool, struct mg_entry, 1);
	BerElement *ber = NULL;
	char *dn, *name;
	int err = LDAP_SUCCESS;

	(void)ldap_set_option(conn->ld, LDAP_OPT_RESULT_CODE, &err);
	dn = ldap_get_dn(conn->ld, msg);
	if (dn == NULL || *dn == '\0') {
		ldap_memfree(dn);
		*error_r = "an entry without a DN";
		return NULL;
	}
	entry->dn = p_strdup(pool, dn);
	ldap_memfree(dn);
	p_array_init(&entry->attrs, pool, 16);

	for (name = ldap_first_attribute(conn->ld, msg, &ber);
	     name != NULL && *error_r == NULL;
	     name = ldap_next_attribute(conn->ld, msg, ber)) {
		struct berval **vals = ldap_get_values_len(conn->ld, msg, name);
		struct mg_entry_attr *attr;
		unsigned int i, count;
		const char **values;

		if (vals == NULL) {
			*error_r = t_strdup_printf("%s: can't read the values "
						   "of %s", entry->dn, name);
			ldap_memfree(name);
			break;
		}
		count = (unsigned int)ldap_count_values_len(vals);
		values = p_new(pool, const char *, count + 1);
		for (i = 0; i < count; i++)
			values[i] = mg_ldap_copy_value(pool, name, vals[i]);
		attr = array_append_space(&entry->attrs);
		attr->name = p_strdup(pool, name);
		attr->values = values;
		attr->count = count;
		ldap_value_free_len(vals);
		ldap_memfree(name);
	}
	ber_free(ber, 0);
	if (*error_r == NULL &&
	    (ldap_get_option(conn->ld, LDAP_OPT_RESULT_CODE, &err) !=
	     LDAP_OPT_SUCCESS || err != LDAP_SUCCESS)) {
		*error_r = t_strdup_printf("%s: can't read its attributes: %s",
					   entry->dn, ldap_err2string(err));
	}
	return *error_r == NULL ? entry : NULL;
}

/* A user's bind that the server refuses: a wrong password, or a DN that
   the user's name made invalid (a name is no reason for a tempfail that
   anyone could cause at will). */
static bool mg_ldap_bind_refused(const struct mg_ldap_request *request,
				 int err)
{
	return request->type == MG_LDAP_REQUEST_BIND &&
		(err == LDAP_INVALID_CREDENTIALS ||
		 err == LDAP_INVALID_DN_SYNTAX);
}

/* An entry of the rootDSE read before a paged search: does the server
   offer the paged results control? */
static void mg_ldap_probe_entry(struct mg_ldap_conn *conn,
				struct mg_ldap_request *request,
				LDAPMessage *msg)
{
	struct berval **vals;
	int i, count;

	vals = ldap_get_values_len(conn->ld, msg, "supportedControl");
	if (vals == NULL)
		return;
	count = ldap_count_values_len(vals);
	for (i = 0; i < count; i++) {
		if (vals[i]->bv_len == strlen(LDAP_CONTROL_PAGEDRESULTS) &&
		    memcmp(vals[i]->bv_val, LDAP_CONTROL_PAGEDRESULTS,
			   vals[i]->bv_len) == 0)
			request->paging_offered = TRUE;
	}
	ldap_value_free_len(vals);
}

static int mg_ldap_search_send(struct mg_ldap_conn *conn,
			       struct mg_ldap_request *request)
{
	static const char *const probe_attrs[] = { "supportedControl", NULL };
	const struct mg_ldap_search *search = &request->search;
	LDAPControl *ctrls[2] = { NULL, NULL };
	int ret;

	switch (request->paging) {
	case MG_LDAP_PAGING_PROBE:
		return ldap_search_ext(conn->ld, "", LDAP_SCOPE_BASE,
				       "(objectClass=*)", (char **)probe_attrs,
				       0, NULL, NULL, NULL, 0,
				       &request->msgid);
	case MG_LDAP_PAGING_NONE:
		break;
	case MG_LDAP_PAGING_PAGES:
		/* critical: a server (or a proxy in between) that would
		   ignore it must refuse the search instead */
		ret = ldap_create_page_control(conn->ld,
			(ber_int_t)search->page_size,
			request->cookie.bv_len == 0 ? NULL : &request->cookie,
			1, &ctrls[0]);
		if (ret != LDAP_SUCCESS)
			return ret;
		break;
	}
	ret = ldap_search_ext(conn->ld, search->base, search->scope,
			      search->filter, (char **)search->attrs, 0,
			      ctrls[0] != NULL ? ctrls : search->server_ctrls,
			      NULL, NULL, 0, &request->msgid);
	if (ctrls[0] != NULL)
		ldap_control_free(ctrls[0]);
	return ret;
}

/* The cookie of a page's answer, copied into the request; NULL, or what
   is wrong with the answer. */
static const char *
mg_ldap_page_cookie(struct mg_ldap_request *request, LDAPControl **ctrls)
{
	LDAPControl *ctrl;
	struct berval cookie = { 0, NULL };
	ber_int_t estimate;

	ctrl = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL);
	if (ctrl == NULL) {
		/* without it nothing says whether more pages follow */
		return "paged search answered without the paged results "
			"control";
	}
	if (ldap_parse_pageresponse_control(request->conn->ld, ctrl, &estimate,
					    &cookie) != LDAP_SUCCESS)
		return "can't parse the paged results control of the answer";
	request->cookie.bv_len = cookie.bv_len;
	request->cookie.bv_val = cookie.bv_len == 0 ? NULL :
		p_memdup(request->pool, cookie.bv_val, cookie.bv_len);
	ber_memfree(cookie.bv_val);
	return NULL;
}

/* A paged search's step (the probe or a page) ended with success: sends
   the next one on the same connection, which holds the server's paging
   state. Returns FALSE when the search is complete. */
static bool mg_ldap_search_next(struct mg_ldap_request *request,
				LDAPControl **ctrls)
{
	const char *error;
	int ret;

	if (request->paging == MG_LDAP_PAGING_PROBE) {
		request->paging = request->paging_offered ?
			MG_LDAP_PAGING_PAGES : MG_LDAP_PAGING_NONE;
		e_debug(request->ldap->event, request->paging_offered ?
			"paged search (page size %u): %s" :
			"the server does not offer paged results: "
			"one search (page size %u unused): %s",
			request->search.page_size, request->search.filter);
	} else {
		error = mg_ldap_page_cookie(request, ctrls);
		if (error != NULL) {
			mg_ldap_request_finish(request,
					       MG_LDAP_RESULT_TEMPFAIL, error);
			return TRUE;
		}
		if (request->cookie.bv_len == 0)
			return FALSE;
	}
	ret = mg_ldap_search_send(request->conn, request);
	if (ret != LDAP_SUCCESS) {
		mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL,
			t_strdup_printf("sending the next page failed: %s",
					ldap_err2string(ret)));
		return TRUE;
	}
	/* request_timeout bounds each step */
	request->sent = ioloop_timeval;
	timeout_reset(request->to);
	return TRUE;
}

/* A search ends well only with success: a size limit, a referral or any
   other partial answer could hide the entry that matters. */

static void mg_ldap_handle_result(struct mg_ldap_request *request,
				  LDAPMessage *msg)
{
	struct mg_ldap_conn *conn = request->conn;
	LDAPControl **ctrls = NULL;
	int err, ret;
	char *diag = NULL;
	bool continued = FALSE;

	ret = ldap_parse_result(conn->ld, msg, &err, NULL, &diag, NULL,
				&ctrls, 0);
	if (ret != LDAP_SUCCESS)
		err = ret;
	if (err == LDAP_SUCCESS && request->malformed != NULL) {
		ldap_memfree(diag);
		ldap_controls_free(ctrls);
		T_BEGIN {
			mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL,
				t_strdup_printf("search returned a malformed "
						"entry: %s", request->malformed));
		} T_END;
		return;
	}
	if (err == LDAP_SUCCESS) {
		ldap_memfree(diag);
		if (request->type == MG_LDAP_REQUEST_SEARCH &&
		    request->paging != MG_LDAP_PAGING_NONE) T_BEGIN {
			continued = mg_ldap_search_next(request, ctrls);
		} T_END;
		ldap_controls_free(ctrls);
		if (!continued)
			mg_ldap_request_finish(request, MG_LDAP_RESULT_OK, NULL);
		return;
	}
	ldap_controls_free(ctrls);
	T_BEGIN {
		const char *error = t_strdup_printf("%s%s failed: %s%s%s",
			request->type == MG_LDAP_REQUEST_SEARCH ?
			"search" : "bind",
			request->paging == MG_LDAP_PAGING_PROBE ?
			" of the rootDSE" : "", ldap_err2string(err),
			diag == NULL ? "" : ": ", diag == NULL ? "" : diag);

		if (request->paging == MG_LDAP_PAGING_PAGES) {
			/* a limit on the whole paged search (slapd's
			   size.prtotal) shows here */
			error = t_strdup_printf("%s (paged search, page size "
				"%u, after %u entries)", error,
				request->search.page_size,
				array_count(&request->entries));
		}

		ldap_memfree(diag);
		mg_ldap_request_finish(request,
			mg_ldap_bind_refused(request, err) ?
			MG_LDAP_RESULT_INVALID_CREDENTIALS :
			MG_LDAP_RESULT_TEMPFAIL, error);
	} T_END;
}

void mg_ldap_request_handle_msg(struct mg_ldap_conn *conn,
				struct mg_ldap_request *request,
				LDAPMessage *msg)
{
	if (request->stream_callback != NULL) {
		request->stream_callback(conn->ld, msg, request->context);
		if (ldap_msgtype(msg) != LDAP_RES_SEARCH_RESULT)
			return;
	}
	switch (ldap_msgtype(msg)) {
	case LDAP_RES_SEARCH_ENTRY: {
		const char *error = NULL;
		struct mg_entry *entry;

		if (request->paging == MG_LDAP_PAGING_PROBE) {
			mg_ldap_probe_entry(conn, request, msg);
			break;
		}
		if (request->malformed != NULL)
			break;
		entry = mg_ldap_copy_entry(conn, request->pool, msg, &error);
		if (entry != NULL)
			array_push_back(&request->entries, &entry);
		else
			request->malformed = p_strdup(request->pool, error);
		break;
	}
	case LDAP_RES_SEARCH_REFERENCE:
	case LDAP_RES_INTERMEDIATE:
		break;
	default:
		mg_ldap_handle_result(request, msg);
		break;
	}
}

static int mg_ldap_request_send(struct mg_ldap_conn *conn,
				struct mg_ldap_request *request)
{
	if (request->type == MG_LDAP_REQUEST_SEARCH) {
		/* from the start: a search sent once more after its
		   connection failed keeps nothing of the first attempt */
		request->malformed = NULL;
		array_clear(&request->entries);
		i_zero(&request->cookie);
		request->paging_offered = FALSE;
		request->paging = request->search.page_size > 0 ?
			MG_LDAP_PAGING_PROBE : MG_LDAP_PAGING_NONE;
		return mg_ldap_search_send(conn, request);
	} else {
		struct berval cred;

		cred.bv_val = (char *)request->bind_password;
		cred.bv_len = strlen(request->bind_password);
		return ldap_sasl_bind(conn->ld, request->bind_dn,
				      LDAP_SASL_SIMPLE, &cred, NULL, NULL,
				      &request->msgid);
	}
}

static bool mg_ldap_request_paged(const struct mg_ldap_request *request)
{
	return request->type == MG_LDAP_REQUEST_SEARCH &&
		request->search.page_size > 0;
}

static bool mg_ldap_conn_has_paged(const struct mg_ldap_conn *conn)
{
	const struct mg_ldap_request *request;

	for (request = conn->inflight.head; request != NULL;
	     request = request->next) {
		if (mg_ldap_request_paged(request))
			return TRUE;
	}
	return FALSE;
}

/* A connection that can take request now. A paged search needs one
   without another paged search: slapd keeps one paging state per
   connection, and a second paged search would reset the first's. */
static struct mg_ldap_conn *
mg_ldap_pick_conn(struct mg_ldap *ldap, const struct mg_ldap_request *request)
{
	bool for_user_binds = request->type == MG_LDAP_REQUEST_BIND;
	struct mg_ldap_conn *conn, *best = NULL;
	/* A user bind changes who the connection is bound as, so a bind
	   connection carries one at a time. */
	unsigned int limit = for_user_binds ? 1 : MG_LDAP_MAX_INFLIGHT;

	array_foreach_elem(for_user_binds ? &ldap->bind_conns : &ldap->conns,
			   conn) {
		if (conn->state == MG_LDAP_CONN_DISCONNECTED && conn->to == NULL)
			mg_ldap_conn_connect(conn);
		if (conn->state != MG_LDAP_CONN_READY ||
		    conn->inflight_count >= limit)
			continue;
		if (mg_ldap_request_paged(request) &&
		    mg_ldap_conn_has_paged(conn))
			continue;
		if (best == NULL || conn->inflight_count < best->inflight_count)
			best = conn;
	}
	return best;
}

void mg_ldap_dispatch(struct mg_ldap *ldap, bool for_user_binds)
{
	struct mg_ldap_queue *queue = mg_ldap_queue_of(ldap, for_user_binds);
	struct mg_ldap_request *request, *next;
	struct mg_ldap_conn *conn;

	if (queue->dispatching)
		return;
	queue->dispatching = TRUE;
	request = queue->head;
	while (request != NULL) {
		next = request->next;
		conn = mg_ldap_pick_conn(ldap, request);
		if (conn == NULL) {
			if (!mg_ldap_request_paged(request))
				break;
			/* it waits for a connection without a paged
			   search; what queues behind it need not */
			request = next;
			continue;
		}
		if (mg_ldap_request_send(conn, request) != LDAP_SUCCESS) {
			/* the request stays queued for another connection
			   (failing this one may have requeued others) */
			mg_ldap_conn_fail_ld(conn, "sending a request failed");
			request = queue->head;
			continue;
		}
		DLLIST2_REMOVE(&queue->head, &queue->tail, request);
		request->conn = conn;
		request->sent = ioloop_timeval;
		DLLIST2_APPEND(&conn->inflight.head, &conn->inflight.tail,
			       request);
		conn->inflight_count++;
		request = next;
	}
	queue->dispatching = FALSE;
}

static void mg_ldap_request_timeout(struct mg_ldap_request *request)
{
	struct mg_ldap_conn *conn = request->conn;
	const char *error = t_strdup_printf("no answer from LDAP within %u ms",
		request->ldap->set.request_timeout_msecs);
	bool stalled = conn != NULL &&
		timeval_cmp(&conn->last_input, &request->sent) <= 0;

	if (conn != NULL && conn->ld != NULL)
		(void)ldap_abandon_ext(conn->ld, request->msgid, NULL, NULL);
	mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL, error);
	if (stalled && conn->state == MG_LDAP_CONN_READY)
		mg_ldap_conn_stalled(conn, error);
}

static struct mg_ldap_request *
mg_ldap_request_new(struct mg_ldap *ldap, pool_t pool,
		    enum mg_ldap_request_type type, void *context)
{
	struct mg_ldap_request *request = p_new(pool, struct mg_ldap_request, 1);

	request->ldap = ldap;
	request->pool = pool;
	request->type = type;
	request->context = context;
	request->msgid = -1;
	return request;
}

/* Queues the request, or fails it at once when too many are waiting. */

static void mg_ldap_request_submit(struct mg_ldap_request *request)
{
	struct mg_ldap *ldap = request->ldap;
	bool for_user_binds = request->type == MG_LDAP_REQUEST_BIND;
	struct mg_ldap_queue *queue = mg_ldap_queue_of(ldap, for_user_binds);

	DLLIST2_APPEND(&queue->head, &queue->tail, request);
	ldap->pending++;
	if (ldap->shut_down) {
		mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL,
				       "shutting down");
		return;
	}
	if (ldap->pending > ldap->set.max_pending) {
		mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL,
			t_strdup_printf("too many LDAP requests waiting "
					"(max_pending = %u)",
					ldap->set.max_pending));
		return;
	}
	if (request->stream_callback == NULL) {
		request->to = timeout_add(ldap->set.request_timeout_msecs,
					  mg_ldap_request_timeout, request);
	}
	mg_ldap_dispatch(ldap, for_user_binds);
}

#undef mg_ldap_search

void mg_ldap_search(struct mg_ldap *ldap, pool_t pool,
		    const struct mg_ldap_search *search,
		    mg_ldap_search_callback_t *callback, void *context)
{
	struct mg_ldap_request *request =
		mg_ldap_request_new(ldap, pool, MG_LDAP_REQUEST_SEARCH, context);

	request->search.base = p_strdup(pool, search->base);
	request->search.scope = search->scope;
	request->search.filter = p_strdup(pool, search->filter);
	request->search.attrs = search->attrs;
	request->search.page_size = search->page_size;
	request->search.server_ctrls = search->server_ctrls;
	request->search_callback = callback;
	p_array_init(&request->entries, pool, 2);
	mg_ldap_request_submit(request);
}

#undef mg_ldap_stream

void mg_ldap_stream(struct mg_ldap *ldap, pool_t pool,
		    const struct mg_ldap_search *search,
		    mg_ldap_stream_callback_t *msg_callback,
		    mg_ldap_search_callback_t *end_callback, void *context)
{
	struct mg_ldap_request *request =
		mg_ldap_request_new(ldap, pool, MG_LDAP_REQUEST_SEARCH, context);

	i_assert(search->page_size == 0);
	request->search.base = p_strdup(pool, search->base);
	request->search.scope = search->scope;
	request->search.filter = p_strdup(pool, search->filter);
	request->search.attrs = search->attrs;
	request->search.server_ctrls = search->server_ctrls;
	request->search_callback = end_callback;
	request->stream_callback = msg_callback;
	/* a stream whose connection drops is not sent again: its owner
	   must know that it missed what happened meanwhile */
	request->retried = TRUE;
	p_array_init(&request->entries, pool, 1);
	mg_ldap_request_submit(request);
}

#undef mg_ldap_bind

void mg_ldap_bind(struct mg_ldap *ldap, pool_t pool, const char *dn,
		  const char *password, mg_ldap_bind_callback_t *callback,
		  void *context)
{
	struct mg_ldap_request *request;

	/* An empty password would be an unauthenticated bind, which
	   servers answer with success (RFC 4513 5.1.2). */
	if (password[0] == '\0') {
		callback(MG_LDAP_RESULT_INVALID_CREDENTIALS,
			 "empty password", context);
		return;
	}
	request = mg_ldap_request_new(ldap, pool, MG_LDAP_REQUEST_BIND,
				      context);
	request->bind_dn = p_strdup(pool, dn);
	request->bind_password = password;
	request->bind_callback = callback;
	mg_ldap_request_submit(request);
}

struct mg_ldap *mg_ldap_init(const struct mg_ldap_settings *set,
			     struct event *parent_event)
{
	pool_t pool = pool_alloconly_create("mailbox_guard ldap", 1024);
	struct mg_ldap *ldap = p_new(pool, struct mg_ldap, 1);
	const char *const *uri;

	ldap->pool = pool;
	ldap->set.name = p_strdup(pool, set->name);
	ldap->set.uris = p_strdup(pool, set->uris);
	ldap->set.dn = p_strdup(pool, set->dn);
	ldap->set.dnpass = p_strdup(pool, set->dnpass);
	ldap->set.sasl_mech = p_strdup(pool, set->sasl_mech);
	ldap->set.sasl_authz_id = p_strdup(pool, set->sasl_authz_id);
	ldap->set.starttls = set->starttls;
	ldap->set.tls_ca_cert_file = p_strdup(pool, set->tls_ca_cert_file);
	ldap->set.tls_ca_cert_dir = p_strdup(pool, set->tls_ca_cert_dir);
	ldap->set.tls_cert_file = p_strdup(pool, set->tls_cert_file);
	ldap->set.tls_key_file = p_strdup(pool, set->tls_key_file);
	ldap->set.tls_require_cert = set->tls_require_cert;
	ldap->set.connections = set->connections;
	ldap->set.max_pending = set->max_pending;
	ldap->set.request_timeout_msecs = set->request_timeout_msecs;

	ldap->event = event_create(parent_event);
	event_set_append_log_prefix(ldap->event, t_strdup_printf(
		"mailbox_guard(%s): ", set->name));

	p_array_init(&ldap->uris, pool, 4);
	for (uri = t_strsplit_spaces(set->uris, " \t"); *uri != NULL; uri++) {
		const char *copy = p_strdup(pool, *uri);

		array_push_back(&ldap->uris, &copy);
	}
	i_assert(array_count(&ldap->uris) > 0);

	mg_ldap_failback_init(ldap);
	mg_ldap_conns_create(ldap, &ldap->conns, FALSE);
	mg_ldap_conns_create(ldap, &ldap->bind_conns, TRUE);
	return ldap;
}

void mg_ldap_shutdown(struct mg_ldap *ldap)
{
	if (ldap->shut_down)
		return;
	ldap->shut_down = TRUE;
	/* the queues first: nothing may be left to dispatch onto the
	   connections while they close */
	mg_ldap_failback_deinit(ldap);
	mg_ldap_fail_queue(ldap, FALSE, "shutting down");
	mg_ldap_fail_queue(ldap, TRUE, "shutting down");
	mg_ldap_conns_destroy(&ldap->conns);
	mg_ldap_conns_destroy(&ldap->bind_conns);
	mg_ldap_opens_deinit(ldap);
}

void mg_ldap_deinit(struct mg_ldap **_ldap)
{
	struct mg_ldap *ldap = *_ldap;

	*_ldap = NULL;
	mg_ldap_shutdown(ldap);
	event_unref(&ldap->event);
	pool_unref(&ldap->pool);
}

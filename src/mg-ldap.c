/* Asynchronous LDAP client: connections, queue, dispatch, failover. */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "llist.h"
#include "net.h"
#include "str.h"
#include "mg-ldap.h"

#include <ldap.h>

/* Requests in flight on one lookup connection; more wait in the queue
   where another connection (or a later reconnect) can take them. */
#define MG_LDAP_MAX_INFLIGHT 64
/* Reconnect delays after every URI failed: short first, so service
   resumes within a second of the server's return. */
#define MG_LDAP_RECONNECT_MIN_MSECS 100
#define MG_LDAP_RECONNECT_MAX_MSECS 1000

enum mg_ldap_conn_state {
	MG_LDAP_CONN_DISCONNECTED,
	MG_LDAP_CONN_CONNECTING,
	MG_LDAP_CONN_BINDING,
	MG_LDAP_CONN_READY,
};

enum mg_ldap_request_type {
	MG_LDAP_REQUEST_SEARCH,
	MG_LDAP_REQUEST_BIND,
};

struct mg_ldap_queue {
	struct mg_ldap_request *head, *tail;
	/* set while dispatch runs; a nested call leaves the work to it */
	bool dispatching;
};

struct mg_ldap_request {
	struct mg_ldap_request *prev, *next;
	struct mg_ldap *ldap;
	/* NULL while waiting in the queue */
	struct mg_ldap_conn *conn;
	enum mg_ldap_request_type type;
	pool_t pool;
	int msgid;
	bool retried;
	struct timeout *to;

	struct mg_ldap_search search;
	ARRAY(struct mg_entry *) entries;
	mg_ldap_search_callback_t *search_callback;

	const char *bind_dn, *bind_password;
	mg_ldap_bind_callback_t *bind_callback;

	void *context;
};

struct mg_ldap_conn {
	struct mg_ldap *ldap;
	bool for_user_binds;
	enum mg_ldap_conn_state state;
	unsigned int uri_idx;
	/* URIs that failed in a row; at the count of URIs, wait a while */
	unsigned int failures;
	unsigned int reconnect_msecs;

	LDAP *ld;
	int fd;
	struct io *io;
	struct timeout *to;
	int bind_msgid;

	struct mg_ldap_queue inflight;
	unsigned int inflight_count;
	/* every URI failed and that was logged; quiet until one works */
	bool down_logged;
};
ARRAY_DEFINE_TYPE(mg_ldap_conn_p, struct mg_ldap_conn *);

struct mg_ldap {
	pool_t pool;
	struct event *event;
	struct mg_ldap_settings set;
	ARRAY(const char *) uris;

	ARRAY_TYPE(mg_ldap_conn_p) conns;
	ARRAY_TYPE(mg_ldap_conn_p) bind_conns;
	struct mg_ldap_queue queue, bind_queue;
	/* queued + in flight, of both kinds */
	unsigned int pending;
};

static void mg_ldap_dispatch(struct mg_ldap *ldap, bool for_user_binds);
static void mg_ldap_conn_connect(struct mg_ldap_conn *conn);

static struct mg_ldap_queue *
mg_ldap_queue_of(struct mg_ldap *ldap, bool for_user_binds)
{
	return for_user_binds ? &ldap->bind_queue : &ldap->queue;
}

static void mg_ldap_request_finish(struct mg_ldap_request *request,
				   enum mg_ldap_result result,
				   const char *error)
{
	struct mg_ldap *ldap = request->ldap;
	struct mg_ldap_conn *conn = request->conn;

	if (conn != NULL) {
		DLLIST2_REMOVE(&conn->inflight.head, &conn->inflight.tail,
			       request);
		conn->inflight_count--;
	} else {
		struct mg_ldap_queue *queue = mg_ldap_queue_of(ldap,
			request->type == MG_LDAP_REQUEST_BIND);

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
}

static void mg_ldap_fail_queue(struct mg_ldap *ldap, bool for_user_binds,
			       const char *error)
{
	struct mg_ldap_queue *queue = mg_ldap_queue_of(ldap, for_user_binds);

	while (queue->head != NULL) {
		mg_ldap_request_finish(queue->head, MG_LDAP_RESULT_TEMPFAIL,
				       error);
	}
}

static bool mg_ldap_any_ready(struct mg_ldap *ldap, bool for_user_binds)
{
	struct mg_ldap_conn *conn;

	array_foreach_elem(for_user_binds ? &ldap->bind_conns : &ldap->conns,
			   conn) {
		if (conn->state == MG_LDAP_CONN_READY)
			return TRUE;
	}
	return FALSE;
}

static void mg_ldap_conn_close(struct mg_ldap_conn *conn)
{
	io_remove(&conn->io);
	timeout_remove(&conn->to);
	if (conn->ld != NULL) {
		/* closes the socket too */
		(void)ldap_unbind_ext(conn->ld, NULL, NULL);
		conn->ld = NULL;
	}
	conn->fd = -1;
	conn->state = MG_LDAP_CONN_DISCONNECTED;
}

/* In-flight requests get one more try elsewhere; a retried one fails. */
static void mg_ldap_conn_requeue_inflight(struct mg_ldap_conn *conn,
					  const char *error)
{
	struct mg_ldap_queue *queue =
		mg_ldap_queue_of(conn->ldap, conn->for_user_binds);

	while (conn->inflight.head != NULL) {
		struct mg_ldap_request *request = conn->inflight.head;

		if (request->retried) {
			mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL,
					       error);
			continue;
		}
		DLLIST2_REMOVE(&conn->inflight.head, &conn->inflight.tail,
			       request);
		conn->inflight_count--;
		request->conn = NULL;
		request->retried = TRUE;
		if (request->type == MG_LDAP_REQUEST_SEARCH)
			array_clear(&request->entries);
		DLLIST2_PREPEND(&queue->head, &queue->tail, request);
	}
}

static void mg_ldap_conn_reconnect_timeout(struct mg_ldap_conn *conn)
{
	timeout_remove(&conn->to);
	mg_ldap_conn_connect(conn);
}

static void mg_ldap_conn_fail(struct mg_ldap_conn *conn, const char *error)
{
	struct mg_ldap *ldap = conn->ldap;
	const char *uri = array_idx_elem(&ldap->uris, conn->uri_idx);
	unsigned int uri_count = array_count(&ldap->uris);
	bool was_up = conn->state == MG_LDAP_CONN_READY;

	if (!conn->down_logged)
		e_error(ldap->event, "%s: %s", uri, error);
	else
		e_debug(ldap->event, "%s: %s", uri, error);
	mg_ldap_conn_close(conn);
	mg_ldap_conn_requeue_inflight(conn, error);

	if (was_up) {
		/* An established connection that drops (an idle timeout, a
		   restart) first tries the same server again. */
		conn->failures = 0;
		mg_ldap_conn_connect(conn);
		return;
	}
	conn->uri_idx = (conn->uri_idx + 1) % uri_count;
	if (++conn->failures < uri_count) {
		mg_ldap_conn_connect(conn);
		return;
	}
	/* Every URI failed: nobody waits for a server that is not there,
	   unless another connection can still serve. */
	conn->failures = 0;
	conn->down_logged = TRUE;
	if (!mg_ldap_any_ready(ldap, conn->for_user_binds)) {
		mg_ldap_fail_queue(ldap, conn->for_user_binds,
				   t_strdup_printf("LDAP unavailable: %s", error));
	}
	conn->to = timeout_add_short(conn->reconnect_msecs,
				     mg_ldap_conn_reconnect_timeout, conn);
	conn->reconnect_msecs = I_MIN(conn->reconnect_msecs * 2,
				      MG_LDAP_RECONNECT_MAX_MSECS);
	/* Requests queued meanwhile may still be served elsewhere. */
	mg_ldap_dispatch(ldap, conn->for_user_binds);
}

static void mg_ldap_conn_fail_ld(struct mg_ldap_conn *conn, const char *what)
{
	int err = LDAP_OTHER;

	if (conn->ld != NULL)
		(void)ldap_get_option(conn->ld, LDAP_OPT_RESULT_CODE, &err);
	mg_ldap_conn_fail(conn, t_strdup_printf("%s: %s", what,
						ldap_err2string(err)));
}

static void mg_ldap_conn_ready(struct mg_ldap_conn *conn)
{
	timeout_remove(&conn->to);
	if (conn->down_logged) {
		e_info(conn->ldap->event, "%s: connected again",
		       array_idx_elem(&conn->ldap->uris, conn->uri_idx));
		conn->down_logged = FALSE;
	}
	conn->state = MG_LDAP_CONN_READY;
	conn->failures = 0;
	conn->reconnect_msecs = MG_LDAP_RECONNECT_MIN_MSECS;
	mg_ldap_dispatch(conn->ldap, conn->for_user_binds);
}

static void mg_ldap_handle_service_bind(struct mg_ldap_conn *conn,
					LDAPMessage *msg)
{
	int err, ret;
	char *diag = NULL;

	ret = ldap_parse_result(conn->ld, msg, &err, NULL, &diag, NULL, NULL, 0);
	if (ret != LDAP_SUCCESS)
		err = ret;
	if (err != LDAP_SUCCESS) {
		const char *error = t_strdup_printf(
			"bind as '%s' failed: %s%s%s",
			conn->ldap->set.dn == NULL ?
			"(anonymous)" : conn->ldap->set.dn,
			ldap_err2string(err), diag == NULL ? "" : ": ",
			diag == NULL ? "" : diag);
		ldap_memfree(diag);
		mg_ldap_conn_fail(conn, error);
		return;
	}
	ldap_memfree(diag);
	mg_ldap_conn_ready(conn);
}

static struct mg_entry *
mg_ldap_copy_entry(struct mg_ldap_conn *conn, pool_t pool, LDAPMessage *msg)
{
	struct mg_entry *entry = p_new(pool, struct mg_entry, 1);
	BerElement *ber = NULL;
	char *dn, *name;

	dn = ldap_get_dn(conn->ld, msg);
	entry->dn = p_strdup(pool, dn == NULL ? "" : dn);
	ldap_memfree(dn);
	p_array_init(&entry->attrs, pool, 16);

	for (name = ldap_first_attribute(conn->ld, msg, &ber); name != NULL;
	     name = ldap_next_attribute(conn->ld, msg, ber)) {
		struct berval **vals = ldap_get_values_len(conn->ld, msg, name);
		struct mg_entry_attr *attr = array_append_space(&entry->attrs);
		unsigned int i, count = vals == NULL ? 0 :
			(unsigned int)ldap_count_values_len(vals);
		const char **values = p_new(pool, const char *, count + 1);

		for (i = 0; i < count; i++) {
			values[i] = p_strndup(pool, vals[i]->bv_val,
					      vals[i]->bv_len);
		}
		attr->name = p_strdup(pool, name);
		attr->values = values;
		attr->count = count;
		ldap_value_free_len(vals);
		ldap_memfree(name);
	}
	ber_free(ber, 0);
	return entry;
}

/* A search ends well only with success: a size limit, a referral or any
   other partial answer could hide the entry that matters. */
static void mg_ldap_handle_result(struct mg_ldap_request *request,
				  LDAPMessage *msg)
{
	struct mg_ldap_conn *conn = request->conn;
	int err, ret;
	char *diag = NULL;

	ret = ldap_parse_result(conn->ld, msg, &err, NULL, &diag, NULL, NULL, 0);
	if (ret != LDAP_SUCCESS)
		err = ret;
	if (err == LDAP_SUCCESS) {
		ldap_memfree(diag);
		mg_ldap_request_finish(request, MG_LDAP_RESULT_OK, NULL);
		return;
	}
	T_BEGIN {
		const char *error = t_strdup_printf("%s failed: %s%s%s",
			request->type == MG_LDAP_REQUEST_SEARCH ?
			"search" : "bind", ldap_err2string(err),
			diag == NULL ? "" : ": ", diag == NULL ? "" : diag);

		ldap_memfree(diag);
		mg_ldap_request_finish(request,
			request->type == MG_LDAP_REQUEST_BIND &&
			err == LDAP_INVALID_CREDENTIALS ?
			MG_LDAP_RESULT_INVALID_CREDENTIALS :
			MG_LDAP_RESULT_TEMPFAIL, error);
	} T_END;
}

static struct mg_ldap_request *
mg_ldap_conn_find_request(struct mg_ldap_conn *conn, int msgid)
{
	struct mg_ldap_request *request;

	for (request = conn->inflight.head; request != NULL;
	     request = request->next) {
		if (request->msgid == msgid)
			return request;
	}
	return NULL;
}

static void mg_ldap_conn_handle_msg(struct mg_ldap_conn *conn,
				    LDAPMessage *msg)
{
	struct mg_ldap_request *request;
	int msgid = ldap_msgid(msg);

	if (conn->state == MG_LDAP_CONN_BINDING && msgid == conn->bind_msgid) {
		mg_ldap_handle_service_bind(conn, msg);
		return;
	}
	/* NULL: a request that already timed out */
	request = mg_ldap_conn_find_request(conn, msgid);
	if (request == NULL)
		return;
	switch (ldap_msgtype(msg)) {
	case LDAP_RES_SEARCH_ENTRY:
		array_push_back(&request->entries,
			(struct mg_entry *const[]){
				mg_ldap_copy_entry(conn, request->pool, msg) });
		break;
	case LDAP_RES_SEARCH_REFERENCE:
		break;
	default:
		mg_ldap_handle_result(request, msg);
		break;
	}
}

static void mg_ldap_conn_input(struct mg_ldap_conn *conn)
{
	struct timeval zero = { 0, 0 };
	LDAPMessage *msg;
	int ret;

	while (conn->ld != NULL) {
		ret = ldap_result(conn->ld, LDAP_RES_ANY, LDAP_MSG_ONE,
				  &zero, &msg);
		if (ret == 0)
			return;
		if (ret < 0) {
			mg_ldap_conn_fail_ld(conn, "connection lost");
			return;
		}
		T_BEGIN {
			mg_ldap_conn_handle_msg(conn, msg);
		} T_END;
		ldap_msgfree(msg);
	}
}

static int mg_ldap_conn_send_service_bind(struct mg_ldap_conn *conn)
{
	const struct mg_ldap_settings *set = &conn->ldap->set;
	struct berval cred = { 0, NULL };
	const char *dn = NULL;

	/* User-bind connections bind as the service first as well: a
	   server that refuses anonymous binds must not refuse them. */
	if (set->dn != NULL) {
		dn = set->dn;
		if (set->dnpass != NULL) {
			cred.bv_val = (char *)set->dnpass;
			cred.bv_len = strlen(set->dnpass);
		}
	}
	return ldap_sasl_bind(conn->ld, dn, LDAP_SASL_SIMPLE, &cred,
			      NULL, NULL, &conn->bind_msgid);
}

static void mg_ldap_conn_start_bind(struct mg_ldap_conn *conn);

static void mg_ldap_conn_connected(struct mg_ldap_conn *conn)
{
	io_remove(&conn->io);
	mg_ldap_conn_start_bind(conn);
}

/* With LDAP_OPT_CONNECT_ASYNC the first operation starts the TCP connect
   and returns LDAP_X_CONNECTING; repeating it once the socket is writable
   completes the connect and sends it. */
static void mg_ldap_conn_start_bind(struct mg_ldap_conn *conn)
{
	int ret = mg_ldap_conn_send_service_bind(conn);

	if (ret == LDAP_X_CONNECTING) {
		if (conn->fd < 0 &&
		    ldap_get_option(conn->ld, LDAP_OPT_DESC, &conn->fd) !=
		    LDAP_OPT_SUCCESS) {
			mg_ldap_conn_fail(conn, "no socket for the connection");
			return;
		}
		conn->io = io_add(conn->fd, IO_WRITE,
				  mg_ldap_conn_connected, conn);
		return;
	}
	if (ret != LDAP_SUCCESS) {
		mg_ldap_conn_fail(conn, t_strdup_printf("connect failed: %s",
							ldap_err2string(ret)));
		return;
	}
	if (conn->fd < 0 &&
	    ldap_get_option(conn->ld, LDAP_OPT_DESC, &conn->fd) !=
	    LDAP_OPT_SUCCESS) {
		mg_ldap_conn_fail(conn, "no socket for the connection");
		return;
	}
	net_set_nonblock(conn->fd, TRUE);
	conn->state = MG_LDAP_CONN_BINDING;
	conn->io = io_add(conn->fd, IO_READ, mg_ldap_conn_input, conn);
}

static void mg_ldap_conn_connect_timeout(struct mg_ldap_conn *conn)
{
	mg_ldap_conn_fail(conn, t_strdup_printf(
		"connect and bind timed out after %u ms",
		conn->ldap->set.request_timeout_msecs));
}

static bool mg_ldap_conn_set_options(struct mg_ldap_conn *conn)
{
	int version = LDAP_VERSION3;
	struct timeval tv;
	unsigned int msecs = conn->ldap->set.request_timeout_msecs;

	tv.tv_sec = msecs / 1000;
	tv.tv_usec = (msecs % 1000) * 1000;
	return ldap_set_option(conn->ld, LDAP_OPT_PROTOCOL_VERSION,
			       &version) == LDAP_OPT_SUCCESS &&
		ldap_set_option(conn->ld, LDAP_OPT_CONNECT_ASYNC,
				LDAP_OPT_ON) == LDAP_OPT_SUCCESS &&
		ldap_set_option(conn->ld, LDAP_OPT_NETWORK_TIMEOUT,
				&tv) == LDAP_OPT_SUCCESS &&
		ldap_set_option(conn->ld, LDAP_OPT_REFERRALS,
				LDAP_OPT_OFF) == LDAP_OPT_SUCCESS;
}

static void mg_ldap_conn_connect(struct mg_ldap_conn *conn)
{
	const char *uri = array_idx_elem(&conn->ldap->uris, conn->uri_idx);
	int ret;

	i_assert(conn->state == MG_LDAP_CONN_DISCONNECTED);

	ret = ldap_initialize(&conn->ld, uri);
	if (ret != LDAP_SUCCESS) {
		conn->ld = NULL;
		mg_ldap_conn_fail(conn, t_strdup_printf(
			"ldap_initialize() failed: %s", ldap_err2string(ret)));
		return;
	}
	if (!mg_ldap_conn_set_options(conn)) {
		mg_ldap_conn_fail(conn, "can't set connection options");
		return;
	}
	conn->state = MG_LDAP_CONN_CONNECTING;
	conn->to = timeout_add(conn->ldap->set.request_timeout_msecs,
			       mg_ldap_conn_connect_timeout, conn);
	mg_ldap_conn_start_bind(conn);
}

static int mg_ldap_request_send(struct mg_ldap_conn *conn,
				struct mg_ldap_request *request)
{
	if (request->type == MG_LDAP_REQUEST_SEARCH) {
		const struct mg_ldap_search *search = &request->search;

		return ldap_search_ext(conn->ld, search->base, search->scope,
				       search->filter,
				       (char **)search->attrs, 0,
				       NULL, NULL, NULL, 0, &request->msgid);
	} else {
		struct berval cred;

		cred.bv_val = (char *)request->bind_password;
		cred.bv_len = strlen(request->bind_password);
		return ldap_sasl_bind(conn->ld, request->bind_dn,
				      LDAP_SASL_SIMPLE, &cred, NULL, NULL,
				      &request->msgid);
	}
}

static struct mg_ldap_conn *
mg_ldap_pick_conn(struct mg_ldap *ldap, bool for_user_binds)
{
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
		if (best == NULL || conn->inflight_count < best->inflight_count)
			best = conn;
	}
	return best;
}

static void mg_ldap_dispatch(struct mg_ldap *ldap, bool for_user_binds)
{
	struct mg_ldap_queue *queue = mg_ldap_queue_of(ldap, for_user_binds);
	struct mg_ldap_conn *conn;

	if (queue->dispatching)
		return;
	queue->dispatching = TRUE;
	while (queue->head != NULL &&
	       (conn = mg_ldap_pick_conn(ldap, for_user_binds)) != NULL) {
		struct mg_ldap_request *request = queue->head;

		if (mg_ldap_request_send(conn, request) != LDAP_SUCCESS) {
			/* the request stays queued for another connection */
			mg_ldap_conn_fail_ld(conn, "sending a request failed");
			continue;
		}
		DLLIST2_REMOVE(&queue->head, &queue->tail, request);
		request->conn = conn;
		DLLIST2_APPEND(&conn->inflight.head, &conn->inflight.tail,
			       request);
		conn->inflight_count++;
	}
	queue->dispatching = FALSE;
}

static void mg_ldap_request_timeout(struct mg_ldap_request *request)
{
	if (request->conn != NULL && request->conn->ld != NULL) {
		(void)ldap_abandon_ext(request->conn->ld, request->msgid,
				       NULL, NULL);
	}
	mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL,
		t_strdup_printf("no answer from LDAP within %u ms",
				request->ldap->set.request_timeout_msecs));
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
	if (ldap->pending > ldap->set.max_pending) {
		mg_ldap_request_finish(request, MG_LDAP_RESULT_TEMPFAIL,
			t_strdup_printf("too many LDAP requests waiting "
					"(max_pending = %u)",
					ldap->set.max_pending));
		return;
	}
	request->to = timeout_add(ldap->set.request_timeout_msecs,
				  mg_ldap_request_timeout, request);
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
	request->search_callback = callback;
	p_array_init(&request->entries, pool, 2);
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

static void mg_ldap_conns_create(struct mg_ldap *ldap,
				 ARRAY_TYPE(mg_ldap_conn_p) *conns,
				 bool for_user_binds)
{
	p_array_init(conns, ldap->pool, ldap->set.connections);
	for (unsigned int i = 0; i < ldap->set.connections; i++) {
		struct mg_ldap_conn *conn = p_new(ldap->pool,
						  struct mg_ldap_conn, 1);

		conn->ldap = ldap;
		conn->for_user_binds = for_user_binds;
		conn->fd = -1;
		conn->reconnect_msecs = MG_LDAP_RECONNECT_MIN_MSECS;
		array_push_back(conns, &conn);
	}
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

	mg_ldap_conns_create(ldap, &ldap->conns, FALSE);
	mg_ldap_conns_create(ldap, &ldap->bind_conns, TRUE);
	return ldap;
}

static void mg_ldap_conns_destroy(ARRAY_TYPE(mg_ldap_conn_p) *conns)
{
	struct mg_ldap_conn *conn;

	array_foreach_elem(conns, conn) {
		mg_ldap_conn_close(conn);
		while (conn->inflight.head != NULL) {
			mg_ldap_request_finish(conn->inflight.head,
					       MG_LDAP_RESULT_TEMPFAIL,
					       "shutting down");
		}
	}
}

void mg_ldap_deinit(struct mg_ldap **_ldap)
{
	struct mg_ldap *ldap = *_ldap;

	*_ldap = NULL;
	mg_ldap_conns_destroy(&ldap->conns);
	mg_ldap_conns_destroy(&ldap->bind_conns);
	mg_ldap_fail_queue(ldap, FALSE, "shutting down");
	mg_ldap_fail_queue(ldap, TRUE, "shutting down");
	event_unref(&ldap->event);
	pool_unref(&ldap->pool);
}

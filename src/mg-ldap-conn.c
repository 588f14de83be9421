/* One LDAP connection's life: connect without blocking, StartTLS, the
   service bind, reading answers, and what happens when it breaks
   (another URI, a retry for what was in flight, reconnecting). */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "llist.h"
#include "net.h"
#include "str.h"
#include "mg-compat.h"
#include "mg-tls.h"
#include "mg-ldap-private.h"

/* Reconnect delays after every URI failed: short first, so service
   resumes within a second of the server's return. */
#define MG_LDAP_RECONNECT_MIN_MSECS 100
#define MG_LDAP_RECONNECT_MAX_MSECS 1000
/* How soon an idle connection on a later URI tries the first again, and
   the longest wait while the first stays away. */
#define MG_LDAP_FAILBACK_MIN_MSECS 2000
#define MG_LDAP_FAILBACK_MAX_MSECS 60000

static void mg_ldap_conn_input(struct mg_ldap_conn *conn);

static const char *mg_ldap_conn_uri(const struct mg_ldap_conn *conn)
{
	return array_idx_elem(&conn->ldap->uris, conn->uri_idx);
}

static void mg_ldap_conn_close(struct mg_ldap_conn *conn)
{
	timeout_remove(&conn->to);
	mg_ldap_open_abandon(conn);
	if (conn->ld != NULL) {
		/* closes the socket too */
		(void)ldap_unbind_ext(conn->ld, NULL, NULL);
		conn->ld = NULL;
	}
	/* The socket is gone by now: libldap closes it itself when the
	   connection breaks, and the unbind above closed it otherwise. */
	io_remove_closed(&conn->io);
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
	const char *uri = mg_ldap_conn_uri(conn);
	unsigned int uri_count = array_count(&ldap->uris);
	bool was_up = conn->state == MG_LDAP_CONN_READY;
	bool all_failed = FALSE;

	if (was_up && conn->inflight_count == 0) {
		/* Servers close idle connections (AD's MaxConnIdleTime,
		   slapd's idletimeout): no news, and the next request opens
		   a new one. A server that is really gone fails that. */
		e_debug(ldap->event, "%s: closed while idle: %s", uri, error);
		mg_ldap_conn_close(conn);
		conn->failures = 0;
		mg_ldap_dispatch(ldap, conn->for_user_binds);
		return;
	}
	/* an outage is logged once, not at every retry; a first URI that
	   is still away when tried again is no news either */
	if (conn->down_logged)
		e_debug(ldap->event, "%s: %s", uri, error);
	else if (conn->failing_back && conn->uri_idx == 0)
		e_info(ldap->event, "%s: still unavailable: %s", uri, error);
	else
		e_error(ldap->event, "%s: %s", uri, error);
	mg_ldap_conn_close(conn);

	/* An established connection that drops (an idle timeout, a restart)
	   first tries the same server again; one that could not be set up
	   moves on to the next URI. */
	if (was_up) {
		conn->failures = 0;
	} else {
		conn->uri_idx = (conn->uri_idx + 1) % uri_count;
		all_failed = ++conn->failures >= uri_count;
	}
	/* The callbacks run below may dispatch: until this connection's
	   next step is settled, dispatch must neither use nor reopen it. */
	conn->state = MG_LDAP_CONN_FAILING;
	mg_ldap_conn_requeue_inflight(conn, error);
	if (all_failed) {
		/* nobody waits for a server that is not there, unless
		   another connection can still serve */
		conn->failures = 0;
		conn->down_logged = TRUE;
		if (!mg_ldap_any_ready(ldap, conn->for_user_binds)) {
			mg_ldap_fail_queue(ldap, conn->for_user_binds,
				t_strdup_printf("LDAP unavailable: %s", error));
		}
	}
	conn->state = MG_LDAP_CONN_DISCONNECTED;
	if (all_failed) {
		conn->to = timeout_add_short(conn->reconnect_msecs,
					     mg_ldap_conn_reconnect_timeout,
					     conn);
		conn->reconnect_msecs = I_MIN(conn->reconnect_msecs * 2,
					      MG_LDAP_RECONNECT_MAX_MSECS);
	} else {
		mg_ldap_conn_connect(conn);
	}
	/* what was requeued may be served by another connection now */
	mg_ldap_dispatch(ldap, conn->for_user_binds);
}

void mg_ldap_conn_stalled(struct mg_ldap_conn *conn, const char *error)
{
	/* not "was up": a hung server is not worth reconnecting to first */
	conn->state = MG_LDAP_CONN_CONNECTING;
	mg_ldap_conn_fail(conn, error);
}

/* err with libldap's diagnostic message for the handle */
static void mg_ldap_conn_fail_code(struct mg_ldap_conn *conn, const char *what,
				   int err)
{
	char *diag = NULL;
	const char *error;

	if (conn->ld != NULL) {
		(void)ldap_get_option(conn->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE,
				      &diag);
	}
	error = t_strdup_printf("%s: %s%s%s", what, ldap_err2string(err),
				diag == NULL || diag[0] == '\0' ? "" : ": ",
				diag == NULL ? "" : mg_tls_diagnostic(diag));
	ldap_memfree(diag);
	mg_ldap_conn_fail(conn, error);
}

void mg_ldap_conn_fail_ld(struct mg_ldap_conn *conn, const char *what)
{
	int err = LDAP_OTHER;

	if (conn->ld != NULL)
		(void)ldap_get_option(conn->ld, LDAP_OPT_RESULT_CODE, &err);
	mg_ldap_conn_fail_code(conn, what, err);
}

static void mg_ldap_failback_timeout(struct mg_ldap *ldap);

static void mg_ldap_failback_schedule(struct mg_ldap *ldap)
{
	if (ldap->to_failback == NULL) {
		ldap->to_failback = timeout_add(ldap->failback_msecs,
						mg_ldap_failback_timeout, ldap);
	}
}

static bool mg_ldap_conns_on_later_uri(ARRAY_TYPE(mg_ldap_conn_p) *conns,
				       struct mg_ldap_conn **idle_r)
{
	struct mg_ldap_conn *conn;
	bool any = FALSE;

	array_foreach_elem(conns, conn) {
		if (conn->state != MG_LDAP_CONN_READY || conn->uri_idx == 0)
			continue;
		any = TRUE;
		if (conn->inflight_count == 0 && *idle_r == NULL)
			*idle_r = conn;
	}
	return any;
}

/* The first URI is the one the admin prefers (a local replica, the
   provider): one idle connection at a time goes back to try it, so the
   others keep serving meanwhile. */
static void mg_ldap_failback_timeout(struct mg_ldap *ldap)
{
	struct mg_ldap_conn *idle = NULL;
	bool any;

	timeout_remove(&ldap->to_failback);
	any = mg_ldap_conns_on_later_uri(&ldap->conns, &idle);
	if (mg_ldap_conns_on_later_uri(&ldap->bind_conns, &idle))
		any = TRUE;
	if (idle != NULL) {
		mg_ldap_conn_close(idle);
		idle->uri_idx = 0;
		idle->failures = 0;
		idle->failing_back = TRUE;
		mg_ldap_conn_connect(idle);
	}
	if (any)
		mg_ldap_failback_schedule(ldap);
}

void mg_ldap_failback_init(struct mg_ldap *ldap)
{
	ldap->failback_msecs = MG_LDAP_FAILBACK_MIN_MSECS;
}

void mg_ldap_failback_deinit(struct mg_ldap *ldap)
{
	timeout_remove(&ldap->to_failback);
}

static void mg_ldap_conn_ready(struct mg_ldap_conn *conn)
{
	struct mg_ldap *ldap = conn->ldap;

	timeout_remove(&conn->to);
	if (conn->failing_back) {
		if (conn->uri_idx == 0) {
			e_info(ldap->event, "%s: back on the first URI",
			       array_idx_elem(&ldap->uris, 0));
			ldap->failback_msecs = MG_LDAP_FAILBACK_MIN_MSECS;
		} else {
			ldap->failback_msecs = I_MIN(ldap->failback_msecs * 2,
						     MG_LDAP_FAILBACK_MAX_MSECS);
		}
		conn->failing_back = FALSE;
	}
	if (conn->uri_idx != 0)
		mg_ldap_failback_schedule(ldap);
	if (conn->down_logged) {
		e_info(conn->ldap->event, "%s: connected again",
		       mg_ldap_conn_uri(conn));
		conn->down_logged = FALSE;
	}
	conn->state = MG_LDAP_CONN_READY;
	conn->failures = 0;
	conn->reconnect_msecs = MG_LDAP_RECONNECT_MIN_MSECS;
	mg_ldap_dispatch(ldap, conn->for_user_binds);
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
		const struct mg_ldap_settings *set = &conn->ldap->set;
		const char *error = t_strdup_printf(
			"bind as '%s' failed: %s%s%s",
			set->sasl_mech != NULL ?
			t_strconcat("SASL ", set->sasl_mech, NULL) :
			set->dn == NULL ? "(anonymous)" : set->dn,
			ldap_err2string(err), diag == NULL ? "" : ": ",
			diag == NULL ? "" : diag);
		ldap_memfree(diag);
		mg_ldap_conn_fail(conn, error);
		return;
	}
	ldap_memfree(diag);
	mg_ldap_conn_ready(conn);
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

	if (conn->state == MG_LDAP_CONN_BINDING && msgid == conn->op_msgid) {
		mg_ldap_handle_service_bind(conn, msg);
		return;
	}
	/* NULL: a request that already timed out */
	request = mg_ldap_conn_find_request(conn, msgid);
	if (request != NULL)
		mg_ldap_request_handle_msg(conn, request, msg);
}

static void mg_ldap_conn_input(struct mg_ldap_conn *conn)
{
	struct timeval zero = { 0, 0 };
	LDAPMessage *msg;
	int ret;

	conn->last_input = ioloop_timeval;
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

static bool mg_ldap_conn_wants_starttls(const struct mg_ldap_conn *conn)
{
	return mg_tls_uri_wants_starttls(conn->ldap->set.starttls,
					 mg_ldap_conn_uri(conn));
}

static bool mg_ldap_conn_is_ldaps(const struct mg_ldap_conn *conn)
{
	return str_begins_with(mg_ldap_conn_uri(conn), "ldaps://");
}

static const char *
mg_ldap_open_step_error(struct mg_ldap_conn *conn,
			const struct mg_ldap_open_result *result)
{
	switch (result->step) {
	case MG_LDAP_OPEN_STEP_CONNECT:
		return mg_ldap_conn_is_ldaps(conn) ?
			"connect or TLS handshake failed" : "connect failed";
	case MG_LDAP_OPEN_STEP_STARTTLS:
		break;
	case MG_LDAP_OPEN_STEP_HANDSHAKE:
		return "TLS handshake failed";
	case MG_LDAP_OPEN_STEP_BIND:
		return "bind after StartTLS failed";
	case MG_LDAP_OPEN_STEP_DONE:
		break;
	}
	i_unreached();
}

void mg_ldap_conn_opened(struct mg_ldap_conn *conn,
			 const struct mg_ldap_open_result *result)
{
	if (result->step == MG_LDAP_OPEN_STEP_STARTTLS) {
		/* nothing is ever sent in plain text after it */
		mg_ldap_conn_fail(conn, t_strdup_printf(
			"StartTLS refused by the server: %s%s%s",
			ldap_err2string(result->ret),
			result->diag == NULL || result->diag[0] == '\0' ?
			"" : ": ", result->diag == NULL ? "" : result->diag));
		return;
	}
	if (result->step != MG_LDAP_OPEN_STEP_DONE) {
		mg_ldap_conn_fail_code(conn, mg_ldap_open_step_error(conn, result),
				       result->ret);
		return;
	}
	if (ldap_get_option(conn->ld, LDAP_OPT_DESC, &conn->fd) !=
	    LDAP_OPT_SUCCESS || conn->fd < 0) {
		conn->fd = -1;
		mg_ldap_conn_fail(conn, "no socket for the connection");
		return;
	}
	net_set_nonblock(conn->fd, TRUE);
	conn->op_msgid = result->msgid;
	conn->state = MG_LDAP_CONN_BINDING;
	conn->io = io_add(conn->fd, IO_READ, mg_ldap_conn_input, conn);
}

/* Setting up a connection (resolving, connecting, TLS, the service bind)
   gets half of request_timeout: a request waiting for it still has the
   other half to be served by the next URI. */
static unsigned int mg_ldap_conn_setup_msecs(const struct mg_ldap *ldap)
{
	return I_MAX(ldap->set.request_timeout_msecs / 2, 1);
}

static void mg_ldap_conn_connect_timeout(struct mg_ldap_conn *conn)
{
	mg_ldap_conn_fail(conn, t_strdup_printf(
		"connect and bind timed out after %u ms",
		mg_ldap_conn_setup_msecs(conn->ldap)));
}

static bool mg_ldap_conn_set_string(struct mg_ldap_conn *conn, int option,
				    const char *value)
{
	return value == NULL ||
		ldap_set_option(conn->ld, option, value) == LDAP_OPT_SUCCESS;
}

/* libldap loads the files only when it builds the context, and then says
   no more than that it failed: name the file it could not read. */
static const char *mg_ldap_conn_tls_ctx_error(const struct mg_ldap_settings *set)
{
	struct mg_error error;

	if (!mg_tls_file_readable(MG_TLS_CA_FILE, set->tls_ca_cert_file,
				  FALSE, &error) ||
	    !mg_tls_file_readable(MG_TLS_CA_DIR, set->tls_ca_cert_dir,
				  TRUE, &error) ||
	    !mg_tls_file_readable(MG_TLS_CERT_FILE, set->tls_cert_file,
				  FALSE, &error) ||
	    !mg_tls_file_readable(MG_TLS_KEY_FILE, set->tls_key_file,
				  FALSE, &error)) {
		return t_strdup_printf("can't load the TLS files: %s",
				       error.message);
	}
	return "can't load the TLS files: one of "MG_TLS_CA_FILE", "
		MG_TLS_CA_DIR", "MG_TLS_CERT_FILE", "MG_TLS_KEY_FILE" is not "
		"valid PEM, or the key does not match the certificate";
}

/* TLS options of this handle alone, then a context built from them:
   the process-wide defaults of ldap.conf stay out of it. */
static bool mg_ldap_conn_set_tls(struct mg_ldap_conn *conn,
				 const char **error_r)
{
	const struct mg_ldap_settings *set = &conn->ldap->set;
	int require_cert = set->tls_require_cert, new_ctx = 0;

	/* a plain connection must not fail over a TLS file it never uses */
	if (!mg_tls_uri_uses_tls(conn->ldap->set.starttls,
				 mg_ldap_conn_uri(conn)))
		return TRUE;
	if (!mg_ldap_conn_set_string(conn, LDAP_OPT_X_TLS_CACERTFILE,
				     set->tls_ca_cert_file) ||
	    !mg_ldap_conn_set_string(conn, LDAP_OPT_X_TLS_CACERTDIR,
				     set->tls_ca_cert_dir) ||
	    !mg_ldap_conn_set_string(conn, LDAP_OPT_X_TLS_CERTFILE,
				     set->tls_cert_file) ||
	    !mg_ldap_conn_set_string(conn, LDAP_OPT_X_TLS_KEYFILE,
				     set->tls_key_file) ||
	    ldap_set_option(conn->ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
			    &require_cert) != LDAP_OPT_SUCCESS) {
		*error_r = "can't set the TLS options";
		return FALSE;
	}
	if (ldap_set_option(conn->ld, LDAP_OPT_X_TLS_NEWCTX,
			    &new_ctx) != LDAP_OPT_SUCCESS) {
		*error_r = mg_ldap_conn_tls_ctx_error(set);
		return FALSE;
	}
	return TRUE;
}

static bool mg_ldap_conn_set_options(struct mg_ldap_conn *conn,
				     const char **error_r)
{
	int version = LDAP_VERSION3;
	struct timeval tv;
	unsigned int msecs = conn->ldap->set.request_timeout_msecs;

	tv.tv_sec = msecs / 1000;
	tv.tv_usec = (msecs % 1000) * 1000;
	if (ldap_set_option(conn->ld, LDAP_OPT_PROTOCOL_VERSION,
			    &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(conn->ld, LDAP_OPT_CONNECT_ASYNC,
			    LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(conn->ld, LDAP_OPT_NETWORK_TIMEOUT,
			    &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(conn->ld, LDAP_OPT_REFERRALS,
			    LDAP_OPT_OFF) != LDAP_OPT_SUCCESS) {
		*error_r = "can't set connection options";
		return FALSE;
	}
	return mg_ldap_conn_set_tls(conn, error_r);
}

void mg_ldap_conn_connect(struct mg_ldap_conn *conn)
{
	const char *uri = mg_ldap_conn_uri(conn);
	const char *error;
	LDAP *ld;
	int ret;

	i_assert(conn->state == MG_LDAP_CONN_DISCONNECTED);
	i_assert(conn->to == NULL);

	ret = ldap_initialize(&conn->ld, uri);
	if (ret != LDAP_SUCCESS) {
		conn->ld = NULL;
		mg_ldap_conn_fail(conn, t_strdup_printf(
			"ldap_initialize() failed: %s", ldap_err2string(ret)));
		return;
	}
	if (!mg_ldap_conn_set_options(conn, &error)) {
		mg_ldap_conn_fail(conn, error);
		return;
	}
	ld = conn->ld;
	conn->ld = NULL;
	if (!mg_ldap_open_start(conn, ld, mg_ldap_conn_wants_starttls(conn),
				&error)) {
		mg_ldap_conn_fail(conn, error);
		return;
	}
	conn->state = MG_LDAP_CONN_CONNECTING;
	conn->to = timeout_add(mg_ldap_conn_setup_msecs(conn->ldap),
			       mg_ldap_conn_connect_timeout, conn);
}

void mg_ldap_conns_create(struct mg_ldap *ldap,
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

void mg_ldap_conns_destroy(ARRAY_TYPE(mg_ldap_conn_p) *conns)
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

#ifndef MG_LDAP_PRIVATE_H
#define MG_LDAP_PRIVATE_H

/* Shared by the LDAP client's two halves: mg-ldap.c (requests, the queue,
   dispatch) and mg-ldap-conn.c (one connection's life). */

#include "mg-ldap.h"

#include <ldap.h>

/* Requests in flight on one lookup connection; more wait in the queue
   where another connection (or a later reconnect) can take them. */
#define MG_LDAP_MAX_INFLIGHT 64

enum mg_ldap_conn_state {
	MG_LDAP_CONN_DISCONNECTED,
	/* closed, its requests being requeued or failed */
	MG_LDAP_CONN_FAILING,
	/* resolving, connecting, StartTLS and the TLS handshake: on a
	   helper thread (mg-ldap-open.c) */
	MG_LDAP_CONN_CONNECTING,
	/* the service bind sent, its answer read on the ioloop */
	MG_LDAP_CONN_BINDING,
	MG_LDAP_CONN_READY,
};

/* Where a search with a page size stands on its connection. */
enum mg_ldap_paging {
	/* one search, as sent */
	MG_LDAP_PAGING_NONE,
	/* reading the rootDSE's supportedControl */
	MG_LDAP_PAGING_PROBE,
	/* the server offers the control: pages follow */
	MG_LDAP_PAGING_PAGES,
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
	/* when it went out on conn */
	struct timeval sent;
	bool retried;
	struct timeout *to;

	struct mg_ldap_search search;
	ARRAY(struct mg_entry *) entries;
	/* set when an entry could not be read whole: the search then
	   fails, since a partly read entry can't be classified */
	const char *malformed;
	mg_ldap_search_callback_t *search_callback;
	/* set for a stream: every message goes here */
	mg_ldap_stream_callback_t *stream_callback;
	enum mg_ldap_paging paging;
	/* the rootDSE lists the paged results control */
	bool paging_offered;
	/* the server's cookie for the next page (in pool) */
	struct berval cookie;

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

	/* NULL while the helper thread has the handle */
	LDAP *ld;
	struct mg_ldap_open *open;
	int fd;
	struct io *io;
	struct timeout *to;
	/* the service bind under way */
	int op_msgid;

	struct mg_ldap_queue inflight;
	unsigned int inflight_count;
	/* every URI failed and that was logged; quiet until one works */
	bool down_logged;
	/* closed while idle to try the first URI again */
	bool failing_back;
	/* when the server last sent anything */
	struct timeval last_input;
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
	/* while a connection serves from a later URI: when to try the
	   first one again (doubling while it stays away) */
	struct timeout *to_failback;
	unsigned int failback_msecs;
	/* helper threads opening connections, including those whose
	   connection stopped waiting for them */
	struct mg_ldap_open *opens;
	/* mg_ldap_shutdown() was called: requests fail at once */
	bool shut_down;
};

enum mg_ldap_open_step {
	/* resolve, connect (with the ldaps:// handshake), send the first
	   operation: StartTLS, or the service bind */
	MG_LDAP_OPEN_STEP_CONNECT,
	/* waiting for the answer to StartTLS */
	MG_LDAP_OPEN_STEP_STARTTLS,
	MG_LDAP_OPEN_STEP_HANDSHAKE,
	/* sending the service bind after StartTLS */
	MG_LDAP_OPEN_STEP_BIND,
	/* the service bind is sent */
	MG_LDAP_OPEN_STEP_DONE,
};

struct mg_ldap_open_result {
	/* where it stopped */
	enum mg_ldap_open_step step;
	/* libldap's result there */
	int ret;
	/* the server's text refusing StartTLS (libldap's memory) */
	char *diag;
	/* the service bind's, with MG_LDAP_OPEN_STEP_DONE */
	int msgid;
};

struct mg_ldap_queue *mg_ldap_queue_of(struct mg_ldap *ldap,
				       bool for_user_binds);
/* Sends what waits in the queue to connections that can take it, opening
   connections as needed. */
void mg_ldap_dispatch(struct mg_ldap *ldap, bool for_user_binds);
/* Removes request from its queue or connection and calls its callback. */
void mg_ldap_request_finish(struct mg_ldap_request *request,
			    enum mg_ldap_result result, const char *error);
void mg_ldap_fail_queue(struct mg_ldap *ldap, bool for_user_binds,
			const char *error);
bool mg_ldap_any_ready(struct mg_ldap *ldap, bool for_user_binds);
/* One message of an answer to request, read on conn. */
void mg_ldap_request_handle_msg(struct mg_ldap_conn *conn,
				struct mg_ldap_request *request,
				LDAPMessage *msg);

void mg_ldap_conns_create(struct mg_ldap *ldap,
			  ARRAY_TYPE(mg_ldap_conn_p) *conns,
			  bool for_user_binds);
void mg_ldap_conns_destroy(ARRAY_TYPE(mg_ldap_conn_p) *conns);
void mg_ldap_conn_connect(struct mg_ldap_conn *conn);
/* Going back to the first URI once it returns. */
void mg_ldap_failback_init(struct mg_ldap *ldap);
void mg_ldap_failback_deinit(struct mg_ldap *ldap);
/* A request on conn timed out and the server has sent nothing since it
   went out: the server hangs. Drops the connection and moves on to the
   next URI, retrying what was in flight there once. */
void mg_ldap_conn_stalled(struct mg_ldap_conn *conn, const char *error);
/* Drops the connection after what went wrong with libldap's own words. */
void mg_ldap_conn_fail_ld(struct mg_ldap_conn *conn, const char *what);
/* The helper thread finished; conn->ld is the handle again. */
void mg_ldap_conn_opened(struct mg_ldap_conn *conn,
			 const struct mg_ldap_open_result *result);

/* Runs the steps libldap blocks in on a helper thread, which owns ld
   (closing it on failure here too). */
bool mg_ldap_open_start(struct mg_ldap_conn *conn, LDAP *ld, bool starttls,
			const char **error_r);
/* The connection stops waiting: the handle is closed when the thread
   ends. */
void mg_ldap_open_abandon(struct mg_ldap_conn *conn);
/* Waits for every helper thread to end. */
void mg_ldap_opens_deinit(struct mg_ldap *ldap);

#endif

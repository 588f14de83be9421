/* Opening a connection off the auth process's thread.

   libldap 2.5 and 2.6 resolve the host name (getaddrinfo()) and do the TLS
   handshake (ldaps://, and ldap_install_tls() after StartTLS) inside the
   call, even with LDAP_OPT_CONNECT_ASYNC: a server that accepts TCP and
   never speaks TLS, or a DNS server that never answers, would stop every
   login of the auth process, whichever passdb serves it. So each
   connection attempt runs those steps, up to sending the service bind, on
   a thread of its own, which then tells the ioloop through a pipe.

   Dovecot's lib is not thread-safe: the thread calls libldap (thread-safe
   since 2.5) and libc only, never a Dovecot function, pool or log, and
   only reads what it was given. Its LDAP handle is its own until it has
   finished; a connection that stops waiting (timeout, shutdown) leaves
   the handle to be closed when the thread ends. Dovecot's asynchronous
   DNS would not help with the handshake, and connecting to a resolved
   address would lose the host name the certificate is checked against. */

#include "lib.h"
#include "ioloop.h"
#include "fd-util.h"
#include "llist.h"
#include "mg-ldap-private.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

struct mg_ldap_open {
	struct mg_ldap_open *prev, *next;
	struct mg_ldap *ldap;
	/* NULL once the connection stopped waiting */
	struct mg_ldap_conn *conn;
	pthread_t thread;
	int pipe_fd[2];
	struct io *io;

	/* The thread's from its start until it writes to the pipe. */
	LDAP *ld;
	bool starttls;
	/* ldap->set, alive until every thread is joined */
	const struct mg_ldap_settings *set;
	struct mg_ldap_open_result result;
};

/* The service bind. Called on the helper thread: libldap only. */
static int mg_ldap_open_send_bind(LDAP *ld, const struct mg_ldap_settings *set,
				  int *msgid_r)
{
	struct berval cred = { 0, NULL };
	const char *dn = NULL;

	if (set->sasl_mech != NULL) {
		/* EXTERNAL: the identity is the socket's peer or the TLS
		   client certificate; the credentials are the authzid,
		   present even when empty: with no credentials at all the
		   server answers "SASL bind in progress" */
		cred.bv_val = (char *)(set->sasl_authz_id == NULL ? "" :
				       set->sasl_authz_id);
		cred.bv_len = strlen(cred.bv_val);
		return ldap_sasl_bind(ld, NULL, set->sasl_mech, &cred,
				      NULL, NULL, msgid_r);
	}
	/* User-bind connections bind as the service first as well: a
	   server that refuses anonymous binds must not refuse them. */
	if (set->dn != NULL) {
		dn = set->dn;
		cred.bv_val = (char *)set->dnpass;
		cred.bv_len = strlen(set->dnpass);
	}
	return ldap_sasl_bind(ld, dn, LDAP_SASL_SIMPLE, &cred,
			      NULL, NULL, msgid_r);
}

static int mg_ldap_open_msecs_left(const struct timespec *deadline)
{
	struct timespec now;
	long long msecs;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	msecs = (deadline->tv_sec - now.tv_sec) * 1000LL +
		(deadline->tv_nsec - now.tv_nsec) / 1000000;
	return msecs < 0 ? 0 : (int)msecs;
}

static int mg_ldap_open_send_first(struct mg_ldap_open *open)
{
	if (open->starttls) {
		return ldap_start_tls(open->ld, NULL, NULL,
				      &open->result.msgid);
	}
	return mg_ldap_open_send_bind(open->ld, open->set,
				      &open->result.msgid);
}

/* With LDAP_OPT_CONNECT_ASYNC the first operation resolves the name,
   starts the TCP connect and returns LDAP_X_CONNECTING; repeated once the
   socket is writable, it completes the connect (with the ldaps://
   handshake) and sends. */
static int mg_ldap_open_connect(struct mg_ldap_open *open,
				const struct timespec *deadline)
{
	struct pollfd pfd;
	int ret, fd;

	while ((ret = mg_ldap_open_send_first(open)) == LDAP_X_CONNECTING) {
		if (ldap_get_option(open->ld, LDAP_OPT_DESC, &fd) !=
		    LDAP_OPT_SUCCESS)
			return LDAP_SERVER_DOWN;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		ret = poll(&pfd, 1, mg_ldap_open_msecs_left(deadline));
		if (ret == 0)
			return LDAP_TIMEOUT;
		if (ret < 0 && errno != EINTR)
			return LDAP_SERVER_DOWN;
	}
	return ret;
}

/* StartTLS: the server's yes, the handshake, then the service bind. */
static void mg_ldap_open_starttls(struct mg_ldap_open *open,
				  const struct timespec *deadline)
{
	struct mg_ldap_open_result *result = &open->result;
	int msecs = mg_ldap_open_msecs_left(deadline);
	struct timeval tv = { msecs / 1000, (msecs % 1000) * 1000 };
	LDAPMessage *msg = NULL;
	int ret, err;

	result->step = MG_LDAP_OPEN_STEP_STARTTLS;
	ret = ldap_result(open->ld, result->msgid, LDAP_MSG_ALL, &tv, &msg);
	if (ret <= 0) {
		result->ret = ret == 0 ? LDAP_TIMEOUT : LDAP_SERVER_DOWN;
		ldap_msgfree(msg);
		return;
	}
	ret = ldap_parse_result(open->ld, msg, &err, NULL, &result->diag,
				NULL, NULL, 1);
	result->ret = ret != LDAP_SUCCESS ? ret : err;
	if (result->ret != LDAP_SUCCESS)
		return;

	result->step = MG_LDAP_OPEN_STEP_HANDSHAKE;
	result->ret = ldap_install_tls(open->ld);
	if (result->ret != LDAP_SUCCESS)
		return;
	result->step = MG_LDAP_OPEN_STEP_BIND;
	result->ret = mg_ldap_open_send_bind(open->ld, open->set,
					     &result->msgid);
}

static void *mg_ldap_open_thread(void *context)
{
	struct mg_ldap_open *open = context;
	struct mg_ldap_open_result *result = &open->result;
	unsigned int msecs = open->set->request_timeout_msecs;
	struct timespec deadline;
	char done = 1;

	(void)clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += msecs / 1000;
	deadline.tv_nsec += (msecs % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	result->step = MG_LDAP_OPEN_STEP_CONNECT;
	result->ret = mg_ldap_open_connect(open, &deadline);
	if (result->ret == LDAP_SUCCESS && open->starttls)
		mg_ldap_open_starttls(open, &deadline);
	if (result->ret == LDAP_SUCCESS)
		result->step = MG_LDAP_OPEN_STEP_DONE;
	/* the ioloop joins the thread once it reads this */
	while (write(open->pipe_fd[1], &done, 1) < 0 && errno == EINTR) ;
	return NULL;
}

static void mg_ldap_open_free(struct mg_ldap_open *open)
{
	i_close_fd(&open->pipe_fd[0]);
	i_close_fd(&open->pipe_fd[1]);
	if (open->ld != NULL)
		(void)ldap_unbind_ext(open->ld, NULL, NULL);
	ldap_memfree(open->result.diag);
	i_free(open);
}

static void mg_ldap_open_join(struct mg_ldap_open *open)
{
	int ret;

	io_remove(&open->io);
	ret = pthread_join(open->thread, NULL);
	if (ret != 0)
		i_panic("pthread_join() failed: %s", strerror(ret));
	DLLIST_REMOVE(&open->ldap->opens, open);
}

static void mg_ldap_open_finished(struct mg_ldap_open *open)
{
	struct mg_ldap_conn *conn = open->conn;

	mg_ldap_open_join(open);
	if (conn != NULL) {
		conn->open = NULL;
		conn->ld = open->ld;
		open->ld = NULL;
		mg_ldap_conn_opened(conn, &open->result);
	}
	mg_ldap_open_free(open);
}

bool mg_ldap_open_start(struct mg_ldap_conn *conn, LDAP *ld, bool starttls,
			const char **error_r)
{
	struct mg_ldap_open *open = i_new(struct mg_ldap_open, 1);
	sigset_t all, old;
	int ret;

	open->ldap = conn->ldap;
	open->conn = conn;
	open->ld = ld;
	open->starttls = starttls;
	open->set = &conn->ldap->set;
	open->result.msgid = -1;
	if (pipe(open->pipe_fd) < 0) {
		*error_r = t_strdup_printf("pipe() failed: %m");
		open->pipe_fd[0] = open->pipe_fd[1] = -1;
		mg_ldap_open_free(open);
		return FALSE;
	}
	fd_close_on_exec(open->pipe_fd[0], TRUE);
	fd_close_on_exec(open->pipe_fd[1], TRUE);
	/* signals are for the auth process's own thread */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&open->thread, NULL, mg_ldap_open_thread, open);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret != 0) {
		*error_r = t_strdup_printf("pthread_create() failed: %s",
					   strerror(ret));
		mg_ldap_open_free(open);
		return FALSE;
	}
	open->io = io_add(open->pipe_fd[0], IO_READ,
			  mg_ldap_open_finished, open);
	DLLIST_PREPEND(&conn->ldap->opens, open);
	conn->open = open;
	return TRUE;
}

void mg_ldap_open_abandon(struct mg_ldap_conn *conn)
{
	if (conn->open != NULL) {
		conn->open->conn = NULL;
		conn->open = NULL;
	}
}

void mg_ldap_opens_deinit(struct mg_ldap *ldap)
{
	/* The module may be unloaded after this: no thread may outlive it.
	   Each ends within request_timeout of its start (a DNS lookup
	   within the resolver's own timeouts). */
	while (ldap->opens != NULL) {
		struct mg_ldap_open *open = ldap->opens;

		i_assert(open->conn == NULL);
		mg_ldap_open_join(open);
		mg_ldap_open_free(open);
	}
}

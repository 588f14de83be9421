#ifndef MG_LDAP_H
#define MG_LDAP_H

/* An asynchronous LDAP client on Dovecot's ioloop, one per settings file.

   What it takes off its callers' hands: connecting (in order through the
   URIs, without blocking the auth process on a slow server), the service
   bind, a pool of lookup connections, separate connections for users'
   binds so lookups never wait behind them, a queue with a bound, a timeout
   on every request, one retry on another connection when a server dies
   mid-request, and reconnecting by itself. Every failure reaches the
   caller as MG_LDAP_RESULT_TEMPFAIL with a message: nothing here ever
   turns LDAP trouble into an answer.

   Callbacks are always called from the ioloop or from inside the call that
   started the request (when it fails at once), exactly once. The caller
   keeps the pool it passes alive until then (an auth request holds a
   reference to itself for that). */

#include "mg-entry.h"

struct mg_ldap;
/* libldap's LDAP, LDAPMessage and LDAPControl */
struct ldap;
struct ldapmsg;
struct ldapcontrol;

struct mg_ldap_settings {
	/* Names this client in log lines (the settings file). */
	const char *name;
	/* Space-separated URIs, tried in order. */
	const char *uris;
	/* Service bind; NULL dn binds anonymously. */
	const char *dn, *dnpass;
	/* SASL service bind instead (only EXTERNAL): NULL for a simple bind */
	const char *sasl_mech, *sasl_authz_id;
	/* StartTLS on ldap:// URIs; ldaps:// URIs are TLS anyway */
	bool starttls;
	const char *tls_ca_cert_file, *tls_ca_cert_dir;
	const char *tls_cert_file, *tls_key_file;
	/* LDAP_OPT_X_TLS_* */
	int tls_require_cert;
	unsigned int connections;
	unsigned int max_pending;
	unsigned int request_timeout_msecs;
};

enum mg_ldap_result {
	MG_LDAP_RESULT_OK,
	MG_LDAP_RESULT_INVALID_CREDENTIALS,
	MG_LDAP_RESULT_TEMPFAIL,
};

struct mg_ldap_search {
	const char *base;
	/* LDAP_SCOPE_BASE, LDAP_SCOPE_ONELEVEL or LDAP_SCOPE_SUBTREE */
	int scope;
	const char *filter;
	/* NULL-terminated */
	const char *const *attrs;
	/* 0: one search. Otherwise the search first reads the rootDSE on the
	   connection it is sent on; when the server lists the paged results
	   control (RFC 2696) in supportedControl, the search goes in pages of
	   this many entries on that connection, else as one search. Only one
	   paged search at a time is sent on a connection (slapd keeps one
	   paged state per connection). */
	unsigned int page_size;
	/* NULL-terminated server controls sent with the search (not with
	   the probe or pages); the caller keeps them until it is sent */
	struct ldapcontrol **server_ctrls;
};

/* entries (allocated from the request's pool) are valid with
   MG_LDAP_RESULT_OK; error says what went wrong with TEMPFAIL. */
typedef void mg_ldap_search_callback_t(enum mg_ldap_result result,
				       struct mg_entry *const *entries,
				       unsigned int count, const char *error,
				       void *context);
/* One message of a stream (mg_ldap_stream()), with the handle it was read
   on to parse it. Both are libldap's and valid only during the call. */
typedef void mg_ldap_stream_callback_t(struct ldap *ld, struct ldapmsg *msg,
				       void *context);
/* OK: the password is right; INVALID_CREDENTIALS: it is wrong (or empty);
   TEMPFAIL: LDAP could not tell. */
typedef void mg_ldap_bind_callback_t(enum mg_ldap_result result,
				     const char *error, void *context);

/* The settings are copied. Connections open on the first request. */
struct mg_ldap *mg_ldap_init(const struct mg_ldap_settings *set,
			     struct event *parent_event);
/* Fails every request still waiting (TEMPFAIL) and closes everything. */
/* Fails every request, queued or in flight, and every later one at once;
   the connections close. For the auth process's shutdown, while
   Dovecot's requests can still take an answer (see mg_db_shutdown()). */
void mg_ldap_shutdown(struct mg_ldap *ldap);
void mg_ldap_deinit(struct mg_ldap **ldap);

void mg_ldap_search(struct mg_ldap *ldap, pool_t pool,
		    const struct mg_ldap_search *search,
		    mg_ldap_search_callback_t *callback, void *context);
#define mg_ldap_search(ldap, pool, search, callback, context) \
	mg_ldap_search(ldap, pool, search - \
		CALLBACK_TYPECHECK(callback, void (*)( \
			enum mg_ldap_result, struct mg_entry *const *, \
			unsigned int, const char *, typeof(context))), \
		(mg_ldap_search_callback_t *)callback, context)

/* A search that may last as long as the connection (RFC 4533's
   refreshAndPersist): every message of its answer, the final result too,
   goes to msg_callback as it arrives; end_callback follows once when it
   ends (with OK when the server ended it, TEMPFAIL when the connection
   dropped or could not be set up). No request_timeout and no retry. Use
   a client of its own (connections = 1): the stream holds its
   connection. */
void mg_ldap_stream(struct mg_ldap *ldap, pool_t pool,
		    const struct mg_ldap_search *search,
		    mg_ldap_stream_callback_t *msg_callback,
		    mg_ldap_search_callback_t *end_callback, void *context);
#define mg_ldap_stream(_ldap, pool, search, msg_callback, end_callback, \
		       context) \
	mg_ldap_stream(_ldap, pool, search - \
		CALLBACK_TYPECHECK(msg_callback, void (*)( \
			struct ldap *, struct ldapmsg *, typeof(context))) - \
		CALLBACK_TYPECHECK(end_callback, void (*)( \
			enum mg_ldap_result, struct mg_entry *const *, \
			unsigned int, const char *, typeof(context))), \
		(mg_ldap_stream_callback_t *)msg_callback, \
		(mg_ldap_search_callback_t *)end_callback, context)

/* Binds as dn with password on a connection reserved for users' binds.
   password is not copied: it must live as long as pool. */
void mg_ldap_bind(struct mg_ldap *ldap, pool_t pool, const char *dn,
		  const char *password, mg_ldap_bind_callback_t *callback,
		  void *context);
#define mg_ldap_bind(ldap, pool, dn, password, callback, context) \
	mg_ldap_bind(ldap, pool, dn, password - \
		CALLBACK_TYPECHECK(callback, void (*)( \
			enum mg_ldap_result, const char *, typeof(context))), \
		(mg_ldap_bind_callback_t *)callback, context)

#endif

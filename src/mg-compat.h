#ifndef MG_COMPAT_H
#define MG_COMPAT_H

/* The calls Dovecot 2.4 renamed or reshaped, under one name for both
   releases. What differs more than a name has a file per release
   (mg-settings-24.c, mg-fields-24.c, mg-chain-24.c and their -23
   partners). Include after auth-common.h and auth-request.h. */

#include "passdb.h"

#if DOVECOT_PREREQ(2, 4, 0)

#define mg_log_password_mismatch(request) \
	auth_request_db_log_password_mismatch(request)
#define mg_log_unknown_user(request) \
	auth_request_db_log_unknown_user(request)
#define mg_init_userdb_reply(request) \
	auth_request_init_userdb_reply(request)
/* 2.4 names the service the login came through its protocol */
#define mg_request_service(request) ((request)->fields.protocol)
/* the auth of a protocol { } block, and the default one */
#define mg_auth_find(protocol) auth_find_protocol(protocol)
#define mg_auth_default() auth_default_protocol()

static inline enum passdb_result
mg_password_verify(struct auth_request *request, const char *plain,
		   const char *crypted, const char *scheme)
{
	return auth_request_db_password_verify(request, plain, crypted,
					       scheme);
}

/* var_expand: 0 on success, -1 on error */
#define MG_VAR_EXPAND_OK(ret) ((ret) == 0)

/* the TLS settings, as messages name them: 2.4's own ssl_client_* */
#define MG_TLS_CA_FILE "ssl_client_ca_file"
#define MG_TLS_CA_DIR "ssl_client_ca_dir"
#define MG_TLS_CERT_FILE "ssl_client_cert_file"
#define MG_TLS_KEY_FILE "ssl_client_key_file"

#else

#define mg_log_password_mismatch(request) \
	auth_request_log_password_mismatch(request, AUTH_SUBSYS_DB)
#define mg_log_unknown_user(request) \
	auth_request_log_unknown_user(request, AUTH_SUBSYS_DB)
#define mg_init_userdb_reply(request) \
	auth_request_init_userdb_reply(request, TRUE)
#define mg_request_service(request) ((request)->fields.service)
#define mg_auth_find(service) auth_find_service(service)
#define mg_auth_default() auth_default_service()

static inline enum passdb_result
mg_password_verify(struct auth_request *request, const char *plain,
		   const char *crypted, const char *scheme)
{
	int ret = auth_request_password_verify(request, plain, crypted,
					       scheme, AUTH_SUBSYS_DB);

	return ret > 0 ? PASSDB_RESULT_OK : ret == 0 ?
		PASSDB_RESULT_PASSWORD_MISMATCH :
		PASSDB_RESULT_INTERNAL_FAILURE;
}

/* var_expand: 1 on success, 0 for an unknown variable, -1 on error */
#define MG_VAR_EXPAND_OK(ret) ((ret) > 0)

#define MG_TLS_CA_FILE "tls_ca_cert_file"
#define MG_TLS_CA_DIR "tls_ca_cert_dir"
#define MG_TLS_CERT_FILE "tls_cert_file"
#define MG_TLS_KEY_FILE "tls_key_file"

/* 2.4's name; 2.4's 3-argument str_begins() means something else */
#define str_begins_with(str, prefix) str_begins(str, prefix)

#endif

#endif

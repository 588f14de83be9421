/* Synchronous libldap: connect (StartTLS when asked), bind as the
   service, search once. */

#include <string.h>
#include <ldap.h>
#include "mg-config.h"
#include "mg-tls.h"
#include "check-entry.h"
#include "check-settings.h"
#include "check-ldap.h"

struct check_ldap {
	LDAP *ld;
	char *uri;
	struct timeval timeout;
};

/* The plugin's options: v3, no referral chasing (a referral is not an
   answer), and request_timeout bounding the connect and each operation. */
static bool set_options(LDAP *ld, const struct timeval *timeout)
{
	int version = LDAP_VERSION3;

	return ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) ==
		LDAP_OPT_SUCCESS &&
		ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) ==
		LDAP_OPT_SUCCESS &&
		ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, timeout) ==
		LDAP_OPT_SUCCESS &&
		ldap_set_option(ld, LDAP_OPT_TIMEOUT, timeout) ==
		LDAP_OPT_SUCCESS;
}

static bool set_string_option(LDAP *ld, int option, const char *value)
{
	return value == NULL ||
		ldap_set_option(ld, option, value) == LDAP_OPT_SUCCESS;
}

/* libldap says only that it could not build the TLS context: name the
   file this process cannot read, as the plugin does. */
static char *tls_ctx_error(const struct mg_config *config)
{
	struct mg_error error;

	if (!mg_tls_file_readable(CHECK_TLS_CA_FILE, config->tls_ca_cert_file,
				  false, &error) ||
	    !mg_tls_file_readable(CHECK_TLS_CA_DIR, config->tls_ca_cert_dir,
				  true, &error) ||
	    !mg_tls_file_readable(CHECK_TLS_CERT_FILE, config->tls_cert_file,
				  false, &error) ||
	    !mg_tls_file_readable(CHECK_TLS_KEY_FILE, config->tls_key_file,
				  false, &error))
		return g_strdup_printf("can't load the TLS files: %s",
				       error.message);
	return g_strdup("can't load the TLS files: one of "CHECK_TLS_CA_FILE
			", "CHECK_TLS_CA_DIR", "CHECK_TLS_CERT_FILE", "
			CHECK_TLS_KEY_FILE" is not valid PEM, or the key does "
			"not match the certificate");
}

/* The TLS settings go on this handle only, and a fresh TLS context is
   built from them, so no library-wide default leaks in. Returns NULL on
   success. */
static char *set_tls_options(LDAP *ld, const struct mg_config *config)
{
	int require_cert = config->tls_require_cert, new_ctx = 0;

	if (!set_string_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
			       config->tls_ca_cert_file) ||
	    !set_string_option(ld, LDAP_OPT_X_TLS_CACERTDIR,
			       config->tls_ca_cert_dir) ||
	    !set_string_option(ld, LDAP_OPT_X_TLS_CERTFILE,
			       config->tls_cert_file) ||
	    !set_string_option(ld, LDAP_OPT_X_TLS_KEYFILE,
			       config->tls_key_file) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
			    &require_cert) != LDAP_OPT_SUCCESS)
		return g_strdup("can't set the TLS options");
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX,
			    &new_ctx) != LDAP_OPT_SUCCESS)
		return tls_ctx_error(config);
	return NULL;
}

/* "WHAT: <libldap's error>[: <the server's or libldap's diagnostic>]",
   worded as in the plugin's log. */
static char *ldap_error(LDAP *ld, const char *what, int err)
{
	char *diag = NULL, *error;

	(void)ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	error = g_strdup_printf("%s: %s%s%s", what, ldap_err2string(err),
				diag == NULL || diag[0] == '\0' ? "" : ": ",
				diag == NULL ? "" : mg_tls_diagnostic(diag));
	ldap_memfree(diag);
	return error;
}

/* The service bind: SASL EXTERNAL (the identity is the socket's peer or
   the TLS client certificate; the credentials carry the authorization
   id) or a simple bind as dn, anonymous without one. */
static char *service_bind(LDAP *ld, const struct mg_config *config)
{
	const char *secret = config->sasl_bind ? config->sasl_authz_id :
		config->dnpass;
	/* present even when empty: with no credentials at all a SASL
	   EXTERNAL bind is answered "SASL bind in progress" */
	struct berval cred = {
		secret == NULL ? 0 : strlen(secret),
		(char *)(secret == NULL ? "" : secret)
	};
	char *what, *error;
	int ret;

	if (config->sasl_bind) {
		ret = ldap_sasl_bind_s(ld, NULL, config->sasl_mech, &cred,
				       NULL, NULL, NULL);
		if (ret == LDAP_SUCCESS)
			return NULL;
		what = g_strdup_printf("bind as 'SASL %s' failed",
				       config->sasl_mech);
	} else {
		ret = ldap_sasl_bind_s(ld, config->dn, LDAP_SASL_SIMPLE, &cred,
				       NULL, NULL, NULL);
		if (ret == LDAP_SUCCESS)
			return NULL;
		/* the DN is named, never the password */
		what = g_strdup_printf("bind as '%s' failed",
				       config->dn == NULL ? "(anonymous)" :
				       config->dn);
	}
	error = ldap_error(ld, what, ret);
	g_free(what);
	return error;
}

/* Returns NULL on success, else why this URI did not do. */
static char *try_uri(struct check_ldap *ldap, const char *uri,
		     const struct mg_config *config)
{
	char *error;
	int ret;

	ret = ldap_initialize(&ldap->ld, uri);
	if (ret != LDAP_SUCCESS) {
		ldap->ld = NULL;
		return g_strdup_printf("ldap_initialize() failed: %s",
				       ldap_err2string(ret));
	}
	if (!set_options(ldap->ld, &ldap->timeout))
		return g_strdup("can't set connection options");
	/* as the plugin does: TLS files only where TLS is used, StartTLS
	   only on ldap:// */
	if (mg_tls_uri_uses_tls(config->tls, uri)) {
		error = set_tls_options(ldap->ld, config);
		if (error != NULL)
			return error;
	}
	if (mg_tls_uri_wants_starttls(config->tls, uri)) {
		ret = ldap_start_tls_s(ldap->ld, NULL, NULL);
		if (ret != LDAP_SUCCESS)
			return ldap_error(ldap->ld, "StartTLS failed", ret);
	}
	return service_bind(ldap->ld, config);
}

struct check_ldap *check_ldap_connect(const struct mg_config *config,
				      char **error_r)
{
	struct check_ldap *ldap = g_new0(struct check_ldap, 1);
	char **uris = g_strsplit_set(config->uris, " \t", -1);
	GString *errors = g_string_new(NULL);

	ldap->timeout.tv_sec = config->request_timeout_msecs / 1000;
	ldap->timeout.tv_usec = (config->request_timeout_msecs % 1000) * 1000;
	for (unsigned int i = 0; uris[i] != NULL && ldap->uri == NULL; i++) {
		char *error;

		if (uris[i][0] == '\0')
			continue;
		error = try_uri(ldap, uris[i], config);
		if (error == NULL) {
			ldap->uri = g_strdup(uris[i]);
			break;
		}
		g_string_append_printf(errors, "%s%s: %s",
				       errors->len > 0 ? "; " : "",
				       uris[i], error);
		g_free(error);
		if (ldap->ld != NULL)
			(void)ldap_unbind_ext_s(ldap->ld, NULL, NULL);
		ldap->ld = NULL;
	}
	g_strfreev(uris);
	if (ldap->uri == NULL) {
		*error_r = g_string_free(errors, FALSE);
		g_free(ldap);
		return NULL;
	}
	g_string_free(errors, TRUE);
	return ldap;
}

void check_ldap_close(struct check_ldap **_ldap)
{
	struct check_ldap *ldap = *_ldap;

	if (ldap == NULL)
		return;
	*_ldap = NULL;
	(void)ldap_unbind_ext_s(ldap->ld, NULL, NULL);
	g_free(ldap->uri);
	g_free(ldap);
}

const char *check_ldap_uri(const struct check_ldap *ldap)
{
	return ldap->uri;
}

/* Binary values are cut at their first NUL, as the plugin cuts them. */
static struct check_entry *copy_entry(LDAP *ld, LDAPMessage *msg)
{
	char *dn = ldap_get_dn(ld, msg), *name;
	struct check_entry *entry = check_entry_new(dn == NULL ? "" : dn);
	BerElement *ber = NULL;

	ldap_memfree(dn);
	for (name = ldap_first_attribute(ld, msg, &ber); name != NULL;
	     name = ldap_next_attribute(ld, msg, ber)) {
		struct berval **vals = ldap_get_values_len(ld, msg, name);

		for (int i = 0; vals != NULL && vals[i] != NULL; i++) {
			char *value = g_strndup(vals[i]->bv_val,
						vals[i]->bv_len);

			check_entry_add(entry, name, value);
			g_free(value);
		}
		ldap_value_free_len(vals);
		ldap_memfree(name);
	}
	ber_free(ber, 0);
	return entry;
}

bool check_ldap_search(struct check_ldap *ldap, const char *base,
		       enum mg_scope scope, const char *filter,
		       const char *const *attrs,
		       GPtrArray **entries_r, char **error_r)
{
	LDAPMessage *res = NULL, *msg;
	GPtrArray *entries;
	int ret;

	/* a size limit, a referral or any other partial answer could hide
	   the entry that matters: only success counts, as in the plugin */
	ret = ldap_search_ext_s(ldap->ld, base, (int)scope, filter,
				(char **)attrs, 0, NULL, NULL, &ldap->timeout,
				0, &res);
	if (ret != LDAP_SUCCESS) {
		*error_r = g_strdup_printf("search failed: %s",
					   ldap_err2string(ret));
		ldap_msgfree(res);
		return false;
	}
	entries = g_ptr_array_new_with_free_func(
		(GDestroyNotify)check_entry_free);
	for (msg = ldap_first_entry(ldap->ld, res); msg != NULL;
	     msg = ldap_next_entry(ldap->ld, msg))
		g_ptr_array_add(entries, copy_entry(ldap->ld, msg));
	ldap_msgfree(res);
	*entries_r = entries;
	return true;
}

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mg-tls.h"

/* what gnutls_strerror() says for a code that is not GnuTLS's */
#define MG_TLS_GNUTLS_UNKNOWN "(unknown error code)"

bool mg_tls_file_readable(const char *setting, const char *path, bool is_dir,
			  struct mg_error *error)
{
	int fd;

	if (path == NULL)
		return true;
	fd = open(path, O_RDONLY | (is_dir ? O_DIRECTORY : 0));
	if (fd < 0) {
		mg_error_set(error, "%s %s: %s", setting, path,
			     strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

const char *mg_tls_diagnostic(const char *diag)
{
	if (diag == NULL || strcmp(diag, MG_TLS_GNUTLS_UNKNOWN) != 0)
		return diag;
	return "the server certificate was refused: not signed by a CA of "
		"tls_ca_cert_file or tls_ca_cert_dir, expired or not yet "
		"valid, or not issued for the host name of the URI "
		"(libldap with GnuTLS does not say which)";
}

bool mg_tls_uri_wants_starttls(bool starttls, const char *uri)
{
	return starttls && strncasecmp(uri, "ldap://", 7) == 0;
}

bool mg_tls_uri_uses_tls(bool starttls, const char *uri)
{
	return mg_tls_uri_wants_starttls(starttls, uri) ||
		strncasecmp(uri, "ldaps://", 8) == 0;
}

#ifndef MG_TLS_H
#define MG_TLS_H

#include <stdbool.h>

#include "mg-error.h"

/* Which URIs use TLS, and naming the cause of TLS failures that libldap
   leaves vague; shared by the plugin and mailbox-guard-check. */

/* StartTLS (tls = yes) is for ldap:// URIs only: ldaps:// is TLS from the
   start and an ldapi:// socket never leaves the host. */
bool mg_tls_uri_wants_starttls(bool starttls, const char *uri);

/* Whether a connection to uri uses TLS at all, so needs the TLS files. */
bool mg_tls_uri_uses_tls(bool starttls, const char *uri);

/* libldap says only that it could not build a TLS context from the
   files. Returns false with "SETTING PATH: <errno text>" when the file
   (a directory with is_dir) cannot be opened for reading by this
   process. */
bool mg_tls_file_readable(const char *setting, const char *path, bool is_dir,
			  struct mg_error *error);

/* libldap's diagnostic message after a failed TLS handshake, or what it
   means: libldap built with GnuTLS (Debian's) overwrites its own message
   for a refused certificate (not from the configured CA, expired, or not
   for the URI's host name) with GnuTLS's text for a code it does not
   know. Returns diag itself or a static string. */
const char *mg_tls_diagnostic(const char *diag);

#endif

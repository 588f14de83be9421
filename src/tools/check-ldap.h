#ifndef CHECK_LDAP_H
#define CHECK_LDAP_H

/* The tool's one LDAP search, synchronous: the same servers, bind and
   timeouts as the plugin's settings give, and the same rule that only a
   search ending in success counts. */

#include <stdbool.h>
#include <glib.h>
#include "mg-config.h"

struct check_ldap;

/* Connects to the first of config's URIs that accepts the service bind
   (SASL EXTERNAL with sasl_bind, else dn/dnpass, else anonymous), after
   StartTLS with tls = yes and with config's TLS files. Returns NULL with *error_r (g_free() it)
   naming what each URI answered. */
struct check_ldap *check_ldap_connect(const struct mg_config *config,
				      char **error_r);
void check_ldap_close(struct check_ldap **ldap);

/* The URI that answered. */
const char *check_ldap_uri(const struct check_ldap *ldap);

/* Searches base with scope; attrs is NULL-terminated. On success
   *entries_r holds struct check_entry pointers (g_ptr_array_unref() frees
   them). Returns false with *error_r set otherwise. */
bool check_ldap_search(struct check_ldap *ldap, const char *base,
		       enum mg_scope scope, const char *filter, const char *const *attrs,
		       GPtrArray **entries_r, char **error_r);

#endif

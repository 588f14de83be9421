#ifndef MG_CONFIG_H
#define MG_CONFIG_H

/* The settings of one mailbox_guard settings file, validated. The file is
   read elsewhere (the plugin uses Dovecot's reader, which knows the line
   numbers); this module says, for each key = value, whether it is known and
   well-formed, and at the end whether the whole is usable. All strings are
   malloc-owned by the config and freed by mg_config_free(). */

#include <stdbool.h>
#include "mg-error.h"
#include "mg-classify.h"
#include "mg-exchange.h"

/* Numbered as the protocol numbers them (RFC 4511 4.5.1.2), which is
   also libldap's LDAP_SCOPE_*: callers pass the value on as it is. */
enum mg_scope {
	MG_SCOPE_BASE = 0,
	MG_SCOPE_ONELEVEL = 1,
	MG_SCOPE_SUBTREE = 2,
};

/* tls_require_cert, as libldap's LDAP_OPT_X_TLS_* values */
enum mg_tls_require_cert {
	MG_TLS_REQUIRE_NEVER = 0,
	MG_TLS_REQUIRE_HARD = 1,
	MG_TLS_REQUIRE_DEMAND = 2,
	MG_TLS_REQUIRE_ALLOW = 3,
	MG_TLS_REQUIRE_TRY = 4,
};

/* Where changes in the directory come from to keep the auth cache fresh */
enum mg_change_feed {
	MG_CHANGE_FEED_NO,
	/* RFC 4533 refreshAndPersist (OpenLDAP's syncprov) */
	MG_CHANGE_FEED_SYNCREPL,
	/* from the rootDSE's supportedControl: syncrepl, else ad-notify,
	   else none */
	MG_CHANGE_FEED_AUTO,
	/* Active Directory's change notification control
	   (1.2.840.113556.1.4.528), Samba's too */
	MG_CHANGE_FEED_AD_NOTIFY,
};

enum mg_refusal {
	MG_REFUSAL_FAILURE,
	MG_REFUSAL_TEMPFAIL,
};

struct mg_config {
	char *uris;
	char *dn;
	char *dnpass;
	char *base;
	enum mg_scope scope;
	char *pass_filter;
	char *user_filter;
	char *pass_attrs;
	char *user_attrs;
	char *iterate_filter;
	char *iterate_attrs;
	/* entries per page when the server offers paged results */
	unsigned int iterate_page_size;
	char *default_pass_scheme;
	bool auth_bind;
	char *auth_bind_userdn;

	bool tls;
	char *tls_ca_cert_file;
	char *tls_ca_cert_dir;
	char *tls_cert_file;
	char *tls_key_file;
	enum mg_tls_require_cert tls_require_cert;
	bool sasl_bind;
	char *sasl_mech;
	char *sasl_authz_id;

	enum mg_profile recipient_profile;
	char *custom_recipient_match;
	char *mailbox_match;
	enum mg_refusal custom_recipient_result;
	char *custom_recipient_reason;

	bool exchange_events;
	enum mg_diagnostics_level diagnostics_logging;
	/* NULL until set or derived from base by mg_config_finish() */
	char *nt_domain;
	char *exchange_org;
	char *exchange_site;
	char *mailbox_alias_attr;
	bool audit_only;

	unsigned int connections;
	enum mg_change_feed change_feed;
	/* the longest a feed server may stay silent before the feed counts
	   as down */
	unsigned int change_feed_timeout_msecs;
	unsigned int max_pending;
	unsigned int request_timeout_msecs;

	/* Built by mg_config_finish() from the profile and the filters. */
	struct mg_classifier *classifier;
};

/* Returns a config holding the defaults. */
struct mg_config *mg_config_new(void);
void mg_config_free(struct mg_config **config);

/* Applies one key = value. Returns false with error_r filled when the key
   is unknown or the value is not valid for it. */
bool mg_config_set(struct mg_config *config, const char *key,
		   const char *value, struct mg_error *error_r);

/* Checks what only the whole file can tell (required keys, combinations)
   and builds the classifier. Returns false with error_r filled. */
bool mg_config_finish(struct mg_config *config, struct mg_error *error_r);

#endif

#ifndef CHECK_SETTINGS_H
#define CHECK_SETTINGS_H

/* Where the tool gets the plugin's settings from, as the plugin does on
   the Dovecot it was built for: on 2.3 a settings file
   (check-settings-23.c), on 2.4 dovecot.conf through doveconf
   (check-settings-24.c). */

#include <stdbool.h>

/* The TLS files' settings, named as the admin wrote them (and as the
   plugin's log names them, mg-compat.h) */
/* The setting naming the domain added to a name without one */
#ifdef MG_CHECK_DOVECOT_24
#  define CHECK_DEFAULT_REALM_KEY "auth_default_domain"
#else
#  define CHECK_DEFAULT_REALM_KEY "auth_default_realm"
#endif

#ifdef MG_CHECK_DOVECOT_24
#  define CHECK_TLS_CA_FILE "ssl_client_ca_file"
#  define CHECK_TLS_CA_DIR "ssl_client_ca_dir"
#  define CHECK_TLS_CERT_FILE "ssl_client_cert_file"
#  define CHECK_TLS_KEY_FILE "ssl_client_key_file"
#else
#  define CHECK_TLS_CA_FILE "tls_ca_cert_file"
#  define CHECK_TLS_CA_DIR "tls_ca_cert_dir"
#  define CHECK_TLS_CERT_FILE "tls_cert_file"
#  define CHECK_TLS_KEY_FILE "tls_key_file"
#endif

#ifdef MG_CHECK_DOVECOT_24
#  define CHECK_SETTINGS_OPTION_HELP \
	"Not on Dovecot 2.4: its settings are dovecot.conf's"
#  define CHECK_DOVECOT_CONF_OPTION_HELP \
	"The dovecot.conf with the mailbox_guard settings and " \
	"auth_username_* (default: doveconf's)"
#else
#  define CHECK_SETTINGS_OPTION_HELP \
	"Settings file (default /etc/dovecot/mailbox-guard.conf)"
#  define CHECK_DOVECOT_CONF_OPTION_HELP \
	"The dovecot.conf whose auth_username_* settings apply " \
	"(default: doveconf's; \"\" for none)"
#endif

struct mg_config;
struct check_pass_attrs;

struct check_settings {
	struct mg_config *config;
	/* the attributes the passdb sets: 2.3's pass_attrs, 2.4's passdb
	   fields { } */
	struct check_pass_attrs *pass_attrs;
	/* the file they came from */
	char *source;
};

/* settings_path: -c's file, NULL when not given; dovecot_conf: as
   check_username_fix() takes it. Returns false with *error_r (g_free() it)
   naming the file or setting; no message quotes dnpass. The caller frees
   what set_r holds, on failure too. */
bool check_settings_load(const char *settings_path, const char *dovecot_conf,
			 struct check_settings *set_r, char **error_r);

#endif

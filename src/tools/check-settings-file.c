/* Dovecot 2.3: the settings file, loaded by the core exactly as the plugin
   loads it (src/core/mg-config-file.h): the same reader, the same checks
   of who can change each file, the same validation, so the tool accepts
   and refuses exactly what the plugin does. Its warnings go to stderr. */

#include <stdio.h>
#include <glib.h>
#include "mg-config-file.h"
#include "check-pass-attrs.h"
#include "check-settings.h"

#define DEFAULT_SETTINGS_PATH "/etc/dovecot/mailbox-guard.conf"

static void check_settings_warning(void *context G_GNUC_UNUSED,
				   enum mg_conf_warning warning,
				   const char *message)
{
	fprintf(stderr, "mailbox-guard-check: warning: %s\n", message);
	if (warning == MG_CONF_WARNING_ENV) {
		fprintf(stderr, "mailbox-guard-check: warning: the auth "
			"process sees only the variables dovecot.conf's "
			"import_environment passes it: the plugin may read "
			"another value there\n");
	}
}

bool check_settings_load(const char *settings_path,
			 const char *dovecot_conf G_GNUC_UNUSED,
			 struct check_settings *set_r, char **error_r)
{
	struct mg_error error;

	set_r->source = g_strdup(settings_path != NULL ? settings_path :
				 DEFAULT_SETTINGS_PATH);
	/* "Error in configuration file FILE line N: message", never a
	   quoted line (it may hold dnpass) */
	set_r->config = mg_config_load(set_r->source, check_settings_warning,
				       NULL, &error);
	if (set_r->config == NULL) {
		*error_r = g_strdup(error.message);
		return false;
	}
	set_r->pass_attrs = check_pass_attrs_parse(set_r->config->pass_attrs,
						   error_r);
	return set_r->pass_attrs != NULL;
}

/* The settings file, loaded by the core exactly as the plugin loads it. */

#include <stdio.h>
#include <glib.h>
#include "mg-config-file.h"
#include "check-settings-file.h"

void check_settings_warning(void *context G_GNUC_UNUSED,
			    enum mg_conf_warning warning, const char *message)
{
	fprintf(stderr, "mailbox-guard-check: warning: %s\n", message);
	if (warning == MG_CONF_WARNING_ENV) {
		fprintf(stderr, "mailbox-guard-check: warning: the auth "
			"process sees only the variables dovecot.conf's "
			"import_environment passes it: the plugin may read "
			"another value there\n");
	}
}

struct mg_config *check_settings_read(const char *path, char **error_r)
{
	struct mg_config *config;
	struct mg_error error;

	config = mg_config_load(path, check_settings_warning, NULL, &error);
	if (config == NULL)
		*error_r = g_strdup(error.message);
	return config;
}

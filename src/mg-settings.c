/* The settings file, loaded by the core (the same reader and checks as
   mailbox-guard-check), its warnings logged by Dovecot. */

#include "lib.h"
#include "mg-config-file.h"
#include "mg-settings.h"

static void mg_settings_warning(void *context ATTR_UNUSED,
				enum mg_conf_warning warning,
				const char *message)
{
	/* $ENV: warnings are for the tool: here the environment is the
	   auth process's own, which is what the value should come from */
	if (warning == MG_CONF_WARNING_ENV)
		return;
	i_warning("mailbox_guard: %s", message);
}

struct mg_config *mg_settings_read(const char *path, const char **error_r)
{
	struct mg_config *config;
	struct mg_error error;

	config = mg_config_load(path, mg_settings_warning, NULL, &error);
	if (config == NULL)
		*error_r = t_strdup(error.message);
	return config;
}

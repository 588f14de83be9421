/* The settings file, loaded by the core (the same reader and checks as
   mailbox-guard-check), its warnings logged by Dovecot. */

#include "auth-common.h"
#include "array.h"
#include "mg-config-file.h"
#include "mg-db.h"
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

struct mg_db *mg_db_get(const char *path)
{
	struct mg_config *config;
	struct mg_error error;
	struct mg_db *db;

	if (path == NULL || path[0] == '\0')
		i_fatal("mailbox_guard: args must be the path of a settings file");
	db = mg_db_find(path);
	if (db != NULL)
		return db;
	config = mg_config_load(path, mg_settings_warning, NULL, &error);
	if (config == NULL)
		i_fatal("mailbox_guard: %s", error.message);
	return mg_db_create(path, path, config);
}

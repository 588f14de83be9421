/* The settings file, read with Dovecot's reader, validated by the core. */

#include "lib.h"
#include "settings.h"
#include "mg-config.h"
#include "mg-settings.h"

#include <sys/stat.h>

static const char *
mg_settings_parse_line(const char *key, const char *value,
		       struct mg_config *config)
{
	struct mg_error error;

	if (!mg_config_set(config, key, value, &error))
		return t_strdup(error.message);
	return NULL;
}

/* dnpass opens the whole directory to whoever reads the file. */
static void mg_settings_check_secret(const char *path,
				     const struct mg_config *config)
{
	struct stat st;

	if (config->dnpass != NULL && stat(path, &st) == 0 &&
	    (st.st_mode & S_IROTH) != 0) {
		i_warning("mailbox_guard: %s holds dnpass but is readable by "
			  "every user (chmod o-r)", path);
	}
}

struct mg_config *mg_settings_read(const char *path, const char **error_r)
{
	struct mg_config *config;
	struct mg_error error;
	const char *read_error;

	config = mg_config_new();
	if (config == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "mailbox_guard: out of memory");
	/* Dovecot's reader names the file and the line in its errors. */
	if (!settings_read_nosection(path, mg_settings_parse_line, config,
				     &read_error)) {
		*error_r = read_error;
		mg_config_free(&config);
		return NULL;
	}
	if (!mg_config_finish(config, &error)) {
		*error_r = t_strdup_printf("Error in configuration file %s: %s",
					   path, error.message);
		mg_config_free(&config);
		return NULL;
	}
	mg_settings_check_secret(path, config);
	return config;
}

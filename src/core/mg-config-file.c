/* Loading the settings file: reader, validation, the dnpass rules. */

#include <stdlib.h>
#include <string.h>
#include "mg-file-trust.h"
#include "mg-config-file.h"

struct config_load {
	struct mg_config *config;
	mg_config_warning_t *warning;
	void *context;
	/* where dnpass was last set, to name it in errors */
	char *dnpass_path;
	unsigned int dnpass_line;
};

static void load_warning(void *context, enum mg_conf_warning warning,
			 const char *message)
{
	struct config_load *load = context;

	if (load->warning != NULL)
		load->warning(load->context, warning, message);
}

/* dnpass opens the directory to whoever reads the file that holds it. */
static bool load_dnpass(struct config_load *load, const char *path,
			unsigned int line, const struct stat *st,
			struct mg_error *error_r)
{
	const char *readers = mg_trust_readers(st);
	char *copy = strdup(path);

	if (copy == NULL) {
		mg_error_set(error_r, "out of memory");
		return false;
	}
	free(load->dnpass_path);
	load->dnpass_path = copy;
	load->dnpass_line = line;
	if (readers != NULL) {
		struct mg_error message;

		mg_error_set(&message, "%s holds dnpass but is readable by "
			     "%s (chmod go-r)", path, readers);
		load_warning(load, MG_CONF_WARNING_SECRET, message.message);
	}
	return true;
}

static bool load_setting(void *context, const char *path, unsigned int line,
			 const struct stat *st, const char *key,
			 const char *value, struct mg_error *error_r)
{
	struct config_load *load = context;

	if (!mg_config_set(load->config, key, value, error_r))
		return false;
	return strcmp(key, "dnpass") != 0 ||
		load_dnpass(load, path, line, st, error_r);
}

static const struct mg_conf_reader_callbacks load_callbacks = {
	.setting = load_setting,
	.warning = load_warning,
};

struct mg_config *mg_config_load(const char *path,
				 mg_config_warning_t *warning, void *context,
				 struct mg_error *error_r)
{
	struct config_load load = {
		.warning = warning,
		.context = context,
	};
	const struct mg_config *config;
	struct mg_error error;
	bool ok;

	load.config = mg_config_new();
	if (load.config == NULL) {
		mg_error_set(error_r, "out of memory");
		return NULL;
	}
	config = load.config;
	ok = mg_conf_read(path, &load_callbacks, &load, error_r);
	if (ok && config->dn != NULL && config->dnpass != NULL &&
	    config->dnpass[0] == '\0') {
		/* an empty password makes the bind unauthenticated */
		mg_error_set(error_r, "Error in configuration file %s line "
			     "%u: dnpass is empty but dn is set",
			     load.dnpass_path, load.dnpass_line);
		ok = false;
	} else if (ok && !mg_config_finish(load.config, &error)) {
		mg_error_set(error_r, "Error in configuration file %s: %s",
			     path, error.message);
		ok = false;
	}
	free(load.dnpass_path);
	if (!ok)
		mg_config_free(&load.config);
	return load.config;
}

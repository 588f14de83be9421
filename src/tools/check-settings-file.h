#ifndef CHECK_SETTINGS_FILE_H
#define CHECK_SETTINGS_FILE_H

/* Loads a mailbox_guard settings file with the plugin's own loader
   (src/core/mg-config-file.h): the same reader, the same checks of who can
   change each file, the same validation, so the tool accepts and refuses
   exactly what the plugin does. Its warnings go to stderr. */

#include "mg-conf-reader.h"

struct mg_config;

/* Returns the finished config, or NULL with *error_r (g_free() it) set to
   "Error in configuration file FILE line N: message" or without the line.
   No message ever quotes a line of the file, which may hold dnpass. */
struct mg_config *check_settings_read(const char *path, char **error_r);

/* Writes a warning of the loader to stderr (an mg_config_warning_t). */
void check_settings_warning(void *context, enum mg_conf_warning warning,
			    const char *message);

#endif

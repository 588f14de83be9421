#ifndef MG_CONFIG_FILE_H
#define MG_CONFIG_FILE_H

/* The settings file as the plugin and mailbox-guard-check both load it:
   read (mg-conf-reader.h, with its checks of who can change each file),
   each key validated (mg-config.h), the whole finished. One function, so
   the tool accepts, refuses and warns about exactly what the plugin
   does. */

#include "mg-config.h"
#include "mg-conf-reader.h"

/* message names the file (and the line where there is one); it never
   quotes a value, which may be dnpass. */
typedef void mg_config_warning_t(void *context, enum mg_conf_warning warning,
				 const char *message);

/* Returns the finished config (free with mg_config_free()), or NULL with
   error_r set to "Error in configuration file PATH[ line N]: ...".
   warning may be NULL. */
struct mg_config *mg_config_load(const char *path,
				 mg_config_warning_t *warning, void *context,
				 struct mg_error *error_r);

#endif

#ifndef MG_SETTINGS_H
#define MG_SETTINGS_H

/* Reads a settings file (dovecot-ldap.conf.ext syntax, read as Dovecot's
   own reader reads it: src/core/mg-conf-reader.h) into a validated
   struct mg_config, refusing a file, an included file or a directory on
   their way that anyone but root can change, and logging a warning for a
   file that holds dnpass and is readable by others. */

struct mg_config;

/* Returns the config (free with mg_config_free()), or NULL with error_r
   (data stack) naming the file and, where one is to blame, the line. */
struct mg_config *mg_settings_read(const char *path, const char **error_r);

#endif

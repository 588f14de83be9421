#ifndef MG_SETTINGS_H
#define MG_SETTINGS_H

/* Reads a settings file with Dovecot's own reader (dovecot-ldap.conf.ext
   syntax: key = value, # comments, \ continuations) into a validated
   struct mg_config. */

struct mg_config;

/* Returns the config (free with mg_config_free()), or NULL with error_r
   naming the file and, where one is to blame, the line. */
struct mg_config *mg_settings_read(const char *path, const char **error_r);

#endif

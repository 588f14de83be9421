#ifndef CHECK_SETTINGS_FILE_H
#define CHECK_SETTINGS_FILE_H

/* Reads a mailbox_guard settings file the way the plugin sees it (the
   syntax of dovecot-ldap.conf.ext) and has the core validate every
   setting, so the tool accepts and refuses exactly what the plugin does. */

struct mg_config;

/* Returns the finished config, or NULL with *error_r (g_free() it) set to
   "FILE line N: message" or "FILE: message". No message ever quotes a
   line of the file, which may hold dnpass. */
struct mg_config *check_settings_read(const char *path, char **error_r);

#endif

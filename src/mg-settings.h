#ifndef MG_SETTINGS_H
#define MG_SETTINGS_H

/* Dovecot 2.3: the settings file named by args (dovecot-ldap.conf.ext
   syntax, read as Dovecot's own reader reads it: src/core/mg-conf-reader.h)
   into a validated struct mg_config, refusing a file, an included file or
   a directory on their way that anyone but root can change, and logging a
   warning for a file that holds dnpass and is readable by others. */

struct mg_db;

/* Returns the db of the settings file at path, reading it the first time.
   A bad file stops the auth process with the file, the line and what is
   wrong. */
struct mg_db *mg_db_get(const char *path);

#endif

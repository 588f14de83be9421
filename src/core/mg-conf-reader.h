#ifndef MG_CONF_READER_H
#define MG_CONF_READER_H

/* Reads a settings file in the syntax of Dovecot 2.3's settings reader
   (lib-settings, which dovecot-ldap.conf.ext is read with), line for line
   as it does, so a file means the same here as it would to Dovecot's LDAP
   driver:
   - leading spaces and tabs are skipped; empty lines and lines starting
     with '#' are skipped (also in the middle of a continuation);
   - on each physical line a '#' outside quotes starts a comment (a '#'
     without a space or tab before it is warned about), then trailing
     spaces and tabs go;
   - a line then ending in a backslash continues: the backslash and the
     spaces before it are dropped and the parts joined with one space;
   - key = value (or key=value); a value wholly in double or single quotes
     loses them and its backslash escapes; an unquoted value has $ENV:NAME
     (at its start or after a space) replaced by the environment variable;
   - "!include PATTERN" and "!include_try PATTERN" read every file the
     glob matches (relative to the including file's directory), the last
     match first, then go on after the directive; _try ignores a pattern
     without matches and files it cannot open.
   Stricter than Dovecot, where Dovecot would silently read nothing:
   sections (name { ... }, whose keys Dovecot's reader drops), an
   !include split over continuation lines, an !include without a pattern,
   and an included path that is not a regular file are errors.

   Every file read, the first and each included one, must pass the checks
   of mg-file-trust.h, judged on the opened file. */

#include <stdbool.h>
#include <sys/stat.h>
#include "mg-error.h"

enum mg_conf_warning {
	/* a '#' with no space before it, taken as a comment */
	MG_CONF_WARNING_AMBIGUOUS_HASH,
	/* a value took $ENV:NAME from the reader's environment */
	MG_CONF_WARNING_ENV,
	/* a file holding a secret (dnpass) is readable by others; raised by
	   mg_config_load(), not by the reader */
	MG_CONF_WARNING_SECRET,
};

struct mg_conf_reader_callbacks {
	/* One key = value, from file path (whose fstat is st) at line.
	   Returns false with error_r set to stop the reading. */
	bool (*setting)(void *context, const char *path, unsigned int line,
			const struct stat *st, const char *key,
			const char *value, struct mg_error *error_r);
	/* Optional. message names the file and the line. */
	void (*warning)(void *context, enum mg_conf_warning warning,
			const char *message);
};

/* Returns false with error_r set to "Error in configuration file PATH
   line N: ..." (or without " line N" for the file as a whole), PATH being
   the file where the problem is, or the including file for a problem
   with an included one. */
bool mg_conf_read(const char *path,
		  const struct mg_conf_reader_callbacks *callbacks,
		  void *context, struct mg_error *error_r);

#endif

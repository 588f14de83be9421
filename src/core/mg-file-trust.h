#ifndef MG_FILE_TRUST_H
#define MG_FILE_TRUST_H

/* Whether a settings file can be changed by anyone but root. The file
   decides who logs in (audit_only, uris, the filters), so a file another
   user can write, or replace through a directory on its way, is as good
   as that user choosing the settings.

   The rules, as sshd's StrictModes but with root as the only trusted
   owner:
   - the file is a regular file owned by root, not writable by its group
     or by others;
   - every directory on the way to it (of the path as written and of the
     path with symbolic links resolved) is owned by root and not writable
     by group or others, unless it has the sticky bit (as /tmp has): there
     only an entry's owner (root, by the file rule) or the directory's
     owner (root) can rename or remove it;
   - a symbolic link on the way is owned by root.
   Nothing here allocates; messages go into the caller's mg_error. */

#include <stdbool.h>
#include <sys/stat.h>
#include "mg-error.h"

enum mg_trust {
	MG_TRUST_OK,
	MG_TRUST_NOT_REGULAR,
	MG_TRUST_NOT_ROOT_OWNED,
	MG_TRUST_GROUP_WRITABLE,
	MG_TRUST_OTHER_WRITABLE,
};

/* The file rule, on the stat of the opened file. */
enum mg_trust mg_trust_file(const struct stat *st);
/* The directory rule (a directory on the way to a settings file). */
enum mg_trust mg_trust_dir(const struct stat *st);
/* The symbolic link rule (lstat of a link on the way). */
enum mg_trust mg_trust_link(const struct stat *st);

/* Who besides root can read the file: NULL for nobody, else "its group",
   "every user". */
const char *mg_trust_readers(const struct stat *st);

/* Checks the opened file (its fstat in st) and every directory and link
   on the way to path. Returns false with error_r saying what is wrong
   and how to fix it (without naming path, which the caller does). */
bool mg_trust_path(const char *path, const struct stat *st,
		   struct mg_error *error_r);

#endif

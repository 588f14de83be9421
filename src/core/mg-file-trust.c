/* Who can change a settings file: the file, its directories, its links. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mg-file-trust.h"

static enum mg_trust trust_mode(const struct stat *st, bool sticky_ok)
{
	if (st->st_uid != 0)
		return MG_TRUST_NOT_ROOT_OWNED;
	if (sticky_ok && (st->st_mode & S_ISVTX) != 0)
		return MG_TRUST_OK;
	if ((st->st_mode & S_IWOTH) != 0)
		return MG_TRUST_OTHER_WRITABLE;
	if ((st->st_mode & S_IWGRP) != 0)
		return MG_TRUST_GROUP_WRITABLE;
	return MG_TRUST_OK;
}

enum mg_trust mg_trust_file(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return MG_TRUST_NOT_REGULAR;
	return trust_mode(st, false);
}

enum mg_trust mg_trust_dir(const struct stat *st)
{
	if (!S_ISDIR(st->st_mode))
		return MG_TRUST_NOT_REGULAR;
	return trust_mode(st, true);
}

enum mg_trust mg_trust_link(const struct stat *st)
{
	/* a link's own mode bits mean nothing; its owner may replace it in
	   a sticky directory */
	return st->st_uid == 0 ? MG_TRUST_OK : MG_TRUST_NOT_ROOT_OWNED;
}

const char *mg_trust_readers(const struct stat *st)
{
	if ((st->st_mode & S_IROTH) != 0)
		return "every user";
	if ((st->st_mode & S_IRGRP) != 0)
		return "its group";
	return NULL;
}

/* what (a subject such as "the file" or "directory /etc") failed how */
static bool trust_error(enum mg_trust trust, const char *what,
			const struct stat *st, struct mg_error *error_r)
{
	switch (trust) {
	case MG_TRUST_OK:
		return true;
	case MG_TRUST_NOT_REGULAR:
		mg_error_set(error_r, "%s is not a regular file", what);
		break;
	case MG_TRUST_NOT_ROOT_OWNED:
		mg_error_set(error_r, "%s is owned by uid %lu, not root: its "
			     "owner can change the settings (chown root)",
			     what, (unsigned long)st->st_uid);
		break;
	case MG_TRUST_GROUP_WRITABLE:
		mg_error_set(error_r, "%s is writable by its group, so the "
			     "group can change the settings (chmod g-w)", what);
		break;
	case MG_TRUST_OTHER_WRITABLE:
		mg_error_set(error_r, "%s is writable by every user, so anyone "
			     "can change the settings (chmod o-w)", what);
		break;
	}
	return false;
}

/* Every link and directory above path (which is absolute), and path
   itself when it is a link. */
static bool trust_chain(char *path, struct mg_error *error_r)
{
	char what[MG_ERROR_MAX / 2];
	struct stat st;
	char *slash;
	bool is_file = true;

	for (;;) {
		if (lstat(path, &st) < 0) {
			mg_error_set(error_r, "can't check %s: %s", path,
				     strerror(errno));
			return false;
		}
		if (S_ISLNK(st.st_mode)) {
			snprintf(what, sizeof(what), "symbolic link %s", path);
			if (!trust_error(mg_trust_link(&st), what, &st, error_r))
				return false;
		} else if (!is_file) {
			snprintf(what, sizeof(what), "directory %s", path);
			if (!trust_error(mg_trust_dir(&st), what, &st, error_r))
				return false;
		}
		is_file = false;
		if (strcmp(path, "/") == 0)
			return true;
		slash = strrchr(path, '/');
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

bool mg_trust_path(const char *path, const struct stat *st,
		   struct mg_error *error_r)
{
	char lexical[PATH_MAX * 2], resolved[PATH_MAX];
	size_t len;

	if (!trust_error(mg_trust_file(st), "the file", st, error_r))
		return false;
	if (path[0] == '/') {
		len = strlen(path);
		if (len >= sizeof(lexical))
			goto too_long;
		memcpy(lexical, path, len + 1);
	} else {
		if (getcwd(lexical, PATH_MAX) == NULL) {
			mg_error_set(error_r, "can't check the directories on "
				     "the way: getcwd() failed: %s",
				     strerror(errno));
			return false;
		}
		len = strlen(lexical);
		if (len + 1 + strlen(path) >= sizeof(lexical))
			goto too_long;
		lexical[len] = '/';
		strcpy(lexical + len + 1, path);
	}
	/* trailing slashes would make the walk judge the file as a
	   directory */
	while ((len = strlen(lexical)) > 1 && lexical[len - 1] == '/')
		lexical[len - 1] = '\0';
	if (!trust_chain(lexical, error_r))
		return false;
	if (realpath(path, resolved) == NULL) {
		mg_error_set(error_r, "can't check the directories on the "
			     "way: realpath() failed: %s", strerror(errno));
		return false;
	}
	return trust_chain(resolved, error_r);
too_long:
	mg_error_set(error_r, "path too long to check");
	return false;
}

#ifndef CHECK_USERNAME_H
#define CHECK_USERNAME_H

/* What Dovecot does to a login name before any passdb sees it:
   auth_default_realm is appended to a name without '@', each character is
   translated by auth_username_translation, checked against
   auth_username_chars, then auth_username_format (default %Lu, lower
   case; 2.4: %{user | lower}) rewrites the whole (2.4 calls the realm
   auth_default_domain). The settings come from doveconf, so the
   tool checks the name the plugin is really given. */

#include <stdbool.h>

struct check_username {
	/* the name the passdb gets (g_free() it) */
	char *user;
	/* plain words for the admin when the name changed or could not be
	   worked out (g_free() it), else NULL */
	char *note;
};

/* dovecot_conf: the dovecot.conf to ask doveconf about; NULL for
   doveconf's default, "" to read nothing (the name is taken as given).
   Returns false with *error_r (g_free() it) when Dovecot would refuse the
   name before any passdb is asked. */
bool check_username_fix(const char *dovecot_conf, const char *user,
			struct check_username *result_r, char **error_r);

#endif

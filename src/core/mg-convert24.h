#ifndef MG_CONVERT24_H
#define MG_CONVERT24_H

/* A Dovecot 2.3 settings file as the dovecot.conf settings that mean the
   same to the plugin's 2.4 build (mg-settings-info-24.c, mg-fields-24.c):
   the shared keys at the top level as mailbox_guard_*, the passdb's and
   the userdb's own keys in "passdb mailbox_guard { }" and
   "userdb mailbox_guard { }", pass_attrs and user_attrs as those blocks'
   fields { } with %{ldap:attr}, iterate_attrs as
   userdb_mailbox_guard_iterate_fields { }, and 2.3's %-variables in 2.4's
   syntax (%u -> %{user}, %n -> %{user | username}, %$ -> %{ldap:attr}, ...).
   The attribute maps are written out even where the 2.3 file relies on
   their defaults: on 2.4 the fields { } blocks have none.

   What has no 2.4 form is listed in problems ("KEY: why"), and the text
   gets a comment and a line "mailbox_guard_not_translated = KEY" there,
   which Dovecot 2.4 refuses as an unknown setting: a partial translation
   never starts as if it were the whole. A problem never quotes a value
   (it may be dnpass), only the part of it that has no translation. */

#include "mg-config-file.h"

struct mg_convert24_pair {
	const char *key, *value;
};

struct mg_convert24 {
	/* the dovecot.conf text, lines ending in '\n' */
	char *text;
	/* what could not be translated, one "KEY: why" each */
	char **problems;
	unsigned int problem_count;
};

/* Converts the pairs of a settings file in its order (a key given twice
   counts with its last value, as for the plugin). source, if not NULL,
   is named in the text's first comment. Returns false (only when out of
   memory) with error_r set; result_r is to be cleared either way. */
bool mg_convert24(const struct mg_convert24_pair *pairs, unsigned int count,
		  const char *source, struct mg_convert24 *result_r,
		  struct mg_error *error_r);
void mg_convert24_clear(struct mg_convert24 *result);

/* The settings file at path, loaded as the plugin loads it
   (mg-config-file.h: refused as it would refuse it), then converted.
   Returns false with error_r set when the file is refused. */
bool mg_convert24_file(const char *path, mg_config_warning_t *warning,
		       void *context, struct mg_convert24 *result_r,
		       struct mg_error *error_r);

#endif

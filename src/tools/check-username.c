/* Dovecot's fixing of the login name, as auth-request-fields.c does it. */

#include <string.h>
#include <glib.h>
#include "check-username.h"
#include "check-expand.h"
#include "check-settings.h"

struct username_settings {
	char *default_realm, *translation, *chars, *format;
};

static const char *const username_keys[] = {
	CHECK_DEFAULT_REALM_KEY, "auth_username_translation",
	"auth_username_chars", "auth_username_format",
};

/* "KEY = VALUE" in doveconf's output (2.4 quotes a value with a '#' or
   spaces at its ends, and refuses -h for keys that filters set too). */
static char *username_setting(char **lines, const char *key)
{
	size_t len = strlen(key);

	for (unsigned int i = 0; lines[i] != NULL; i++) {
		const char *value = lines[i] + len + 3;
		size_t vlen;

		if (strncmp(lines[i], key, len) != 0)
			continue;
		if (strcmp(lines[i] + len, " =") == 0)
			return g_strdup("");
		if (strncmp(lines[i] + len, " = ", 3) != 0)
			continue;
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			char *inner = g_strndup(value + 1, vlen - 2);
			char *unquoted = g_strcompress(inner);

			g_free(inner);
			return unquoted;
		}
		return g_strdup(value);
	}
	return NULL;
}

static void username_settings_free(struct username_settings *set)
{
	g_free(set->default_realm);
	g_free(set->translation);
	g_free(set->chars);
	g_free(set->format);
}

/* Runs doveconf once for the four settings; false with *note_r when it
   can't say. */
static bool username_settings_read(const char *dovecot_conf,
				   struct username_settings *set_r,
				   char **note_r)
{
	const char *argv[9] = { "doveconf" };
	char *out = NULL, *err = NULL, **lines;
	GError *gerror = NULL;
	unsigned int argc = 1;
	int status;
	bool ok;

	if (dovecot_conf != NULL) {
		argv[argc++] = "-c";
		argv[argc++] = dovecot_conf;
	}
	for (unsigned int i = 0; i < G_N_ELEMENTS(username_keys); i++)
		argv[argc++] = username_keys[i];
	ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
			  NULL, NULL, &out, &err, &status, &gerror) &&
		g_spawn_check_wait_status(status, &gerror);
	if (!ok) {
		*note_r = g_strdup_printf("could not ask doveconf what Dovecot "
			"does to login names (%s%s%s): the name is checked as "
			"given; Dovecot lowercases names unless "
			"auth_username_format says otherwise",
			gerror->message, err != NULL && *err != '\0' ? ": " : "",
			err != NULL ? g_strchomp(err) : "");
		g_error_free(gerror);
		g_free(out);
		g_free(err);
		return false;
	}
	lines = g_strsplit(out, "\n", -1);
	set_r->default_realm = username_setting(lines, username_keys[0]);
	set_r->translation = username_setting(lines, username_keys[1]);
	set_r->chars = username_setting(lines, username_keys[2]);
	set_r->format = username_setting(lines, username_keys[3]);
	ok = set_r->default_realm != NULL && set_r->translation != NULL &&
		set_r->chars != NULL && set_r->format != NULL;
	if (!ok) {
		username_settings_free(set_r);
		*note_r = g_strdup("doveconf printed less than asked: the name "
				   "is checked as given");
	}
	g_strfreev(lines);
	g_free(out);
	g_free(err);
	return ok;
}


/* translation, then chars: false with *error_r when a character is
   refused. */
static bool username_chars(const struct username_settings *set,
			   char *user, char **error_r)
{
	unsigned char map[256] = { 0 };

	/* a later pair for the same character wins, as in Dovecot's map */
	for (const char *t = set->translation; t[0] != '\0' && t[1] != '\0';
	     t += 2)
		map[(unsigned char)t[0]] = (unsigned char)t[1];
	for (unsigned char *p = (unsigned char *)user; *p != '\0'; p++) {
		if (map[*p] != 0)
			*p = map[*p];
		if (*set->chars != '\0' && strchr(set->chars, *p) == NULL) {
			*error_r = g_strdup_printf("Dovecot refuses this name "
				"before any passdb is asked: character 0x%02x is "
				"not in auth_username_chars", *p);
			return false;
		}
	}
	return true;
}

bool check_username_fix(const char *dovecot_conf, const char *user,
			struct check_username *result_r, char **error_r)
{
	struct username_settings set = { NULL, NULL, NULL, NULL };
	char *fixed, *formatted;

	result_r->note = NULL;
	if ((dovecot_conf != NULL && *dovecot_conf == '\0') ||
	    !username_settings_read(dovecot_conf, &set, &result_r->note)) {
		result_r->user = g_strdup(user);
		return true;
	}
	fixed = *set.default_realm != '\0' && strchr(user, '@') == NULL ?
		g_strconcat(user, "@", set.default_realm, NULL) :
		g_strdup(user);
	if (!username_chars(&set, fixed, error_r)) {
		g_free(fixed);
		username_settings_free(&set);
		return false;
	}
	formatted = *set.format == '\0' ? g_strdup(fixed) :
		check_expand_username_format(set.format, fixed);
	if (formatted == NULL) {
		result_r->note = g_strdup_printf("dovecot.conf's "
			"auth_username_format = %s changes the name in a way "
			"this tool does not reproduce: give it the name the "
			"passdb receives (see %%u in Dovecot's auth debug log)",
			set.format);
		formatted = g_strdup(fixed);
	} else if (*formatted == '\0') {
		*error_r = g_strdup("Dovecot refuses this name before any "
				    "passdb is asked: it becomes empty");
		g_free(formatted);
		g_free(fixed);
		username_settings_free(&set);
		return false;
	} else if (strcmp(formatted, user) != 0) {
		result_r->note = g_strdup_printf("Dovecot gives the passdb "
			"'%s', not '%s' (%s, auth_username_translation, "
			"auth_username_format = %s): checking '%s'", formatted,
			user, username_keys[0], set.format, formatted);
	}
	g_free(fixed);
	username_settings_free(&set);
	result_r->user = formatted;
	return true;
}

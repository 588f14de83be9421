/* Dovecot's fixing of the login name, as auth-request-fields.c does it. */

#include <string.h>
#include <glib.h>
#include "check-username.h"

struct username_settings {
	char *default_realm, *translation, *chars, *format;
};

static const char *const username_keys[] = {
	"auth_default_realm", "auth_username_translation",
	"auth_username_chars", "auth_username_format",
};

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
	argv[argc++] = "-h";
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
	ok = g_strv_length(lines) >= G_N_ELEMENTS(username_keys);
	if (ok) {
		set_r->default_realm = g_strdup(lines[0]);
		set_r->translation = g_strdup(lines[1]);
		set_r->chars = g_strdup(lines[2]);
		set_r->format = g_strdup(lines[3]);
	} else {
		*note_r = g_strdup("doveconf printed less than asked: the name "
				   "is checked as given");
	}
	g_strfreev(lines);
	g_free(out);
	g_free(err);
	return ok;
}

static void username_settings_free(struct username_settings *set)
{
	g_free(set->default_realm);
	g_free(set->translation);
	g_free(set->chars);
	g_free(set->format);
}

/* The formats the tool applies exactly: one variable (%u, %n, %d or
   their %{user}, %{username}, %{domain} names), with at most an L (lower
   case) or U (upper case) modifier. Returns NULL for any other. */
static char *username_format(const char *format, const char *user)
{
	GRegex *regex = g_regex_new("^%([LU]?)(?:([und])|\\{(user|username|"
				    "domain)\\})$", 0, 0, NULL);
	GMatchInfo *match;
	const char *at = strchr(user, '@');
	char *mod, *var, *value = NULL, *result;

	if (!g_regex_match(regex, format, 0, &match)) {
		g_match_info_free(match);
		g_regex_unref(regex);
		return NULL;
	}
	mod = g_match_info_fetch(match, 1);
	var = g_match_info_fetch(match, 2);
	if (*var == '\0') {
		g_free(var);
		var = g_match_info_fetch(match, 3);
	}
	if (strcmp(var, "u") == 0 || strcmp(var, "user") == 0)
		value = g_strdup(user);
	else if (strcmp(var, "n") == 0 || strcmp(var, "username") == 0)
		value = at == NULL ? g_strdup(user) : g_strndup(user, at - user);
	else
		value = g_strdup(at == NULL ? "" : at + 1);
	if (strcmp(mod, "L") == 0)
		result = g_ascii_strdown(value, -1);
	else if (strcmp(mod, "U") == 0)
		result = g_ascii_strup(value, -1);
	else
		result = g_strdup(value);
	g_free(value);
	g_free(var);
	g_free(mod);
	g_match_info_free(match);
	g_regex_unref(regex);
	return result;
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
		username_format(set.format, fixed);
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
			"'%s', not '%s' (auth_default_realm, "
			"auth_username_translation, auth_username_format = %s): "
			"checking '%s'", formatted, user, set.format, formatted);
	}
	g_free(fixed);
	username_settings_free(&set);
	result_r->user = formatted;
	return true;
}

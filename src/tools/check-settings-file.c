/* The settings file reader: key = value lines, # comments, quoted values,
   backslash continuations and !include, then the core's validation. */

#include <glob.h>
#include <string.h>
#include <glib.h>
#include "mg-config.h"
#include "check-settings-file.h"

/* deeper than any sane layout; stops an include loop */
#define CHECK_INCLUDE_MAX_DEPTH 16

static bool read_file(struct mg_config *config, const char *path,
		      unsigned int depth, char **error_r);

/* Cuts the line at a '#' that is outside quotes. */
static void strip_comment(char *line)
{
	char quote = '\0';

	for (char *p = line; *p != '\0'; p++) {
		if (quote != '\0') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == quote)
				quote = '\0';
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '#') {
			*p = '\0';
			return;
		}
	}
}

/* A value wholly in quotes loses them, and a backslash inside keeps the
   character after it literally; anything else is taken as written. */
static char *unquote_value(const char *value)
{
	size_t len = strlen(value);
	GString *str;

	if (len < 2 || (value[0] != '"' && value[0] != '\'') ||
	    value[len - 1] != value[0])
		return g_strdup(value);
	str = g_string_sized_new(len);
	for (size_t i = 1; i < len - 1; i++) {
		if (value[i] == '\\' && i + 1 < len - 1)
			i++;
		g_string_append_c(str, value[i]);
	}
	return g_string_free(str, FALSE);
}

/* !include and !include_try: a glob, relative to the including file's
   directory; _try makes "nothing matched" no error. */
static bool read_include(struct mg_config *config, const char *path,
			 unsigned int line_no, const char *directive,
			 unsigned int depth, char **error_r)
{
	bool try_only = g_str_has_prefix(directive, "!include_try");
	const char *pattern = directive + (try_only ? 12 : 8);
	char *dir, *full;
	glob_t matches;
	bool ok = true;
	int ret;

	pattern += strspn(pattern, " \t");
	if (depth >= CHECK_INCLUDE_MAX_DEPTH) {
		*error_r = g_strdup_printf("%s line %u: includes nested too "
					   "deep", path, line_no);
		return false;
	}
	dir = g_path_get_dirname(path);
	full = g_path_is_absolute(pattern) ? g_strdup(pattern) :
		g_build_filename(dir, pattern, NULL);
	ret = glob(full, GLOB_BRACE, NULL, &matches);
	if (ret == GLOB_NOMATCH && !try_only) {
		*error_r = g_strdup_printf("%s line %u: no file matches %s",
					   path, line_no, full);
		ok = false;
	} else if (ret != 0 && ret != GLOB_NOMATCH) {
		*error_r = g_strdup_printf("%s line %u: can't expand %s",
					   path, line_no, full);
		ok = false;
	}
	for (size_t i = 0; ok && ret == 0 && i < matches.gl_pathc; i++)
		ok = read_file(config, matches.gl_pathv[i], depth + 1, error_r);
	if (ret == 0)
		globfree(&matches);
	g_free(full);
	g_free(dir);
	return ok;
}

static bool parse_line(struct mg_config *config, const char *path,
		       unsigned int line_no, char *line, unsigned int depth,
		       char **error_r)
{
	struct mg_error error;
	char *key, *value;
	size_t key_len;
	bool ok;

	if (g_str_has_prefix(line, "!include"))
		return read_include(config, path, line_no, line, depth,
				    error_r);
	key_len = strcspn(line, " \t=");
	value = line + key_len;
	value += strspn(value, " \t");
	if (key_len == 0 || *value != '=') {
		*error_r = g_strdup_printf("%s line %u: expected key = value",
					   path, line_no);
		return false;
	}
	value++;
	value += strspn(value, " \t");
	key = g_strndup(line, key_len);
	value = unquote_value(value);
	ok = mg_config_set(config, key, value, &error);
	if (!ok) {
		*error_r = g_strdup_printf("%s line %u: %s", path, line_no,
					   error.message);
	}
	g_free(key);
	g_free(value);
	return ok;
}

/* One logical line (continuations joined) without its comment. */
static bool parse_logical_line(struct mg_config *config, const char *path,
			       unsigned int line_no, GString *line,
			       unsigned int depth, char **error_r)
{
	bool ok = true;

	strip_comment(line->str);
	g_strchomp(line->str);
	if (line->str[0] != '\0')
		ok = parse_line(config, path, line_no, line->str, depth,
				error_r);
	g_string_truncate(line, 0);
	return ok;
}

static bool parse_text(struct mg_config *config, const char *path,
		       char *text, unsigned int depth, char **error_r)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *pending = g_string_new(NULL);
	unsigned int first_line = 0;
	bool ok = true, continued = false;

	for (unsigned int i = 0; ok && lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]);
		size_t len = strlen(line);

		if (!continued) {
			first_line = i + 1;
			if (*line == '#')
				continue;
		}
		continued = len > 0 && line[len - 1] == '\\';
		g_string_append_len(pending, line, continued ? len - 1 : len);
		if (!continued)
			ok = parse_logical_line(config, path, first_line,
						pending, depth, error_r);
	}
	/* a continuation on the last line ends with the file */
	if (ok && continued)
		ok = parse_logical_line(config, path, first_line, pending,
					depth, error_r);
	g_string_free(pending, TRUE);
	g_strfreev(lines);
	return ok;
}

static bool read_file(struct mg_config *config, const char *path,
		      unsigned int depth, char **error_r)
{
	GError *gerror = NULL;
	char *text;
	bool ok;

	if (!g_file_get_contents(path, &text, NULL, &gerror)) {
		/* GLib's message names the file already */
		*error_r = g_strdup(gerror->message);
		g_error_free(gerror);
		return false;
	}
	ok = parse_text(config, path, text, depth, error_r);
	g_free(text);
	return ok;
}

struct mg_config *check_settings_read(const char *path, char **error_r)
{
	struct mg_config *config = mg_config_new();
	struct mg_error error;

	if (config == NULL) {
		*error_r = g_strdup("out of memory");
		return NULL;
	}
	if (!read_file(config, path, 0, error_r)) {
		mg_config_free(&config);
		return NULL;
	}
	if (!mg_config_finish(config, &error)) {
		*error_r = g_strdup_printf("%s: %s", path, error.message);
		mg_config_free(&config);
		return NULL;
	}
	return config;
}

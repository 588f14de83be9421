/* Dovecot 2.3's settings file syntax, read the way lib-settings reads it. */

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mg-file-trust.h"
#include "mg-conf-reader.h"

#define IS_WHITE(c) ((c) == ' ' || (c) == '\t')
#define WHITE " \t"

/* One open file. Included files are stacked on their includer and read
   before the rest of it, as Dovecot does. */
struct conf_input {
	struct conf_input *prev;
	FILE *file;
	char *path;
	unsigned int line;
	struct stat st;
};

struct conf_buf {
	char *data;
	size_t len, size;
};

struct conf_reader {
	const struct mg_conf_reader_callbacks *callbacks;
	void *context;
	struct conf_input *top;
	/* the physical lines of a continued line so far; continued is set
	   from the first backslash to the line that ends it */
	struct conf_buf joined;
	bool continued;
	struct mg_error *error;
};

static bool buf_append(struct conf_buf *buf, const char *data, size_t len)
{
	if (buf->len + len + 1 > buf->size) {
		size_t size = (buf->len + len + 1) * 2;
		char *data2 = realloc(buf->data, size);

		if (data2 == NULL)
			return false;
		buf->data = data2;
		buf->size = size;
	}
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return true;
}

static void conf_warning(struct conf_reader *reader,
			 enum mg_conf_warning warning, const char *text)
{
	struct mg_error message;

	if (reader->callbacks->warning == NULL)
		return;
	mg_error_set(&message, "Configuration file %s line %u: %s",
		     reader->top->path, reader->top->line, text);
	reader->callbacks->warning(reader->context, warning, message.message);
}

/* Sets the error at the current file and line (line 0: the whole file). */
static bool conf_error(struct conf_reader *reader, const char *path,
		       unsigned int line, const char *text)
{
	if (line == 0)
		mg_error_set(reader->error, "Error in configuration file %s: "
			     "%s", path, text);
	else
		mg_error_set(reader->error, "Error in configuration file %s "
			     "line %u: %s", path, line, text);
	return false;
}

static bool conf_error_here(struct conf_reader *reader, const char *text)
{
	return conf_error(reader, reader->top->path, reader->top->line, text);
}

static bool conf_out_of_memory(struct conf_reader *reader)
{
	return conf_error_here(reader, "out of memory");
}

/* Cuts line at a '#' outside quotes; a quote left open ends the search. */
static void conf_strip_comment(struct conf_reader *reader, char *line)
{
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '"' || *p == '\'') {
			char quote = *p;

			for (p++; *p != '\0' && *p != quote; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '\0')
				return;
		} else if (*p == '#') {
			/* p > line: a line starting with '#' never gets here */
			if (!IS_WHITE(p[-1])) {
				conf_warning(reader,
					MG_CONF_WARNING_AMBIGUOUS_HASH,
					"Ambiguous '#' character in line, "
					"treating it as comment. Add a space "
					"before it to remove this warning.");
			}
			*p = '\0';
			return;
		}
	}
}

/* Undoes backslash escapes in place; a backslash at the end is dropped. */
static void conf_unescape(char *str)
{
	char *dest = str;

	for (; *str != '\0'; str++) {
		if (*str == '\\' && *++str == '\0')
			break;
		*dest++ = *str;
	}
	*dest = '\0';
}

/* $ENV:NAME at the start of value or after a space or tab becomes the
   variable's value (nothing when unset); NAME runs to the next space, or
   to the end. Returns a malloc()ed string, NULL when out of memory. */
static char *conf_expand_env(struct conf_reader *reader, const char *value)
{
	struct conf_buf out = { NULL, 0, 0 };
	const char *p = value, *dollar;

	if (!buf_append(&out, "", 0))
		return NULL;
	while ((dollar = strchr(p, '$')) != NULL) {
		bool ok = buf_append(&out, p, dollar - p);

		if ((dollar == value || IS_WHITE(dollar[-1])) &&
		    strncmp(dollar, "$ENV:", 5) == 0) {
			const char *end = strchr(dollar, ' ');
			size_t name_len = end == NULL ? strlen(dollar + 5) :
				(size_t)(end - dollar - 5);
			char *name = strndup(dollar + 5, name_len);
			const char *env = name == NULL ? NULL : getenv(name);

			conf_warning(reader, MG_CONF_WARNING_ENV,
				     "value taken from $ENV: in the "
				     "environment of the reading process");
			ok = ok && name != NULL &&
				(env == NULL || buf_append(&out, env,
							   strlen(env)));
			free(name);
			if (end == NULL)
				return ok ? out.data : (free(out.data), NULL);
			p = end;
		} else {
			ok = ok && buf_append(&out, "$", 1);
			p = dollar + 1;
		}
		if (!ok) {
			free(out.data);
			return NULL;
		}
	}
	if (!buf_append(&out, p, strlen(p))) {
		free(out.data);
		return NULL;
	}
	return out.data;
}

static bool conf_open(struct conf_reader *reader, const char *path,
		      bool ignore_missing, bool first);

/* !include and !include_try: pattern relative to the including file. */
static bool conf_include(struct conf_reader *reader, const char *pattern,
			 bool try_only)
{
	struct conf_buf full = { NULL, 0, 0 };
	const char *slash = strrchr(reader->top->path, '/');
	glob_t matches;
	bool ok = true;
	int ret;

	if (*pattern == '\0')
		return conf_error_here(reader, "!include needs a file name");
	if (pattern[0] != '/' && slash != NULL &&
	    !buf_append(&full, reader->top->path,
			slash + 1 - reader->top->path))
		return conf_out_of_memory(reader);
	if (!buf_append(&full, pattern, strlen(pattern))) {
		free(full.data);
		return conf_out_of_memory(reader);
	}
	ret = glob(full.data, GLOB_BRACE, NULL, &matches);
	free(full.data);
	switch (ret) {
	case 0:
		break;
	case GLOB_NOMATCH:
		return try_only ? true : conf_error_here(reader, "No matches");
	case GLOB_NOSPACE:
		return conf_error_here(reader, "glob() failed: Not enough "
				       "memory");
	case GLOB_ABORTED:
		return conf_error_here(reader, "glob() failed: Read error");
	default:
		return conf_error_here(reader, "glob() failed: Unknown error");
	}
	/* stacked in order, so the last match is read first */
	for (size_t i = 0; ok && i < matches.gl_pathc; i++)
		ok = conf_open(reader, matches.gl_pathv[i], try_only, false);
	globfree(&matches);
	return ok;
}

/* Whether rest (what follows the key and its spaces) opens a section:
   "{" or "NAME {", with anything after the brace. */
static bool conf_is_section(const char *rest)
{
	if (*rest == '{')
		return true;
	rest += strcspn(rest, WHITE);
	rest += strspn(rest, WHITE);
	return *rest == '{';
}

static bool conf_setting(struct conf_reader *reader, const char *key,
			 char *value)
{
	struct conf_input *input = reader->top;
	size_t len = strlen(value);
	char *expanded = NULL;
	bool ok;

	if (len > 0 && (value[0] == '"' || value[0] == '\'') &&
	    value[len - 1] == value[0]) {
		/* a lone quote is an empty quoted value */
		value[len - 1] = '\0';
		value = len == 1 ? value + len - 1 : value + 1;
		conf_unescape(value);
	} else {
		expanded = conf_expand_env(reader, value);
		if (expanded == NULL)
			return conf_out_of_memory(reader);
		value = expanded;
	}
	ok = reader->callbacks->setting(reader->context, input->path,
					input->line, &input->st, key, value,
					reader->error);
	free(expanded);
	if (!ok) {
		struct mg_error message = *reader->error;

		return conf_error_here(reader, message.message);
	}
	return true;
}

/* One logical line: key = value, an !include, or an error. */
static bool conf_logical_line(struct conf_reader *reader, char *line,
			      bool continued)
{
	char *key = line, *rest = line + strcspn(line, WHITE "=");

	if (IS_WHITE(*rest)) {
		*rest++ = '\0';
		rest += strspn(rest, WHITE);
	}
	if (strcmp(key, "!include") == 0 || strcmp(key, "!include_try") == 0) {
		/* Dovecot's reader garbles the included file's first line
		   then */
		if (continued)
			return conf_error_here(reader, "!include can't be "
					       "continued over lines");
		return conf_include(reader, rest, key[8] == '_');
	}
	if (*rest == '=') {
		*rest++ = '\0';
		rest += strspn(rest, WHITE);
		return conf_setting(reader, key, rest);
	}
	if (strcmp(key, "}") == 0 && *rest == '\0')
		return conf_error_here(reader, "Unexpected '}'");
	if (conf_is_section(rest))
		return conf_error_here(reader, "sections ({ ... }) are not "
				       "supported here: write their settings "
				       "as plain key = value lines");
	return conf_error_here(reader, "Expecting '='");
}

static bool conf_physical_line(struct conf_reader *reader, char *line)
{
	size_t len;
	bool ok, continued;

	line += strspn(line, WHITE);
	if (*line == '#' || *line == '\0')
		return true;
	conf_strip_comment(reader, line);
	len = strlen(line);
	while (len > 0 && IS_WHITE(line[len - 1]))
		len--;
	line[len] = '\0';
	if (len > 0 && line[len - 1] == '\\') {
		len--;
		while (len > 0 && IS_WHITE(line[len - 1]))
			len--;
		reader->continued = true;
		if (!buf_append(&reader->joined, line, len) ||
		    !buf_append(&reader->joined, " ", 1))
			return conf_out_of_memory(reader);
		return true;
	}
	continued = reader->continued;
	if (continued) {
		if (!buf_append(&reader->joined, line, len))
			return conf_out_of_memory(reader);
		line = reader->joined.data;
	}
	ok = conf_logical_line(reader, line, continued);
	reader->joined.len = 0;
	reader->continued = false;
	return ok;
}

static bool conf_on_stack(struct conf_reader *reader, const char *path,
			  const struct stat *st)
{
	for (struct conf_input *input = reader->top; input != NULL;
	     input = input->prev) {
		if (strcmp(input->path, path) == 0 ||
		    (st != NULL && input->st.st_dev == st->st_dev &&
		     input->st.st_ino == st->st_ino))
			return true;
	}
	return false;
}

/* Opens path, checks who can change it and stacks it to be read next.
   first: the file named by the caller, not an include. */
static bool conf_open(struct conf_reader *reader, const char *path,
		      bool ignore_missing, bool first)
{
	struct conf_input *input;
	struct mg_error trust;
	struct stat st;
	char text[MG_ERROR_MAX * 2];
	int fd;

	if (!first && conf_on_stack(reader, path, NULL))
		goto recursive;
	/* O_NONBLOCK: a FIFO must not hang the reader; it is refused below */
	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (first) {
			snprintf(text, sizeof(text), "Can't open configuration "
				 "file %s: %s", path, strerror(errno));
			mg_error_set(reader->error, "%s", text);
			return false;
		}
		if (ignore_missing)
			return true;
		snprintf(text, sizeof(text), "Couldn't open include file %s: "
			 "%s", path, strerror(errno));
		return conf_error_here(reader, text);
	}
	if (fstat(fd, &st) < 0) {
		mg_error_set(&trust, "fstat() failed: %s", strerror(errno));
		goto untrusted;
	}
	if (!mg_trust_path(path, &st, &trust))
		goto untrusted;
	if (!first && conf_on_stack(reader, path, &st)) {
		close(fd);
		goto recursive;
	}
	input = calloc(1, sizeof(*input));
	if (input == NULL || (input->path = strdup(path)) == NULL ||
	    (input->file = fdopen(fd, "r")) == NULL) {
		if (input != NULL)
			free(input->path);
		free(input);
		close(fd);
		return first ? conf_error(reader, path, 0, "out of memory") :
			conf_out_of_memory(reader);
	}
	input->st = st;
	input->prev = reader->top;
	reader->top = input;
	return true;
recursive:
	snprintf(text, sizeof(text), "Recursive include file: %s", path);
	return conf_error_here(reader, text);
untrusted:
	close(fd);
	if (first)
		return conf_error(reader, path, 0, trust.message);
	snprintf(text, sizeof(text), "included file %s: %s", path,
		 trust.message);
	return conf_error_here(reader, text);
}

static void conf_pop(struct conf_reader *reader)
{
	struct conf_input *input = reader->top;

	reader->top = input->prev;
	fclose(input->file);
	free(input->path);
	free(input);
}

/* The physical line without its LF, or CR LF; a CR before the end of a
   file without a final newline goes too. */
static void conf_chomp(char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[len - 1] = '\0';
}

bool mg_conf_read(const char *path,
		  const struct mg_conf_reader_callbacks *callbacks,
		  void *context, struct mg_error *error_r)
{
	struct conf_reader reader = {
		.callbacks = callbacks,
		.context = context,
		.error = error_r,
	};
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	bool ok;

	ok = conf_open(&reader, path, false, true);
	while (ok && reader.top != NULL) {
		errno = 0;
		len = getline(&line, &size, reader.top->file);
		if (len < 0) {
			if (ferror(reader.top->file)) {
				ok = conf_error(&reader, reader.top->path, 0,
						"read failed");
				break;
			}
			conf_pop(&reader);
			continue;
		}
		reader.top->line++;
		conf_chomp(line, (size_t)len);
		ok = conf_physical_line(&reader, line);
	}
	while (reader.top != NULL)
		conf_pop(&reader);
	free(line);
	free(reader.joined.data);
	return ok;
}

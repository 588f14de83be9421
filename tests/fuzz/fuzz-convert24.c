/* Fuzz target: the 2.3 settings as Dovecot 2.4 settings (mg_convert24).

   The input is read as in fuzz-config.c: one "key = value" per line.
   Whatever the pairs, the text must be dovecot.conf that says what it
   means: lines of "key = value", "name {", "}" or comments, braces
   balanced, no 2.3 variable left outside comments and the password (every
   '%' starts a 2.4 "%{" or is a "%%"), and one "mailbox_guard_not_translated" line per
   problem, each problem a non-empty line of printable text. */

#include <ctype.h>
#include "fuzz.h"
#include "mg-convert24.h"

#define FUZZ_CONVERT24_MAX_PAIRS 64

static void check_line(const char *line, int *depth)
{
	const char *eq;

	while (*line == ' ')
		line++;
	if (*line == '\0' || *line == '#')
		return;
	if (strcmp(line, "}") == 0) {
		FUZZ_ASSERT(--*depth >= 0);
		return;
	}
	eq = strstr(line, " = ");
	if (eq == NULL) {
		size_t len = strlen(line);

		FUZZ_ASSERT(len > 2 && strcmp(line + len - 2, " {") == 0);
		++*depth;
		return;
	}
	FUZZ_ASSERT(eq > line);
	if (strncmp(line, "mailbox_guard_auth_dn_password = ", 33) == 0)
		return;
	/* "%%" only where 2.3 and 2.4 both take it as it is; a 2.4
	   expression runs to its first '}'; in the LDAP URLs "%XX" is an
	   escaped character for both */
	for (const char *p = strchr(eq, '%'); p != NULL; p = strchr(p, '%')) {
		if (strncmp(line, "mailbox_guard_uris = ", 21) == 0 &&
		    isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			p += 3;
			continue;
		}
		FUZZ_ASSERT(p[1] == '{' || p[1] == '%');
		if (p[1] == '%') {
			p += 2;
			continue;
		}
		p = strchr(p, '}');
		FUZZ_ASSERT(p != NULL);
	}
}

static void check_result(const struct mg_convert24 *result)
{
	char *text = fuzz_strndup((const uint8_t *)result->text,
				  strlen(result->text));
	unsigned int not_translated = 0;
	int depth = 0;
	char *line, *next;

	FUZZ_ASSERT(strlen(text) >= 2 &&
		    strcmp(text + strlen(text) - 2, "}\n") == 0);
	for (line = text; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		FUZZ_ASSERT(next != NULL);
		*next++ = '\0';
		for (const char *p = line; *p != '\0'; p++)
			FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
		if (strncmp(line, "mailbox_guard_not_translated = ", 31) == 0)
			not_translated++;
		check_line(line, &depth);
	}
	FUZZ_ASSERT(depth == 0);
	FUZZ_ASSERT(not_translated == result->problem_count);
	for (unsigned int i = 0; i < result->problem_count; i++) {
		const char *problem = result->problems[i];

		FUZZ_ASSERT(problem[0] != '\0' && strstr(problem, ": ") != NULL);
		for (const char *p = problem; *p != '\0'; p++)
			FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct mg_convert24_pair pairs[FUZZ_CONVERT24_MAX_PAIRS];
	struct mg_convert24 result;
	struct mg_error error;
	unsigned int count = 0;
	char *line, *next;

	for (line = text; line != NULL && count < FUZZ_CONVERT24_MAX_PAIRS;
	     line = next) {
		char *key, *value;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (!fuzz_split_line(line, &key, &value))
			continue;
		pairs[count].key = key;
		pairs[count].value = value;
		count++;
	}
	FUZZ_ASSERT(mg_convert24(pairs, count, "fuzz", &result, &error));
	check_result(&result);
	mg_convert24_clear(&result);
	FUZZ_ASSERT(result.text == NULL && result.problem_count == 0);
	free(text);
	return 0;
}

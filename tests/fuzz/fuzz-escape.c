/* Fuzz target: the filter and DN escapers, on arbitrary bytes.

   mg_escape_filter_value(): the output is printable ASCII without an
   unescaped '*', '(', ')' or lone '\'; put into "(uid=%s)" it parses as one
   equality leaf on uid whose canonical text is that very string, whose
   decoded value is the input, and which, when the local matcher takes it
   (printable ASCII, not only spaces), matches an entry whose uid is the
   input and nothing longer.

   mg_escape_dn_value(): the output is printable ASCII, none of RFC 4514's
   specials is left unescaped, no leading '#' or space and no trailing space
   stays bare, it decodes back to the input, and put into a DN it adds no
   RDN or attribute-value separator. */

#include "fuzz.h"
#include "mg-escape.h"
#include "mg-filter.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

static bool is_dn_special(char c)
{
	return strchr(",+\"\\<>;=", c) != NULL;
}

/* \XX -> byte; for the DN also \c -> c. Returns the decoded length, or
   (size_t)-1 when an escape is malformed. */
static size_t unescape(const char *src, bool dn, char *dst)
{
	size_t n = 0;

	for (const char *p = src; *p != '\0'; p++) {
		if (*p != '\\') {
			dst[n++] = *p;
			continue;
		}
		if (hex_digit(p[1]) >= 0 && hex_digit(p[2]) >= 0) {
			dst[n++] = (char)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
			p += 2;
		} else if (dn && p[1] != '\0' &&
			   (is_dn_special(p[1]) || p[1] == '#' || p[1] == ' ')) {
			dst[n++] = p[1];
			p++;
		} else {
			return (size_t)-1;
		}
	}
	return n;
}

static void check_filter_escape(const char *input, size_t size)
{
	char *escaped = fuzz_malloc(MG_ESCAPE_BUFSIZE(size));
	size_t len = mg_escape_filter_value(input, size, escaped);
	struct mg_error error;
	struct mg_filter *filter;
	const char *const *attrs;
	const char *rule;
	char *text, *decoded, *longer, *cstr;
	bool has_nul = memchr(input, '\0', size) != NULL;
	bool printable;

	FUZZ_ASSERT(len <= size * 3);
	FUZZ_ASSERT(strlen(escaped) == len);
	for (size_t i = 0; i < len; i++) {
		FUZZ_ASSERT(is_printable((unsigned char)escaped[i]));
		FUZZ_ASSERT(escaped[i] != '*' && escaped[i] != '(' &&
			    escaped[i] != ')');
		if (escaped[i] == '\\') {
			/* always two lower-case hex digits */
			FUZZ_ASSERT(strchr("0123456789abcdef", escaped[i + 1]) &&
				    escaped[i + 1] != '\0');
			FUZZ_ASSERT(strchr("0123456789abcdef", escaped[i + 2]) &&
				    escaped[i + 2] != '\0');
		}
	}
	decoded = fuzz_malloc(len + 1);
	FUZZ_ASSERT(unescape(escaped, false, decoded) == size);
	FUZZ_ASSERT(memcmp(decoded, input, size) == 0);
	free(decoded);

	text = fuzz_malloc(len + 8);
	snprintf(text, len + 8, "(uid=%s)", escaped);
	if (len + 7 > 64 * 1024) {
		/* past the parser's length limit: only the escaping counts */
		free(text);
		free(escaped);
		return;
	}
	filter = mg_filter_parse(text, &error);
	FUZZ_ASSERT(filter != NULL);
	/* the canonical text is rebuilt from the decoded tree with the same
	   escaper: equal text means one equality leaf holding the input */
	FUZZ_ASSERT(strcmp(mg_filter_text(filter), text) == 0);
	attrs = mg_filter_attrs(filter);
	FUZZ_ASSERT(attrs[0] != NULL && strcmp(attrs[0], "uid") == 0 &&
		    attrs[1] == NULL);

	/* The local matcher takes only printable ASCII with something
	   besides spaces (it compares as servers do, and they fold Unicode
	   and ignore spaces at the ends); then the input matches itself and
	   not itself and more. */
	printable = false;
	for (size_t i = 0; i < size; i++) {
		if ((unsigned char)input[i] < 0x20 ||
		    (unsigned char)input[i] >= 0x7f) {
			printable = false;
			break;
		}
		if (input[i] != ' ')
			printable = true;
	}
	FUZZ_ASSERT(mg_filter_check_local(filter, &error) == printable);
	FUZZ_ASSERT(!printable || !has_nul);
	cstr = fuzz_strndup((const uint8_t *)input, size);
	if (printable) {
		struct fuzz_attr attr = { "uid", FUZZ_VALUES(cstr) };
		struct fuzz_entry entry = { &attr, 1 };
		struct mg_entry_view view = fuzz_entry_view(&entry);

		FUZZ_ASSERT(mg_filter_match(filter, &view, &rule));
		FUZZ_ASSERT(strcmp(rule, text) == 0);

		longer = fuzz_malloc(size + 2);
		memcpy(longer, input, size);
		memcpy(longer + size, "x", 2);
		struct fuzz_attr attr2 = { "UID", FUZZ_VALUES(longer) };
		struct fuzz_entry entry2 = { &attr2, 1 };
		struct mg_entry_view view2 = fuzz_entry_view(&entry2);

		FUZZ_ASSERT(!mg_filter_match(filter, &view2, NULL));
		free(longer);
	}
	mg_filter_free(&filter);
	free(cstr);
	free(text);
	free(escaped);
}

static void check_dn_escape(const char *input, size_t size)
{
	char *escaped = fuzz_malloc(MG_ESCAPE_BUFSIZE(size));
	size_t len = mg_escape_dn_value(input, size, escaped);
	char *decoded;
	unsigned int separators = 0, equals = 0;

	FUZZ_ASSERT(len <= size * 3);
	FUZZ_ASSERT(strlen(escaped) == len);
	for (size_t i = 0; i < len; i++) {
		char c = escaped[i];

		FUZZ_ASSERT(is_printable((unsigned char)c));
		if (c == '\\') {
			FUZZ_ASSERT(i + 1 < len);
			i++;
			if (hex_digit(escaped[i]) >= 0) {
				FUZZ_ASSERT(i + 1 < len &&
					    hex_digit(escaped[i + 1]) >= 0);
				i++;
			}
			continue;
		}
		/* unescaped */
		FUZZ_ASSERT(!is_dn_special(c));
		if (i == 0)
			FUZZ_ASSERT(c != '#' && c != ' ');
		if (i == len - 1)
			FUZZ_ASSERT(c != ' ');
	}
	decoded = fuzz_malloc(len + 1);
	FUZZ_ASSERT(unescape(escaped, true, decoded) == size);
	FUZZ_ASSERT(memcmp(decoded, input, size) == 0);
	free(decoded);

	/* in a DN, the value adds no separator of its own */
	{
		size_t dn_size = len + 64;
		char *dn = fuzz_malloc(dn_size);

		snprintf(dn, dn_size, "uid=%s,ou=people,dc=example", escaped);
		for (const char *p = dn; *p != '\0'; p++) {
			if (*p == '\\') {
				p++;
				continue;
			}
			if (*p == ',' || *p == '+')
				separators++;
			else if (*p == '=')
				equals++;
		}
		FUZZ_ASSERT(separators == 2 && equals == 3);
		free(dn);
	}
	free(escaped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes, not NUL-terminated: an escaper reading past
	   len is caught by ASan */
	char *input = fuzz_malloc(size);

	memcpy(input, data, size);
	check_filter_escape(input, size);
	check_dn_escape(input, size);
	free(input);
	return 0;
}

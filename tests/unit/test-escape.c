#include <stdbool.h>
#include <string.h>
#include <glib.h>

#include "mg-escape.h"

#define CANARY 0xa5
#define CANARY_LEN 16

typedef size_t escape_func(const char *src, size_t len, char *dst);

/* Escapes into a buffer of exactly MG_ESCAPE_BUFSIZE(len) bytes followed
   by a canary, and fails the test if anything is written past the bound
   or the returned length disagrees with the string. */
static char *escape_checked(escape_func *escape, const char *src, size_t len)
{
	size_t size = MG_ESCAPE_BUFSIZE(len), ret, i;
	unsigned char *buf = g_malloc(size + CANARY_LEN);
	char *result;

	memset(buf, CANARY, size + CANARY_LEN);
	ret = escape(src, len, (char *)buf);
	g_assert_cmpuint(ret, <, size);
	g_assert_cmpuint(buf[ret], ==, '\0');
	g_assert_cmpuint(strlen((char *)buf), ==, ret);
	for (i = 0; i < CANARY_LEN; i++)
		g_assert_cmpuint(buf[size + i], ==, CANARY);
	result = g_strdup((char *)buf);
	g_free(buf);
	return result;
}

static void assert_filter_escape(const char *src, size_t len,
				 const char *expected)
{
	char *result = escape_checked(mg_escape_filter_value, src, len);

	g_assert_cmpstr(result, ==, expected);
	g_free(result);
}

static void assert_dn_escape(const char *src, size_t len, const char *expected)
{
	char *result = escape_checked(mg_escape_dn_value, src, len);

	g_assert_cmpstr(result, ==, expected);
	g_free(result);
}

/* Every backslash must start a lower-case \XX; returns the number of
   escapes so callers can also check how many there were. */
static unsigned int assert_well_formed_hex(const char *str)
{
	unsigned int count = 0;

	for (; *str != '\0'; str++) {
		if (*str != '\\')
			continue;
		g_assert_true(g_ascii_isxdigit(str[1]) &&
			      !g_ascii_isupper(str[1]));
		g_assert_true(g_ascii_isxdigit(str[2]) &&
			      !g_ascii_isupper(str[2]));
		str += 2;
		count++;
	}
	return count;
}

static void test_filter_plain(void)
{
	assert_filter_escape("", 0, "");
	assert_filter_escape("john.doe@example.com", 20,
			     "john.doe@example.com");
	assert_filter_escape("a b~=<>&|!:;,+\"#'", 17,
			     "a b~=<>&|!:;,+\"#'");
}

static void test_filter_metacharacters(void)
{
	assert_filter_escape("*", 1, "\\2a");
	assert_filter_escape("(", 1, "\\28");
	assert_filter_escape(")", 1, "\\29");
	assert_filter_escape("\\", 1, "\\5c");
	assert_filter_escape("a*b(c)d\\e", 9, "a\\2ab\\28c\\29d\\5ce");
	assert_filter_escape("*)(uid=*", 8, "\\2a\\29\\28uid=\\2a");
}

static void test_filter_nul_and_controls(void)
{
	assert_filter_escape("a\0b", 3, "a\\00b");
	assert_filter_escape("\0", 1, "\\00");
	assert_filter_escape("a\0", 2, "a\\00");
	assert_filter_escape("\n\r\t\x1f", 4, "\\0a\\0d\\09\\1f");
	assert_filter_escape("\x7f", 1, "\\7f");
}

static void test_filter_high_bytes(void)
{
	unsigned int c;

	for (c = 0x80; c <= 0xff; c++) {
		char src = (char)c;
		char *expected = g_strdup_printf("\\%02x", c);

		assert_filter_escape(&src, 1, expected);
		g_free(expected);
	}
	/* valid UTF-8 is escaped too: the value must be pure ASCII */
	assert_filter_escape("\xc3\xa9", 2, "\\c3\\a9");
	/* invalid UTF-8: lone continuation, truncated sequence, overlong */
	assert_filter_escape("\x80x", 2, "\\80x");
	assert_filter_escape("\xc3(", 2, "\\c3\\28");
	assert_filter_escape("\xc0\xaf", 2, "\\c0\\af");
	assert_filter_escape("\xff\xfe", 2, "\\ff\\fe");
}

static void test_filter_every_byte(void)
{
	unsigned int c;

	for (c = 0; c <= 0xff; c++) {
		char src = (char)c;
		char *result = escape_checked(mg_escape_filter_value, &src, 1);
		bool special = c < 0x20 || c >= 0x7f || c == '*' ||
			c == '(' || c == ')' || c == '\\';

		g_assert_null(strpbrk(result, "*()"));
		g_assert_cmpuint(assert_well_formed_hex(result), ==,
				 special ? 1 : 0);
		g_assert_cmpuint(strlen(result), ==, special ? 3 : 1);
		g_free(result);
	}
}

static void test_filter_large(void)
{
	const size_t len = 10 * 1024;
	char *src = g_malloc(len), *result;
	size_t i;

	memset(src, 0xff, len);
	result = escape_checked(mg_escape_filter_value, src, len);
	g_assert_cmpuint(strlen(result), ==, len * 3);
	g_assert_cmpuint(assert_well_formed_hex(result), ==, len);
	g_free(result);

	for (i = 0; i < len; i++)
		src[i] = (char)(i * 7 + 3);
	result = escape_checked(mg_escape_filter_value, src, len);
	g_assert_cmpuint(strlen(result), <=, len * 3);
	g_assert_cmpuint(strlen(result), >=, len);
	g_assert_null(strpbrk(result, "*()"));
	assert_well_formed_hex(result);
	g_free(result);
	g_free(src);
}

static void test_dn_specials(void)
{
	assert_dn_escape("", 0, "");
	assert_dn_escape("jdoe", 4, "jdoe");
	assert_dn_escape(",", 1, "\\,");
	assert_dn_escape("+", 1, "\\+");
	assert_dn_escape("\"", 1, "\\\"");
	assert_dn_escape("\\", 1, "\\\\");
	assert_dn_escape("<", 1, "\\<");
	assert_dn_escape(">", 1, "\\>");
	assert_dn_escape(";", 1, "\\;");
	assert_dn_escape("=", 1, "\\=");
	assert_dn_escape("a,ou=x+cn=y", 11, "a\\,ou\\=x\\+cn\\=y");
	/* filter metacharacters mean nothing in a DN */
	assert_dn_escape("*()", 3, "*()");
}

static void test_dn_leading_trailing(void)
{
	assert_dn_escape("#x", 2, "\\#x");
	assert_dn_escape("a#b#", 4, "a#b#");
	assert_dn_escape(" a", 2, "\\ a");
	assert_dn_escape("a ", 2, "a\\ ");
	assert_dn_escape(" ", 1, "\\ ");
	assert_dn_escape("  ", 2, "\\ \\ ");
	assert_dn_escape("   ", 3, "\\  \\ ");
	assert_dn_escape("a b", 3, "a b");
	assert_dn_escape(" #", 2, "\\ #");
	assert_dn_escape("# ", 2, "\\#\\ ");
}

static void test_dn_bytes(void)
{
	unsigned int c;

	assert_dn_escape("a\0b", 3, "a\\00b");
	assert_dn_escape("\0", 1, "\\00");
	assert_dn_escape("\n\x01", 2, "\\0a\\01");
	assert_dn_escape("\x7f", 1, "\\7f");
	for (c = 0x80; c <= 0xff; c++) {
		char src = (char)c;
		char *expected = g_strdup_printf("\\%02x", c);

		assert_dn_escape(&src, 1, expected);
		g_free(expected);
	}
	assert_dn_escape("\xc3(", 2, "\\c3(");
	assert_dn_escape("\xed\xa0\x80", 3, "\\ed\\a0\\80");
	/* a NUL at the end is not a trailing space but still escaped */
	assert_dn_escape(" \0", 2, "\\ \\00");
}

static void test_dn_large(void)
{
	const size_t len = 10 * 1024;
	char *src = g_malloc(len), *result;

	memset(src, ',', len);
	result = escape_checked(mg_escape_dn_value, src, len);
	g_assert_cmpuint(strlen(result), ==, len * 2);
	g_free(result);

	memset(src, 0x80, len);
	result = escape_checked(mg_escape_dn_value, src, len);
	g_assert_cmpuint(strlen(result), ==, len * 3);
	g_free(result);

	memset(src, ' ', len);
	result = escape_checked(mg_escape_dn_value, src, len);
	g_assert_cmpuint(strlen(result), ==, len + 2);
	g_free(result);
	g_free(src);
}

static char *log_text(const char *text)
{
	char *copy = g_strdup(text);
	size_t len = mg_escape_log_text(copy);

	g_assert_cmpuint(len, ==, strlen(copy));
	g_assert_true(mg_escape_is_log_safe(copy));
	return copy;
}

static void test_log_controls(void)
{
	/* every C0 control, DEL, a C1 control (NEL) and the Unicode line
	   and paragraph separators: each character one '?' */
	char *out = log_text("a\r\nb\tc\x1b[31md\x7f"
			     "e\xc2\x85" "f\xe2\x80\xa8g\xe2\x80\xa9h");
	g_assert_cmpstr(out, ==, "a??b?c?[31md?e?f?g?h");
	g_free(out);
	for (unsigned int c = 1; c < 0x20; c++) {
		char in[4] = { 'x', (char)c, 'y', '\0' };

		g_assert_false(mg_escape_is_log_safe(in));
		out = log_text(in);
		g_assert_cmpstr(out, ==, "x?y");
		g_free(out);
	}
}

static void test_log_utf8(void)
{
	char *out;

	/* valid UTF-8 stays as it is */
	g_assert_true(mg_escape_is_log_safe("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7"));
	out = log_text("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7");
	g_assert_cmpstr(out, ==, "J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7");
	g_free(out);
	/* stray continuation, overlong, surrogate, past U+10FFFF, cut
	   short: each byte that starts no valid sequence is one '?' */
	out = log_text("a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80" "e\xe2\x82");
	g_assert_cmpstr(out, ==, "a?b??c???d????e??");
	g_free(out);
	g_assert_true(mg_escape_is_log_safe(""));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/escape/filter/plain", test_filter_plain);
	g_test_add_func("/escape/filter/metacharacters",
			test_filter_metacharacters);
	g_test_add_func("/escape/filter/nul-and-controls",
			test_filter_nul_and_controls);
	g_test_add_func("/escape/filter/high-bytes", test_filter_high_bytes);
	g_test_add_func("/escape/filter/every-byte", test_filter_every_byte);
	g_test_add_func("/escape/filter/large", test_filter_large);
	g_test_add_func("/escape/dn/specials", test_dn_specials);
	g_test_add_func("/escape/dn/leading-trailing",
			test_dn_leading_trailing);
	g_test_add_func("/escape/dn/bytes", test_dn_bytes);
	g_test_add_func("/escape/dn/large", test_dn_large);
	g_test_add_func("/escape/log/controls", test_log_controls);
	g_test_add_func("/escape/log/utf8", test_log_utf8);
	return g_test_run();
}

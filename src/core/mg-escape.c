#include <stdbool.h>

#include "mg-escape.h"

static const char hex_digits[] = "0123456789abcdef";

static char *put_hex(char *dst, unsigned char c)
{
	*dst++ = '\\';
	*dst++ = hex_digits[c >> 4];
	*dst++ = hex_digits[c & 0x0f];
	return dst;
}

/* Bytes outside printable ASCII are hex-escaped in both syntaxes, so that
   NUL cannot cut a string short and invalid UTF-8 cannot reach the
   server or the logs. */
static bool is_unprintable(unsigned char c)
{
	return c < 0x20 || c >= 0x7f;
}

static bool is_filter_special(unsigned char c)
{
	return c == '*' || c == '(' || c == ')' || c == '\\';
}

static bool is_dn_special(unsigned char c)
{
	switch (c) {
	case ',':
	case '+':
	case '"':
	case '\\':
	case '<':
	case '>':
	case ';':
	case '=':
		return true;
	default:
		return false;
	}
}

size_t mg_escape_filter_value(const char *src, size_t len, char *dst)
{
	char *p = dst;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (is_unprintable(c) || is_filter_special(c))
			p = put_hex(p, c);
		else
			*p++ = (char)c;
	}
	*p = '\0';
	return (size_t)(p - dst);
}

/* '#' only means "BER-encoded value" at the start, and spaces are only
   trimmed at the ends, so those need escaping only there. */
static bool dn_needs_backslash(const char *src, size_t len, size_t i)
{
	unsigned char c = (unsigned char)src[i];

	if (is_dn_special(c))
		return true;
	if (i == 0 && (c == '#' || c == ' '))
		return true;
	return i == len - 1 && c == ' ';
}

size_t mg_escape_dn_value(const char *src, size_t len, char *dst)
{
	char *p = dst;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (is_unprintable(c)) {
			p = put_hex(p, c);
		} else if (dn_needs_backslash(src, len, i)) {
			*p++ = '\\';
			*p++ = (char)c;
		} else {
			*p++ = (char)c;
		}
	}
	*p = '\0';
	return (size_t)(p - dst);
}

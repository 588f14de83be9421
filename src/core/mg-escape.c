#include <stdbool.h>
#include <string.h>

#include "mg-escape.h"

static const char hex_digits[] = "0123456789abcdef";

int mg_escape_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

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

/* The length of the valid UTF-8 sequence at s (at most len bytes) and its
   code point, or 0 when s starts no valid sequence. */
static size_t utf8_sequence(const unsigned char *s, size_t len,
			    unsigned int *cp_r)
{
	unsigned char lo = 0x80, hi = 0xbf;
	unsigned int cp;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2; cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3; cp = s[0] & 0x0f;
		/* no overlong forms, no surrogates */
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4; cp = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*cp_r = cp;
	return n;
}

/* Characters a log reader may take as the end of a line or as a
   terminal command: C0 and C1 controls, DEL, and the Unicode line and
   paragraph separators. */
static bool is_log_control(unsigned int cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		cp == 0x2028 || cp == 0x2029;
}

size_t mg_escape_log_text(char *text)
{
	const unsigned char *src = (const unsigned char *)text;
	size_t len = strlen(text), i = 0, n;
	char *p = text;
	unsigned int cp;

	while (i < len) {
		n = utf8_sequence(src + i, len - i, &cp);
		if (n == 0 || is_log_control(cp)) {
			*p++ = '?';
			i += n == 0 ? 1 : n;
		} else {
			memmove(p, src + i, n);
			p += n;
			i += n;
		}
	}
	*p = '\0';
	return (size_t)(p - text);
}

bool mg_escape_is_log_safe(const char *text)
{
	const unsigned char *src = (const unsigned char *)text;
	size_t len = strlen(text), i = 0, n;
	unsigned int cp;

	while (i < len) {
		n = utf8_sequence(src + i, len - i, &cp);
		if (n == 0 || is_log_control(cp))
			return false;
		i += n;
	}
	return true;
}

/* Value comparison under LDAP matching rules. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mg-escape.h"
#include "mg-schema.h"
#include "mg-match.h"

/* A string read through RFC 4518's insignificant space handling: leading
   and trailing spaces skipped, each inner run of spaces read as one. */
struct norm_iter {
	const char *p, *end;
	bool fold;
};

static unsigned char fold_char(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static void norm_iter_init(struct norm_iter *it, const char *str, size_t len,
			   bool fold)
{
	it->p = str;
	it->end = str + len;
	it->fold = fold;
	while (it->p < it->end && *it->p == ' ')
		it->p++;
	while (it->end > it->p && it->end[-1] == ' ')
		it->end--;
}

static bool norm_iter_next(struct norm_iter *it, unsigned char *c_r)
{
	if (it->p == it->end)
		return false;
	if (*it->p == ' ') {
		while (*it->p == ' ')
			it->p++;
		*c_r = ' ';
		return true;
	}
	*c_r = it->fold ? fold_char((unsigned char)*it->p) :
		(unsigned char)*it->p;
	it->p++;
	return true;
}

size_t mg_match_string_normalize(const char *in, size_t len, bool fold,
				 char *out)
{
	struct norm_iter it;
	unsigned char c;
	size_t n = 0;

	norm_iter_init(&it, in, len, fold);
	while (norm_iter_next(&it, &c))
		out[n++] = (char)c;
	out[n] = '\0';
	return n;
}

/* Reads piece from it; on a match it is left after the piece. */
static bool norm_iter_take(struct norm_iter *it, const struct mg_value *piece)
{
	struct norm_iter copy = *it;
	unsigned char c;

	for (size_t i = 0; i < piece->len; i++) {
		if (!norm_iter_next(&copy, &c) ||
		    c != (unsigned char)piece->data[i])
			return false;
	}
	*it = copy;
	return true;
}

bool mg_match_string_equal(const char *value, const struct mg_value *norm,
			   bool fold)
{
	struct norm_iter it;
	unsigned char c;

	norm_iter_init(&it, value, strlen(value), fold);
	return norm_iter_take(&it, norm) && !norm_iter_next(&it, &c);
}

/* Moves it past the leftmost occurrence of piece: the leftmost leaves
   the most room for the pieces after it. */
static bool norm_iter_find(struct norm_iter *it, const struct mg_value *piece)
{
	unsigned char c;

	for (;;) {
		if (norm_iter_take(it, piece))
			return true;
		if (!norm_iter_next(it, &c))
			return false;
	}
}

static bool norm_iter_ends_with(struct norm_iter *it,
				const struct mg_value *piece)
{
	unsigned char c;

	for (;;) {
		struct norm_iter copy = *it;

		if (norm_iter_take(&copy, piece) && !norm_iter_next(&copy, &c))
			return true;
		if (!norm_iter_next(it, &c))
			return false;
	}
}

bool mg_match_string_substrings(const char *value,
				const struct mg_value *pieces,
				unsigned int count, bool fold)
{
	struct norm_iter it;

	norm_iter_init(&it, value, strlen(value), fold);
	if (!norm_iter_take(&it, &pieces[0]))
		return false;
	for (unsigned int i = 1; i + 1 < count; i++) {
		if (!norm_iter_find(&it, &pieces[i]))
			return false;
	}
	return norm_iter_ends_with(&it, &pieces[count - 1]);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool mg_match_integer_valid(const char *str, size_t len)
{
	size_t i = 0;

	if (len == 1 && str[0] == '0')
		return true;
	if (len > 0 && str[0] == '-')
		i++;
	if (i == len || str[i] == '0')
		return false;
	for (; i < len; i++) {
		if (!is_digit(str[i]))
			return false;
	}
	return true;
}

/* Sign first, then magnitude by length and digits, so that numbers of
   any length compare without overflow. Leading zeros are skipped: a
   server's values never have them, but comparing them right costs
   nothing. */
int mg_match_integer_compare(const char *a, size_t a_len,
			     const char *b, size_t b_len)
{
	int a_sign = a_len > 0 && a[0] == '-' ? -1 : 1;
	int b_sign = b_len > 0 && b[0] == '-' ? -1 : 1;
	int ret;

	if (a_sign < 0) {
		a++;
		a_len--;
	}
	if (b_sign < 0) {
		b++;
		b_len--;
	}
	while (a_len > 0 && a[0] == '0') {
		a++;
		a_len--;
	}
	while (b_len > 0 && b[0] == '0') {
		b++;
		b_len--;
	}
	if (a_len == 0)
		a_sign = 0;
	if (b_len == 0)
		b_sign = 0;
	if (a_sign != b_sign)
		return a_sign < b_sign ? -1 : 1;
	if (a_len != b_len)
		ret = a_len < b_len ? -1 : 1;
	else
		ret = memcmp(a, b, a_len);
	return a_sign < 0 ? -ret : ret;
}

/* A decimal integer as 64 bits, two's complement for negative ones (how
   AD and slapd apply the bit rules). False when it is not an integer or
   does not fit. */
static bool parse_bits(const char *str, uint64_t *bits_r)
{
	size_t len = strlen(str), i = 0;
	bool negative = false;
	uint64_t n = 0;

	if (!mg_match_integer_valid(str, len))
		return false;
	if (str[0] == '-') {
		negative = true;
		i++;
	}
	for (; i < len; i++) {
		unsigned int digit = (unsigned int)(str[i] - '0');

		if (n > (UINT64_MAX - digit) / 10)
			return false;
		n = n * 10 + digit;
	}
	if (negative) {
		if (n > (uint64_t)INT64_MAX + 1)
			return false;
		n = ~n + 1;
	}
	*bits_r = n;
	return true;
}

bool mg_match_bits_valid(const char *assertion, size_t len)
{
	uint64_t bits;

	return len > 0 && assertion[0] != '-' &&
		strlen(assertion) == len && parse_bits(assertion, &bits);
}

bool mg_match_bits(const char *value, const char *assertion, bool all)
{
	uint64_t v, a;

	if (!parse_bits(value, &v) || !parse_bits(assertion, &a))
		return false;
	return all ? (v & a) == a : (v & a) != 0;
}

static bool is_type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		is_digit(c) || c == '-' || c == '.';
}

/* RFC 4514's specials: what a value may only hold escaped. */
static bool is_dn_special(char c)
{
	return strchr(",+\"\\<>;=#", c) != NULL || (unsigned char)c < 0x20;
}

struct dn_parser {
	const char *p, *end;
	char *out;
	size_t n;
	bool strict;
	const char *why;
};

static void dn_skip_spaces(struct dn_parser *d)
{
	while (d->p < d->end && *d->p == ' ')
		d->p++;
}

static bool dn_parse_type(struct dn_parser *d)
{
	const char *start = d->p;
	const struct mg_schema_attr *attr;
	char type[128];
	size_t len;

	while (d->p < d->end && is_type_char(*d->p))
		d->p++;
	len = (size_t)(d->p - start);
	if (len == 0) {
		d->why = "an RDN has no attribute type";
		return false;
	}
	if (len >= sizeof(type)) {
		d->why = "an RDN's attribute type is too long";
		return false;
	}
	if (d->strict && is_digit(start[0])) {
		d->why = "an RDN's type is a numeric OID, not a name";
		return false;
	}
	memcpy(type, start, len);
	type[len] = '\0';
	/* servers compare the types, not their spelling */
	attr = mg_schema_attr_find(type);
	if (attr != NULL && strlen(attr->name) <= MG_SCHEMA_NAME_MAX) {
		start = attr->name;
		len = strlen(start);
	}
	for (size_t i = 0; i < len; i++)
		d->out[d->n++] = (char)fold_char((unsigned char)start[i]);
	d->out[d->n++] = '=';
	return true;
}

/* Reads one unescaped byte of a value into *c_r; false at its end. */
static bool dn_value_byte(struct dn_parser *d, char *c_r)
{
	int high, low;

	if (d->p == d->end || *d->p == ',' || *d->p == '+' || *d->p == ';')
		return false;
	if (*d->p != '\\') {
		*c_r = *d->p++;
		return true;
	}
	if (d->p + 1 == d->end)
		return false;
	high = mg_escape_hex_value(d->p[1]);
	low = d->p + 2 < d->end ? mg_escape_hex_value(d->p[2]) : -1;
	if (high >= 0 && low >= 0) {
		*c_r = (char)(high * 16 + low);
		d->p += 3;
	} else {
		*c_r = d->p[1];
		d->p += 2;
	}
	return true;
}

static bool dn_parse_value(struct dn_parser *d)
{
	char *raw = d->out + d->n, *norm;
	size_t raw_len = 0, norm_len;
	char c;

	if (d->p < d->end && *d->p == '#' && d->strict) {
		d->why = "a value is in '#' BER form";
		return false;
	}
	if (d->p < d->end && *d->p == '"') {
		d->why = "a value is quoted";
		return false;
	}
	/* Decoded in place at the end of out, normalized just after it,
	   then escaped back where it started: out has room for both. */
	while (dn_value_byte(d, &c))
		raw[raw_len++] = c;
	norm = raw + raw_len;
	norm_len = mg_match_string_normalize(raw, raw_len, true, norm);
	memmove(raw + 2 * norm_len, norm, norm_len);
	norm = raw + 2 * norm_len;
	for (size_t i = 0; i < norm_len; i++) {
		if (is_dn_special(norm[i])) {
			static const char hex[] = "0123456789abcdef";
			unsigned char u = (unsigned char)norm[i];

			d->out[d->n++] = '\\';
			d->out[d->n++] = hex[u >> 4];
			d->out[d->n++] = hex[u & 15];
		} else {
			d->out[d->n++] = norm[i];
		}
	}
	return true;
}

bool mg_match_dn_normalize(const char *dn, size_t len, bool strict,
			   char *out, size_t *out_len_r, const char **why_r)
{
	struct dn_parser d = {
		.p = dn, .end = dn + len, .out = out, .strict = strict,
	};

	dn_skip_spaces(&d);
	while (d.p < d.end) {
		if (!dn_parse_type(&d))
			break;
		dn_skip_spaces(&d);
		if (d.p == d.end || *d.p != '=') {
			d.why = "an RDN has no '='";
			break;
		}
		d.p++;
		dn_skip_spaces(&d);
		if (!dn_parse_value(&d))
			break;
		if (d.p == d.end)
			break;
		if (*d.p == '+' && strict) {
			d.why = "an RDN has several values ('+')";
			break;
		}
		d.out[d.n++] = *d.p == '+' ? '+' : ',';
		d.p++;
		dn_skip_spaces(&d);
		if (d.p == d.end)
			d.why = "the DN ends with a separator";
	}
	out[d.n] = '\0';
	*out_len_r = d.n;
	if (d.why != NULL) {
		*why_r = d.why;
		return false;
	}
	return true;
}

size_t mg_match_dn_size(const char *dn, size_t len)
{
	size_t types = 1;

	for (size_t i = 0; i < len; i++) {
		if (dn[i] == '=')
			types++;
	}
	return 3 * len + types * MG_SCHEMA_NAME_MAX + 1;
}

bool mg_match_dn_equal(const char *value, const struct mg_value *norm)
{
	size_t len = strlen(value), out_len;
	const char *why;
	bool equal;
	char *out;

	/* a value is an LDAP message's part: far below SIZE_MAX / 32 */
	out = malloc(mg_match_dn_size(value, len));
	if (out == NULL)
		abort();
	equal = mg_match_dn_normalize(value, len, false, out, &out_len, &why) &&
		out_len == norm->len && memcmp(out, norm->data, out_len) == 0;
	free(out);
	return equal;
}

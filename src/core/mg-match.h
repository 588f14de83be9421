#ifndef MG_MATCH_H
#define MG_MATCH_H

/* How one attribute value compares with one assertion value under an
   equality, ordering or substrings rule, the way LDAP servers compare them
   (RFC 4517, RFC 4518's insignificant space handling). The assertion side
   is prepared once, when the filter is checked at start; the value side
   comes from the entry the server returned, in the server's form.

   Strings compare as servers do for ASCII: runs of spaces count as one,
   leading and trailing ones not at all, and case-ignore rules fold A-Z.
   Nothing here allocates except DN comparison, which aborts the process
   when memory runs out rather than turn a match it cannot compute into a
   non-match. */

#include <stdbool.h>
#include <stddef.h>

struct mg_value {
	char *data;
	size_t len;
};

/* RFC 4518 insignificant space handling, and with fold A-Z to a-z:
   writes the result (never longer than len) and a NUL into out, and
   returns its length. */
size_t mg_match_string_normalize(const char *in, size_t len, bool fold,
				 char *out);
/* value (as the server returned it) against an assertion already put
   through mg_match_string_normalize() with the same fold. */
bool mg_match_string_equal(const char *value, const struct mg_value *norm,
			   bool fold);
/* pieces[0] is the initial substring, pieces[count - 1] the final one
   (either may be empty), the others "any"; each normalized, none with a
   space at either end. */
bool mg_match_string_substrings(const char *value,
				const struct mg_value *pieces,
				unsigned int count, bool fold);

/* RFC 4517 INTEGER: "0", or an optional '-' and digits not starting
   with 0. */
bool mg_match_integer_valid(const char *str, size_t len);
/* Compares decimal integers of any length. */
int mg_match_integer_compare(const char *a, size_t a_len,
			     const char *b, size_t b_len);
/* 1.2.840.113556.1.4.803 (all: every bit of assertion set in value) and
   .804 (any of them set). assertion is a valid non-negative integer of at
   most 64 bits (mg_match_bits_valid); a value outside 64 bits never
   matches. */
bool mg_match_bits_valid(const char *assertion, size_t len);
bool mg_match_bits(const char *value, const char *assertion, bool all);

/* distinguishedNameMatch. Writes the canonical form of dn (attribute
   types lowercased and resolved through mg-schema, values unescaped,
   their spaces handled as caseIgnoreMatch does, folded, re-escaped) into
   out, which has room for mg_match_dn_size(dn, len) bytes. Returns false with *why_r
   set when dn is not a DN; strict also refuses what the local matcher
   could compare differently from a server (numeric OID types, '#' BER
   values, multi-valued RDNs). */
bool mg_match_dn_normalize(const char *dn, size_t len, bool strict,
			   char *out, size_t *out_len_r, const char **why_r);
size_t mg_match_dn_size(const char *dn, size_t len);
/* value against a canonical DN from mg_match_dn_normalize(). */
bool mg_match_dn_equal(const char *value, const struct mg_value *norm);

#endif

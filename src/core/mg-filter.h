#ifndef MG_FILTER_H
#define MG_FILTER_H

/* RFC 4515 search filters: parsed and syntax-checked for the filters
   sent to the server, and evaluated locally against an entry the LDAP
   search already returned, which is how an entry is classified without a
   second search.

   mg_filter_parse() takes all of RFC 4515: (&...) (|...) (!...),
   equality, presence, substrings, ordering, approximate and extensible
   matches (attr:dn:rule:=value, any matching rule), attribute options
   (cn;lang-en), \XX escapes. A filter without the outer parentheses
   (objectClass=x given as objectClass=x) is accepted, as OpenLDAP's tools
   accept it.

   mg_filter_check_local() then decides whether the local matcher evaluates
   the filter exactly as a server would, and refuses it otherwise, saying
   why and what to write instead. It knows the attributes of mg-schema's
   table: each must be written by the name the directory returns (not an
   alias or an OID), and each value must be valid for the attribute's
   rules: strings (caseIgnore, caseExact, with RFC 4518's insignificant
   spaces, printable ASCII only), integers (integerMatch, ordering, AD's
   bit AND and bit OR rules), DNs (distinguishedNameMatch), booleans,
   object classes (with the built-in class hierarchy). Refused: other
   attributes, ~=, ordering of strings, substrings where the attribute has
   no substrings rule, :dn, other matching rules, attribute options. */

#include <stdbool.h>
#include "mg-error.h"
#include "mg-entry-view.h"

struct mg_filter;

/* Parses text. Returns NULL and fills error_r (which names the offset and
   what was expected) when the text is not a valid filter. The result is
   owned by the caller: free it with mg_filter_free(). Depth is limited (64)
   and so is the length (64 KiB): past either it is an error, not a crash. */
struct mg_filter *mg_filter_parse(const char *text, struct mg_error *error_r);
void mg_filter_free(struct mg_filter **filter);

/* Checks that the filter can be evaluated locally exactly as a server
   would evaluate it, and prepares it for mg_filter_match(). Returns false
   with error_r filled ("LEAF: why: what to write instead") otherwise; the
   filter is then of no use but to be freed. Checking twice is harmless. */
bool mg_filter_check_local(struct mg_filter *filter,
			   struct mg_error *error_r);

/* Evaluates the filter against entry; a filter that has not passed
   mg_filter_check_local() matches nothing. When it matches and rule_r is not
   NULL, *rule_r is set to the canonical text of the smallest sub-filter
   that explains the match: for an OR, the rule of its first matching
   branch; for an AND, a NOT or a leaf, its own text. *rule_r points into
   the filter and lives as long as it. */
bool mg_filter_match(const struct mg_filter *filter,
		     const struct mg_entry_view *entry, const char **rule_r);

/* The canonical text of the whole filter (fully parenthesized, escapes
   normalized to \XX). Owned by the filter. */
const char *mg_filter_text(const struct mg_filter *filter);

/* The distinct attribute names the filter mentions (first spelling kept,
   duplicates compared case-insensitively), so the caller can ask the LDAP
   search for them. Owned by the filter; NULL-terminated. */
const char *const *mg_filter_attrs(const struct mg_filter *filter);

#endif

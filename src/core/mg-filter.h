#ifndef MG_FILTER_H
#define MG_FILTER_H

/* RFC 4515 search filters, parsed once at start and evaluated locally
   against an entry the LDAP search already returned. This is how an entry
   is classified without a second search.

   Supported: (&...) (|...) (!...), equality (attr=value, case-insensitive
   ASCII compare of attribute names and values), presence (attr=*),
   substrings (attr=a*b*c, case-insensitive), ordering (attr>=v, attr<=v:
   compared as integers when both sides are decimal integers, else
   case-insensitively as strings), approximate (attr~=v, treated as
   equality). Values may carry \XX escapes. Attribute options (;binary) and
   extensible matches (attr:rule:=v) are rejected with an error that says
   so. A filter without the outer parentheses (objectClass=x given as
   objectClass=x) is accepted, as OpenLDAP's tools accept it. */

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

/* Evaluates the filter against entry. When it matches and rule_r is not
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

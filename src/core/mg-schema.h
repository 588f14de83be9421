#ifndef MG_SCHEMA_H
#define MG_SCHEMA_H

/* What the local matcher knows about attribute types and object classes
   without asking the server: a built-in table of the attributes the
   recipient profiles read and the common ones of the stock OpenLDAP,
   Active Directory, Exchange and mail-routing schemas, each with its
   canonical name (the one servers return), its aliases, its OID and the
   family of its equality, ordering and substrings rules; and the standard
   object class hierarchy, because servers match (objectClass=person)
   against an entry that lists only inetOrgPerson.

   Everything here is static and read-only; nothing is allocated. */

#include <stdbool.h>

/* How values of an attribute compare (RFC 4517 rule families). */
enum mg_match_rule {
	/* no rule of this kind: the server answers Undefined */
	MG_RULE_NONE,
	/* objectIdentifierMatch on object class names */
	MG_RULE_OBJECT_CLASS,
	/* caseIgnoreMatch, caseIgnoreIA5Match (and their substrings and
	   ordering rules) */
	MG_RULE_CASE_IGNORE,
	/* caseExactMatch, caseExactIA5Match */
	MG_RULE_CASE_EXACT,
	/* integerMatch, integerOrderingMatch */
	MG_RULE_INTEGER,
	/* distinguishedNameMatch */
	MG_RULE_DN,
	/* booleanMatch */
	MG_RULE_BOOLEAN,
};

/* No name in the table is longer (DN normalization relies on it). */
#define MG_SCHEMA_NAME_MAX 32

struct mg_schema_attr {
	/* the name servers return */
	const char *name;
	/* other names of the same type, NULL-terminated */
	const char *const *aliases;
	const char *oid;
	enum mg_match_rule equality;
	/* MG_RULE_NONE when the type has no such rule */
	enum mg_match_rule ordering;
	enum mg_match_rule substrings;
};

/* The attribute whose name, alias or OID is name (names compare
   case-insensitively), or NULL when the table does not hold it. */
const struct mg_schema_attr *mg_schema_attr_find(const char *name);

/* The table, in order: i from 0 to mg_schema_attr_count() - 1. */
unsigned int mg_schema_attr_count(void);
const struct mg_schema_attr *mg_schema_attr_get(unsigned int i);

/* True when the object class called value (case-insensitive) is
   assertion or one of its subclasses in the built-in hierarchy. */
bool mg_schema_class_is_a(const char *value, const char *assertion);

/* strcasecmp() for names, folding ASCII only whatever the locale. */
int mg_schema_name_cmp(const char *a, const char *b);

/* The rule family's name as the man page lists it ("caseIgnoreMatch"). */
const char *mg_match_rule_name(enum mg_match_rule rule);

#endif

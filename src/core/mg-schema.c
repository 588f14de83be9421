/* The built-in table of attribute types and object classes. */

#include <stddef.h>
#include "mg-schema.h"

#define NONE MG_RULE_NONE
#define OC MG_RULE_OBJECT_CLASS
#define CI MG_RULE_CASE_IGNORE
#define CE MG_RULE_CASE_EXACT
#define INT MG_RULE_INTEGER
#define DN MG_RULE_DN
#define BOOL MG_RULE_BOOLEAN
#define ALIASES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_ALIASES ((const char *const[]){ NULL })

/* Name, aliases, OID (NULL where it is not fixed across directories), then
   equality, ordering and substrings. Taken from the RFCs (4512, 4519,
   4524, 2798, 2307), OpenLDAP's misc schema, Active Directory's and
   Exchange's published schema and the mail-routing schemas the openldap
   profile reads. Kept sorted by family, not by name: it is short. */
static const struct mg_schema_attr schema_attrs[] = {
	/* RFC 4512, 4519, 4524, 2798 */
	{ "objectClass", NO_ALIASES, "2.5.4.0", OC, NONE, NONE },
	{ "cn", ALIASES("commonName"), "2.5.4.3", CI, NONE, CI },
	{ "sn", ALIASES("surname"), "2.5.4.4", CI, NONE, CI },
	{ "givenName", ALIASES("gn"), "2.5.4.42", CI, NONE, CI },
	{ "uid", ALIASES("userid"), "0.9.2342.19200300.100.1.1", CI, NONE, CI },
	{ "mail", ALIASES("rfc822Mailbox"), "0.9.2342.19200300.100.1.3",
	  CI, NONE, CI },
	{ "dc", ALIASES("domainComponent"), "0.9.2342.19200300.100.1.25",
	  CI, NONE, CI },
	{ "c", ALIASES("countryName"), "2.5.4.6", CI, NONE, CI },
	{ "l", ALIASES("localityName"), "2.5.4.7", CI, NONE, CI },
	{ "st", ALIASES("stateOrProvinceName"), "2.5.4.8", CI, NONE, CI },
	{ "o", ALIASES("organizationName"), "2.5.4.10", CI, NONE, CI },
	{ "ou", ALIASES("organizationalUnitName"), "2.5.4.11", CI, NONE, CI },
	{ "title", NO_ALIASES, "2.5.4.12", CI, NONE, CI },
	{ "description", NO_ALIASES, "2.5.4.13", CI, NONE, CI },
	{ "member", NO_ALIASES, "2.5.4.31", DN, NONE, NONE },
	{ "owner", NO_ALIASES, "2.5.4.32", DN, NONE, NONE },
	{ "seeAlso", NO_ALIASES, "2.5.4.34", DN, NONE, NONE },
	{ "manager", NO_ALIASES, "0.9.2342.19200300.100.1.10", DN, NONE, NONE },
	{ "displayName", NO_ALIASES, "2.16.840.1.113730.3.1.241",
	  CI, NONE, CI },
	{ "employeeType", NO_ALIASES, "2.16.840.1.113730.3.1.4", CI, NONE, CI },
	{ "employeeNumber", NO_ALIASES, "2.16.840.1.113730.3.1.3",
	  CI, NONE, CI },
	{ "departmentNumber", NO_ALIASES, "2.16.840.1.113730.3.1.2",
	  CI, NONE, CI },
	/* RFC 2307 */
	{ "uidNumber", NO_ALIASES, "1.3.6.1.1.1.1.0", INT, INT, NONE },
	{ "gidNumber", NO_ALIASES, "1.3.6.1.1.1.1.1", INT, INT, NONE },
	{ "homeDirectory", NO_ALIASES, "1.3.6.1.1.1.1.3", CE, NONE, NONE },
	{ "loginShell", NO_ALIASES, "1.3.6.1.1.1.1.4", CE, NONE, NONE },
	{ "memberUid", NO_ALIASES, "1.3.6.1.1.1.1.12", CE, NONE, CE },
	/* OpenLDAP misc.schema: sendmail's LDAP routing, nisMailAlias */
	{ "mailLocalAddress", NO_ALIASES, "2.16.840.1.113730.3.1.13",
	  CI, NONE, CI },
	{ "mailHost", NO_ALIASES, "2.16.840.1.113730.3.1.18", CI, NONE, NONE },
	{ "mailRoutingAddress", NO_ALIASES, "2.16.840.1.113730.3.1.47",
	  CI, NONE, CI },
	{ "rfc822MailMember", NO_ALIASES, "1.3.6.1.4.1.42.2.27.2.1.15",
	  CI, NONE, NONE },
	/* qmail-ldap, Courier, PostfixBook: the openldap profile */
	{ "deliveryMode", NO_ALIASES, NULL, CI, NONE, NONE },
	{ "accountStatus", NO_ALIASES, NULL, CI, NONE, NONE },
	{ "mailForwardingAddress", NO_ALIASES, NULL, CI, NONE, NONE },
	{ "mailMessageStore", NO_ALIASES, NULL, CE, NONE, NONE },
	{ "maildrop", NO_ALIASES, NULL, CI, NONE, NONE },
	{ "mailAlias", NO_ALIASES, NULL, CI, NONE, NONE },
	{ "mailEnabled", NO_ALIASES, NULL, BOOL, NONE, NONE },
	{ "mailStorageDirectory", NO_ALIASES, NULL, CE, NONE, NONE },
	/* Active Directory and Exchange 2000 and later: AD compares its
	   string syntaxes case-insensitively */
	{ "sAMAccountName", NO_ALIASES, "1.2.840.113556.1.4.221",
	  CI, NONE, CI },
	{ "userPrincipalName", NO_ALIASES, "1.2.840.113556.1.4.656",
	  CI, NONE, CI },
	{ "userAccountControl", NO_ALIASES, "1.2.840.113556.1.4.8",
	  INT, INT, NONE },
	{ "objectCategory", NO_ALIASES, "1.2.840.113556.1.4.782",
	  DN, NONE, NONE },
	{ "memberOf", NO_ALIASES, "1.2.840.113556.1.2.102", DN, NONE, NONE },
	{ "distinguishedName", NO_ALIASES, "2.5.4.49", DN, NONE, NONE },
	{ "proxyAddresses", NO_ALIASES, "1.2.840.113556.1.2.210",
	  CI, NONE, CI },
	{ "targetAddress", NO_ALIASES, "1.2.840.113556.1.2.352", CI, NONE, CI },
	{ "homeMDB", NO_ALIASES, "1.2.840.113556.1.2.44", DN, NONE, NONE },
	{ "homeMTA", NO_ALIASES, "1.2.840.113556.1.2.171", DN, NONE, NONE },
	{ "legacyExchangeDN", NO_ALIASES, NULL, CI, NONE, CI },
	{ "mailNickname", NO_ALIASES, "1.2.840.113556.1.2.447", CI, NONE, CI },
	{ "msExchHomeServerName", NO_ALIASES, NULL, CI, NONE, CI },
	{ "msExchRecipientTypeDetails", NO_ALIASES, NULL, INT, INT, NONE },
	{ "msExchRecipientDisplayType", NO_ALIASES, "1.2.840.113556.1.2.541",
	  INT, INT, NONE },
	{ "msExchRemoteRecipientType", NO_ALIASES, NULL, INT, INT, NONE },
	{ "msExchHideFromAddressLists", NO_ALIASES, NULL, BOOL, NONE, NONE },
	{ "altRecipient", NO_ALIASES, "1.2.840.113556.1.2.126", DN, NONE, NONE },
	{ "deliverAndRedirect", NO_ALIASES, "1.2.840.113556.1.2.291",
	  BOOL, NONE, NONE },
	/* Exchange 5.5's own directory: its Home-MDB is a string there */
	{ "Target-Address", NO_ALIASES, NULL, CI, NONE, CI },
	{ "Home-MDB", NO_ALIASES, NULL, CI, NONE, NONE },
};

/* Class, its superclass: OpenLDAP returns objectClass as stored, and an
   entry may list inetOrgPerson alone, yet the server matches it with
   (objectClass=person). Classes without a superclass below top need no
   line. */
static const struct {
	const char *name, *sup;
} schema_classes[] = {
	{ "organizationalPerson", "person" },
	{ "inetOrgPerson", "organizationalPerson" },
	{ "residentialPerson", "person" },
	/* Active Directory's, also in slapd schemas that mimic it (AD
	   itself always returns the whole chain) */
	{ "user", "organizationalPerson" },
	{ "contact", "organizationalPerson" },
	/* Exchange 5.5 */
	{ "remote-address", "person" },
	{ "custom-recipient", "person" },
};

static unsigned char fold_char(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int mg_schema_name_cmp(const char *a, const char *b)
{
	unsigned char ca, cb;

	do {
		ca = fold_char((unsigned char)*a++);
		cb = fold_char((unsigned char)*b++);
	} while (ca == cb && ca != '\0');
	return ca - cb;
}

static bool name_in(const char *name, const char *const *names)
{
	for (; *names != NULL; names++) {
		if (mg_schema_name_cmp(name, *names) == 0)
			return true;
	}
	return false;
}

const struct mg_schema_attr *mg_schema_attr_find(const char *name)
{
	for (size_t i = 0; i < sizeof(schema_attrs) / sizeof(*schema_attrs); i++) {
		const struct mg_schema_attr *attr = &schema_attrs[i];

		if (mg_schema_name_cmp(attr->name, name) == 0 ||
		    name_in(name, attr->aliases) ||
		    (attr->oid != NULL && mg_schema_name_cmp(attr->oid, name) == 0))
			return attr;
	}
	return NULL;
}

unsigned int mg_schema_attr_count(void)
{
	return sizeof(schema_attrs) / sizeof(*schema_attrs);
}

const struct mg_schema_attr *mg_schema_attr_get(unsigned int i)
{
	return i < mg_schema_attr_count() ? &schema_attrs[i] : NULL;
}

/* Walked recursively; the hierarchy is a few levels deep. */
bool mg_schema_class_is_a(const char *value, const char *assertion)
{
	/* every class derives from top, whether listed here or not */
	if (mg_schema_name_cmp(value, assertion) == 0 ||
	    mg_schema_name_cmp(assertion, "top") == 0)
		return true;
	for (size_t i = 0; i < sizeof(schema_classes) / sizeof(*schema_classes); i++) {
		if (mg_schema_name_cmp(schema_classes[i].name, value) == 0 &&
		    mg_schema_class_is_a(schema_classes[i].sup, assertion))
			return true;
	}
	return false;
}

const char *mg_match_rule_name(enum mg_match_rule rule)
{
	switch (rule) {
	case MG_RULE_NONE:
		return "none";
	case MG_RULE_OBJECT_CLASS:
		return "objectIdentifierMatch";
	case MG_RULE_CASE_IGNORE:
		return "caseIgnoreMatch";
	case MG_RULE_CASE_EXACT:
		return "caseExactMatch";
	case MG_RULE_INTEGER:
		return "integerMatch";
	case MG_RULE_DN:
		return "distinguishedNameMatch";
	case MG_RULE_BOOLEAN:
		return "booleanMatch";
	}
	return "unknown";
}

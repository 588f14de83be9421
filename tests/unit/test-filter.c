#include <string.h>
#include <glib.h>

#include "mg-escape.h"
#include "mg-filter.h"

/* A tiny directory entry: attribute name (case-insensitive) -> GPtrArray
   of values, kept NULL-terminated. */
struct test_entry {
	GHashTable *attrs;
	struct mg_entry_view view;
};

static guint attr_hash(gconstpointer key)
{
	char *lower = g_ascii_strdown(key, -1);
	guint hash = g_str_hash(lower);

	g_free(lower);
	return hash;
}

static gboolean attr_equal(gconstpointer a, gconstpointer b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

static void values_free(gpointer values)
{
	g_ptr_array_free(values, TRUE);
}

static unsigned int entry_get_values(void *context, const char *attr,
				     const char *const **values_r)
{
	struct test_entry *entry = context;
	GPtrArray *values = g_hash_table_lookup(entry->attrs, attr);

	if (values == NULL)
		return 0;
	*values_r = (const char *const *)values->pdata;
	return values->len - 1;
}

static struct test_entry *entry_new(void)
{
	struct test_entry *entry = g_new0(struct test_entry, 1);

	entry->attrs = g_hash_table_new_full(attr_hash, attr_equal, g_free,
					     values_free);
	entry->view.get_values = entry_get_values;
	entry->view.context = entry;
	return entry;
}

static void entry_add(struct test_entry *entry, const char *attr,
		      const char *value)
{
	GPtrArray *values = g_hash_table_lookup(entry->attrs, attr);

	if (values == NULL) {
		values = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(values, NULL);
		g_hash_table_insert(entry->attrs, g_strdup(attr), values);
	}
	values->pdata[values->len - 1] = g_strdup(value);
	g_ptr_array_add(values, NULL);
}

static void entry_free(struct test_entry *entry)
{
	g_hash_table_destroy(entry->attrs);
	g_free(entry);
}

static struct test_entry *person_entry(void)
{
	struct test_entry *entry = entry_new();

	entry_add(entry, "objectClass", "top");
	entry_add(entry, "objectClass", "person");
	entry_add(entry, "objectClass", "inetOrgPerson");
	entry_add(entry, "uid", "jdoe");
	entry_add(entry, "cn", "John Doe");
	entry_add(entry, "mail", "jdoe@example.com");
	entry_add(entry, "uidNumber", "1500");
	entry_add(entry, "description", "a*b(c)\\d");
	entry_add(entry, "sn", "Doe");
	entry_add(entry, "gidNumber", "-10");
	/* ACCOUNTDISABLE (2) | NORMAL_ACCOUNT (512) */
	entry_add(entry, "userAccountControl", "514");
	entry_add(entry, "msExchRecipientTypeDetails",
		  "123456789012345678901234567890");
	entry_add(entry, "manager", "CN=Doe\\, Jane, OU=People,DC=Example,"
		  "DC=com");
	entry_add(entry, "mailEnabled", "TRUE");
	entry_add(entry, "homeDirectory", "/home/JDoe");
	return entry;
}

static struct mg_filter *parse_ok(const char *text)
{
	struct mg_error error = { { 0 } };
	struct mg_filter *filter = mg_filter_parse(text, &error);

	if (filter == NULL)
		g_error("parsing '%s' failed: %s", text, error.message);
	return filter;
}

/* Parsed and checked for local evaluation. */
static struct mg_filter *local_ok(const char *text)
{
	struct mg_error error = { { 0 } };
	struct mg_filter *filter = parse_ok(text);

	if (!mg_filter_check_local(filter, &error))
		g_error("'%s' refused for local evaluation: %s", text,
			error.message);
	return filter;
}

static void test_parse_errors(void)
{
	static const struct {
		const char *text;
		const char *message;
	} tests[] = {
		{ "", "offset 0: expected attribute description" },
		{ "(", "offset 1: expected attribute description" },
		{ ")", "offset 0: expected attribute description" },
		{ "()", "offset 1: expected attribute description" },
		{ "(cn=a", "offset 5: expected ')'" },
		{ "cn=a)", "offset 4: expected end of filter" },
		{ "(cn=a))", "offset 6: expected end of filter" },
		{ "(cn=a)(cn=b)", "offset 6: expected end of filter" },
		{ "((cn=a))", "offset 1: expected attribute description" },
		{ "(=a)", "offset 1: expected attribute description" },
		{ "(cn)", "offset 3: expected '=', '~=', '>=' or '<='" },
		{ "(cn~a)", "offset 3: expected '='" },
		{ "(cn>a)", "offset 3: expected '='" },
		{ "(cn<a)", "offset 3: expected '='" },
		{ "(cn!=a)", "offset 3: expected '='" },
		{ "(cn=a(b)", "offset 5: unescaped '('" },
		{ "(cn=a\\)", "offset 5: expected two hex digits" },
		{ "(cn=a\\2)", "offset 5: expected two hex digits" },
		{ "(cn=a\\zz)", "offset 5: expected two hex digits" },
		{ "(cn=a\\2g)", "offset 5: expected two hex digits" },
		{ "(cn=a\\", "offset 5: expected two hex digits" },
		{ "(cn;=a)", "offset 4: expected attribute option" },
		{ "(cn;x_y=a)", "offset 5: expected '='" },
		{ "(cn:x)", "offset 5: expected ':='" },
		{ "(cn:=a*)", "offset 6: unescaped '*'" },
		{ "(:=a)", "offset 1: an extensible match without an attribute "
		  "needs a matching rule" },
		{ "(:dn:=a)", "offset 4: an extensible match without" },
		{ "(cn:1..2:=a)", "offset 6: invalid matching rule" },
		{ "(cn::=a)", "offset 4: expected matching rule" },
		{ "(cn:dn:dn)", "offset 9: expected ':='" },
		{ "(1cn=a)", "offset 2: invalid attribute description" },
		{ "(-cn=a)", "offset 1: invalid attribute description" },
		{ "(cn.x=a)", "offset 3: invalid attribute description" },
		{ "(c_n=a)", "offset 2: expected '='" },
		{ "(c n=a)", "offset 2: expected '='" },
		{ "(1.2..3=a)", "offset 5: invalid attribute description" },
		{ "(1.02=a)", "offset 4: invalid attribute description" },
		{ "(1.2.=a)", "offset 5: invalid attribute description" },
		{ "(.1=a)", "offset 1: invalid attribute description" },
		{ "(&(cn=a)", "offset 8: expected '(' or ')'" },
		{ "(&cn=a)", "offset 2: expected '(' or ')'" },
		{ "(|(cn=a)x)", "offset 8: expected '(' or ')'" },
		{ "(&(cn=a) (cn=b))", "offset 8: expected '(' or ')'" },
		{ "(!)", "offset 2: expected '(' after '!'" },
		{ "(!cn=a)", "offset 2: expected '(' after '!'" },
		{ "(!(cn=a)(cn=b))", "offset 8: expected ')'" },
		{ "(cn~=a*)", "offset 6: unescaped '*'" },
		{ "(cn>=*)", "offset 5: unescaped '*'" },
		{ "(cn<=a*b)", "offset 6: unescaped '*'" },
		{ "(cn=a**b)", "offset 6: expected a value between two '*'s" },
		{ "(cn=**)", "offset 5: expected a value between two '*'s" },
		{ " (cn=a)", "offset 0: expected attribute description" },
		{ "(cn=a) ", "offset 6: expected end of filter" },
		{ "(cn =a)", "offset 3: expected '='" },
		{ "(cn=\xc3\xa9", "offset 6: expected ')'" },
		{ "cn", "offset 2: expected '='" },
		{ "cn=a(", "offset 4: unescaped '('" },
		{ "&(cn=a)", "offset 0: expected attribute description" },
	};
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(tests); i++) {
		struct mg_error error = { { 0 } };
		struct mg_filter *filter = mg_filter_parse(tests[i].text,
							   &error);

		if (filter != NULL)
			g_error("'%s' parsed as %s", tests[i].text,
				mg_filter_text(filter));
		g_assert_true(g_str_has_prefix(error.message,
					       "filter: offset "));
		if (strstr(error.message, tests[i].message) == NULL)
			g_error("'%s': got \"%s\", wanted \"%s\"",
				tests[i].text, error.message,
				tests[i].message);
	}
}

static void test_parse_error_null(void)
{
	struct mg_error error = { { 0 } };

	/* no error struct: still no crash and still NULL */
	g_assert_null(mg_filter_parse("(cn=a", NULL));
	g_assert_null(mg_filter_parse(NULL, &error));
	g_assert_cmpstr(error.message, !=, "");
}

/* depth levels of parentheses: depth - 1 operators around one leaf */
static char *make_nested(const char *op, unsigned int depth)
{
	GString *str = g_string_new(NULL);
	unsigned int i;

	for (i = 1; i < depth; i++)
		g_string_append(str, op);
	g_string_append(str, "(uid=jdoe)");
	for (i = 1; i < depth; i++)
		g_string_append_c(str, ')');
	return g_string_free(str, FALSE);
}

static void test_depth(void)
{
	static const char *const ops[] = { "(&", "(|", "(!" };
	struct test_entry *entry = person_entry();
	struct mg_error error = { { 0 } };
	struct mg_filter *filter;
	const char *rule = NULL;
	unsigned int i;
	char *text;

	for (i = 0; i < G_N_ELEMENTS(ops); i++) {
		text = make_nested(ops[i], 64);
		filter = local_ok(text);
		g_assert_cmpstr(mg_filter_text(filter), ==, text);
		/* 63 NOTs around a matching leaf: an odd count, no match */
		g_assert_true(mg_filter_match(filter, &entry->view, &rule) ==
			      (i != 2));
		if (i < 2)
			g_assert_cmpstr(rule, ==, i == 0 ? text : "(uid=jdoe)");
		mg_filter_free(&filter);
		g_free(text);

		text = make_nested(ops[i], 65);
		g_assert_null(mg_filter_parse(text, &error));
		g_assert_nonnull(strstr(error.message, "offset 128: "
					"filter nested deeper than 64"));
		g_free(text);
	}

	/* far past the limit: an error, not a stack overflow */
	text = make_nested(ops[0], 20000);
	g_assert_null(mg_filter_parse(text, &error));
	g_assert_nonnull(strstr(error.message, "deeper than 64"));
	g_free(text);
	entry_free(entry);
}

static char *make_long_value(size_t total_len)
{
	const size_t overhead = strlen("(cn=)");
	GString *str = g_string_new("(cn=");
	size_t i;

	for (i = 0; i < total_len - overhead; i++)
		g_string_append_c(str, 'x');
	g_string_append_c(str, ')');
	g_assert_cmpuint(str->len, ==, total_len);
	return g_string_free(str, FALSE);
}

static void test_length(void)
{
	struct mg_error error = { { 0 } };
	struct mg_filter *filter;
	GString *str;
	char *text;

	text = make_long_value(64 * 1024);
	filter = parse_ok(text);
	g_assert_cmpstr(mg_filter_text(filter), ==, text);
	mg_filter_free(&filter);
	g_free(text);

	text = make_long_value(64 * 1024 + 1);
	g_assert_null(mg_filter_parse(text, &error));
	g_assert_nonnull(strstr(error.message, "offset 65536"));
	g_free(text);

	str = g_string_new("(|");
	while (str->len < 70 * 1024)
		g_string_append(str, "(uid=a)");
	g_string_append_c(str, ')');
	g_assert_null(mg_filter_parse(str->str, &error));
	g_assert_nonnull(strstr(error.message, "longer than"));
	g_string_free(str, TRUE);
}

static void assert_match(struct test_entry *entry, const char *text,
			 bool expected)
{
	struct mg_filter *filter = local_ok(text);

	if (mg_filter_match(filter, &entry->view, NULL) != expected)
		g_error("'%s' should %smatch", text, expected ? "" : "not ");
	mg_filter_free(&filter);
}

static void test_match(void)
{
	static const struct {
		const char *text;
		bool match;
	} tests[] = {
		/* caseIgnoreMatch, names case-insensitive */
		{ "(uid=jdoe)", TRUE },
		{ "(UID=JDoe)", TRUE },
		{ "(uid=jdoe2)", FALSE },
		{ "(uid=jdo)", FALSE },
		{ "(sn=doe)", TRUE },
		{ "(title=x)", FALSE },
		{ "uid=jdoe", TRUE },
		/* RFC 4518 insignificant spaces, as slapd compares */
		{ "(cn=  john   doe )", TRUE },
		{ "(cn=John\\20\\20Doe)", TRUE },
		{ "(cn=johndoe)", FALSE },
		{ "(cn=john d)", FALSE },
		/* object classes, with the class hierarchy: slapd matches
		   (objectClass=organizationalPerson) on an entry that lists
		   only inetOrgPerson */
		{ "(objectClass=PERSON)", TRUE },
		{ "(objectclass=inetorgperson)", TRUE },
		{ "(objectClass=organizationalPerson)", TRUE },
		{ "(objectClass=top)", TRUE },
		{ "(objectClass=organization)", FALSE },
		{ "(objectClass=contact)", FALSE },
		{ "(objectClass=user)", FALSE },
		/* AND, OR, NOT and the absolute true/false filters */
		{ "(&(objectClass=person)(uid=jdoe))", TRUE },
		{ "(&(objectClass=person)(uid=x))", FALSE },
		{ "(|(uid=x)(uid=jdoe))", TRUE },
		{ "(|(uid=x)(uid=y))", FALSE },
		{ "(!(uid=x))", TRUE },
		{ "(!(uid=jdoe))", FALSE },
		{ "(!(title=*))", TRUE },
		{ "(&)", TRUE },
		{ "(|)", FALSE },
		{ "(!(|))", TRUE },
		{ "(!(&))", FALSE },
		{ "(&(uid=jdoe)(|))", FALSE },
		/* presence */
		{ "(mail=*)", TRUE },
		{ "(MAIL=*)", TRUE },
		{ "(title=*)", FALSE },
		/* substrings */
		{ "(cn=john*)", TRUE },
		{ "(cn=*DOE)", TRUE },
		{ "(cn=*n D*)", TRUE },
		{ "(cn=*n  D*)", TRUE },
		{ "(cn=j*n*d*e)", TRUE },
		{ "(cn=J*o*h*n*D*o*e)", TRUE },
		{ "(cn=*x*)", FALSE },
		{ "(cn=doe*)", FALSE },
		{ "(cn=*john)", FALSE },
		{ "(cn=John Doe*Doe)", FALSE },
		{ "(cn=John*John Doe)", FALSE },
		{ "(cn=*oe*oe)", FALSE },
		{ "(cn=j*doe*doe)", FALSE },
		{ "(cn=*nd*)", FALSE },
		{ "(mail=*@example.com)", TRUE },
		/* caseExactMatch */
		{ "(homeDirectory=/home/JDoe)", TRUE },
		{ "(homeDirectory=/home/jdoe)", FALSE },
		/* integerMatch and integerOrderingMatch */
		{ "(uidNumber=1500)", TRUE },
		{ "(uidNumber=150)", FALSE },
		{ "(uidNumber>=1000)", TRUE },
		{ "(uidNumber>=999)", TRUE },
		{ "(uidNumber>=2000)", FALSE },
		{ "(uidNumber<=1500)", TRUE },
		{ "(uidNumber<=1499)", FALSE },
		{ "(uidNumber>=-5)", TRUE },
		{ "(uidNumber<=-1)", FALSE },
		{ "(uidNumber<=10000)", TRUE },
		{ "(gidNumber=-10)", TRUE },
		{ "(gidNumber>=-5)", FALSE },
		{ "(gidNumber<=-5)", TRUE },
		{ "(gidNumber>=-100)", TRUE },
		{ "(gidNumber<=-100)", FALSE },
		{ "(gidNumber>=0)", FALSE },
		{ "(msExchRecipientTypeDetails=123456789012345678901234567890)",
		  TRUE },
		{ "(msExchRecipientTypeDetails>=99)", TRUE },
		{ "(msExchRecipientTypeDetails<=99)", FALSE },
		{ "(msExchRecipientTypeDetails>=123456789012345678901234567891)",
		  FALSE },
		{ "(msExchRecipientTypeDetails<=123456789012345678901234567890)",
		  TRUE },
		/* AD's bit rules; the value is outside 64 bits: no match */
		{ "(userAccountControl:1.2.840.113556.1.4.803:=2)", TRUE },
		{ "(userAccountControl:1.2.840.113556.1.4.803:=514)", TRUE },
		{ "(userAccountControl:1.2.840.113556.1.4.803:=3)", FALSE },
		{ "(userAccountControl:1.2.840.113556.1.4.803:=0)", TRUE },
		{ "(userAccountControl:1.2.840.113556.1.4.804:=3)", TRUE },
		{ "(userAccountControl:1.2.840.113556.1.4.804:=1)", FALSE },
		{ "(userAccountControl:1.2.840.113556.1.4.804:=0)", FALSE },
		{ "(!(userAccountControl:1.2.840.113556.1.4.803:=2))", FALSE },
		{ "(msExchRecipientTypeDetails:1.2.840.113556.1.4.804:=1)",
		  FALSE },
		{ "(msExchRecipientDisplayType:1.2.840.113556.1.4.803:=1)",
		  FALSE },
		/* an extensible match without a rule is equality */
		{ "(userAccountControl:=514)", TRUE },
		{ "(uid:=JDOE)", TRUE },
		/* distinguishedNameMatch: types and values case-insensitive,
		   spaces around separators and inside values, escapes */
		{ "(manager=cn=doe\\5c, jane,ou=people,dc=example,dc=com)", TRUE },
		{ "(manager=CN = Doe\\5c,  Jane , OU=People, DC=example,"
		  "DC=COM)", TRUE },
		{ "(manager=commonName=Doe\\5c2c Jane,ou=People,dc=example,"
		  "dc=com)", TRUE },
		{ "(manager=cn=Doe\\5c, Jane,ou=People,dc=example)", FALSE },
		{ "(manager=cn=Doe,ou=People,dc=example,dc=com)", FALSE },
		/* booleanMatch */
		{ "(mailEnabled=TRUE)", TRUE },
		{ "(mailEnabled=FALSE)", FALSE },
		/* escaped values */
		{ "(description=a\\2ab\\28c\\29\\5cd)", TRUE },
		{ "(description=A\\2Ab\\28C\\29\\5Cd)", TRUE },
		{ "(description=a\\2a*)", TRUE },
		{ "(description=*\\28c\\29*)", TRUE },
		{ "(description=a\\2a)", FALSE },
		{ "(cn=John\\20Doe)", TRUE },
		{ "(cn=\\4a\\4F\\48\\4e doe)", TRUE },
	};
	struct test_entry *entry = person_entry();
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(tests); i++)
		assert_match(entry, tests[i].text, tests[i].match);
	entry_free(entry);
}

static void test_match_empty_entry(void)
{
	struct test_entry *entry = entry_new();

	assert_match(entry, "(uid=*)", FALSE);
	assert_match(entry, "(!(uid=*))", TRUE);
	assert_match(entry, "(&)", TRUE);
	assert_match(entry, "(objectClass=top)", FALSE);
	entry_add(entry, "uid", "");
	assert_match(entry, "(uid=*)", TRUE);
	assert_match(entry, "(uid=a*)", FALSE);
	entry_free(entry);
}

static void test_check_local(void)
{
	static const struct {
		const char *text;
		const char *message;
	} tests[] = {
		/* names: the directory returns the canonical one */
		{ "(userid=jdoe)", "(userid=jdoe): userid is another name of "
		  "uid, the name the directory returns: write uid" },
		{ "(rfc822Mailbox=*)", "another name of mail" },
		{ "(2.5.4.3=John Doe)", "(2.5.4.3=John Doe): the directory "
		  "returns attributes by name, never by OID: write cn" },
		{ "(1.2.3.4=x)", "never by OID: write the name the server's "
		  "schema gives it" },
		{ "(fooBar=x)", "(fooBar=x): fooBar is not among the attributes "
		  "whose names and matching rules the local matcher knows" },
		{ "(fooBar=*)", "fooBar is not among" },
		{ "(cn;lang-en=x)", "attribute options are not evaluated" },
		/* DN-valued attributes */
		{ "(objectCategory=person)", "(objectCategory=person): "
		  "objectCategory holds the DN of a schema entry (CN=Person,"
		  "CN=Schema,CN=Configuration,...), never 'person': write "
		  "(objectClass=person), or the full DN" },
		{ "(homeMDB=mdb1)", "homeMDB holds DNs and 'mdb1' is not one: "
		  "write the full DN" },
		{ "(homeMDB=2.5.4.3=x,dc=y)", "type is a numeric OID" },
		{ "(homeMDB=cn=a+uid=b,dc=y)", "several values" },
		{ "(homeMDB=cn=#0401,dc=y)", "'#' BER form" },
		{ "(homeMDB=cn=a,)", "ends with a separator" },
		{ "(homeMDB=cn=a,=b)", "no attribute type" },
		{ "(homeMDB=cn=\"a\",dc=b)", "quoted" },
		/* integers as servers take them */
		{ "(msExchRecipientTypeDetails=0128)", "(msExchRecipientType"
		  "Details=0128): msExchRecipientTypeDetails holds integers, "
		  "and servers take the value only without leading zeros, '+' "
		  "or spaces: write 128" },
		{ "(msExchRecipientTypeDetails=+128)", "write 128" },
		{ "(msExchRecipientTypeDetails=\\20128\\20)", "write 128" },
		{ "(msExchRecipientTypeDetails=-0)", "write 0" },
		{ "(msExchRecipientTypeDetails=-007)", "write -7" },
		{ "(msExchRecipientTypeDetails=12a)", "holds integers and the "
		  "value is not one" },
		{ "(msExchRecipientTypeDetails=)", "is not one" },
		{ "(uidNumber>=01000)", "write 1000" },
		{ "(uidNumber=1\\002)", "is not one" },
		/* rules the attribute lacks, or that are the server's own */
		{ "(cn>=a)", "cn has no ordering rule" },
		{ "(cn~=a)", "approximate matching is each server's own" },
		{ "(objectClass=*person*)", "objectClass has no substrings "
		  "rule" },
		{ "(uidNumber=1*)", "uidNumber has no substrings rule" },
		{ "(homeMDB=cn=*)", "homeMDB has no substrings rule" },
		/* strings: spaces at '*', non-ASCII, empty */
		{ "(cn=a *)", "a space next to '*'" },
		{ "(cn=* a*)", "a space next to '*'" },
		{ "(cn=\\c3\\a9)", "only printable ASCII values" },
		{ "(cn=caf\xc3\xa9*)", "only printable ASCII substrings" },
		{ "(cn=a\\00)", "only printable ASCII values" },
		{ "(cn=)", "an empty value (or only spaces)" },
		{ "(cn=   )", "an empty value" },
		/* object classes and booleans */
		{ "(objectClass=2.5.6.6)", "by name: write the class's name "
		  "instead of its OID" },
		{ "(objectClass=a b)", "'a b' is not an object class name" },
		{ "(objectClass=)", "is not an object class name" },
		{ "(mailEnabled=true)", "servers take only TRUE or FALSE" },
		/* extensible matches */
		{ "(cn:dn:=x)", "(cn:dn:=x): :dn also matches the values in "
		  "the entry's DN" },
		{ "(userAccountControl:dn:1.2.840.113556.1.4.803:=2)",
		  ":dn also matches" },
		{ "(:1.2.840.113556.1.4.803:=2)", "without an attribute is not "
		  "evaluated locally" },
		{ "(cn:caseExactMatch:=x)", "matching rule caseExactMatch is "
		  "not evaluated locally: only 1.2.840.113556.1.4.803 (bit "
		  "AND) and 1.2.840.113556.1.4.804 (bit OR) are" },
		{ "(cn:2.5.13.5:=x)", "matching rule 2.5.13.5 is not" },
		{ "(cn:1.2.840.113556.1.4.803:=2)", "the bit rules apply to "
		  "integer attributes and cn is not one" },
		{ "(userAccountControl:1.2.840.113556.1.4.803:=-2)",
		  "the bit mask must be" },
		{ "(userAccountControl:1.2.840.113556.1.4.803:=02)",
		  "the bit mask must be" },
		{ "(userAccountControl:1.2.840.113556.1.4.804:="
		  "18446744073709551616)", "the bit mask must be" },
		{ "(userAccountControl:=0514)", "write 514" },
		/* the leaf at fault is named, wherever it is */
		{ "(&(uid=a)(|(cn=b)(!(userid=c))))", "(userid=c): " },
	};
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(tests); i++) {
		struct mg_error error = { { 0 } };
		struct mg_filter *filter = parse_ok(tests[i].text);
		struct test_entry *entry = person_entry();

		if (mg_filter_check_local(filter, &error))
			g_error("'%s' accepted for local evaluation",
				tests[i].text);
		if (strstr(error.message, tests[i].message) == NULL)
			g_error("'%s': got \"%s\", wanted \"%s\"",
				tests[i].text, error.message,
				tests[i].message);
		/* refused, it matches nothing, not even under a NOT */
		g_assert_false(mg_filter_match(filter, &entry->view, NULL));
		entry_free(entry);
		mg_filter_free(&filter);
	}

	/* the bit mask's limits */
	mg_filter_free((struct mg_filter *[]){ local_ok(
		"(userAccountControl:1.2.840.113556.1.4.803:="
		"18446744073709551615)") });
}

static void assert_rule(struct test_entry *entry, const char *text,
			const char *expected_rule)
{
	struct mg_filter *filter = local_ok(text);
	const char *rule = "unset";
	bool matched = mg_filter_match(filter, &entry->view, &rule);

	if (expected_rule == NULL) {
		g_assert_false(matched);
	} else {
		if (!matched)
			g_error("'%s' did not match", text);
		g_assert_cmpstr(rule, ==, expected_rule);
	}
	mg_filter_free(&filter);
}

static void test_rule(void)
{
	struct test_entry *entry = person_entry();

	assert_rule(entry, "(uid=JDOE)", "(uid=JDOE)");
	assert_rule(entry, "uid=jdoe", "(uid=jdoe)");
	assert_rule(entry, "(|(uid=x)(&(objectClass=person)(uid=jdoe))"
		    "(mail=*))", "(&(objectClass=person)(uid=jdoe))");
	assert_rule(entry, "(|(mail=*)(uid=jdoe))", "(mail=*)");
	assert_rule(entry, "(|(uid=x)(|(cn=y)(mail=*))(uid=jdoe))",
		    "(mail=*)");
	assert_rule(entry, "(&(|(uid=x)(uid=jdoe))(mail=*))",
		    "(&(|(uid=x)(uid=jdoe))(mail=*))");
	assert_rule(entry, "(!(uid=x))", "(!(uid=x))");
	assert_rule(entry, "(|(uid=x)(!(|(uid=y)(cn=z))))",
		    "(!(|(uid=y)(cn=z)))");
	assert_rule(entry, "(|(uid=x)(cn=John\\20Doe))", "(cn=John Doe)");
	assert_rule(entry, "(|(cn=\\4A*))", "(cn=J*)");
	assert_rule(entry, "(&)", "(&)");
	assert_rule(entry, "(|(|)(&))", "(&)");
	assert_rule(entry, "(|(uid=x)(uid=y))", NULL);
	assert_rule(entry, "(|)", NULL);
	entry_free(entry);
}

static void assert_attrs(const char *text, const char *const *expected)
{
	struct mg_filter *filter = parse_ok(text);
	const char *const *attrs = mg_filter_attrs(filter);
	unsigned int i;

	g_assert_nonnull(attrs);
	for (i = 0; expected[i] != NULL; i++)
		g_assert_cmpstr(attrs[i], ==, expected[i]);
	g_assert_null(attrs[i]);
	mg_filter_free(&filter);
}

static void test_attrs(void)
{
	static const char *const none[] = { NULL };
	static const char *const one[] = { "uid", NULL };
	static const char *const three[] = {
		"objectClass", "UID", "mail", NULL
	};
	static const char *const oid[] = { "2.5.4.3", "cn", NULL };
	static const char *const ext[] = {
		"userAccountControl", "cn;lang-en", NULL
	};

	assert_attrs("(&)", none);
	assert_attrs("(uid=a)", one);
	assert_attrs("(|(uid=a)(UID=b)(Uid=*)(!(uid>=c)))", one);
	assert_attrs("(&(objectClass=a)(UID=b)(|(objectclass=c)(uid=*)"
		     "(mail=x*)(MAIL~=y)))", three);
	/* an OID and a name are different spellings to us */
	assert_attrs("(|(2.5.4.3=a)(cn=a))", oid);
	/* an extensible match without an attribute names none */
	assert_attrs("(|(userAccountControl:1.2.840.113556.1.4.803:=2)"
		     "(:dn:2.4.8.10:=a)(cn;lang-en=x))", ext);
}

static void test_canonical_text(void)
{
	static const struct {
		const char *text;
		const char *canonical;
	} tests[] = {
		{ "(cn=a)", "(cn=a)" },
		{ "cn=a", "(cn=a)" },
		{ "cn=*", "(cn=*)" },
		{ "(CN=Mixed Case)", "(CN=Mixed Case)" },
		{ "(cn=\\2A)", "(cn=\\2a)" },
		{ "(cn=\\41\\62)", "(cn=Ab)" },
		{ "(cn=\\c3\\A9)", "(cn=\\c3\\a9)" },
		{ "(cn=\xc3\xa9)", "(cn=\\c3\\a9)" },
		{ "(cn=a\\00b)", "(cn=a\\00b)" },
		/* RFC 4515 allows raw control bytes; they come out escaped */
		{ "(cn=a\x01\x7f)", "(cn=a\\01\\7f)" },
		{ "(cn=)", "(cn=)" },
		{ "(cn=*a*\\2a*b*)", "(cn=*a*\\2a*b*)" },
		{ "(cn=a*)", "(cn=a*)" },
		{ "(cn=*a)", "(cn=*a)" },
		{ "(cn~=a)", "(cn~=a)" },
		{ "(n>=-10)", "(n>=-10)" },
		{ "(n<=\\31)", "(n<=1)" },
		{ "(&)", "(&)" },
		{ "(|)", "(|)" },
		{ "(!(&))", "(!(&))" },
		{ "(&(a=1)(|(b=2)(!(c=*)))(d=x*y))",
		  "(&(a=1)(|(b=2)(!(c=*)))(d=x*y))" },
		{ "(1.2.840.113556.1.2.352=x)", "(1.2.840.113556.1.2.352=x)" },
		{ "(0.9=x)", "(0.9=x)" },
		{ "(a-b-1=x)", "(a-b-1=x)" },
		/* all of RFC 4515, for the filters sent to the server */
		{ "(cn;lang-en;x-1=a)", "(cn;lang-en;x-1=a)" },
		{ "(cn:=a)", "(cn:=a)" },
		{ "(cn:dn:=a)", "(cn:dn:=a)" },
		{ "(cn:DN:=a)", "(cn:dn:=a)" },
		{ "(cn:caseExactMatch:=\\2a)", "(cn:caseExactMatch:=\\2a)" },
		{ "(:dn:2.4.8.10:=a)", "(:dn:2.4.8.10:=a)" },
		{ "(:caseIgnoreMatch:=a)", "(:caseIgnoreMatch:=a)" },
		{ "(cn:dnQualifier:=a)", "(cn:dnQualifier:=a)" },
		{ "(&(objectCategory=person)(sAMAccountName=%n)"
		  "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
		  "(&(objectCategory=person)(sAMAccountName=%n)"
		  "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))" },
	};
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(tests); i++) {
		struct mg_filter *filter = parse_ok(tests[i].text);
		struct mg_filter *again;

		g_assert_cmpstr(mg_filter_text(filter), ==,
				tests[i].canonical);
		again = parse_ok(mg_filter_text(filter));
		g_assert_cmpstr(mg_filter_text(again), ==,
				mg_filter_text(filter));
		mg_filter_free(&again);
		mg_filter_free(&filter);
	}
}

/* What the plugin does with a user name: escape, substitute, parse. The
   result must be exactly one equality on uid with the original bytes. */
static void assert_hostile_user(const char *user, size_t len)
{
	char *escaped = g_malloc(MG_ESCAPE_BUFSIZE(len));
	struct test_entry *other = entry_new(), *same = entry_new();
	struct mg_filter *filter;
	const char *const *attrs;
	const char *rule = NULL;
	char *text, *prefix;
	bool printable = true;

	mg_escape_filter_value(user, len, escaped);
	text = g_strdup_printf("(uid=%s)", escaped);
	filter = parse_ok(text);
	/* the canonical text re-escapes the decoded value: equal to the
	   input only if the value decoded to exactly the original bytes and
	   no '*' turned it into a presence or substring filter */
	g_assert_cmpstr(mg_filter_text(filter), ==, text);
	attrs = mg_filter_attrs(filter);
	g_assert_cmpstr(attrs[0], ==, "uid");
	g_assert_null(attrs[1]);

	/* the local matcher compares printable ASCII only, so it refuses
	   the others (the plugin never matches pass_filter locally) */
	for (size_t i = 0; i < len; i++)
		printable = printable && user[i] >= 0x20 && user[i] < 0x7f;
	if (!printable || len == 0) {
		struct mg_error error;

		g_assert_false(mg_filter_check_local(filter, &error));
		goto out;
	}
	g_assert_true(mg_filter_check_local(filter, NULL));
	/* a different user must not match, whatever the metacharacters */
	entry_add(other, "uid", "bob");
	g_assert_false(mg_filter_match(filter, &other->view, NULL));
	/* nor may a value cut short at an embedded NUL */
	prefix = g_strndup(user, len);
	if (strlen(prefix) < len) {
		entry_add(same, "uid", prefix);
		g_assert_false(mg_filter_match(filter, &same->view, NULL));
	} else {
		entry_add(same, "uid", prefix);
		g_assert_true(mg_filter_match(filter, &same->view, &rule));
		g_assert_cmpstr(rule, ==, text);
	}
	g_free(prefix);
out:
	mg_filter_free(&filter);
	entry_free(other);
	entry_free(same);
	g_free(text);
	g_free(escaped);
}

static void test_hostile_user(void)
{
	static const struct {
		const char *user;
		size_t len;
	} users[] = {
		{ "*", 1 },
		{ "a)(uid=*", 8 },
		{ "*)(|(uid=*", 10 },
		{ "\\", 1 },
		{ "\\2a", 3 },
		{ "a\0b", 3 },
		{ "\0", 1 },
		{ "\xc3(", 2 },
		{ "\xff\xfe)", 3 },
		{ "jd\xc3\xb6", 4 },
		{ "", 0 },
		{ ")", 1 },
		{ "(", 1 },
	};
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(users); i++)
		assert_hostile_user(users[i].user, users[i].len);
}

/* No hidden shared state: threads parsing their own filters and matching
   one shared filter must all get the same answers. */
static gpointer thread_run(gpointer data)
{
	const struct mg_filter *shared = data;
	struct test_entry *entry = person_entry();
	unsigned int i, failures = 0;

	for (i = 0; i < 200; i++) {
		struct mg_filter *own = local_ok("(|(uid=x)(cn=J*n D*))");
		const char *rule = NULL;

		if (!mg_filter_match(own, &entry->view, &rule) ||
		    strcmp(rule, "(cn=J*n D*)") != 0)
			failures++;
		if (!mg_filter_match(shared, &entry->view, &rule) ||
		    strcmp(rule, "(uidNumber>=1000)") != 0)
			failures++;
		mg_filter_free(&own);
	}
	entry_free(entry);
	return GUINT_TO_POINTER(failures);
}

static void test_threads(void)
{
	struct mg_filter *shared = local_ok("(|(title=*)(uidNumber>=1000))");
	GThread *threads[4];
	unsigned int i;

	for (i = 0; i < G_N_ELEMENTS(threads); i++)
		threads[i] = g_thread_new("filter", thread_run, shared);
	for (i = 0; i < G_N_ELEMENTS(threads); i++) {
		gpointer failures = g_thread_join(threads[i]);

		g_assert_cmpuint(GPOINTER_TO_UINT(failures), ==, 0);
	}
	mg_filter_free(&shared);
	g_assert_null(shared);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/filter/parse/errors", test_parse_errors);
	g_test_add_func("/filter/parse/error-null", test_parse_error_null);
	g_test_add_func("/filter/parse/depth", test_depth);
	g_test_add_func("/filter/parse/length", test_length);
	g_test_add_func("/filter/match", test_match);
	g_test_add_func("/filter/match/empty-entry", test_match_empty_entry);
	g_test_add_func("/filter/check-local", test_check_local);
	g_test_add_func("/filter/rule", test_rule);
	g_test_add_func("/filter/attrs", test_attrs);
	g_test_add_func("/filter/canonical-text", test_canonical_text);
	g_test_add_func("/filter/hostile-user", test_hostile_user);
	g_test_add_func("/filter/threads", test_threads);
	return g_test_run();
}

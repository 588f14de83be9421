/* Classification by profile: each directory family's markers, as the
   notes on Exchange recipients describe them. */

#include <glib.h>
#include <string.h>
#include "mg-classify.h"
#include "mg-schema.h"

/* An entry written as "attr=value" strings; attribute names compare
   case-insensitively, as LDAP's do. */
struct test_entry {
	GHashTable *attrs;
};

static unsigned int test_get_values(void *context, const char *attr,
				    const char *const **values_r)
{
	struct test_entry *entry = context;
	char *key = g_ascii_strdown(attr, -1);
	GPtrArray *values = g_hash_table_lookup(entry->attrs, key);

	g_free(key);
	if (values == NULL)
		return 0;
	*values_r = (const char *const *)values->pdata;
	return values->len - 1;
}

static void test_entry_init(struct test_entry *entry, const char *const *avas)
{
	entry->attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)g_ptr_array_unref);
	for (; *avas != NULL; avas++) {
		const char *eq = strchr(*avas, '=');
		char *name = g_ascii_strdown(*avas, eq - *avas);
		GPtrArray *values = g_hash_table_lookup(entry->attrs, name);

		if (values == NULL) {
			values = g_ptr_array_new_with_free_func(g_free);
			g_ptr_array_add(values, NULL);
			g_hash_table_insert(entry->attrs, g_strdup(name), values);
		}
		g_ptr_array_index(values, values->len - 1) = g_strdup(eq + 1);
		g_ptr_array_add(values, NULL);
		g_free(name);
	}
}

static enum mg_kind classify(const struct mg_classifier *classifier,
			     const char *const *avas, const char **rule_r)
{
	struct test_entry entry;
	struct mg_entry_view view = { test_get_values, &entry };
	enum mg_kind kind;

	test_entry_init(&entry, avas);
	kind = mg_classify(classifier, &view, rule_r);
	g_hash_table_unref(entry.attrs);
	return kind;
}

struct case_def {
	const char *name;
	const char *avas[6];
	enum mg_kind kind;
};

static void run_cases(enum mg_profile profile, const struct case_def *cases,
		      gsize count)
{
	struct mg_error error;
	struct mg_classifier *classifier =
		mg_classifier_new(profile, NULL, NULL, &error);

	g_assert_nonnull(classifier);
	for (gsize i = 0; i < count; i++) {
		const char *rule = NULL;
		enum mg_kind kind = classify(classifier, cases[i].avas, &rule);

		if (kind != cases[i].kind)
			g_error("%s/%s: got %s (rule %s)", mg_profile_name(profile),
				cases[i].name, mg_kind_name(kind), rule);
		g_assert_nonnull(rule);
	}
	mg_classifier_free(&classifier);
	g_assert_null(classifier);
}

static void test_exchange55(void)
{
	static const struct case_def cases[] = {
		{ "mailbox", { "objectClass=organizationalPerson",
			       "objectClass=person", "objectClass=Top",
			       "Home-MDB=cn=Microsoft Private MDB", NULL },
		  MG_KIND_MAILBOX },
		{ "remote-address", { "objectClass=remote-address",
				      "Target-Address=SMTP:x@y", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "custom-recipient", { "objectClass=Custom-Recipient",
					"Target-Address=SMTP:x@y", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
	};

	run_cases(MG_PROFILE_EXCHANGE55, cases, G_N_ELEMENTS(cases));
}

static void test_ad(void)
{
	static const struct case_def cases[] = {
		{ "user-mailbox", { "objectClass=user", "homeMDB=CN=DB1",
				    "msExchRecipientTypeDetails=1", NULL },
		  MG_KIND_MAILBOX },
		{ "shared-mailbox", { "objectClass=user", "homeMDB=CN=DB1",
				      "msExchRecipientTypeDetails=4", NULL },
		  MG_KIND_MAILBOX },
		{ "contact", { "objectClass=contact",
			       "targetAddress=SMTP:a@b", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "mail-contact-type", { "objectClass=user",
					 "msExchRecipientTypeDetails=64", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "mailuser-type", { "objectClass=user",
				     "msExchRecipientTypeDetails=128", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "remote-user-mailbox", { "objectClass=user",
			"msExchRecipientTypeDetails=2147483648", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "mailuser-by-target", { "objectClass=user",
					  "targetAddress=SMTP:a@b", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "forwarding-mailbox", { "objectClass=user", "homeMDB=CN=DB1",
					  "targetAddress=SMTP:a@b", NULL },
		  MG_KIND_MAILBOX },
	};

	run_cases(MG_PROFILE_AD, cases, G_N_ELEMENTS(cases));
}

static void test_openldap(void)
{
	static const struct case_def cases[] = {
		{ "inetLocalMailRecipient", { "objectClass=inetLocalMailRecipient",
			"mailRoutingAddress=a@b", "mailHost=mx1", NULL },
		  MG_KIND_MAILBOX },
		{ "routing-only", { "objectClass=inetLocalMailRecipient",
				    "mailRoutingAddress=a@b", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "nisMailAlias", { "objectClass=nisMailAlias", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "courier-alias", { "objectClass=CourierMailAlias", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "postfixbook-forward", { "objectClass=PostfixBookMailForward",
					   NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "qmail-forwardonly", { "objectClass=qmailUser",
			"deliveryMode=noprogram", "deliveryMode=forwardonly",
			NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "qmail-nombox", { "objectClass=qmailUser",
				    "deliveryMode=nombox", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "qmail-noaccess", { "objectClass=qmailUser",
				      "accountStatus=noaccess", NULL },
		  MG_KIND_CUSTOM_RECIPIENT },
		{ "qmail-mailbox", { "objectClass=qmailUser",
				     "mailMessageStore=/var/mail/a",
				     "accountStatus=active", NULL },
		  MG_KIND_MAILBOX },
	};

	run_cases(MG_PROFILE_OPENLDAP, cases, G_N_ELEMENTS(cases));
}

static void test_custom_filter_replaces_profile(void)
{
	static const char *const contact[] = { "objectClass=contact", NULL };
	static const char *const marked[] = { "employeeType=external", NULL };
	struct mg_error error;
	struct mg_classifier *classifier = mg_classifier_new(MG_PROFILE_AD,
		"(employeeType=external)", NULL, &error);
	const char *rule;

	g_assert_nonnull(classifier);
	g_assert_cmpint(classify(classifier, contact, &rule), ==,
			MG_KIND_MAILBOX);
	g_assert_cmpint(classify(classifier, marked, &rule), ==,
			MG_KIND_CUSTOM_RECIPIENT);
	g_assert_cmpstr(rule, ==, "(employeeType=external)");
	mg_classifier_free(&classifier);
}

static void test_mailbox_match_narrows(void)
{
	static const char *const with_store[] = { "mailMessageStore=/m", NULL };
	static const char *const without[] = { "uid=a", NULL };
	struct mg_error error;
	struct mg_classifier *classifier = mg_classifier_new(MG_PROFILE_NONE,
		NULL, "(mailMessageStore=*)", &error);
	const char *rule;

	g_assert_nonnull(classifier);
	g_assert_cmpint(classify(classifier, with_store, &rule), ==,
			MG_KIND_MAILBOX);
	g_assert_cmpint(classify(classifier, without, &rule), ==,
			MG_KIND_CUSTOM_RECIPIENT);
	g_assert_cmpstr(rule, ==, "!(mailMessageStore=*)");
	mg_classifier_free(&classifier);
}

static void test_profile_attrs_requested_by_name(void)
{
	struct mg_error error;
	struct mg_classifier *classifier =
		mg_classifier_new(MG_PROFILE_EXCHANGE55, NULL, NULL, &error);
	const char *const *attrs = mg_classifier_attrs(classifier);
	gboolean home_mdb = FALSE;

	for (; *attrs != NULL; attrs++) {
		if (g_ascii_strcasecmp(*attrs, "Home-MDB") == 0)
			home_mdb = TRUE;
	}
	g_assert_true(home_mdb);
	mg_classifier_free(&classifier);
}

static void test_bad_filter_is_reported(void)
{
	struct mg_error error;

	g_assert_null(mg_classifier_new(MG_PROFILE_NONE, "(a=b", NULL, &error));
	g_assert_true(g_str_has_prefix(error.message, "custom_recipient_match: "));
	g_assert_null(mg_classifier_new(MG_PROFILE_NONE, NULL, "(", &error));
	g_assert_true(g_str_has_prefix(error.message, "mailbox_match: "));
}

static void test_choose(void)
{
	static const char *const user[] = { "objectClass=user",
					    "homeMDB=CN=DB1", NULL };
	static const char *const contact[] = { "objectClass=contact", NULL };
	struct mg_error error;
	struct mg_classifier *classifier =
		mg_classifier_new(MG_PROFILE_AD, NULL, NULL, &error);
	struct test_entry e[3];
	struct mg_entry_view views[3];
	enum mg_kind kinds[3];
	const char *rules[3];
	unsigned int chosen;

	test_entry_init(&e[0], contact);
	test_entry_init(&e[1], user);
	test_entry_init(&e[2], contact);
	for (unsigned int i = 0; i < 3; i++) {
		views[i].get_values = test_get_values;
		views[i].context = &e[i];
	}
	/* the user's mailbox wins over the contacts sharing its address */
	g_assert_cmpuint(mg_classify_choose(classifier, views, 3, kinds, rules,
					    &chosen), ==, 1);
	g_assert_cmpuint(chosen, ==, 1);
	g_assert_cmpint(kinds[0], ==, MG_KIND_CUSTOM_RECIPIENT);
	/* two mailboxes: ambiguous */
	views[0].context = &e[1];
	g_assert_cmpuint(mg_classify_choose(classifier, views, 3, kinds, rules,
					    &chosen), ==, 2);
	/* only contacts: the first */
	views[0].context = &e[2];
	views[1].context = &e[0];
	g_assert_cmpuint(mg_classify_choose(classifier, views, 2, kinds, rules,
					    &chosen), ==, 0);
	g_assert_cmpuint(chosen, ==, 0);
	for (unsigned int i = 0; i < 3; i++)
		g_hash_table_unref(e[i].attrs);
	mg_classifier_free(&classifier);
}

static void test_too_many_attributes(void)
{
	GString *filter = g_string_new("(|");
	struct mg_classifier *classifier;
	struct mg_error error;
	unsigned int count = mg_schema_attr_count();

	/* Only the attributes the local matcher knows may be named, and
	   all of them together still fit in what a search asks for: the
	   bound cannot be passed while the table stays within it. */
	g_assert_cmpuint(count, <=, 64);
	for (unsigned int i = 0; i < count; i++)
		g_string_append_printf(filter, "(%s=*)",
				       mg_schema_attr_get(i)->name);
	g_string_append(filter, ")");
	classifier = mg_classifier_new(MG_PROFILE_EXCHANGE55, filter->str,
				       filter->str, &error);
	if (classifier == NULL)
		g_error("%s", error.message);
	for (unsigned int i = 0; i < count; i++) {
		g_assert_cmpstr(mg_classifier_attrs(classifier)[i], ==,
				mg_schema_attr_get(i)->name);
	}
	g_assert_null(mg_classifier_attrs(classifier)[count]);
	mg_classifier_free(&classifier);

	/* 65 made-up attributes: refused, by the first one */
	g_string_assign(filter, "(|");
	for (unsigned int i = 0; i <= 64; i++)
		g_string_append_printf(filter, "(attr%u=x)", i);
	g_string_append(filter, ")");
	classifier = mg_classifier_new(MG_PROFILE_NONE, filter->str, NULL,
				       &error);
	g_assert_null(classifier);
	g_assert_nonnull(strstr(error.message, "(attr0=x): attr0 is not "
				"among the attributes"));
	g_string_free(filter, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/classify/exchange55", test_exchange55);
	g_test_add_func("/classify/too-many-attributes",
			test_too_many_attributes);
	g_test_add_func("/classify/ad", test_ad);
	g_test_add_func("/classify/openldap", test_openldap);
	g_test_add_func("/classify/custom-replaces-profile",
			test_custom_filter_replaces_profile);
	g_test_add_func("/classify/mailbox-match", test_mailbox_match_narrows);
	g_test_add_func("/classify/profile-attrs",
			test_profile_attrs_requested_by_name);
	g_test_add_func("/classify/bad-filter", test_bad_filter_is_reported);
	g_test_add_func("/classify/choose", test_choose);
	return g_test_run();
}

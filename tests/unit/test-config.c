/* Settings validation: each key alone, then the file as a whole. */

#include <glib.h>
#include "mg-config.h"

static struct mg_config *config_with(const char *const *pairs)
{
	struct mg_config *config = mg_config_new();
	struct mg_error error;

	g_assert_nonnull(config);
	for (; *pairs != NULL; pairs += 2) {
		if (!mg_config_set(config, pairs[0], pairs[1], &error))
			g_error("%s = %s: %s", pairs[0], pairs[1], error.message);
	}
	return config;
}

static void test_defaults_follow_dovecot_ldap(void)
{
	struct mg_config *config = mg_config_new();

	g_assert_cmpstr(config->pass_filter, ==,
			"(&(objectClass=posixAccount)(uid=%u))");
	g_assert_cmpstr(config->default_pass_scheme, ==, "CRYPT");
	g_assert_cmpint(config->scope, ==, MG_SCOPE_SUBTREE);
	g_assert_cmpint(config->custom_recipient_result, ==, MG_REFUSAL_FAILURE);
	g_assert_cmpuint(config->request_timeout_msecs, ==, 5000);
	g_assert_cmpint(config->change_feed, ==, MG_CHANGE_FEED_NO);
	g_assert_cmpuint(config->change_feed_timeout_msecs, ==, 10000);
	g_assert_cmpuint(config->iterate_page_size, ==, 500);
	g_assert_false(config->auth_bind);
	mg_config_free(&config);
	g_assert_null(config);
}

static void test_rejects_bad_values(void)
{
	static const struct {
		const char *key, *value, *message_part;
	} cases[] = {
		{ "no_such_key", "x", "unknown setting 'no_such_key'" },
		{ "uris", "http://x", "not an ldap://" },
		{ "uris", "   ", "no URI given" },
		{ "scope", "everything", "expected base, onelevel or subtree" },
		{ "auth_bind", "maybe", "expected yes or no" },
		{ "connections", "0", "from 1 to 100000" },
		{ "connections", "12x", "from 1 to 100000" },
		{ "iterate_page_size", "0", "from 1 to 100000" },
		{ "iterate_page_size", "100001", "from 1 to 100000" },
		{ "request_timeout", "5 fortnights", "such as 5s" },
		{ "request_timeout", "0", "such as 5s" },
		{ "recipient_profile", "exchange2003", "exchange55, ad, openldap" },
		{ "custom_recipient_result", "maybe", "failure or tempfail" },
		{ "change_feed", "yes", "no, syncrepl, ad-notify or auto" },
		{ "change_feed", "dirsync", "no, syncrepl, ad-notify or auto" },
		{ "change_feed", "AD-Notify", "got 'AD-Notify'" },
		{ "change_feed_timeout", "0", "such as 5s" },
		{ "custom_recipient_match", "(objectClass=contact", "invalid LDAP filter" },
		{ "pass_filter", "(uid=%u))", "invalid LDAP filter" },
		{ "mailbox_match", "(&(a=b)", "invalid LDAP filter" },
		/* what the local matcher would judge unlike the server */
		{ "custom_recipient_match", "(|(objectClass=contact)"
		  "(objectCategory=person))", "custom_recipient_match: filter "
		  "not evaluated locally: (objectCategory=person): "
		  "objectCategory holds the DN of a schema entry" },
		{ "mailbox_match", "(userid=*)", "mailbox_match: filter not "
		  "evaluated locally: (userid=*): userid is another name of "
		  "uid" },
		{ "custom_recipient_match", "(msExchRecipientTypeDetails=0128)",
		  "write 128" },
		{ "custom_recipient_match", "(cn:dn:=x)", ":dn also matches" },
		{ "mailbox_match", "(homeMDB:2.5.13.1:=x)", "matching rule "
		  "2.5.13.1 is not evaluated locally" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct mg_config *config = mg_config_new();
		struct mg_error error = { { 0 } };

		g_assert_false(mg_config_set(config, cases[i].key,
					     cases[i].value, &error));
		if (strstr(error.message, cases[i].message_part) == NULL)
			g_error("%s = %s: '%s' lacks '%s'", cases[i].key,
				cases[i].value, error.message,
				cases[i].message_part);
		mg_config_free(&config);
	}
}

static void test_accepts_times_and_uris(void)
{
	static const char *const pairs[] = {
		"uris", "ldap://a:389 ldaps://b ldapi://%2frun%2fslapd.sock",
		"request_timeout", "500ms",
		"max_pending", "10",
		"change_feed", "syncrepl",
		"change_feed_timeout", "3s",
		"iterate_page_size", "1000",
		"scope", "onelevel",
		"auth_bind", "yes",
		"recipient_profile", "ad",
		"custom_recipient_result", "tempfail",
		NULL
	};
	struct mg_config *config = config_with(pairs);

	g_assert_cmpuint(config->request_timeout_msecs, ==, 500);
	g_assert_cmpuint(config->max_pending, ==, 10);
	g_assert_cmpint(config->change_feed, ==, MG_CHANGE_FEED_SYNCREPL);
	g_assert_cmpuint(config->change_feed_timeout_msecs, ==, 3000);
	g_assert_cmpuint(config->iterate_page_size, ==, 1000);
	g_assert_cmpint(config->scope, ==, MG_SCOPE_ONELEVEL);
	g_assert_true(config->auth_bind);
	g_assert_cmpint(config->recipient_profile, ==, MG_PROFILE_AD);
	g_assert_cmpint(config->custom_recipient_result, ==, MG_REFUSAL_TEMPFAIL);
	mg_config_free(&config);
}

/* AD's own filters go to the server as they are (issue 12). */
static void test_change_feed_values(void)
{
	static const struct {
		const char *value;
		enum mg_change_feed feed;
	} cases[] = {
		{ "no", MG_CHANGE_FEED_NO },
		{ "syncrepl", MG_CHANGE_FEED_SYNCREPL },
		{ "ad-notify", MG_CHANGE_FEED_AD_NOTIFY },
		{ "auto", MG_CHANGE_FEED_AUTO },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *pairs[] = { "change_feed", cases[i].value, NULL };
		struct mg_config *config = config_with(pairs);

		g_assert_cmpint(config->change_feed, ==, cases[i].feed);
		mg_config_free(&config);
	}
}

static void test_accepts_server_filters(void)
{
	static const char *const ad =
		"(&(objectCategory=person)(sAMAccountName=%n)"
		"(!(userAccountControl:1.2.840.113556.1.4.803:=2)))";
	static const char *const keys[] = {
		"pass_filter", "user_filter", "iterate_filter"
	};
	static const char *const filters[] = {
		"(&(objectClass=user)(userPrincipalName=%u)"
		"(!(userAccountControl:1.2.840.113556.1.4.804:=18)))",
		"(&(uid=%u)(:dn:2.5.13.5:=People))",
		"(&(cn;lang-de=%u)(cn:caseExactMatch:=%u))",
		"(memberOf:1.2.840.113556.1.4.1941:=cn=g,dc=x)",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		struct mg_config *config = mg_config_new();
		struct mg_error error = { { 0 } };

		if (!mg_config_set(config, keys[i], ad, &error))
			g_error("%s: %s", keys[i], error.message);
		g_assert_cmpstr(*(char **)(keys[i][0] == 'p' ?
					   &config->pass_filter :
					   keys[i][0] == 'u' ?
					   &config->user_filter :
					   &config->iterate_filter), ==, ad);
		for (gsize j = 0; j < G_N_ELEMENTS(filters); j++) {
			if (!mg_config_set(config, keys[i], filters[j], &error))
				g_error("%s = %s: %s", keys[i], filters[j],
					error.message);
		}
		mg_config_free(&config);
	}
}

static void test_finish_requires_uris_and_base(void)
{
	static const char *const no_base[] = { "uris", "ldap://x", NULL };
	static const char *const no_uris[] = { "base", "dc=x", NULL };
	static const char *const dnpass_only[] = {
		"uris", "ldap://x", "base", "dc=x", "dnpass", "s", NULL
	};
	struct mg_config *config;
	struct mg_error error;

	config = config_with(no_base);
	g_assert_false(mg_config_finish(config, &error));
	g_assert_cmpstr(error.message, ==, "missing required setting 'base'");
	mg_config_free(&config);

	config = config_with(no_uris);
	g_assert_false(mg_config_finish(config, &error));
	g_assert_cmpstr(error.message, ==, "missing required setting 'uris'");
	mg_config_free(&config);

	config = config_with(dnpass_only);
	g_assert_false(mg_config_finish(config, &error));
	g_assert_nonnull(strstr(error.message, "dn is not"));
	mg_config_free(&config);
}

/* an empty password makes the bind unauthenticated, i.e. anonymous */
static void test_finish_refuses_empty_dnpass(void)
{
	static const char *const empty[] = {
		"uris", "ldap://x", "base", "dc=x", "dn", "cn=a", "dnpass", "",
		NULL
	};
	struct mg_config *config = config_with(empty);
	struct mg_error error;

	g_assert_false(mg_config_finish(config, &error));
	g_assert_cmpstr(error.message, ==, "dn is set but dnpass is empty");
	mg_config_free(&config);
}

static void test_finish_builds_classifier(void)
{
	static const char *const pairs[] = {
		"uris", "ldap://x", "base", "dc=x",
		"custom_recipient_match", "(objectClass=contact)",
		NULL
	};
	struct mg_config *config = config_with(pairs);
	struct mg_error error;

	g_assert_true(mg_config_finish(config, &error));
	g_assert_nonnull(config->classifier);
	g_assert_cmpstr(mg_classifier_attrs(config->classifier)[0], ==,
			"objectClass");
	mg_config_free(&config);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults_follow_dovecot_ldap);
	g_test_add_func("/config/rejects-bad-values", test_rejects_bad_values);
	g_test_add_func("/config/accepts", test_accepts_times_and_uris);
	g_test_add_func("/config/change-feed", test_change_feed_values);
	g_test_add_func("/config/accepts-server-filters",
			test_accepts_server_filters);
	g_test_add_func("/config/finish-required", test_finish_requires_uris_and_base);
	g_test_add_func("/config/finish-empty-dnpass",
			test_finish_refuses_empty_dnpass);
	g_test_add_func("/config/finish-classifier", test_finish_builds_classifier);
	return g_test_run();
}

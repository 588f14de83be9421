/* Exchange event texts, checked against the wording of KB Q173776 as the
   project notes record it. */

#include <glib.h>
#include <string.h>
#include "mg-exchange.h"

static const struct mg_exchange_params params = {
	.domain = "ORG",
	.login = "jdoe",
	.alias = "jdoe",
	.login_x500 = "/o=Org/ou=Site/cn=Recipients/cn=jdoe",
	.target_x500 = "/o=Org/ou=Site/cn=Recipients/cn=jdoe",
	.addr = "1.1.1.1",
};

static void check_line(enum mg_exchange_event_kind kind, const char *expected)
{
	char buf[1024];
	size_t len = mg_exchange_format_line(kind, &params, buf, sizeof(buf));

	g_assert_cmpstr(buf, ==, expected);
	g_assert_cmpuint(len, ==, strlen(expected));
}

static void test_lines(void)
{
	check_line(MG_EXCHANGE_IS_LOGON_FAILURE,
		"MSExchangeIS Private: Event ID 1023 (Failure Audit, Logons): "
		"ORG\\jdoe was validated as /o=Org/ou=Site/cn=Recipients/cn=jdoe "
		"but was unable to log on to /o=Org/ou=Site/cn=Recipients/cn=jdoe.");
	check_line(MG_EXCHANGE_IMAP4_LOGON_FAILED,
		"MSExchange IMAP4: Event ID 13003 (Error, Authentication): "
		"Logon attempt from 1.1.1.1 to jdoe/jdoe has failed: "
		"EcDoPrivateLogon() call failed with error Logon failure.");
	check_line(MG_EXCHANGE_POP3_LOGON_FAILED,
		"MSExchange POP3: Event ID 13003 (Error, Authentication): "
		"Logon attempt from 1.1.1.1 to jdoe/jdoe has failed: "
		"EcGetMailboxDN() call failed with error. The requested mailbox "
		"is not available on this server.");
	check_line(MG_EXCHANGE_IMAP4_LOGON_SUCCESS,
		"MSExchange IMAP4: Event ID 11202 (Success Audit, Authentication): "
		"An IMAP4 client 1.1.1.1 successfully logged on to the mailbox "
		"jdoe/jdoe.");
}

static void test_truncation_reports_full_length(void)
{
	char small[16], big[1024];
	size_t full = mg_exchange_format_line(MG_EXCHANGE_IS_LOGON_FAILURE,
					      &params, big, sizeof(big));

	g_assert_cmpuint(mg_exchange_format_line(MG_EXCHANGE_IS_LOGON_FAILURE,
						 &params, small, sizeof(small)),
			 ==, full);
	g_assert_cmpuint(strlen(small), ==, sizeof(small) - 1);
	g_assert_true(strncmp(small, big, sizeof(small) - 1) == 0);
}

static void test_diagnostics_levels(void)
{
	enum mg_diagnostics_level level;

	g_assert_true(mg_diagnostics_parse("minimum", &level));
	g_assert_cmpint(level, ==, 1);
	g_assert_false(mg_diagnostics_parse("verbose", &level));
	/* errors and failure audits always; success audits from minimum */
	g_assert_true(mg_exchange_event_wanted(MG_EXCHANGE_IS_LOGON_FAILURE,
					       MG_DIAGNOSTICS_NONE));
	g_assert_true(mg_exchange_event_wanted(MG_EXCHANGE_POP3_LOGON_FAILED,
					       MG_DIAGNOSTICS_NONE));
	g_assert_false(mg_exchange_event_wanted(MG_EXCHANGE_IMAP4_LOGON_SUCCESS,
						MG_DIAGNOSTICS_NONE));
	g_assert_true(mg_exchange_event_wanted(MG_EXCHANGE_IMAP4_LOGON_SUCCESS,
					       MG_DIAGNOSTICS_MINIMUM));
}

static void test_defaults_from_base(void)
{
	char buf[64];

	mg_exchange_default_domain("ou=people,dc=corp,dc=example", buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "CORP");
	mg_exchange_default_org("cn=Recipients,ou=Site,o=Org", buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "Org");
	mg_exchange_default_site("cn=Recipients,ou=Site,o=Org", buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "Site");
	mg_exchange_default_org("dc=corp,dc=example", buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "corp");
	mg_exchange_default_site("dc=corp,dc=example", buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "example");
	mg_exchange_default_domain("o=Org", buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "ORG");
	mg_exchange_x500_dn("Org", "Site", "jdoe", buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "/o=Org/ou=Site/cn=Recipients/cn=jdoe");
}

/* An entry with a fixed set of single-valued attributes. */
static unsigned int pairs_get_values(void *context, const char *attr,
				     const char *const **values_r)
{
	const char *const *const *pairs = context;

	for (; *pairs != NULL; pairs++) {
		if (g_ascii_strcasecmp((*pairs)[0], attr) == 0) {
			*values_r = *pairs + 1;
			return 1;
		}
	}
	return 0;
}

static void test_names(void)
{
	static const char *const nick[] = { "mailNickname", "jdoe", NULL };
	static const char *const legacy[] = {
		"legacyExchangeDN", "/o=Corp/ou=AG/cn=Recipients/cn=jdoe", NULL
	};
	static const char *const *const with_legacy[] = { nick, legacy, NULL };
	static const char *const *const bare[] = { NULL };
	const struct mg_exchange_identity id = {
		"CORP", "Org", "Site", "mailNickname"
	};
	struct mg_entry_view view = { pairs_get_values, (void *)with_legacy };
	struct mg_exchange_names names;

	mg_exchange_names_init(&names, &id, &view, "John.Doe", NULL, "10.0.0.1");
	g_assert_cmpstr(names.params.alias, ==, "jdoe");
	g_assert_cmpstr(names.params.login, ==, "John.Doe");
	g_assert_cmpstr(names.params.target_x500, ==,
			"/o=Corp/ou=AG/cn=Recipients/cn=jdoe");
	g_assert_cmpstr(names.params.login_x500, ==, names.params.target_x500);

	/* a delegate logon: the master is who was validated */
	mg_exchange_names_init(&names, &id, &view, "jdoe", "admin", "10.0.0.1");
	g_assert_cmpstr(names.params.login, ==, "admin");
	g_assert_cmpstr(names.params.login_x500, ==,
			"/o=Org/ou=Site/cn=Recipients/cn=admin");
	g_assert_cmpstr(names.params.target_x500, ==,
			"/o=Corp/ou=AG/cn=Recipients/cn=jdoe");

	/* no alias attribute, no legacyExchangeDN: built from the user */
	view.context = (void *)bare;
	mg_exchange_names_init(&names, &id, &view, "jdoe", NULL, "10.0.0.1");
	g_assert_cmpstr(names.params.alias, ==, "jdoe");
	g_assert_cmpstr(names.params.target_x500, ==,
			"/o=Org/ou=Site/cn=Recipients/cn=jdoe");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/exchange/lines", test_lines);
	g_test_add_func("/exchange/truncation", test_truncation_reports_full_length);
	g_test_add_func("/exchange/diagnostics", test_diagnostics_levels);
	g_test_add_func("/exchange/defaults", test_defaults_from_base);
	g_test_add_func("/exchange/names", test_names);
	return g_test_run();
}

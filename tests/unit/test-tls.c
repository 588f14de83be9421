#include <stdbool.h>
#include <string.h>
#include <glib.h>

#include "mg-tls.h"

static void test_file_missing(void)
{
	struct mg_error error;

	g_assert_false(mg_tls_file_readable("tls_ca_cert_file",
					    "/nonexistent/ca.pem", false,
					    &error));
	g_assert_cmpstr(error.message, ==, "tls_ca_cert_file "
			"/nonexistent/ca.pem: No such file or directory");
}

static void test_file_kinds(void)
{
	struct mg_error error;

	/* unset: nothing to read */
	g_assert_true(mg_tls_file_readable("tls_cert_file", NULL, false,
					   &error));
	g_assert_true(mg_tls_file_readable("tls_ca_cert_dir", "/", true,
					   &error));
	/* a file where a directory is wanted */
	g_assert_false(mg_tls_file_readable("tls_ca_cert_dir", "/dev/null",
					    true, &error));
	g_assert_cmpstr(error.message, ==,
			"tls_ca_cert_dir /dev/null: Not a directory");
	g_assert_true(mg_tls_file_readable("tls_ca_cert_file", "/dev/null",
					   false, &error));
}

static void test_diagnostic(void)
{
	g_assert_null(mg_tls_diagnostic(NULL));
	g_assert_cmpstr(mg_tls_diagnostic("hostname does not match"), ==,
			"hostname does not match");
	g_assert_nonnull(strstr(mg_tls_diagnostic("(unknown error code)"),
				"not issued for the host name of the URI"));
}

static void test_uri_rules(void)
{
	/* StartTLS on ldap:// only; TLS files wherever TLS is used */
	g_assert_true(mg_tls_uri_wants_starttls(true, "ldap://h/"));
	g_assert_true(mg_tls_uri_wants_starttls(true, "LDAP://h/"));
	g_assert_false(mg_tls_uri_wants_starttls(false, "ldap://h/"));
	g_assert_false(mg_tls_uri_wants_starttls(true, "ldaps://h/"));
	g_assert_false(mg_tls_uri_wants_starttls(true, "ldapi://%2Frun%2Fs"));
	g_assert_true(mg_tls_uri_uses_tls(true, "ldap://h/"));
	g_assert_false(mg_tls_uri_uses_tls(false, "ldap://h/"));
	g_assert_true(mg_tls_uri_uses_tls(false, "ldaps://h/"));
	g_assert_true(mg_tls_uri_uses_tls(true, "ldaps://h/"));
	g_assert_false(mg_tls_uri_uses_tls(true, "ldapi://%2Frun%2Fs"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tls/file/missing", test_file_missing);
	g_test_add_func("/tls/file/kinds", test_file_kinds);
	g_test_add_func("/tls/diagnostic", test_diagnostic);
	g_test_add_func("/tls/uri-rules", test_uri_rules);
	return g_test_run();
}

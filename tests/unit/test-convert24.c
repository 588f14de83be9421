/* The 2.3 settings file as Dovecot 2.4 settings (mailbox-guard-check
   --to-2.4). The expected 2.4 forms are Dovecot 2.4's documented ones
   (doc/upgrading-to-2.4.md), written out here. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "mg-convert24.h"

/* Converts NULL-terminated key, value pairs. */
static void convert(const char *const *kv, struct mg_convert24 *result_r)
{
	struct mg_convert24_pair pairs[32];
	struct mg_error error;
	unsigned int n = 0;

	for (; kv[0] != NULL; kv += 2) {
		g_assert_cmpuint(n, <, G_N_ELEMENTS(pairs));
		pairs[n].key = kv[0];
		pairs[n++].value = kv[1];
	}
	g_assert_true(mg_convert24(pairs, n, NULL, result_r, &error));
	g_assert_nonnull(result_r->text);
}

/* text has line as a whole line */
static bool has_line(const char *text, const char *line)
{
	char *needle = g_strdup_printf("\n%s\n", line);
	bool ret = strstr(text, needle) != NULL;

	g_free(needle);
	return ret;
}

static void assert_line(const struct mg_convert24 *result, const char *line)
{
	if (!has_line(result->text, line))
		g_error("no line '%s' in:\n%s", line, result->text);
}

/* the lines of the block "name {" (its first one) */
static char *block_of(const char *text, const char *name)
{
	char *head = g_strdup_printf("\n%s {\n", name);
	const char *start = strstr(text, head), *end;
	char *indent, *ret;

	if (start == NULL)
		g_error("no block %s in:\n%s", name, text);
	start += strlen(head);
	/* the block ends at the "}" indented as its head */
	indent = g_strndup(name, strspn(name, " "));
	ret = g_strdup_printf("\n%s}\n", indent);
	end = strstr(start - 1, ret);
	g_assert_nonnull(end);
	g_free(ret);
	ret = g_strndup(start - 1, end - start + 2);
	g_free(indent);
	g_free(head);
	return ret;
}

static void test_variables(void)
{
	static const struct {
		const char *v23, *v24;
	} cases[] = {
		{ "(uid=%u)", "(uid=%{user})" },
		{ "(uid=%n)", "(uid=%{user | username})" },
		{ "(&(uid=%n)(dc=%d))",
		  "(&(uid=%{user | username})(dc=%{user | domain}))" },
		{ "(uid=%{user})", "(uid=%{user})" },
		{ "(uid=%{username})", "(uid=%{user | username})" },
		{ "(uid=%{domain})", "(uid=%{user | domain})" },
		{ "(s=%s)(r=%r)(l=%l)",
		  "(s=%{protocol})(r=%{remote_ip})(l=%{local_ip})" },
		{ "(s=%{service})(r=%{rip})(l=%{lip})",
		  "(s=%{protocol})(r=%{remote_ip})(l=%{local_ip})" },
		{ "(uid=%Lu)", "(uid=%{user | lower})" },
		{ "(uid=%Ln)", "(uid=%{user | username | lower})" },
		{ "(uid=%U{user})", "(uid=%{user | upper})" },
		{ "(o=%{orig_user})(m=%{master_user})",
		  "(o=%{original_user})(m=%{master_user})" },
		{ "(l=%{login_username})", "(l=%{login_user | username})" },
		{ "(a=%{passdb:x})(b=%{userdb:y:z})",
		  "(a=%{passdb:x})(b=%{userdb:y | default('z')})" },
		{ "(h=%{env:HOST})", "(h=%{env:HOST})" },
		{ "(d=100%%)", "(d=100%{literal('\\x25')})" },
		/* Dovecot 2.4.1 drops a literal part that is just "y" */
		{ "(x=y)", "(x=y)" },
		{ "y", "%{literal('y')}" },
		{ "(uid=plain)", "(uid=plain)" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *kv[] = { "pass_filter", cases[i].v23, NULL };
		struct mg_convert24 result;
		char *line;

		convert(kv, &result);
		g_assert_cmpuint(result.problem_count, ==, 0);
		line = g_strdup_printf("  passdb_mailbox_guard_filter = %s",
				       cases[i].v24);
		assert_line(&result, line);
		g_free(line);
		mg_convert24_clear(&result);
	}
}

static void test_untranslatable(void)
{
	static const struct {
		const char *key, *value, *problem;
	} cases[] = {
		{ "pass_filter", "(uid=%1u)", "pass_filter: %1: 2.3's modifier" },
		{ "pass_filter", "(uid=%Mu)", "pass_filter: %M: 2.3's modifier" },
		{ "user_filter", "(uid=%{hostname})",
		  "user_filter: %{hostname}: a variable 2.4 has no translation" },
		{ "pass_filter", "(mail=%{ldap:mail})",
		  "pass_filter: %{ldap:mail}: an attribute of the found entry" },
		{ "base", "o=%x", "base: %x: a variable" },
		{ "pass_filter", "(uid=%", "pass_filter: a '%' at the end" },
		{ "pass_filter", "(uid=%{user)", "pass_filter: a %{ without" },
		{ "custom_recipient_reason", "see %$",
		  "custom_recipient_reason: %$: no attribute" },
		{ "nt_domain", "50%", "nt_domain: a '%' (not \"%%\")" },
		{ "uris", "ldap://a%zz", "uris: a '%' not followed by two hex" },
		{ "change_feed", "auto", "change_feed: 2.4 has no setting" },
		{ "tls_require_cert", "sometimes",
		  "tls_require_cert: expected never" },
		{ "tls", "maybe", "tls: expected yes or no" },
		{ "no_such_key", "x", "no_such_key: not a setting" },
		{ "pass_attrs", "@uid=user", "pass_attrs: '@' items" },
		{ "pass_attrs", "=password", "pass_attrs: 'password': neither" },
		{ "user_attrs", "uid=user,mail=user",
		  "user_attrs: the field 'user' is set twice" },
		{ "user_attrs", "cn=real name", "user_attrs: 'real name': a "
		  "field name" },
		{ "user_attrs", "=quota=%{ldap:q:it's}",
		  "user_attrs: %{ldap:q:it's}: a default holding a quote" },
		{ "user_attrs", "dn=home", "user_attrs: 'dn=home': 2.3 finds no "
		  "attribute dn" },
		{ "custom_recipient_reason", "see %{ldap:DN}",
		  "custom_recipient_reason: %{ldap:DN}: 2.3 finds no" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *kv[] = { "dnpass", "s3cret%u", cases[i].key,
				     cases[i].value, NULL };
		struct mg_convert24 result;
		char *line;

		convert(kv, &result);
		if (result.problem_count != 1 ||
		    !g_str_has_prefix(result.problems[0], cases[i].problem))
			g_error("%s = %s: problems %u, first '%s'",
				cases[i].key, cases[i].value,
				result.problem_count, result.problem_count > 0 ?
				result.problems[0] : "");
		line = g_strdup_printf("mailbox_guard_not_translated = %s",
				       cases[i].key);
		assert_line(&result, line);
		g_free(line);
		/* a password is taken as it is, and never quoted elsewhere */
		assert_line(&result, "mailbox_guard_auth_dn_password = s3cret%u");
		g_assert_null(strstr(result.problems[0], "s3cret"));
		mg_convert24_clear(&result);
	}
}

static void test_attribute_maps(void)
{
	static const char *const kv[] = {
		"pass_attrs", " uid=user , userPassword=password,=nologin=y",
		"user_attrs", "mail,cn=realname,=home=/home/%d/%n,"
		"mailHost=proxy=y,homeDirectory=mail_path=maildir:%$/Maildir,"
		"=quota=%{ldap:mailQuota:1G},=all=%{ldap_multi:mail}",
		"iterate_attrs", "mail=user",
		NULL
	};
	struct mg_convert24 result;
	char *passdb, *userdb, *fields;

	convert(kv, &result);
	g_assert_cmpuint(result.problem_count, ==, 0);
	passdb = block_of(result.text, "passdb mailbox_guard");
	fields = block_of(passdb, "  fields");
	g_assert_cmpstr(fields, ==, "\n"
			"    user = %{ldap:uid}\n"
			"    password = %{ldap:userPassword}\n"
			"    nologin = %{literal('y')}\n");
	g_free(fields);
	userdb = block_of(result.text, "userdb mailbox_guard");
	fields = block_of(userdb, "  fields");
	g_assert_cmpstr(fields, ==, "\n"
			"    mail = %{ldap:mail}\n"
			"    realname = %{ldap:cn}\n"
			"    home = /home/%{user | domain}/%{user | username}\n"
			/* only when the entry has mailHost, as on 2.3 */
			"    proxy = %{literal('y')}%{ldap:mailHost | "
			"substr(0, 0)}\n"
			"    mail_path = maildir:%{ldap:homeDirectory}/Maildir\n"
			"    quota = %{ldap:mailQuota | default('1G')}\n"
			"    all = %{ldap_multi:mail | default}\n");
	g_free(fields);
	fields = block_of(userdb, "  userdb_mailbox_guard_iterate_fields");
	g_assert_cmpstr(fields, ==, "\n    user = %{ldap:mail}\n");
	g_free(fields);
	g_free(passdb);
	g_free(userdb);
	mg_convert24_clear(&result);
}

static void test_defaults_written_out(void)
{
	static const char *const kv[] = { NULL };
	struct mg_convert24 result;
	char *block, *fields;

	convert(kv, &result);
	g_assert_cmpuint(result.problem_count, ==, 0);
	block = block_of(result.text, "passdb mailbox_guard");
	g_assert_nonnull(strstr(block, "# 2.3's default pass_attrs"));
	fields = block_of(block, "  fields");
	g_assert_cmpstr(fields, ==, "\n    user = %{ldap:uid}\n"
			"    password = %{ldap:userPassword}\n");
	g_free(fields);
	g_free(block);
	block = block_of(result.text, "userdb mailbox_guard");
	fields = block_of(block, "  fields");
	g_assert_cmpstr(fields, ==, "\n    home = %{ldap:homeDirectory}\n"
			"    uid = %{ldap:uidNumber}\n"
			"    gid = %{ldap:gidNumber}\n");
	g_free(fields);
	fields = block_of(block, "  userdb_mailbox_guard_iterate_fields");
	g_assert_cmpstr(fields, ==, "\n    user = %{ldap:uid}\n");
	g_free(fields);
	g_free(block);
	mg_convert24_clear(&result);
}

static void test_keys_and_places(void)
{
	static const char *const kv[] = {
		"uris", "ldap://a ldapi://%2Frun%2Fslapd%2Fldapi",
		"dn", "cn=reader,o=x",
		"dnpass", "a#b",
		"base", "ou=%d,o=x",
		"base", "o=x",
		"scope", "onelevel",
		"tls", "Y",
		"tls_ca_cert_file", "/etc/ca.pem",
		"tls_require_cert", "allow",
		"recipient_profile", "ad",
		"custom_recipient_reason", "  Not here, see %{ldap:mail}",
		"audit_only", "n",
		"change_feed", "no",
		"iterate_page_size", "500",
		"pass_filter", "(uid=%u)",
		"auth_bind", "yes",
		"auth_bind_userdn", "uid=%n,o=x",
		"default_pass_scheme", "SSHA",
		"user_filter", "(mail=%u)",
		"iterate_filter", "(mail=*)",
		NULL
	};
	struct mg_convert24 result;
	char *passdb, *userdb;
	const char *passdb_at;

	convert(kv, &result);
	g_assert_cmpuint(result.problem_count, ==, 0);
	passdb_at = strstr(result.text, "\npassdb mailbox_guard {\n");
	g_assert_nonnull(passdb_at);
	/* the shared keys at the top, before the blocks */
	assert_line(&result,
		    "mailbox_guard_uris = ldap://a ldapi://%2Frun%2Fslapd%2Fldapi");
	assert_line(&result, "mailbox_guard_auth_dn = cn=reader,o=x");
	assert_line(&result, "mailbox_guard_auth_dn_password = \"a#b\"");
	/* the last value of a key given twice */
	assert_line(&result, "mailbox_guard_base = o=x");
	assert_line(&result, "mailbox_guard_scope = onelevel");
	assert_line(&result, "mailbox_guard_starttls = yes");
	assert_line(&result, "ssl_client_ca_file = /etc/ca.pem");
	assert_line(&result, "ssl_client_require_valid_cert = no");
	assert_line(&result, "mailbox_guard_recipient_profile = ad");
	assert_line(&result, "mailbox_guard_custom_recipient_reason = "
		    "\"  Not here, see %{ldap:mail | default}\"");
	assert_line(&result, "mailbox_guard_audit_only = no");
	g_assert_true(strstr(result.text, "mailbox_guard_uris") < passdb_at);
	g_assert_null(strstr(result.text, "change_feed"));

	passdb = block_of(result.text, "passdb mailbox_guard");
	g_assert_true(has_line(passdb, "  driver = mailbox_guard"));
	g_assert_true(has_line(passdb,
			       "  passdb_mailbox_guard_filter = (uid=%{user})"));
	g_assert_true(has_line(passdb, "  passdb_mailbox_guard_bind = yes"));
	g_assert_true(has_line(passdb, "  passdb_mailbox_guard_bind_userdn = "
			       "uid=%{user | username},o=x"));
	g_assert_true(has_line(passdb,
			       "  passdb_default_password_scheme = SSHA"));
	userdb = block_of(result.text, "userdb mailbox_guard");
	g_assert_true(has_line(userdb, "  driver = mailbox_guard"));
	g_assert_true(has_line(userdb,
			       "  userdb_mailbox_guard_filter = (mail=%{user})"));
	g_assert_true(has_line(userdb, "  userdb_mailbox_guard_iterate_filter "
			       "= (mail=*)"));
	g_assert_true(has_line(userdb, "  userdb_mailbox_guard_iterate_page_size "
			       "= 500"));
	g_assert_null(strstr(userdb, "passdb_"));
	g_assert_null(strstr(passdb, "userdb_"));
	g_free(passdb);
	g_free(userdb);
	mg_convert24_clear(&result);
}

static void test_quoting(void)
{
	static const struct {
		const char *value, *line;
	} cases[] = {
		{ "plain", "mailbox_guard_auth_dn_password = plain" },
		{ "a#b", "mailbox_guard_auth_dn_password = \"a#b\"" },
		{ "a\"b\\c", "mailbox_guard_auth_dn_password = \"a\\\"b\\\\c\"" },
		{ "<file", "mailbox_guard_auth_dn_password = \"<file\"" },
		{ "$ENV", "mailbox_guard_auth_dn_password = \"$ENV\"" },
		{ "x\\", "mailbox_guard_auth_dn_password = \"x\\\\\"" },
		{ " x ", "mailbox_guard_auth_dn_password = \" x \"" },
		{ "'q'", "mailbox_guard_auth_dn_password = \"'q'\"" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *kv[] = { "dnpass", cases[i].value, NULL };
		struct mg_convert24 result;

		convert(kv, &result);
		g_assert_cmpuint(result.problem_count, ==, 0);
		assert_line(&result, cases[i].line);
		mg_convert24_clear(&result);
	}
}

static void test_sasl(void)
{
	static const char *const on[] = {
		"sasl_bind", "yes", "sasl_mech", "EXTERNAL",
		"sasl_authz_id", "dn:cn=x", NULL
	};
	static const char *const off[] = {
		"sasl_bind", "no", "sasl_mech", "EXTERNAL", NULL
	};
	struct mg_convert24 result;

	convert(on, &result);
	g_assert_cmpuint(result.problem_count, ==, 0);
	assert_line(&result, "mailbox_guard_auth_sasl_mechanisms = EXTERNAL");
	assert_line(&result, "mailbox_guard_auth_sasl_authz_id = dn:cn=x");
	mg_convert24_clear(&result);
	convert(off, &result);
	g_assert_cmpuint(result.problem_count, ==, 0);
	g_assert_null(strstr(result.text, "sasl"));
	mg_convert24_clear(&result);
}

static char *write_file(const char *text)
{
	GError *error = NULL;
	char *path;
	int fd = g_file_open_tmp("mg-convert24-XXXXXX", &path, &error);

	g_assert_no_error(error);
	g_assert_cmpint(write(fd, text, strlen(text)), ==, (int)strlen(text));
	close(fd);
	return path;
}

static void test_file(void)
{
	char *good = write_file("uris = ldap://x\nbase = o=x\n"
				"pass_filter = (uid=%n)\n");
	char *bad = write_file("uris = http://x\nbase = o=x\n");
	struct mg_convert24 result;
	struct mg_error error;
	char *header;

	g_assert_true(mg_convert24_file(good, NULL, NULL, &result, &error));
	header = g_strdup_printf("# Dovecot 2.3 settings file %s by "
				 "mailbox-guard-check --to-2.4.", good);
	g_assert_nonnull(strstr(result.text, header));
	assert_line(&result, "mailbox_guard_uris = ldap://x");
	assert_line(&result, "  passdb_mailbox_guard_filter = "
		    "(uid=%{user | username})");
	g_assert_cmpuint(result.problem_count, ==, 0);
	mg_convert24_clear(&result);
	/* refused as the plugin refuses it */
	g_assert_false(mg_convert24_file(bad, NULL, NULL, &result, &error));
	g_assert_nonnull(strstr(error.message, "not an ldap://"));
	g_assert_null(result.text);
	mg_convert24_clear(&result);
	g_unlink(good);
	g_unlink(bad);
	g_free(header);
	g_free(good);
	g_free(bad);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/convert24/variables", test_variables);
	g_test_add_func("/convert24/untranslatable", test_untranslatable);
	g_test_add_func("/convert24/attribute-maps", test_attribute_maps);
	g_test_add_func("/convert24/defaults", test_defaults_written_out);
	g_test_add_func("/convert24/keys", test_keys_and_places);
	g_test_add_func("/convert24/quoting", test_quoting);
	g_test_add_func("/convert24/sasl", test_sasl);
	g_test_add_func("/convert24/file", test_file);
	return g_test_run();
}

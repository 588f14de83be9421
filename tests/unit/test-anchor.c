#include <stdbool.h>
#include <glib.h>

#include "mg-anchor.h"

static void test_anchored(void)
{
	static const char *const yes[] = {
		"(mail=%u)",
		"mail=%u",
		"(uid=%Ln)",
		"(mail=%{user})",
		"(&(objectClass=inetOrgPerson)(mail=%u))",
		"(&(objectClass=person)(|(mail=%u)(mailAlternateAddress=%Lu)))",
		"(&(objectClass=user)(userPrincipalName=%n@example.com))",
		"(&(!(userAccountControl:1.2.840.113556.1.4.803:=2))(uid=%n))",
		"(|(uid=%n)(mail=%u))",
		/* Dovecot 2.4 */
		"(uid=%{user | username})",
		"(mail=%{user | lower})",
		"(uid=%{user|username|lower})",
		"(&(objectClass=user)(|(sAMAccountName=%{user | username})"
		"(mail=%{user})))",
		"(userPrincipalName=%{user | username}@example.com)",
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (!mg_anchor_filter(yes[i]))
			g_error("not anchored: %s", yes[i]);
	}
}

static void test_not_anchored(void)
{
	static const char *const no[] = {
		NULL, "", "()", "(mail=*)", "(objectClass=person)",
		/* an OR with a branch any entry may take */
		"(|(objectClass=person)(mail=%u))",
		"(!(mail=%u))",
		"(mail=%u*)", "(mail=*%u)", "(mail~=%u)", "(mail>=%u)",
		"(mail:caseExactMatch:=%u)",
		"(mail=x%u)", "(mail=%u@%d)", "(mail=%d)",
		"(mail=%{service})", "(mail=%u@)",
		"(&(mail=%u)", "(mail=%u))", "(&)", "(|)",
		"(&(objectClass=person)(cn=%{ldap:x}))",
		"(mail=%{user | domain})", "(mail=%{user | username | md5})",
		"(mail=%{user | lower)", "(mail=%{user |})", "(mail=%{})",
		"(mail=%{user}x)", "(mail=%{userx})",
	};
	for (unsigned int i = 0; i < G_N_ELEMENTS(no); i++) {
		if (mg_anchor_filter(no[i]))
			g_error("anchored: %s", no[i] == NULL ? "NULL" : no[i]);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/anchor/anchored", test_anchored);
	g_test_add_func("/anchor/not-anchored", test_not_anchored);
	return g_test_run();
}

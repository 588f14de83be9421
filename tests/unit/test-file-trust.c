/* Who may change a settings file: the judgement of one stat result. */

#include <string.h>
#include <glib.h>
#include "mg-file-trust.h"

static struct stat stat_of(mode_t mode, uid_t uid)
{
	struct stat st = { 0 };

	st.st_mode = mode;
	st.st_uid = uid;
	return st;
}

static void test_file(void)
{
	static const struct {
		mode_t mode;
		uid_t uid;
		enum mg_trust want;
	} cases[] = {
		{ S_IFREG | 0600, 0, MG_TRUST_OK },
		{ S_IFREG | 0644, 0, MG_TRUST_OK },
		{ S_IFREG | 0400, 0, MG_TRUST_OK },
		{ S_IFREG | 0620, 0, MG_TRUST_GROUP_WRITABLE },
		{ S_IFREG | 0602, 0, MG_TRUST_OTHER_WRITABLE },
		{ S_IFREG | 0666, 0, MG_TRUST_OTHER_WRITABLE },
		/* its owner can chmod it whatever the mode says */
		{ S_IFREG | 0400, 1000, MG_TRUST_NOT_ROOT_OWNED },
		/* the sticky bit means nothing on a file */
		{ S_IFREG | S_ISVTX | 0666, 0, MG_TRUST_OTHER_WRITABLE },
		{ S_IFDIR | 0755, 0, MG_TRUST_NOT_REGULAR },
		{ S_IFIFO | 0600, 0, MG_TRUST_NOT_REGULAR },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct stat st = stat_of(cases[i].mode, cases[i].uid);

		g_assert_cmpint(mg_trust_file(&st), ==, cases[i].want);
	}
}

static void test_dir(void)
{
	static const struct {
		mode_t mode;
		uid_t uid;
		enum mg_trust want;
	} cases[] = {
		{ S_IFDIR | 0755, 0, MG_TRUST_OK },
		{ S_IFDIR | 0700, 0, MG_TRUST_OK },
		{ S_IFDIR | 0775, 0, MG_TRUST_GROUP_WRITABLE },
		{ S_IFDIR | 0777, 0, MG_TRUST_OTHER_WRITABLE },
		/* /tmp: only an entry's owner or root renames or removes it */
		{ S_IFDIR | S_ISVTX | 0777, 0, MG_TRUST_OK },
		{ S_IFDIR | S_ISVTX | 0775, 0, MG_TRUST_OK },
		/* its owner can replace the file, sticky or not */
		{ S_IFDIR | S_ISVTX | 0777, 1000, MG_TRUST_NOT_ROOT_OWNED },
		{ S_IFDIR | 0755, 1000, MG_TRUST_NOT_ROOT_OWNED },
		{ S_IFREG | 0755, 0, MG_TRUST_NOT_REGULAR },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct stat st = stat_of(cases[i].mode, cases[i].uid);

		g_assert_cmpint(mg_trust_dir(&st), ==, cases[i].want);
	}
}

static void test_link_and_readers(void)
{
	struct stat st = stat_of(S_IFLNK | 0777, 0);

	g_assert_cmpint(mg_trust_link(&st), ==, MG_TRUST_OK);
	st.st_uid = 1000;
	g_assert_cmpint(mg_trust_link(&st), ==, MG_TRUST_NOT_ROOT_OWNED);

	st = stat_of(S_IFREG | 0600, 0);
	g_assert_null(mg_trust_readers(&st));
	st.st_mode = S_IFREG | 0640;
	g_assert_cmpstr(mg_trust_readers(&st), ==, "its group");
	st.st_mode = S_IFREG | 0604;
	g_assert_cmpstr(mg_trust_readers(&st), ==, "every user");
	st.st_mode = S_IFREG | 0644;
	g_assert_cmpstr(mg_trust_readers(&st), ==, "every user");
}

static void test_path_names_the_culprit(void)
{
	struct stat st = stat_of(S_IFREG | 0620, 0);
	struct mg_error error;

	g_assert_false(mg_trust_path("/nonexistent/x.conf", &st, &error));
	g_assert_cmpstr(error.message, ==, "the file is writable by its group, "
			"so the group can change the settings (chmod g-w)");
	st = stat_of(S_IFREG | 0600, 0);
	/* the walk lstat()s the way: a missing directory is an error */
	g_assert_false(mg_trust_path("/nonexistent/x.conf", &st, &error));
	g_assert_nonnull(strstr(error.message, "can't check /nonexistent/x.conf"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/trust/file", test_file);
	g_test_add_func("/trust/dir", test_dir);
	g_test_add_func("/trust/link-and-readers", test_link_and_readers);
	g_test_add_func("/trust/path-names-the-culprit",
			test_path_names_the_culprit);
	return g_test_run();
}

/* mg-conf-dump dovecot|core FILE: reads FILE with Dovecot 2.3's own
   settings reader (lib-settings) or with the plugin's (src/core), and
   prints what it got in one form, so a test can compare the two:
     SET key<TAB>value     each key = value, in the order read
     WARN message          each warning
     OK | ERROR message    how the reading ended
   Bytes below 0x20, from 0x7f up and '\' are printed as \xNN. */

#include "lib.h"
#include "settings.h"
#include "mg-conf-reader.h"

#include <stdio.h>

static void print_escaped(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	     p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

static void print_setting(const char *key, const char *value)
{
	printf("SET ");
	print_escaped(key);
	putchar('\t');
	print_escaped(value);
	putchar('\n');
}

static const char *dovecot_setting(const char *key, const char *value,
				   void *context ATTR_UNUSED)
{
	print_setting(key, value);
	return NULL;
}

static void dovecot_warning(const struct failure_context *ctx ATTR_UNUSED,
			    const char *format, va_list args)
{
	printf("WARN ");
	print_escaped(t_strdup_vprintf(format, args));
	putchar('\n');
}

static bool core_setting(void *context ATTR_UNUSED,
			 const char *path ATTR_UNUSED,
			 unsigned int line ATTR_UNUSED,
			 const struct stat *st ATTR_UNUSED, const char *key,
			 const char *value, struct mg_error *error_r ATTR_UNUSED)
{
	print_setting(key, value);
	return TRUE;
}

static void core_warning(void *context ATTR_UNUSED,
			 enum mg_conf_warning warning,
			 const char *message)
{
	/* Dovecot's reader says nothing about $ENV: */
	if (warning == MG_CONF_WARNING_ENV)
		return;
	printf("WARN ");
	print_escaped(message);
	putchar('\n');
}

int main(int argc, char *argv[])
{
	static const struct mg_conf_reader_callbacks callbacks = {
		.setting = core_setting,
		.warning = core_warning,
	};
	const char *error;
	struct mg_error core_error;
	bool ok;

	if (argc != 3 || (strcmp(argv[1], "dovecot") != 0 &&
			  strcmp(argv[1], "core") != 0)) {
		fprintf(stderr, "usage: mg-conf-dump dovecot|core FILE\n");
		return 2;
	}
	lib_init();
	i_set_error_handler(dovecot_warning);
	T_BEGIN {
		if (strcmp(argv[1], "dovecot") == 0) {
			ok = settings_read_nosection(argv[2], dovecot_setting,
						     NULL, &error);
		} else {
			ok = mg_conf_read(argv[2], &callbacks, NULL,
					  &core_error);
			error = core_error.message;
		}
		if (ok)
			printf("OK\n");
		else {
			printf("ERROR ");
			print_escaped(error);
			putchar('\n');
		}
	} T_END;
	lib_deinit();
	return 0;
}

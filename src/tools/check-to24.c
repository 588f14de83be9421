/* --to-2.4: the settings file converted by the core, printed. */

#include <stdio.h>
#include "mg-convert24.h"
#include "check-settings-file.h"
#include "check-to24.h"

int check_to24(const char *settings_path)
{
	struct mg_convert24 result;
	struct mg_error error;
	int status = 0;

	if (!mg_convert24_file(settings_path, check_settings_warning, NULL,
			       &result, &error)) {
		fprintf(stderr, "mailbox-guard-check: %s\n", error.message);
		mg_convert24_clear(&result);
		return CHECK_TO24_EXIT_ERROR;
	}
	fputs(result.text, stdout);
	for (unsigned int i = 0; i < result.problem_count; i++) {
		fprintf(stderr, "mailbox-guard-check: not translated: %s\n",
			result.problems[i]);
		status = CHECK_TO24_EXIT_PARTIAL;
	}
	mg_convert24_clear(&result);
	return status;
}

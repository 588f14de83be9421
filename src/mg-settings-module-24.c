/* libmailbox_guard_settings.so, for Dovecot 2.4's config process (and
   doveconf): without it the mailbox_guard settings are unknown keys. */

#include "lib.h"
#include "settings-parser.h"
#include "mg-settings-24.h"

const char *mailbox_guard_settings_version = DOVECOT_ABI_VERSION;

const struct setting_parser_info *mailbox_guard_settings_set_infos[] = {
	&mg_setting_parser_info,
	NULL
};

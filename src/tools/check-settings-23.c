/* Dovecot 2.3: the settings come from the settings file the passdb's and
   userdb's args name, loaded as the plugin loads it. */

#include <glib.h>
#include "mg-config.h"
#include "check-pass-attrs.h"
#include "check-settings-file.h"
#include "check-settings.h"

#define DEFAULT_SETTINGS_PATH "/etc/dovecot/mailbox-guard.conf"

bool check_settings_load(const char *settings_path,
			 const char *dovecot_conf G_GNUC_UNUSED,
			 struct check_settings *set_r, char **error_r)
{
	set_r->source = g_strdup(settings_path != NULL ? settings_path :
				 DEFAULT_SETTINGS_PATH);
	set_r->config = check_settings_read(set_r->source, error_r);
	if (set_r->config == NULL)
		return false;
	set_r->pass_attrs = check_pass_attrs_parse(set_r->config->pass_attrs,
						   error_r);
	return set_r->pass_attrs != NULL;
}

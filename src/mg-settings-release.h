#ifndef MG_SETTINGS_RELEASE_H
#define MG_SETTINGS_RELEASE_H

/* Where a passdb's or userdb's settings come from: 2.3's settings file
   named by args, 2.4's dovecot.conf. */

#if DOVECOT_PREREQ(2, 4, 0)
#  include "settings.h"
#  include "auth-settings.h"
#  include "mg-settings-24.h"
#else
#  include "mg-settings.h"
#endif

#endif

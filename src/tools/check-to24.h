#ifndef CHECK_TO24_H
#define CHECK_TO24_H

/* mailbox-guard-check --to-2.4 SETTINGS: prints the Dovecot 2.4
   dovecot.conf settings meaning the same as a 2.3 settings file
   (src/core/mg-convert24.h), and on stderr what has no translation. */

/* 2.3's settings file refused as the plugin refuses it (nothing printed) */
#define CHECK_TO24_EXIT_ERROR 3
/* printed, but something has no translation (listed on stderr, and the
   text makes Dovecot 2.4 refuse to start) */
#define CHECK_TO24_EXIT_PARTIAL 4

/* Returns the exit status: 0 when everything was translated. */
int check_to24(const char *settings_path);

#endif

#ifndef MAILBOX_GUARD_H
#define MAILBOX_GUARD_H

/* What Dovecot's auth process finds in libauthdb_mailbox_guard.so. */

extern struct passdb_module_interface passdb_mailbox_guard;
extern struct userdb_module_interface userdb_mailbox_guard;

extern const char *authdb_mailbox_guard_version;
void authdb_mailbox_guard_init(void);
void authdb_mailbox_guard_deinit(void);

#endif

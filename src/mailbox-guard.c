/* The module Dovecot loads for driver = mailbox_guard. */

#include "auth-common.h"
#include "passdb.h"
#include "userdb.h"
#include "mailbox-guard.h"

/* A Dovecot of another version refuses to load the module instead of
   calling into internals that have changed under it. */
const char *authdb_mailbox_guard_version = DOVECOT_ABI_VERSION;

void authdb_mailbox_guard_init(void)
{
	passdb_register_module(&passdb_mailbox_guard);
	userdb_register_module(&userdb_mailbox_guard);
}

void authdb_mailbox_guard_deinit(void)
{
	passdb_unregister_module(&passdb_mailbox_guard);
	userdb_unregister_module(&userdb_mailbox_guard);
}

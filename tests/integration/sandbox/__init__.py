"""Integration-test sandbox for dovecot-mailbox-guard.

A Sandbox owns one temp dir with a slapd (or several) and a Dovecot that
loads the freshly built auth plugin through a private mount namespace.
"""

from .core import Sandbox
from .slapd import Slapd, TEST_SCHEMA
from .dovecot import (Dovecot, AuthDB, Reply, render_settings,
                      parse_doveadm_user, plugin_module_path,
                      plugin_module_exists, is_24, vars24, db_line_re,
                      doveadm_tempfail_rc,
                      attrs_to_fields, IMAP_REFUSED, POP3_REFUSED,
                      IMAP_AUTHFAIL, POP3_AUTHFAIL, REFUSAL_REASON)
from .ldif import ssha, render, render_entry
from .authclient import AuthClient, AuthAnswer
from .postfix import Postfix
from . import procs

__all__ = [
    "Sandbox", "Slapd", "TEST_SCHEMA", "Dovecot", "AuthDB", "Reply",
    "render_settings", "parse_doveadm_user", "plugin_module_path",
    "plugin_module_exists", "is_24", "vars24", "db_line_re",
    "doveadm_tempfail_rc", "attrs_to_fields",
    "IMAP_REFUSED", "POP3_REFUSED", "IMAP_AUTHFAIL",
    "POP3_AUTHFAIL", "REFUSAL_REASON", "ssha", "render", "render_entry",
    "procs", "AuthClient", "AuthAnswer", "Postfix",
]

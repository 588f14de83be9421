"""Builds a slapd + Dovecot pair that runs the mailbox_guard plugin.

MG_STANDIN=ldap makes the same setups run on Dovecot's own ldap driver
instead (to self-test the harness before the plugin exists): the custom
recipient refusal is emulated with two chained ldap passdbs (the first only
finds custom recipients and answers nologin + reason) and a user_filter that
excludes them. Plugin-only behaviour cannot be emulated; tests that need it
check `standin()` and skip.
"""

import os
import subprocess

import pytest

from fixtures import OK, REFUSED, AUTHFAIL
from sandbox import (AuthDB, REFUSAL_REASON, plugin_module_exists,
                     plugin_module_path, is_24, vars24, attrs_to_fields,
                     IMAP_REFUSED, POP3_REFUSED, IMAP_AUTHFAIL,
                     POP3_AUTHFAIL)
from sandbox.dovecot import REPO_ROOT

# what IMAP LOGIN, IMAP AUTHENTICATE PLAIN and POP3 answer, by Entry.expect
WANT = {
    REFUSED: (IMAP_REFUSED, IMAP_REFUSED, POP3_REFUSED),
    AUTHFAIL: (IMAP_AUTHFAIL, IMAP_AUTHFAIL, POP3_AUTHFAIL),
}

PLUGIN_ONLY_KEYS = ("custom_recipient_match", "recipient_profile",
                    "custom_recipient_result")


def standin():
    return os.environ.get("MG_STANDIN", "") == "ldap"


def plugin_available():
    return standin() or plugin_module_exists()


def skip_reason():
    return (f"mailbox_guard plugin not built ({plugin_module_path()}); "
            "set MG_MODULE or MG_STANDIN=ldap")


def _and(*filters):
    return "(&" + "".join(filters) + ")"


# Dovecot 2.4: the settings file's keys as dovecot.conf settings, by where
# they go: both blocks (the shared mailbox_guard_* ones), the passdb's or
# the userdb's. The attribute maps become fields { } (see below).
SHARED_24 = {
    "uris": "mailbox_guard_uris",
    "dn": "mailbox_guard_auth_dn",
    "dnpass": "mailbox_guard_auth_dn_password",
    "sasl_authz_id": "mailbox_guard_auth_sasl_authz_id",
    "base": "mailbox_guard_base",
    "scope": "mailbox_guard_scope",
    "tls": "mailbox_guard_starttls",
    "recipient_profile": "mailbox_guard_recipient_profile",
    "custom_recipient_match": "mailbox_guard_custom_recipient_match",
    "mailbox_match": "mailbox_guard_mailbox_match",
    "custom_recipient_result": "mailbox_guard_custom_recipient_result",
    "custom_recipient_reason": "mailbox_guard_custom_recipient_reason",
    "exchange_events": "mailbox_guard_exchange_events",
    "diagnostics_logging": "mailbox_guard_diagnostics_logging",
    "nt_domain": "mailbox_guard_nt_domain",
    "exchange_org": "mailbox_guard_exchange_org",
    "exchange_site": "mailbox_guard_exchange_site",
    "mailbox_alias_attr": "mailbox_guard_mailbox_alias_attr",
    "audit_only": "mailbox_guard_audit_only",
    "connections": "mailbox_guard_connections",
    "max_pending": "mailbox_guard_max_pending",
    "request_timeout": "mailbox_guard_request_timeout",
    "change_feed": "mailbox_guard_change_feed",
    "change_feed_timeout": "mailbox_guard_change_feed_timeout",
    # TLS: 2.4's own ssl_client_* (as 2.4's LDAP driver reads them)
    "tls_ca_cert_file": "ssl_client_ca_file",
    "tls_ca_cert_dir": "ssl_client_ca_dir",
    "tls_cert_file": "ssl_client_cert_file",
    "tls_key_file": "ssl_client_key_file",
    "tls_require_cert": "ssl_client_require_valid_cert",
}
PASSDB_24 = {
    "pass_filter": "passdb_mailbox_guard_filter",
    "auth_bind": "passdb_mailbox_guard_bind",
    "auth_bind_userdn": "passdb_mailbox_guard_bind_userdn",
    "default_pass_scheme": "passdb_default_password_scheme",
}
USERDB_24 = {
    "user_filter": "userdb_mailbox_guard_filter",
    "iterate_filter": "userdb_mailbox_guard_iterate_filter",
    "iterate_page_size": "userdb_mailbox_guard_iterate_page_size",
}
# values without %-variables of 2.3 (a password is taken as it is)
LITERAL_24 = ("dnpass",)


def _value24(key, value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = str(value)
    if key == "tls_require_cert":
        # 2.4: a certificate is checked (hard) or not (allow)
        return "no" if value in ("never", "allow", "try") else "yes"
    return value if key in LITERAL_24 else vars24(value)


def auth_dbs_24(settings):
    """2.4: the passdb and userdb blocks meaning the same as a 2.3 settings
    file with `settings`. Every key of the 2.3 file has a 2.4 setting: one
    missing from the tables above is the harness's error, never a skip."""
    shared, passdb, userdb = {}, {}, {}
    for k, v in settings.items():
        if v is None:
            continue
        for table, block in ((SHARED_24, shared), (PASSDB_24, passdb),
                             (USERDB_24, userdb)):
            if k in table:
                block[table[k]] = _value24(k, v)
                break
        else:
            if k == "pass_attrs":
                passdb["fields"] = attrs_to_fields(v)
            elif k == "user_attrs":
                userdb["fields"] = attrs_to_fields(v)
            elif k == "iterate_attrs":
                userdb["userdb_mailbox_guard_iterate_fields"] = \
                    attrs_to_fields(v)
            elif k == "sasl_bind":
                if v in (True, "yes"):
                    shared["mailbox_guard_auth_sasl_mechanisms"] = \
                        settings.get("sasl_mech", "EXTERNAL")
            elif k != "sasl_mech":
                raise ValueError(f"Dovecot 2.4: no setting in mgsetup's "
                                 f"tables for the settings file key {k}")
    return [AuthDB("passdb", "mailbox_guard", **shared, **passdb),
            AuthDB("userdb", "mailbox_guard", **shared, **userdb)]


def auth_dbs_for(dovecot, settings, name="guard"):
    """passdb + userdb blocks for the plugin settings dict `settings`."""
    if is_24() and not standin():
        return auth_dbs_24(settings)
    if not standin():
        path = dovecot.write_settings(f"{name}.conf", settings)
        return [AuthDB("passdb", "mailbox_guard", path),
                AuthDB("userdb", "mailbox_guard", path)]
    base = {k: v for k, v in settings.items() if k not in PLUGIN_ONLY_KEYS}
    match = settings.get("custom_recipient_match")
    if not match:
        path = dovecot.write_settings(f"{name}-ldap.conf", base)
        return [AuthDB("passdb", "ldap", path), AuthDB("userdb", "ldap", path)]
    refuse = dict(base)
    refuse["pass_filter"] = _and(base["pass_filter"], match)
    refuse["pass_attrs"] = (base.get("pass_attrs", "userPassword=password")
                            + f",=nologin=y,=reason={REFUSAL_REASON}")
    allow = dict(base)
    allow["pass_filter"] = _and(base["pass_filter"], f"(!{match})")
    allow["user_filter"] = _and(base["user_filter"], f"(!{match})")
    p1 = dovecot.write_settings(f"{name}-ldap-refuse.conf", refuse)
    p2 = dovecot.write_settings(f"{name}-ldap-allow.conf", allow)
    return [AuthDB("passdb", "ldap", p1), AuthDB("passdb", "ldap", p2),
            AuthDB("userdb", "ldap", p2)]


def check_tool_path():
    return os.environ.get("MG_CHECK_TOOL") or os.path.join(
        REPO_ROOT, "src", "tools", "mailbox-guard-check")


def check_tool(sb, settings, name="guard"):
    """A function running mailbox-guard-check with its args (returning the
    CompletedProcess) on the plugin settings dict `settings` (the settings
    file's keys). 2.3: a settings file; 2.4: a dovecot.conf (of a Dovecot
    not started) with the blocks meaning the same, the tool run where
    doveconf finds the plugin's settings module."""
    if is_24():
        if not plugin_module_exists():
            # as plugin_available(): the build is missing, not a feature
            pytest.skip("Dovecot 2.4: the tool reads the settings through "
                        "doveconf, which needs the plugin's settings "
                        f"module; {skip_reason()}")
        dc = sb.dovecot(start=False, name=f"check-{name}")
        dc.auth_dbs = auth_dbs_24(settings)
        dc.prepare()

        def argv(args):
            return dc.in_namespace([check_tool_path(), "--dovecot-conf",
                                    dc.conf_path, *args])
    else:
        path = sb.path(f"{name}.conf")
        with open(path, "w") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
        os.chmod(path, 0o600)

        def argv(args):
            return [check_tool_path(), "-c", path, *args]
    return lambda *args: subprocess.run(argv(args), capture_output=True,
                                        text=True, timeout=60)


def guard_setup(sb, tree, settings_over=None, dovecot_settings=None,
                match="default", start=True, raw_settings_text=None,
                ldap=None):
    """slapd with `tree` loaded + Dovecot using the plugin on it.

    Returns (slapd, dovecot). `raw_settings_text` replaces the generated
    settings file (for invalid-file tests); then the plugin is used even in
    stand-in mode only if the text is valid for the ldap driver. `ldap`:
    a slapd already serving `tree` (in `sb`) to use instead of a new one.
    """
    if raw_settings_text is not None and is_24():
        # a test of the file itself gives its 2.4 form (dovecot.conf
        # settings) in its own is_24() branch
        raise ValueError("Dovecot 2.4 has no settings file: "
                         "raw_settings_text is 2.3's")
    if ldap is None:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
    kw = {} if match == "default" else {"match": match}
    settings = tree.plugin_settings(ldap.uri, **kw)
    settings.update(settings_over or {})
    dc = sb.dovecot(start=False, settings=dovecot_settings)
    if raw_settings_text is not None:
        driver = "ldap" if standin() else "mailbox_guard"
        path = dc.write_settings_text("guard.conf",
                                      raw_settings_text.replace("@URI@", ldap.uri))
        dc.auth_dbs = [AuthDB("passdb", driver, path),
                       AuthDB("userdb", driver, path)]
    else:
        dc.auth_dbs = auth_dbs_for(dc, settings)
    if start:
        dc.start(wait_greeting=raw_settings_text is None)
    return ldap, dc


def postfix_setup(sb, tree, **kw):
    """guard_setup (same arguments) plus a Postfix whose smtpd does SMTP
    AUTH against that Dovecot. Returns (slapd, dovecot, postfix)."""
    ldap, dc = guard_setup(sb, tree, start=False, **kw)
    pf = sb.postfix(dc)
    dc.start()
    pf.start()
    return ldap, dc, pf


def assert_logins(dc, entry):
    """entry's three logins (IMAP LOGIN, AUTHENTICATE PLAIN, POP3) with its
    password get what its Entry.expect says."""
    got = dc.login_all(entry.login, entry.try_password)
    replies = (got["imap-login"], got["imap-plain"], got["pop3"])
    where = f"{entry.kind} ({entry.dn})"
    if entry.expect == OK:
        for reply in replies:
            assert reply.ok, f"{where}: {reply.text}"
    else:
        assert tuple(r.text for r in replies) == WANT[entry.expect], where
        assert not any(r.ok for r in replies), where


def pair_setup(sb, tree, **settings_over):
    """Two independent slapd with the same tree and a Dovecot whose uris
    name both, first one first. Returns (first, second, dovecot)."""
    first = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
    second = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
    dc = sb.dovecot(start=False)
    settings = tree.plugin_settings(f"{first.uri} {second.uri}",
                                    **settings_over)
    dc.auth_dbs = auth_dbs_for(dc, settings)
    dc.start()
    return first, second, dc

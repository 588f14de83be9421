"""Dovecot 2.4: the mailbox_guard settings in dovecot.conf (the settings
module), as test_settings_file.py tests 2.3's settings file. A misspelt
key is doveconf's to reject; a wrong value and a 2.3 variable form in any
mailbox_guard setting stop Dovecot (doveconf first where it can judge the
value alone, else the auth process at start), naming the key and what is
wrong; the password stays out of doveconf -n and of every log line.

Skipped on Dovecot 2.3, whose settings file test_settings_file.py and
test_skeleton.py cover."""

import re
import subprocess

import pytest

import mgsetup
from fixtures import ad_tree as tree
from sandbox import Sandbox, is_24

pytestmark = [
    pytest.mark.plugin,
    pytest.mark.skipif(not is_24(), reason="Dovecot 2.3: no settings in "
                       "dovecot.conf (test_settings_file.py tests its "
                       "settings file)"),
    pytest.mark.skipif(mgsetup.standin(), reason="the plugin's settings"),
]

MAILBOX = tree.EXPECTED["alice"]


def _start(sb, ldap, settings_over=None, passdb_extra=None, top_extra=""):
    """A Dovecot with the fixture's settings changed by settings_over (2.3
    keys, rendered in 2.4's names; None drops a key), passdb_extra added
    to the passdb block as written. Returns (dovecot, doveconf's error or
    None)."""
    settings = tree.plugin_settings(ldap.uri)
    settings.update(settings_over or {})
    dc = sb.dovecot(start=False, extra_conf=top_extra)
    dc.auth_dbs = mgsetup.auth_dbs_for(dc, settings)
    dc.auth_dbs[0].settings.update(passdb_extra or {})
    dc.client_timeout = 8
    try:
        dc.start(wait_greeting=False)
    except RuntimeError as e:
        return dc, str(e)
    return dc, None


def _fatal(dc, key):
    """The auth process's fatal line naming key, once a login reached it
    (the master's line about the process's exit may come first)."""
    ok, reply = dc.imap_login(MAILBOX.login, MAILBOX.password)
    assert not ok, reply

    def find(text):
        return next((ln for ln in text.splitlines()
                     if "Fatal" in ln and key in ln), None)
    log = dc.wait_log(lambda t: find(t) is not None, timeout=10)
    assert log is not None, f"no fatal line:\n{dc.log_text()[-3000:]}"
    return find(log)


@pytest.fixture(scope="module")
def world():
    if not mgsetup.plugin_available():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox() as sb:
        yield sb, sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())


# --- doveconf knows the keys --------------------------------------------------

@pytest.mark.parametrize("where,key", [
    ("top", "mailbox_guard_bsae"),
    ("passdb", "mailbox_guard_fitler"),
])
def test_misspelt_key_is_rejected_by_doveconf(world, where, key):
    sb, ldap = world
    if where == "top":
        dc, err = _start(sb, ldap, top_extra=f"{key} = dc=corp,dc=test\n")
    else:
        dc, err = _start(sb, ldap, passdb_extra={key: "(uid=%{user})"})
    assert err is not None, dc.log_text()
    assert re.search(rf"Unknown setting: {key}\b", err), err


def test_doveconf_shows_the_settings_and_hides_the_password(world):
    sb, ldap = world
    dc, err = _start(sb, ldap, settings_over={"dn": ldap.rootdn,
                                              "dnpass": ldap.rootpw})
    assert err is None, err
    try:
        r = subprocess.run(dc._config_argv(
            ["doveconf", "-c", dc.conf_path, "-n"]),
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        out = r.stdout
        assert f"mailbox_guard_base = {tree.SUFFIX}" in out, out
        assert re.search(r"passdb_mailbox_guard_filter = \S", out) or \
            re.search(r"^\s*filter = \S", out, re.M), out
        assert ldap.rootpw not in out, out
        assert re.search(r"mailbox_guard_auth_dn_password = # hidden", out), out
        assert dc.imap_login(MAILBOX.login, MAILBOX.password).ok
        assert ldap.rootpw not in dc.log_text()
    finally:
        dc.stop()


# --- 2.3 variables: an error at start naming the key and the 2.4 form --------

# name: (2.3 key, value with the 2.3 form, the 2.4 key, the 2.4 form)
OLD_VARS = {
    "pass_filter-%u": ("pass_filter", "(&(objectClass=person)(uid=%u))",
                       "passdb_mailbox_guard_filter", "%u", "%{user}"),
    "user_filter-%n": ("user_filter", "(&(objectClass=person)(uid=%n))",
                       "userdb_mailbox_guard_filter", "%n",
                       "%{user | username}"),
    "base-%d": ("base", "ou=%d,dc=corp,dc=test", "mailbox_guard_base", "%d",
                "%{user | domain}"),
    "reason-%$": ("custom_recipient_reason", "No mailbox for %$",
                  "mailbox_guard_custom_recipient_reason", "%$",
                  "%{ldap:ATTRIBUTE}"),
    "nt_domain-%d": ("nt_domain", "%d", "mailbox_guard_nt_domain", "%d",
                     "%{user | domain}"),
}


def _raw(dc, key24, value):
    """Writes value as it is (the harness would turn 2.3 forms into 2.4's)
    into the block that holds key24."""
    for db in dc.auth_dbs:
        if key24 in db.settings:
            db.settings[key24] = value


@pytest.mark.parametrize("case", sorted(OLD_VARS))
def test_23_variable_is_fatal(world, case):
    key23, value, key24, old, new = OLD_VARS[case]
    sb, ldap = world
    settings = tree.plugin_settings(ldap.uri)
    settings[key23] = "placeholder"
    dc = sb.dovecot(start=False)
    dc.auth_dbs = mgsetup.auth_dbs_for(dc, settings)
    _raw(dc, key24, value)
    dc.client_timeout = 8
    want = f"{key24}: {old} is Dovecot 2.3 syntax: write {new}"
    try:
        dc.start(wait_greeting=False)
    except RuntimeError as e:
        # doveconf judges what takes no variables at all
        assert want in str(e), str(e)
        return
    try:
        line = _fatal(dc, key24)
        assert want in line, line
    finally:
        dc.stop()


# --- a wrong value: fatal with the key and what is wrong ----------------------

# name: (settings_over, the 2.4 key, what is wrong)
BAD_VALUES = {
    "scope": ({"scope": "everywhere"}, "mailbox_guard_scope",
              "expected base, onelevel or subtree, got 'everywhere'"),
    "connections-0": ({"connections": "0"}, "mailbox_guard_connections",
                      "expected a number from 1 to 100000, got '0'"),
    "connections-word": ({"connections": "many"},
                         "mailbox_guard_connections", "many"),
    "request_timeout": ({"request_timeout": "soon"},
                        "mailbox_guard_request_timeout", "soon"),
    "match-unbalanced": ({"custom_recipient_match":
                          "(|(objectClass=contact)(targetAddress=*)"},
                         "mailbox_guard_custom_recipient_match",
                         "invalid LDAP filter"),
    "pass_filter-unbalanced": ({"pass_filter": "(&(uid=%u)"},
                               "passdb_mailbox_guard_filter",
                               "invalid LDAP filter"),
    "missing-base": ({"base": None}, "mailbox_guard_base",
                     "missing required setting"),
    "dn-without-password": ({"dn": "cn=admin,dc=x", "dnpass": None},
                            "mailbox_guard_auth_dn_password",
                            "mailbox_guard_auth_dn is set but"),
    "profile": ({"recipient_profile": "exchange2000"},
                "mailbox_guard_recipient_profile", "exchange2000"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_wrong_value_is_fatal(world, case):
    over, key, words = BAD_VALUES[case]
    sb, ldap = world
    dc, err = _start(sb, ldap, settings_over=over)
    if err is not None:
        text = err
    else:
        try:
            text = _fatal(dc, key)
        finally:
            dc.stop()
    assert key in text, text
    assert words in text, text


def test_inline_tls_file_is_fatal(world):
    """2.4's ssl_client_* files are read by libldap, by path: inline
    content (which Dovecot allows for its own TLS) is an error at start, as
    in 2.4's LDAP driver."""
    sb, ldap = world
    dc, err = _start(sb, ldap, settings_over={"tls": "yes"},
                     passdb_extra={"ssl_client_ca_file": "inline:not a CA"})
    assert err is None, err
    try:
        line = _fatal(dc, "ssl_client_ca_file")
    finally:
        dc.stop()
    assert "ssl_client_ca_file: libldap reads the file itself: give its " \
        "path, not inline content" in line, line

"""Issue 2: the plugin skeleton on the AD-like tree with a plain
custom_recipient_match = (|(objectClass=contact)(targetAddress=*)).
The settings file's errors: test_settings_23.py (2.3), test_settings_24.py
(dovecot.conf on 2.4).
"""

import pytest

import mgsetup
from fixtures import ad_tree as tree
from sandbox import (Sandbox, IMAP_REFUSED, POP3_REFUSED, IMAP_AUTHFAIL,
                     POP3_AUTHFAIL, parse_doveadm_user)

pytestmark = pytest.mark.plugin

MAILBOX = tree.EXPECTED["alice"]
CUSTOM = tree.EXPECTED["partner"]         # contact with a userPassword
MAILUSER = tree.EXPECTED["mailuser"]      # user + targetAddress


@pytest.fixture(scope="module")
def guard():
    """slapd (AD-like tree) + Dovecot with the plugin, shared by the module.

    auth_username_chars is emptied so hostile names reach the plugin.
    """
    if not mgsetup.plugin_available():
        pytest.skip(mgsetup.skip_reason())
    sb = Sandbox()
    try:
        ldap, dc = mgsetup.guard_setup(
            sb, tree, dovecot_settings={"auth_username_chars": ""})
        yield dc
    finally:
        sb.close()


# --- a mailbox user logs in -------------------------------------------------

def test_mailbox_user_imap_login(guard):
    ok, text = guard.imap_login(MAILBOX.login, MAILBOX.password, select=True)
    assert ok, text
    assert text.startswith("OK")


def test_mailbox_user_imap_authenticate_plain(guard):
    ok, text = guard.imap_authenticate_plain(MAILBOX.login, MAILBOX.password,
                                             select=True)
    assert ok, text


def test_mailbox_user_pop3(guard):
    ok, text = guard.pop3_login(MAILBOX.login, MAILBOX.password, stat=True)
    assert ok, text
    assert text.startswith("+OK")


# --- a custom recipient with the right password is refused -------------------

@pytest.mark.parametrize("entry", [CUSTOM, MAILUSER], ids=lambda e: e.login)
def test_custom_recipient_imap_login_refused(guard, entry):
    assert guard.imap_login(entry.login, entry.password) == (False, IMAP_REFUSED)


@pytest.mark.parametrize("entry", [CUSTOM, MAILUSER], ids=lambda e: e.login)
def test_custom_recipient_imap_plain_refused(guard, entry):
    r = guard.imap_authenticate_plain(entry.login, entry.password)
    assert r == (False, IMAP_REFUSED)


@pytest.mark.parametrize("entry", [CUSTOM, MAILUSER], ids=lambda e: e.login)
def test_custom_recipient_pop3_refused(guard, entry):
    assert guard.pop3_login(entry.login, entry.password) == (False, POP3_REFUSED)


# --- ordinary failures stay ordinary -----------------------------------------

@pytest.mark.parametrize("user,password", [
    (MAILBOX.login, "wrong-password"),
    (CUSTOM.login, "wrong-password"),
    ("no-such-user", "whatever"),
], ids=["mailbox-wrong-pw", "custom-wrong-pw", "unknown-user"])
def test_ordinary_failures(guard, user, password):
    r = guard.login_all(user, password)
    assert r["imap-login"] == (False, IMAP_AUTHFAIL)
    assert r["imap-plain"] == (False, IMAP_AUTHFAIL)
    assert r["pop3"] == (False, POP3_AUTHFAIL)


# --- doveadm user -------------------------------------------------------------

def test_doveadm_user_mailbox(guard):
    rc, out = guard.doveadm_user(MAILBOX.login)
    assert rc == 0, out
    fields = parse_doveadm_user(out)
    assert fields.get("email") == MAILBOX.attrs["mail"], out
    assert fields.get("realname") == MAILBOX.attrs["cn"], out


@pytest.mark.parametrize("name", [CUSTOM.login, MAILUSER.login, "no-such-user"])
def test_doveadm_user_absent(guard, name):
    rc, out = guard.doveadm_user(name)
    assert rc == 67, out


def test_doveadm_auth_test(guard):
    assert guard.doveadm_auth_test(MAILBOX.login, MAILBOX.password)[0] == 0
    assert guard.doveadm_auth_test(MAILBOX.login, "wrong")[0] == 77


# --- hostile user names ---------------------------------------------------------

HOSTILE = ["*", "a)(uid=*", "\\", "alice*", "*)(mailNickname=alice",
           "alice)(|(mailNickname=*", "(mailNickname=alice)", "al\\2a"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_user_name(guard, name):
    """Filter metacharacters never log in as anyone, whatever the password."""
    jobs, expect = [], []
    for pw in (MAILBOX.password, CUSTOM.password, "x"):
        jobs += [(guard.imap_login, name, pw),
                 (guard.imap_authenticate_plain, name, pw),
                 (guard.pop3_login, name, pw)]
        expect += [("imap", pw, IMAP_AUTHFAIL), ("imap-plain", pw, IMAP_AUTHFAIL),
                   ("pop3", pw, POP3_AUTHFAIL)]
    for (proto, pw, fail), r in zip(expect, guard.parallel(jobs)):
        assert not r.ok, f"{proto} {name!r}/{pw} logged in: {r.text}"
        # a tempfail would mean the filter matched several entries
        assert r.text == fail, f"{proto} {name!r}/{pw}: {r.text}"
    if not set("*?") & set(name):     # doveadm user treats * ? as a mask
        rc, out = guard.doveadm_user(name)
        assert rc == 67, out

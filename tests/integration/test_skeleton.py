"""Issue 2: the plugin skeleton on the AD-like tree with a plain
custom_recipient_match = (|(objectClass=contact)(targetAddress=*)).
"""

import os
import re

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


# --- an invalid settings file stops the auth process ---------------------------

def _valid_lines(uri):
    s = tree.plugin_settings(uri)
    if mgsetup.standin():
        s = {k: v for k, v in s.items() if k not in mgsetup.PLUGIN_ONLY_KEYS}
    return [f"{k} = {v}" for k, v in s.items()]


BAD_CASES = {
    # name: (how to break the file, problem words expected in the log)
    "unknown-key": ("append", "no_such_setting = 1", r"no_such_setting"),
    "malformed-filter": ("replace:custom_recipient_match",
                         "custom_recipient_match = (|(objectClass=contact)(targetAddress=*)",
                         r"custom_recipient_match|filter"),
    "missing-base": ("drop:base", None, r"\bbase\b"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_settings_file_kills_auth(case):
    if not mgsetup.plugin_available():
        pytest.skip(mgsetup.skip_reason())
    if mgsetup.standin() and case != "unknown-key":
        pytest.skip("stand-in ldap driver does not check this")
    how, line, problem = BAD_CASES[case]
    with Sandbox() as sb:
        lines = _valid_lines("@URI@")
        lineno = None
        if how == "append":
            lines.append(line)
            lineno = len(lines)
        elif how.startswith("replace:"):
            key = how.split(":", 1)[1]
            idx = next(i for i, l in enumerate(lines) if l.startswith(key + " "))
            lines[idx] = line
            lineno = idx + 1
        elif how.startswith("drop:"):
            key = how.split(":", 1)[1]
            lines = [l for l in lines if not l.startswith(key + " ")]
        text = "# mailbox_guard test settings\n" + "\n".join(lines) + "\n"
        if lineno:
            lineno += 1            # the comment line
        ldap, dc = mgsetup.guard_setup(sb, tree, raw_settings_text=text)
        dc.client_timeout = 8
        path = dc.auth_dbs[0].args
        ok, reply = dc.imap_login(MAILBOX.login, MAILBOX.password)
        assert not ok, reply

        def fatal_line(log):
            for l in log.splitlines():
                if "Fatal" in l and path in l:
                    return l
            return None
        log = dc.wait_log(lambda t: fatal_line(t) is not None, timeout=10)
        assert log is not None, f"no fatal line naming {path}:\n{dc.log_text()}"
        fl = fatal_line(log)
        assert re.search(problem, fl, re.I), fl
        if lineno:
            assert re.search(rf"(line {lineno}\b|:{lineno}\b)", fl), fl


# --- a settings file anyone but root can change stops the auth process ------

def _fatal_line(dc, *needles):
    def find(log):
        for line in log.splitlines():
            if "Fatal" in line and all(n in line for n in needles):
                return line
        return None
    log = dc.wait_log(lambda t: find(t) is not None, timeout=10)
    assert log is not None, \
        f"no fatal line naming {needles}:\n{dc.log_text()[-3000:]}"
    return find(log)


def _start_broken(dc):
    dc.client_timeout = 8
    dc.start(wait_greeting=False)
    ok, reply = dc.imap_login(MAILBOX.login, MAILBOX.password)
    assert not ok, reply


def _setup(sb, text, subdir=None):
    """slapd + an unstarted Dovecot whose plugin reads `text` (from a file
    in `subdir` of the Dovecot directory when given)."""
    ldap, dc = mgsetup.guard_setup(sb, tree, raw_settings_text=text,
                                   start=False)
    if subdir is not None:
        old = dc.auth_dbs[0].args
        d = os.path.join(dc.dir, subdir)
        os.makedirs(d)
        path = os.path.join(d, os.path.basename(old))
        os.rename(old, path)
        for db in dc.auth_dbs:
            db.args = path
    return ldap, dc


def _settings_text(without=()):
    return "\n".join(l for l in _valid_lines("@URI@")
                     if l.split(" ", 1)[0] not in without) + "\n"


# name: (what to do to the settings file, words of the fatal line)
UNSAFE_FILE_CASES = {
    "group-writable": (lambda p: os.chmod(p, 0o620),
                       "the file is writable by its group"),
    "world-writable": (lambda p: os.chmod(p, 0o602),
                       "the file is writable by every user"),
    "not-root-owned": (lambda p: os.chown(p, 65534, -1),
                       "the file is owned by uid 65534, not root"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_FILE_CASES))
def test_changeable_settings_file_kills_auth(case):
    if mgsetup.standin():
        pytest.skip("the plugin's own rule")
    change, words = UNSAFE_FILE_CASES[case]
    with Sandbox() as sb:
        _, dc = _setup(sb, _settings_text())
        path = dc.auth_dbs[0].args
        change(path)
        _start_broken(dc)
        _fatal_line(dc, f"Error in configuration file {path}: {words}")


@pytest.mark.parametrize("case", sorted(UNSAFE_FILE_CASES))
def test_changeable_included_file_kills_auth(case):
    if mgsetup.standin():
        pytest.skip("the plugin's own rule")
    change, words = UNSAFE_FILE_CASES[case]
    with Sandbox() as sb:
        text = _settings_text(without=("base",)) + "!include base.conf\n"
        _, dc = _setup(sb, text)
        path = dc.auth_dbs[0].args
        inc = dc.write_settings_text("base.conf",
                                     f"base = {tree.SUFFIX}\n")
        change(inc)
        _start_broken(dc)
        lineno = text.count("\n")
        _fatal_line(dc, f"Error in configuration file {path} line "
                        f"{lineno}: included file {inc}: {words}")


@pytest.mark.parametrize("mode,words", [
    (0o777, "is writable by every user"),
    (0o775, "is writable by its group"),
])
def test_changeable_directory_kills_auth(mode, words):
    if mgsetup.standin():
        pytest.skip("the plugin's own rule")
    with Sandbox() as sb:
        _, dc = _setup(sb, _settings_text(), subdir="conf")
        d = os.path.dirname(dc.auth_dbs[0].args)
        os.chmod(d, mode)
        _start_broken(dc)
        _fatal_line(dc, dc.auth_dbs[0].args, f"directory {d} {words}")


def test_root_owned_sticky_directory_is_accepted():
    """As /tmp: writable by all, but only root may rename or remove the
    root-owned file in it."""
    if mgsetup.standin():
        pytest.skip("the plugin's own rule")
    with Sandbox() as sb:
        _, dc = _setup(sb, _settings_text(), subdir="shared")
        os.chmod(os.path.dirname(dc.auth_dbs[0].args), 0o1777)
        dc.start()
        assert dc.imap_login(MAILBOX.login, MAILBOX.password).ok


def test_dn_with_empty_dnpass_kills_auth():
    if mgsetup.standin():
        pytest.skip("the ldap driver binds anonymously then")
    with Sandbox() as sb:
        text = (_settings_text(without=("dn", "dnpass")) +
                "dn = cn=admin,dc=x\ndnpass =\n")
        _, dc = _setup(sb, text)
        path = dc.auth_dbs[0].args
        _start_broken(dc)
        _fatal_line(dc, f"Error in configuration file {path} line "
                        f"{text.count(chr(10))}: dnpass is empty but dn is set")

"""Dovecot 2.3: the plugin's settings file (args) in a running Dovecot. A
bad file, a file (an included file, a directory on its way) anyone but
root can change, dn without dnpass: each stops the auth process naming
the file, the line and what is wrong.

Skipped on Dovecot 2.4, where the settings are dovecot.conf's (declared
by the settings module): test_settings_24.py tests their errors there.
Dovecot 2.4 reads dovecot.conf in its config process, as root, and hands
the settings to the auth process, which opens no settings file of the
plugin's: the file-trust rules have no 2.4 counterpart (dovecot.conf's
own permissions are the admin's and Dovecot's).
"""

import os
import re

import pytest

import mgsetup
from fixtures import ad_tree as tree
from sandbox import Sandbox, is_24

pytestmark = [
    pytest.mark.plugin,
    pytest.mark.skipif(is_24(), reason="Dovecot 2.4: no settings file (the "
                       "settings are dovecot.conf's: test_settings_24.py)"),
]

MAILBOX = tree.EXPECTED["alice"]


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

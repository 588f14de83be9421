"""Issue 9, the code review's findings: what must never let anyone in or
crash the auth process, whatever the configuration, the directory or the
user name says.

- a lookup failing synchronously (a filter template that can't expand)
  is a clean tempfail, on every path (the ASan and valgrind runs include
  this file);
- an entry the server sent that can't be read whole is a tempfail, never
  classified from the part that could be read;
- chain settings that would undo a refusal stop the auth process at start;
- the duplicate-match warning is written only after the password check;
- log lines never carry a client's or a directory's control characters;
- a server closing an idle connection is no error (issue 12, item 3).
"""

import os
import re

import pytest

import mgsetup
from fixtures import ad_tree as tree
from sandbox import (Sandbox, IMAP_AUTHFAIL, AuthDB, doveadm_tempfail_rc,
                     is_24)
from sandbox.load import wait_until
from sandbox.fakeldap import FakeLdap, attribute, entry_body, tlv, integer

pytestmark = pytest.mark.plugin

ALICE = tree.EXPECTED["alice"]
PARTNER = tree.EXPECTED["partner"]
TEMPFAIL = "NO [UNAVAILABLE] Temporary authentication failure."


@pytest.fixture(autouse=True)
def plugin_only():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())


def start(sb, settings_over=None, dovecot_settings=None, uri=None,
          extra_ldif=""):
    if uri is None:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif() + extra_ldif)
        uri = ldap.uri
    settings = tree.plugin_settings(uri)
    settings.update(settings_over or {})
    dc = sb.dovecot(start=False, settings=dovecot_settings)
    dc.auth_dbs = mgsetup.auth_dbs_for(dc, settings)
    dc.start()
    return dc


# --- a lookup that fails before any search ------------------------------------

def test_filter_that_cannot_expand_is_a_clean_tempfail():
    with Sandbox() as sb:
        dc = start(sb, {"pass_filter":
                        "(&(objectClass=person)(mailNickname=%{no_such_var}))"})
        pid = dc.auth_pid()
        rc, out = dc.doveadm("auth", "lookup", ALICE.login)
        assert rc != 0 and "password" not in out, out
        rc, out = dc.doveadm_auth_test(ALICE.login, ALICE.password)
        assert rc == doveadm_tempfail_rc() and "code=temp_fail" in out, out
        ok, reply = dc.imap_login(ALICE.login, ALICE.password)
        assert not ok and reply.startswith(TEMPFAIL), reply
        assert dc.wait_log("can't expand filter"), dc.log_text()[-3000:]
        assert dc.auth_pid() == pid
        assert dc.crash_lines() == []


# --- entries that can't be read whole -------------------------------------------

def _password_first(*rest):
    """A mailbox-looking entry whose password the old code read before it
    stopped, silently, at what it could not decode."""
    return (attribute("userPassword", "{PLAIN}" + ALICE.password),
            attribute("objectClass", "top", "person", "user"),
            attribute("mailNickname", ALICE.login)) + rest


MALFORMED = {
    # a DN is what says which entry this is
    "empty-dn": (entry_body("", *_password_first()), "without a DN"),
    # an attribute list element that is no PartialAttribute
    "bad-attribute": (entry_body(ALICE.dn, *_password_first(integer(7))),
                      "can't read its attributes"),
    # a value set that is no SET
    "bad-values": (entry_body(ALICE.dn, *_password_first(
        tlv(0x30, tlv(0x04, b"mail") + tlv(0x02, b"\x01")))),
                   "can't read"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_entry_is_a_tempfail(case):
    body, why = MALFORMED[case]
    fake = FakeLdap([body])
    try:
        with Sandbox() as sb:
            dc = start(sb, uri=fake.uri)
            ok, reply = dc.imap_login(ALICE.login, ALICE.password)
            assert not ok and reply.startswith(TEMPFAIL), reply
            log = dc.log_text(wait_for="malformed entry")
            assert "malformed entry" in log and why in log, log
            assert fake.searches >= 1
    finally:
        fake.close()


# --- chain settings that could undo a refusal ---------------------------------

# What a mailbox_guard passdb with a later passdb needs: while LDAP is
# down, no later passdb answers (the default, continue, is fatal at start)
NEVER_ON_LDAP_TROUBLE = {"result_internalfail": "return-fail"}
# 2.4 names the mechanisms filter mechanisms_filter
MECHANISMS = "mechanisms_filter" if is_24() else "mechanisms"
CHAIN_CASES = {
    "continue": ({"result_success": "continue-ok"},
                 r"result_success = continue-ok"),
    # logins kept from mailbox_guard reach the static passdb unclassified
    "skip": ({"skip": "authenticated"}, r"skip = authenticated keeps"),
    "mechanisms": ({MECHANISMS: "plain"}, MECHANISMS + r" = plain keeps"),
    "username-filter": ({"username_filter": "*@example.org"},
                        r"username_filter = \*@example.org keeps"),
    # a wrong password or an LDAP failure would be a success
    "failure-ok": ({"result_failure": "return-ok"},
                   r"result_failure = return-ok would make a wrong password"),
    "internalfail-ok": ({"result_internalfail": "continue-ok"},
                        r"result_internalfail = continue-ok would make"),
    # the static passdb would answer while LDAP is down (None: Dovecot's
    # default, continue)
    "internalfail-continue": ({"result_internalfail": None},
                              r"result_internalfail = continue \(Dovecot's "
                              r"default is continue\) would hand"),
}
if is_24():
    # an auth worker answered doveadm auth test -x service=imap with OK
    CHAIN_CASES["use-worker"] = ({"use_worker": "yes"},
                                 r"use_worker = yes would answer a refusal")
else:
    # 2.4 has no override_fields: its fields { } are applied by the plugin,
    # before the refusal drops them (test_routing_fields_..., test_fields_
    # that_would_undo_a_refusal_are_dropped)
    CHAIN_CASES.update({
        "override-proxy": ({"override_fields": "proxy=y host=127.0.0.2"},
                           r"override_fields sets proxy"),
        "override-noauthenticate": ({"override_fields": "noauthenticate"},
                                    r"override_fields sets noauthenticate"),
    })


@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
def test_chain_that_could_undo_a_refusal_is_fatal(case):
    block, problem = CHAIN_CASES[case]
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        dc = sb.dovecot(start=False)
        passdb, userdb = mgsetup.auth_dbs_for(dc,
                                              tree.plugin_settings(ldap.uri))
        passdb.settings.update(NEVER_ON_LDAP_TROUBLE)
        passdb.settings.update(block)
        passdb.settings = {k: v for k, v in passdb.settings.items()
                           if v is not None}
        dc.auth_dbs = [passdb, userdb,
                       AuthDB("passdb", "static", "password=anything")]
        dc.start(wait_greeting=False)
        dc.client_timeout = 8
        ok, reply = dc.imap_login(PARTNER.login, PARTNER.password)
        assert not ok, reply
        log = dc.wait_log(lambda t: re.search(problem, t) is not None)
        fatal = [l for l in log.splitlines() if re.search(problem, l)]
        assert fatal and "Fatal" in fatal[0], log


def test_routing_fields_in_pass_attrs_are_dropped_by_a_refusal():
    """pass_attrs (not override_fields) is where routing belongs: the
    refusal drops it, and a mailbox user keeps it."""
    with Sandbox() as sb:
        dc = start(sb, {"pass_attrs": tree.PASS_ATTRS +
                        ",=proxy=y,=host=127.0.0.2,=destuser=%u"})
        rc, out = dc.doveadm_auth_login(PARTNER.login, PARTNER.password)
        assert rc == 77 and "nologin" in out, out
        assert not re.search(r"^\s*(proxy|host|destuser)\b", out, re.M), out
        rc, out = dc.doveadm_auth_test(PARTNER.login, PARTNER.password, "smtp")
        assert rc == 77 and not re.search(r"^\s*(proxy|host)", out, re.M), out
        rc, out = dc.doveadm_auth_test(ALICE.login, ALICE.password)
        assert rc == 0 and re.search(r"^\s*host=127.0.0.2", out, re.M), out


def test_fields_that_would_undo_a_refusal_are_dropped():
    """noauthenticate (OK becomes "ask the next passdb") and fail set by
    the passdb's own fields: the refusal drops them, so a later passdb
    that knows the custom recipient is never asked."""
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        dc = sb.dovecot(start=False)
        settings = tree.plugin_settings(ldap.uri)
        settings["pass_attrs"] = (tree.PASS_ATTRS +
                                  ",=noauthenticate=y,=proxy=y")
        passdb, _ = mgsetup.auth_dbs_for(dc, settings)
        passdb.settings.update(NEVER_ON_LDAP_TROUBLE)
        local = dc.write_settings_text(
            "local", f"{PARTNER.login}:{{PLAIN}}{PARTNER.password}::::::\n",
            mode=0o644)
        dc.auth_dbs = [passdb, AuthDB("passdb", "passwd-file", local),
                       AuthDB("userdb", "static", "uid=nobody gid=nogroup")]
        dc.start()
        ok, reply = dc.imap_login(PARTNER.login, PARTNER.password)
        assert not ok and reply.startswith("NO [CONTACTADMIN]"), reply
        rc, out = dc.doveadm_auth_login(PARTNER.login, PARTNER.password)
        assert rc == 77 and "nologin" in out, out
        assert not re.search(r"^\s*(proxy|noauthenticate)\b", out, re.M), out


# --- the duplicate warning is written only for a verified password -------------

def test_duplicate_warning_only_after_the_password_check():
    shared = next(c for c in tree.EXTRA_CASES if c["name"] == "shared-mail")
    with Sandbox() as sb:
        dc = start(sb, {"pass_filter": shared["pass_filter"],
                        "user_filter": shared["pass_filter"]})
        mark = dc.log_mark()
        ok, reply = dc.imap_login(shared["login"], "wrong password")
        assert not ok and reply == IMAP_AUTHFAIL, reply
        assert "the filter matched" not in dc.log_since(mark)
        mark = dc.log_mark()
        ok, reply = dc.imap_login(shared["login"], shared["password"])
        assert ok, reply
        log = dc.log_since(mark, wait_for="the filter matched 2 entries")
        assert "the filter matched 2 entries; using " + ALICE.dn in log, log


# --- nothing a client or the directory sends can forge a log line ---------------

FORGED = "Dec 24 00:00:00 auth: Info: FORGED"
NASTY = "\r\n" + FORGED + "\tTAB\x1b[31mESC\x85NEL\u2028LS"


def assert_clean(log):
    """No line starts with forged text and no raw CR anywhere; the lines
    the plugin writes carry no control character at all (Dovecot's own
    auth_debug dump of the protocol escapes only tabs and line ends)."""
    assert "\r" not in log
    for line in log.splitlines():
        assert not line.startswith("Dec 24"), line
        if "FORGED" in line:
            assert line.index("FORGED") > line.index("auth"), line
        if "mailbox_guard(" in line:
            message = line.split("): ", 1)[-1]
            for ch in ("\t", "\x1b", "\x85", "\u2028"):
                assert ch not in message, (repr(ch), line)


def nasty_ldif():
    """A custom recipient logged in as by a plain name, whose DN and
    legacyExchangeDN hold control characters."""
    from sandbox.ldif import render_entry
    attrs = {"objectClass": tree.CONTACT_OC, "cn": "evil" + NASTY,
             "sn": "evil", "mailNickname": "evil",
             "targetAddress": "SMTP:evil@partner.test",
             "userPassword": "{PLAIN}evilpw",
             "legacyExchangeDN": "/o=Corp" + NASTY}
    dn = f"cn=evil{NASTY},ou=Contacts,{tree.SUFFIX}"
    return "\n" + render_entry(dn, attrs)


DEBUG = {"auth_username_chars": "", "auth_debug": "yes"}


@pytest.fixture(scope="module")
def nasty():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox() as sb:
        yield start(sb, {"diagnostics_logging": "maximum"},
                    dovecot_settings=DEBUG, extra_ldif=nasty_ldif())


def test_directory_text_never_forges_a_log_line(nasty):
    mark = nasty.log_mark()
    ok, reply = nasty.imap_login("evil", "evilpw")
    assert not ok and "[CONTACTADMIN]" in reply, reply
    log = nasty.wait_log("Event ID 13003", since=mark)
    assert "Event ID 1023" in log and "custom recipient cn=evil" in log, log
    assert_clean(log)


def test_client_name_never_forges_a_log_line(nasty):
    mark = nasty.log_mark()
    with nasty.auth_client() as ac:
        answer = ac.auth_plain("evil" + NASTY, "evilpw")
    assert not answer.ok and not answer.temp, answer
    log = nasty.wait_log("Auth request finished", since=mark)
    assert_clean(log)


@pytest.mark.parametrize("field", ["user", "username"])
def test_directory_user_name_with_control_characters_is_refused(field):
    """pass_attrs (2.4: fields { }) renaming the user, whole or in part,
    to such a value: Dovecot would log the rename as it is, so it is an
    error, never a login. (The only field naming the user: 2.4's fields
    { } holds a key once.)"""
    with Sandbox() as sb:
        dc = start(sb, {"pass_attrs": f"legacyExchangeDN={field},"
                        "userPassword=password"},
                   dovecot_settings=DEBUG, extra_ldif=nasty_ldif())
        ok, reply = dc.imap_login("evil", "evilpw")
        assert not ok and reply.startswith(TEMPFAIL), reply
        log = dc.wait_log("holds control characters")
        assert_clean(log)


# --- a server closing an idle connection is no error (issue 12, item 3) ---------

def test_idle_close_is_not_an_error():
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif(),
                        global_conf="idletimeout 1\n")
        dc = start(sb, uri=ldap.uri)
        ok, reply = dc.imap_login(ALICE.login, ALICE.password)
        assert ok, reply
        mark = dc.log_mark()
        # slapd says when it closed them for being idle
        ldap_log = os.path.join(ldap.dir, "slapd.log")
        assert wait_until(lambda: "closed (idletimeout)" in open(
            ldap_log, errors="replace").read(), timeout=15)
        ok, reply = dc.imap_login(ALICE.login, ALICE.password)
        assert ok, reply
        log = dc.log_since(mark)
        assert not [l for l in log.splitlines()
                    if "auth: Error" in l or "auth: Warning" in l], log


# --- a refusal is final: no later passdb answers instead ----------------------

@pytest.mark.parametrize("mode", ["failure", "tempfail"])
def test_refusal_is_final_in_a_passdb_chain(mode):
    """A second passdb that knows the custom recipient with the same
    password (a passwd-file, PAM through winbind, ...) never gets asked."""
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        dc = sb.dovecot(start=False)
        settings = tree.plugin_settings(ldap.uri)
        settings["custom_recipient_result"] = mode
        passdb, userdb = mgsetup.auth_dbs_for(dc, settings)
        passdb.settings.update(NEVER_ON_LDAP_TROUBLE)
        local = dc.write_settings_text(
            "local", f"{PARTNER.login}:{{PLAIN}}{PARTNER.password}::::::\n",
            mode=0o644)
        dc.auth_dbs = [passdb, AuthDB("passdb", "passwd-file", local),
                       userdb]
        dc.start()
        want = TEMPFAIL if mode == "tempfail" else "NO [CONTACTADMIN]"
        ok, reply = dc.imap_login(PARTNER.login, PARTNER.password)
        assert not ok and reply.startswith(want), reply
        for service in ("smtp", "imap"):
            rc, out = dc.doveadm_auth_test(PARTNER.login, PARTNER.password,
                                           service, "rip=127.0.0.9")
            assert rc == (doveadm_tempfail_rc() if mode == "tempfail"
                          else 77), out
        assert "passwd-file" not in dc.log_text()


# --- a field's failed check never hands the login to a later passdb -------------

# fields whose check fails for every client here (127.x is outside the net)
FAILED_CHECKS = {"fail": "=fail=y", "allow_nets": "=allow_nets=192.0.2.0/24"}


@pytest.mark.parametrize("check", sorted(FAILED_CHECKS))
def test_failed_field_check_does_not_undo_a_refusal(check):
    """Dovecot turns a passdb's OK into "user unknown" when one of its
    fields' checks failed, and asks the next passdb. Behind a passwd-file
    that knows the custom recipient and a static userdb (no mailbox_guard
    userdb to stop it) that next OK was a login: the refusal stays the
    answer, for plaintext and for CRAM-MD5."""
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        dc = sb.dovecot(start=False,
                        settings={"auth_mechanisms": "plain login cram-md5"})
        settings = tree.plugin_settings(ldap.uri)
        settings["pass_attrs"] = tree.PASS_ATTRS + "," + FAILED_CHECKS[check]
        passdb, _ = mgsetup.auth_dbs_for(dc, settings)
        passdb.settings.update(NEVER_ON_LDAP_TROUBLE)
        local = dc.write_settings_text(
            "local", f"{PARTNER.login}:{{PLAIN}}{PARTNER.password}::::::\n",
            mode=0o644)
        dc.auth_dbs = [passdb, AuthDB("passdb", "passwd-file", local),
                       AuthDB("userdb", "static", "uid=nobody gid=nogroup")]
        dc.start()
        ok, reply = dc.imap_login(PARTNER.login, PARTNER.password)
        assert not ok and reply.startswith("NO [CONTACTADMIN]"), reply
        ok, reply = dc.imap_authenticate_cram_md5(PARTNER.login,
                                                  PARTNER.password)
        assert not ok, reply
        rc, out = dc.doveadm_auth_test(PARTNER.login, PARTNER.password)
        assert rc == 77 and "code=user_disabled" in out, out


def test_ldap_down_never_hands_a_custom_recipient_to_a_later_passdb():
    """With result_internalfail = return-fail (what the check at start
    asks for), LDAP being down is a temporary failure, final: the later
    passwd-file that knows the custom recipient is not asked, over IMAP
    and SMTP AUTH, behind a static userdb."""
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        dc = sb.dovecot(start=False)
        passdb, _ = mgsetup.auth_dbs_for(dc, tree.plugin_settings(ldap.uri))
        passdb.settings.update(NEVER_ON_LDAP_TROUBLE)
        local = dc.write_settings_text(
            "local", f"{PARTNER.login}:{{PLAIN}}{PARTNER.password}::::::\n"
                     "localonly:{PLAIN}Local-pw-1::::::\n", mode=0o644)
        dc.auth_dbs = [passdb, AuthDB("passdb", "passwd-file", local),
                       AuthDB("userdb", "static", "uid=nobody gid=nogroup")]
        dc.start()
        # LDAP up: a name it doesn't know reaches the passwd-file
        assert dc.imap_login("localonly", "Local-pw-1").ok
        ldap.stop()
        ok, reply = dc.imap_login(PARTNER.login, PARTNER.password)
        assert not ok and reply.startswith(TEMPFAIL), reply
        rc, out = dc.doveadm_auth_test(PARTNER.login, PARTNER.password,
                                       "smtp")
        assert rc == doveadm_tempfail_rc() and "code=temp_fail" in out, out


# --- a custom recipient's failed password is final too -----------------------

LOCAL_PW = "Local-pw-1"
# custom recipients: a contact with a password, one without, a MailUser
UNVERIFIED = ("partner", "partner-nopw", "mailuser")


def test_custom_recipients_failure_never_reaches_a_later_passdb():
    """Behind mailbox_guard, a passwd-file (Dovecot's default result_failure
    = continue, so asked after a wrong LDAP password) knows the custom
    recipients by a password of its own. The LDAP password is not given:
    the failure is final, over IMAP, POP3, SMTP AUTH through Postfix and
    doveadm, and looks to the client like any wrong password. Controls:
    the same chain lets in a name LDAP doesn't know and a mailbox user
    (whose failure goes on to the passwd-file, as configured)."""
    import shutil
    if shutil.which("postfix") is None:
        pytest.skip("postfix not installed (tests/install-deps installs it)")
    with Sandbox() as sb:
        ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
        dc = sb.dovecot(start=False)
        passdb, _ = mgsetup.auth_dbs_for(dc, tree.plugin_settings(ldap.uri))
        passdb.settings.update(NEVER_ON_LDAP_TROUBLE)
        names = UNVERIFIED + ("alice", "localonly")
        local = dc.write_settings_text(
            "local", "".join(f"{n}:{{PLAIN}}{LOCAL_PW}::::::\n"
                             for n in names), mode=0o644)
        dc.auth_dbs = [passdb, AuthDB("passdb", "passwd-file", local),
                       AuthDB("userdb", "static", "uid=nobody gid=nogroup")]
        pf = sb.postfix(dc)
        dc.start()
        pf.start()
        assert dc.imap_login("localonly", LOCAL_PW).ok
        assert dc.imap_login("alice", LOCAL_PW).ok
        assert pf.smtp_auth("alice", LOCAL_PW).ok
        for name in UNVERIFIED:
            mark = dc.log_mark()
            got = dc.login_all(name, LOCAL_PW)
            assert tuple(r.text for r in got.values()) == \
                mgsetup.WANT[tree.AUTHFAIL], (name, got)
            reply = pf.smtp_auth(name, LOCAL_PW)
            assert not reply.ok and reply.text.startswith("535"), reply
            for service in ("smtp", "imap"):
                rc, out = dc.doveadm_auth_test(name, LOCAL_PW, service)
                assert rc == 77, (name, service, out)
                # nothing of the refusal: the password wasn't verified
                assert "reason=" not in out and "nologin" not in out, out
            assert "Event ID" not in dc.log_since(mark)


def test_auth_bind_userdn_failure_going_on_is_fatal():
    """With auth_bind_userdn the bind fails before the entry is read: a
    wrong password can't be told to be a custom recipient's, so a later
    passdb that can answer needs result_failure = return-fail."""
    settings = {"auth_bind": "yes",
                "auth_bind_userdn": f"cn=%u,ou=Users,{tree.SUFFIX}"}
    for failure in (None, "return-fail"):
        with Sandbox() as sb:
            ldap = sb.slapd(suffix=tree.SUFFIX, ldif=tree.ldif())
            dc = sb.dovecot(start=False)
            passdb, userdb = mgsetup.auth_dbs_for(
                dc, tree.plugin_settings(ldap.uri, **settings))
            passdb.settings.update(NEVER_ON_LDAP_TROUBLE)
            if failure is not None:
                passdb.settings["result_failure"] = failure
            dc.auth_dbs = [passdb, userdb,
                           AuthDB("passdb", "static", "password=anything")]
            dc.start(wait_greeting=False)
            dc.client_timeout = 8
            ok, reply = dc.imap_login(ALICE.login, ALICE.password)
            if failure is not None:
                assert ok, reply
                continue
            assert not ok, reply
            problem = (r"with auth_bind_userdn a wrong password fails before "
                       r"the entry is read, and result_failure = continue")
            log = dc.wait_log(lambda t: re.search(problem, t) is not None)
            fatal = [l for l in log.splitlines() if re.search(problem, l)]
            assert fatal and "Fatal" in fatal[0], log

"""Hostile input and secrets.

* user names carrying LDAP filter and DN metacharacters, NUL, a 10 KB
  name and invalid UTF-8, through IMAP, POP3 and the raw auth protocol
  (which carries bytes the login processes would stop), with the filter
  search and with auth_bind + auth_bind_userdn: nobody gets in, nothing
  is a temporary failure (a widened search would match many entries and
  tempfail on the duplicates), the auth process never crashes, and every
  search slapd saw is a plain equality match
* no password reaches any log at the chattiest settings
* a settings file holding dnpass that everybody can read is warned about
"""

import base64
import os
import re

import pytest

import mgsetup
from fixtures import ad_tree
from sandbox import (Sandbox, AuthDB, IMAP_AUTHFAIL, POP3_AUTHFAIL,
                     IMAP_REFUSED, is_24)

pytestmark = pytest.mark.plugin

ALICE = ad_tree.EXPECTED["alice"]
PARTNER = ad_tree.EXPECTED["partner"]
USERDN = f"cn=%u,ou=Users,{ad_tree.SUFFIX}"

# names an IMAP quoted string and POP3 USER can carry
PRINTABLE = [
    "*", "alice*", "*alice", "al*ce", "(", ")", "alice)", "(alice",
    "alice)(objectClass=*", "*)(|(mailNickname=*", "alice)(|(mailNickname=*))",
    "\\", "alice\\", "\\2a", "ali\\63e", "alice\\00", "\\*",
    ",", "alice,ou=Users", "x,cn=alice", "=", "=alice", "alice=",
    "+", "alice+sn=alice", "alice+cn=alice",
    f"cn=alice,ou=Users,{ad_tree.SUFFIX}", "#alice", "# alice", "<alice>",
    '"alice"', "alice;", "alice\tx", "alice\\", "\\,",
]
# LDAP's own matching (caseIgnoreMatch, insignificant spaces) makes these
# alice: with her password they log in, and as "alice", never as the
# name typed (which would be another home directory)
SAME_AS_ALICE = [" alice", "alice ", "  ALICE  ", "Alice"]
# bytes only the raw auth protocol (SASL PLAIN) carries: NUL inside the
# authzid / authcid, invalid UTF-8, a 10 KB name
RAW_BLOBS = {
    "nul-in-authcid": b"\0alice\0junk\0" + ALICE.password.encode(),
    "nul-splits-name": b"\0ali\0ce\0" + ALICE.password.encode(),
    "nul-in-authzid": b"ali\0ce\0alice\0" + ALICE.password.encode(),
    "nul-authzid-is-alice": b"alice\0\0" + ALICE.password.encode(),
    "invalid-utf8": b"\0ali\xffce\0" + ALICE.password.encode(),
    "overlong-utf8": b"\0alice\xc0\xaf\0" + ALICE.password.encode(),
    "lone-continuation": b"\0\x80alice\0" + ALICE.password.encode(),
    "utf8-then-star": b"\0\xc3\x28*\0" + ALICE.password.encode(),
    "10k-name": b"\0" + b"a" * 10240 + b"\0" + ALICE.password.encode(),
    "10k-stars": b"\0" + b"*" * 10240 + b"\0" + ALICE.password.encode(),
    "10k-parens": b"\0" + b"()" * 5120 + b"\0" + ALICE.password.encode(),
}
# names that can't be part of any valid DN (not UTF-8, or too long for
# slapd): with auth_bind_userdn they are still just wrong names
NOT_A_DN = ("invalid-utf8", "overlong-utf8", "lone-continuation",
            "utf8-then-star", "10k-name", "10k-stars", "10k-parens")
# slapd logs a filter whose value is invalid for the attribute's syntax
# (bytes that are not UTF-8) with a "?": Undefined, it matches nothing
EQUALITY = re.compile(
    r'^\(&\(objectClass=person\)\(\??mailNickname=[^()*]*\)\)$')


class Hostile:
    """One slapd, two Dovecots: the filter search and auth_bind_userdn."""

    def __init__(self, sb):
        self.sb = sb
        self.ldap = sb.slapd(suffix=ad_tree.SUFFIX, ldif=ad_tree.ldif())
        self.search = self._dovecot({})
        self.bind = self._dovecot({"auth_bind": "yes",
                                   "auth_bind_userdn": USERDN})

    def _dovecot(self, over):
        # an empty auth_username_chars lets every byte reach the plugin
        dc = self.sb.dovecot(start=False,
                             settings={"auth_username_chars": ""})
        dc.auth_dbs = mgsetup.auth_dbs_for(
            dc, ad_tree.plugin_settings(self.ldap.uri, **over))
        dc.start()
        dc.first_auth_pid = dc.auth_pid()
        return dc


@pytest.fixture(scope="module")
def hostile():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    sb = Sandbox(prefix="mgh")
    try:
        yield Hostile(sb)
    finally:
        sb.close()


def check_survived(dc):
    assert dc.child_pids("auth") == [dc.first_auth_pid], "auth restarted"
    assert not dc.crash_lines(), dc.crash_lines()


@pytest.mark.parametrize("mode", ["search", "bind"])
def test_printable_names_over_imap_and_pop3(hostile, mode):
    dc = getattr(hostile, mode)
    jobs = []
    for name in PRINTABLE:
        jobs += [(dc.imap_login, name, ALICE.password),
                 (dc.pop3_login, name, ALICE.password)]
    replies = dc.parallel(jobs, workers=16)
    bad = []
    for (fn, name, _), reply in zip(jobs, replies):
        want = IMAP_AUTHFAIL if fn == dc.imap_login else POP3_AUTHFAIL
        if reply.text != want:
            bad.append((name, fn.__name__, reply.text))
    assert not bad, bad
    check_survived(dc)
    # the service still works
    assert dc.imap_login(ALICE.login, ALICE.password).ok


@pytest.mark.parametrize("mode", ["search", "bind"])
def test_names_over_the_auth_protocol(hostile, mode):
    dc = getattr(hostile, mode)
    with dc.auth_client() as ac:
        ids = {}
        for name in PRINTABLE:
            ids[ac.send_plain(name, ALICE.password)] = name
            ids[ac.send_plain(name, ALICE.password, authz=name)] = \
                f"authz {name!r}"
        for label, blob in RAW_BLOBS.items():
            if mode == "bind" and label in NOT_A_DN:
                continue        # test_auth_bind_userdn_names_not_a_dn
            ids[ac.send_raw_plain(blob)] = label
        answers = ac.wait_all(ids, timeout=60)
    bad = [(ids[i], a.line[:200]) for i, a in answers.items()
           if a.ok or a.temp]
    assert not bad, bad
    check_survived(dc)
    log = dc.log_text()
    # a widened search would have matched several entries
    assert "the filter matched" not in log
    assert "LDAP unavailable" not in log


@pytest.mark.parametrize("mode", ["search", "bind"])
def test_names_ldap_matches_as_alice_become_alice(hostile, mode):
    dc = getattr(hostile, mode)
    with dc.auth_client() as ac:
        ids = {ac.send_plain(n, ALICE.password): n for n in SAME_AS_ALICE}
        wrong = {ac.send_plain(n, "Wrong-pw-1"): n for n in SAME_AS_ALICE}
        answers = ac.wait_all(list(ids) + list(wrong), timeout=30)
    for i, name in ids.items():
        a = answers[i]
        assert a.logged_in and a.fields.get("user") == ALICE.login, (name, a)
    for i, name in wrong.items():
        assert not answers[i].ok and not answers[i].temp, (name, answers[i])
    got = dc.imap_login(" alice", ALICE.password)
    assert got.ok, got
    check_survived(dc)


def test_auth_bind_userdn_names_not_a_dn(hostile):
    """A name that makes an invalid DN is a wrong name, not an LDAP
    outage: slapd answers the bind with invalidDNSyntax, which must not
    become a temporary failure (an error line per attempt, and a reply
    that tells the client to come back)."""
    dc = hostile.bind
    with dc.auth_client() as ac:
        ids = {ac.send_raw_plain(RAW_BLOBS[label]): label
               for label in NOT_A_DN}
        answers = ac.wait_all(ids, timeout=60)
    assert not [l for i, l in ids.items() if answers[i].ok]
    temp = [(l, answers[i].line[:80]) for i, l in ids.items()
            if answers[i].temp]
    assert not temp, temp
    check_survived(dc)


SPLICED = re.compile(r" conn=\d+ op=\d+ ")


def test_every_search_was_an_equality_match(hostile):
    """Whatever the names, the plugin's searches are
    (&(objectClass=person)(mailNickname=VALUE)) with VALUE escaped: no
    wildcard, no nested filter (this also covers the names the tests
    above sent, when they ran first)."""
    with hostile.search.auth_client() as ac:
        ids = [ac.send_plain(n, ALICE.password) for n in PRINTABLE]
        ids += [ac.send_raw_plain(b) for b in RAW_BLOBS.values()]
        ac.wait_all(ids, timeout=60)
    # slapd's threads share stderr: a 10 KB filter's line can be cut by
    # another thread's record, which then shows inside it (" conn=N op=");
    # such a spliced line says nothing about the filter sent
    searches = [f for _, _, f in hostile.ldap.searches()
                if "mailNickname" in f and not SPLICED.search(f)]
    assert len(searches) > len(PRINTABLE), "the names never reached slapd"
    widened = [f for f in searches if not EQUALITY.match(f)]
    assert not widened, widened[:10]


def test_auth_bind_userdn_escapes_the_dn(hostile):
    """Every bind slapd saw names an entry under ou=Users: the name never
    added or changed an RDN."""
    with hostile.bind.auth_client() as ac:
        ac.wait_all([ac.send_plain(n, ALICE.password) for n in PRINTABLE],
                    timeout=60)
    rx = re.compile(r'BIND dn="(.*?)" method=128')
    dns = rx.findall(hostile.ldap.log_text())
    users = [d for d in dns if d.endswith(f",ou=Users,{ad_tree.SUFFIX}")]
    assert users, dns[:5]
    suffix = f",ou=Users,{ad_tree.SUFFIX}"
    for dn in users:
        rdn = dn[:-len(suffix)]
        # one RDN, cn=..., with every separator escaped
        unescaped = re.sub(r"\\.", "", rdn)
        assert rdn.startswith("cn=") and "," not in unescaped and \
            "+" not in unescaped and unescaped.count("=") == 1, dn


# --- no password in any log ------------------------------------------------------

SVC_SECRET = "Svc-Secret-9913"
MASTER_SECRET = "Master-Secret-5521"
WRONG = "Wrong-Secret-3371"
UNKNOWN_PW = "Unknown-Secret-8842"
BIND_WRONG = "Bind-Wrong-6613"
CHATTY = {"auth_debug": "yes", "auth_verbose": "yes",
          "auth_verbose_passwords": "no", "mail_debug": "yes",
          "auth_master_user_separator": "*"}


def secret_forms(user, password, authz=""):
    """The password and the encodings a log could show it in."""
    blob = f"{authz}\0{user}\0{password}".encode()
    return {password, base64.b64encode(password.encode()).decode(),
            base64.b64encode(blob).decode(),
            base64.b64encode(f"\0{user}\0{password}".encode()).decode()}


def test_passwords_never_logged():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox(prefix="mgs") as sb:
        ldap = sb.slapd(suffix=ad_tree.SUFFIX, ldif=ad_tree.ldif(),
                        rootpw=SVC_SECRET)
        service = {"dn": ldap.rootdn, "dnpass": SVC_SECRET,
                   "diagnostics_logging": "maximum"}
        dc = sb.dovecot(start=False, settings=CHATTY)
        masters = dc.write_settings_text(
            "masters", f"admin:{{PLAIN}}{MASTER_SECRET}::::::\n", mode=0o644)
        dc.auth_dbs = [AuthDB("passdb", "passwd-file", masters, master="yes",
                              **{"pass": "yes"})] + mgsetup.auth_dbs_for(
            dc, ad_tree.plugin_settings(ldap.uri, **service))
        dc.start()
        bind = sb.dovecot(start=False, settings=CHATTY)
        bind.auth_dbs = mgsetup.auth_dbs_for(bind, ad_tree.plugin_settings(
            ldap.uri, auth_bind="yes", auth_bind_userdn=USERDN, **service))
        bind.start()

        secrets = {SVC_SECRET}
        attempts = [
            (dc, ALICE.login, ALICE.password, "ok"),
            (dc, ALICE.login, WRONG, "fail"),
            (dc, PARTNER.login, PARTNER.password, "refused"),
            (dc, "nosuchuser", UNKNOWN_PW, "fail"),
            (dc, f"{ALICE.login}*admin", MASTER_SECRET, "ok"),
            (bind, ALICE.login, ALICE.password, "ok"),
            (bind, ALICE.login, BIND_WRONG, "fail"),
            (bind, PARTNER.login, PARTNER.password, "fail"),
        ]
        for d, user, password, want in attempts:
            got = d.login_all(user, password)
            for proto, reply in got.items():
                if want == "ok":
                    assert reply.ok, (user, proto, reply)
                elif want == "refused":
                    assert "not available on this server" in reply.text
                else:
                    assert not reply.ok and "Temporary" not in reply.text, \
                        (user, proto, reply)
            secrets |= secret_forms(user, password)
            if "*" in user:
                secrets |= secret_forms(user.split("*")[0], password,
                                        authz="admin")
        # the chatty settings really were chatty
        log = dc.log_text()
        assert "auth: Debug:" in log and "mailbox_guard" in log
        for d in (dc, bind):
            text = d.log_text()
            leaked = sorted(s for s in secrets if s in text)
            assert not leaked, [l for l in text.splitlines()
                                if any(s in l for s in leaked)][:10]
        text = ldap.log_text()
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, leaked


# --- dnpass in a file others can read -------------------------------------------

WARNING = "holds dnpass but is readable by "


@pytest.mark.parametrize("mode,warned", [(0o644, "every user"),
                                         (0o640, "its group"),
                                         (0o600, None)])
def test_readable_dnpass_is_warned(mode, warned):
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    if is_24():
        pytest.skip("Dovecot 2.4: no settings file of the plugin's; the "
                    "password is mailbox_guard_auth_dn_password in "
                    "dovecot.conf or a file it includes, read by Dovecot's "
                    "config process, and the plugin never learns which file "
                    "(2.4 hides it in doveconf -n: test_settings_24)")
    with Sandbox(prefix="mgw") as sb:
        ldap = sb.slapd(suffix=ad_tree.SUFFIX, ldif=ad_tree.ldif())
        dc = sb.dovecot(start=False)
        dc.auth_dbs = mgsetup.auth_dbs_for(dc, ad_tree.plugin_settings(
            ldap.uri, dn=ldap.rootdn, dnpass=ldap.rootpw))
        path = dc.auth_dbs[0].args
        os.chmod(path, mode)
        dc.start()
        # the plugin reads its settings when the auth process starts
        assert dc.imap_login(ALICE.login, ALICE.password).ok
        assert dc.imap_login(PARTNER.login, PARTNER.password).text == \
            IMAP_REFUSED
        lines = [l for l in dc.log_text().splitlines() if WARNING in l]
        if warned:
            assert lines and path in lines[0] and "Warning" in lines[0], \
                dc.log_text()[-2000:]
            assert f"{WARNING}{warned} (chmod go-r)" in lines[0], lines[0]
        else:
            assert not lines, lines
        # the file's mode is the admin's: the plugin never changes it
        assert os.stat(path).st_mode & 0o777 == mode

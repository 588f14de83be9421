"""Where the refusal holds (issue 9), with real clients on every path:
SMTP AUTH through a private Postfix (smtpd_sasl_type = dovecot), doveadm
for every service name, a Dovecot proxy in front of a backend, the auth
cache while an entry is converted (and back), non-plaintext mechanisms,
and, with IMAPTEST set, an imaptest login storm.

What each client must see is issue 9's refusal semantics:
  - login services (imap, pop3, submission, sieve) asking on a login
    socket: OK + nologin + reason, shown as today's refusal texts;
  - every other request (the auth-client socket Postfix and `doveadm auth
    test` use; any other service): FAIL code=user_disabled reason=...;
  - custom_recipient_result = tempfail: a real temporary failure
    (code=temp_fail) for every client;
  - a refusal carries no routing field (proxy, host, port, pass, ...);
  - non-plaintext mechanisms: the failure of a wrong password;
  - nothing of a refusal is reused from the auth cache, and a cached
    mailbox user turned custom recipient is refused once the TTL passed.
Expected results come from the fixture tables and that wording, never
from the plugin's output.
"""

import math
import os
import shutil
import subprocess
import time
from types import SimpleNamespace

import pytest

import mgsetup
from fixtures import (ad_tree, ex55_tree, openldap_tree, OK, REFUSED,
                      AUTHFAIL)
from sandbox import (Sandbox, AuthDB, AuthClient, procs, IMAP_REFUSED,
                     POP3_REFUSED, IMAP_AUTHFAIL, POP3_AUTHFAIL,
                     REFUSAL_REASON, render_entry, is_24,
                     doveadm_tempfail_rc)
from sandbox.load import IMAP_TEMPFAIL, POP3_TEMPFAIL

pytestmark = pytest.mark.plugin

TREES = {"ad": ad_tree, "ex55": ex55_tree, "openldap": openldap_tree}
MODES = ("failure", "tempfail")
# services whose clients are Dovecot's *-login processes, and the rest
LOGIN_SERVICES = ("imap", "pop3", "submission", "sieve")
OTHER_SERVICES = ("smtp", "doveadm", "lmtp", "mg-no-such-service", "")
SERVICES = LOGIN_SERVICES + OTHER_SERVICES
# fields that would send a login elsewhere; a refusal carries none
ROUTING_FIELDS = ("proxy", "proxy_maybe", "host", "hostip", "port",
                  "destuser", "master", "pass")

TTL = 3         # auth_cache_ttl (and negative ttl), seconds
CLOCK_SLACK = 0.2   # see wait_cache_expiry
CACHE = {"auth_cache_size": "1M", "auth_cache_ttl": f"{TTL} s",
         "auth_cache_negative_ttl": f"{TTL} s"}
# what a login process logs for a login, and what `doveadm auth test` says
# for a temporary failure, by release
LOGIN_LINE = "Logged in: user=" if is_24() else "Login: user="
TEMPFAIL_SAYS = "internal auth failure" if is_24() else "auth failed"
# a login name pass_attrs renames: "%n" finds the entry, its stored name
# (mailNickname / uid = user) becomes the user name
RENAME_DOMAIN = "rename.mg.test"


def smtp_code(reply):
    head = reply.text[:3]
    return int(head) if head.isdigit() else None


def entries(tree, expect):
    return [e for e in tree.EXPECTED.values() if e.expect == expect]


def tree_settings(tree, mode):
    """The tree's own profile; filters on %n so that a login with a
    domain part finds the entry and pass_attrs renames the user."""
    return {"recipient_profile": tree.PROFILE,
            "pass_filter": tree.PASS_FILTER.replace("%u", "%n"),
            "user_filter": tree.USER_FILTER.replace("%u", "%n"),
            "custom_recipient_result": mode}


def auth_test(dc, login, password, service="imap"):
    """`doveadm auth test` from a fresh client address: without one every
    request shares the empty address's failure penalty, which grows with
    each temporary failure."""
    return dc.doveadm_auth_test(login, password, service,
                                f"rip={procs.next_source_address()}")


def auth_login(dc, login, password, service="imap"):
    """`doveadm auth login` from a fresh client address (see auth_test)."""
    return dc.doveadm("auth", "login", "-x", f"service={service}",
                      "-x", f"rip={procs.next_source_address()}",
                      login, password)


def need_postfix():
    if shutil.which("postfix") is None:
        pytest.skip("postfix not installed (tests/install-deps installs it)")


def auth_answers(dc, service, pairs):
    """AUTH PLAIN for each (login, password) on the auth-client socket, all
    in flight at once; answers in order."""
    with dc.auth_client(service=service) as ac:
        ids = [ac.send_plain(login, password) for login, password in pairs]
        got = ac.wait_all(ids)
    return [got[i] for i in ids]


def assert_plain_failure(answer, what, entry=None):
    """What a wrong password gets: FAIL without code or reason. A custom
    recipient's (an entry without a mailbox, userdb False) ends the passdb
    chain as a disabled user: code=user_disabled, still without a reason
    (Postfix and the login processes show it as any wrong password)."""
    assert answer.status == "FAIL", (what, answer)
    want = {"code": "user_disabled"} if entry is not None and \
        entry.userdb is False else {}
    got = {k: answer.fields[k] for k in ("code", "reason")
           if k in answer.fields}
    assert got == want, (what, answer)


def assert_refused_answer(answer, mode, what):
    assert answer.status == "FAIL", (what, answer)
    if mode == "failure":
        assert answer.fields.get("code") == "user_disabled", (what, answer)
        assert answer.fields.get("reason") == REFUSAL_REASON, (what, answer)
    else:
        assert answer.fields.get("code") == "temp_fail", (what, answer)


# ---------------------------------------------------------------------------
# one sandbox per fixture tree: slapd, and for each mode a Dovecot (auth
# cache on, TTL seconds) with a Postfix in front of it
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trees():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    need_postfix()
    sandboxes, built = [], {}

    def get(name):
        if name not in built:
            tree = TREES[name]
            sb = Sandbox(prefix="mgp")
            sandboxes.append(sb)
            ldap, setups = None, {}
            for mode in MODES:
                ldap, dc, pf = mgsetup.postfix_setup(
                    sb, tree, settings_over=tree_settings(tree, mode),
                    dovecot_settings=CACHE, match=None, ldap=ldap)
                setups[mode] = SimpleNamespace(dc=dc, pf=pf)
            built[name] = SimpleNamespace(tree=tree, ldap=ldap, **setups)
        return built[name]
    try:
        yield get
    finally:
        for sb in sandboxes:
            sb.close()


# --- SMTP AUTH through Postfix, every entry of every tree --------------------

SMTP_CASES = [(n, login) for n, t in TREES.items() for login in t.EXPECTED]


@pytest.mark.parametrize("tree,login", SMTP_CASES,
                         ids=[f"{t}:{l}" for t, l in SMTP_CASES])
def test_smtp_auth_via_postfix(trees, tree, login):
    """AUTH PLAIN and AUTH LOGIN: a mailbox user 235, anybody else 535;
    a wrong password 535. The auth socket (service=smtp, as Postfix asks)
    shows the refusal as a real failure with its reason."""
    s = trees(tree)
    entry = s.tree.EXPECTED[login]
    dc, pf = s.failure.dc, s.failure.pf
    wrong = entry.try_password + "-wrong"
    plain, login_mech, bad = dc.parallel([
        (pf.smtp_auth, entry.login, entry.try_password, "PLAIN"),
        (pf.smtp_auth, entry.login, entry.try_password, "LOGIN"),
        (pf.smtp_auth, entry.login, wrong, "PLAIN")])
    where = f"{entry.kind} ({entry.dn})"
    if entry.expect == OK:
        assert smtp_code(plain) == 235, (where, plain)
        assert smtp_code(login_mech) == 235, (where, login_mech)
    else:
        assert smtp_code(plain) == 535, (where, plain)
        assert smtp_code(login_mech) == 535, (where, login_mech)
    assert smtp_code(bad) == 535, (where, bad)

    right, wrong_answer = auth_answers(dc, "smtp", [
        (entry.login, entry.try_password), (entry.login, wrong)])
    if entry.expect == OK:
        assert right.logged_in, (where, right)
    elif entry.expect == REFUSED:
        assert_refused_answer(right, "failure", where)
    else:
        assert_plain_failure(right, where, entry)
    assert_plain_failure(wrong_answer, where, entry)


@pytest.mark.parametrize("tree", list(TREES))
def test_smtp_auth_via_postfix_tempfail(trees, tree):
    """custom_recipient_result = tempfail: Postfix still answers 535 (it
    maps every Dovecot FAIL to 535), the auth socket and `doveadm auth
    test` show code=temp_fail; mailbox users and wrong passwords as in
    failure mode."""
    s = trees(tree)
    dc, pf = s.tempfail.dc, s.tempfail.pf
    cases = list(s.tree.EXPECTED.values())
    jobs = []
    for e in cases:
        jobs += [(pf.smtp_auth, e.login, e.try_password, "PLAIN"),
                 (pf.smtp_auth, e.login, e.try_password, "LOGIN")]
    refused = entries(s.tree, REFUSED)
    jobs += [(auth_test, dc, e.login, e.password, "smtp")
             for e in refused]
    got = dc.parallel(jobs)
    for i, e in enumerate(cases):
        plain, login_mech = got[2 * i], got[2 * i + 1]
        want = 235 if e.expect == OK else 535
        assert smtp_code(plain) == want, (e.login, plain)
        assert smtp_code(login_mech) == want, (e.login, login_mech)
    for e, (rc, out) in zip(refused, got[2 * len(cases):]):
        assert rc == doveadm_tempfail_rc() and TEMPFAIL_SAYS in out, \
            (e.login, out)
        assert "code=temp_fail" in out, (e.login, out)

    pairs = [(e.login, e.try_password) for e in cases] + \
            [(e.login, e.try_password + "-wrong") for e in cases]
    answers = auth_answers(dc, "smtp", pairs)
    for e, right in zip(cases, answers):
        if e.expect == OK:
            assert right.logged_in, (e.login, right)
        elif e.expect == REFUSED:
            assert_refused_answer(right, "tempfail", e.login)
        else:
            assert_plain_failure(right, e.login, e)
    for e, wrong in zip(cases, answers[len(cases):]):
        assert_plain_failure(wrong, e.login, e)


# --- doveadm auth test / auth login, every service name ----------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("service", SERVICES,
                         ids=[s or "empty" for s in SERVICES])
def test_doveadm_every_service(trees, service, mode):
    """`doveadm auth test` asks on the auth-client socket: a custom
    recipient always fails (code=user_disabled with the reason, or
    code=temp_fail). `doveadm auth login` asks on the auth-login socket:
    for a login service it gets what imap-login gets (OK + nologin +
    reason, then no userdb reply), for any other a failure."""
    s = trees("ad")
    dc = getattr(s, mode).dc
    custom = [ad_tree.EXPECTED["partner"], ad_tree.EXPECTED["mailuser"]]
    mailbox = ad_tree.EXPECTED["alice"]
    jobs = []
    for e in custom + [mailbox]:
        jobs += [(auth_test, dc, e.login, e.password, service),
                 (auth_login, dc, e.login, e.password, service)]
    got = dc.parallel(jobs)
    code = "code=user_disabled" if mode == "failure" else "code=temp_fail"
    failed_rc = 77 if mode == "failure" else doveadm_tempfail_rc()
    failed_says = "auth failed" if mode == "failure" else TEMPFAIL_SAYS
    for i, e in enumerate(custom):
        (rc_t, out_t), (rc_l, out_l) = got[2 * i], got[2 * i + 1]
        assert rc_t == failed_rc, (e.login, "auth test", out_t)
        assert failed_says in out_t and code in out_t, (e.login, out_t)
        assert "auth succeeded" not in out_t, (e.login, out_t)
        if mode == "failure":
            assert f"reason={REFUSAL_REASON}" in out_t, (e.login, out_t)
        assert "userdb extra fields" not in out_l, (e.login, out_l)
        if mode == "failure" and service in LOGIN_SERVICES:
            # the passdb's OK + nologin, then no userdb answer
            assert rc_l == 77, (e.login, "auth login", out_l)
            assert "auth succeeded" in out_l, (e.login, out_l)
            assert "nologin" in out_l, (e.login, out_l)
            assert f"reason={REFUSAL_REASON}" in out_l, (e.login, out_l)
        else:
            assert rc_l == failed_rc, (e.login, "auth login", out_l)
            assert failed_says in out_l and code in out_l, (e.login, out_l)
            assert "auth succeeded" not in out_l, (e.login, out_l)
    (rc_t, out_t), (rc_l, out_l) = got[-2], got[-1]
    assert rc_t == 0 and "auth succeeded" in out_t, out_t
    assert "nologin" not in out_t, out_t
    assert rc_l == 0 and "userdb extra fields" in out_l, out_l


# --- the auth cache while an entry changes kind ------------------------------

# two mailbox users per tree: the first logs in under its stored name, the
# second under a name pass_attrs renames
CACHE_USERS = {"ad": ("alice", "bob"), "ex55": ("ex-alice", "ex-bob"),
               "openldap": ("ol-alice", "ol-bob")}


def _replace(dn, changes):
    """LDIF modify: each attribute replaced by the values (None: removed)."""
    parts = [f"dn: {dn}", "changetype: modify"]
    for attr, values in changes.items():
        parts.append(f"replace: {attr}")
        if values is not None:
            for v in [values] if isinstance(values, str) else values:
                parts.append(f"{attr}: {v}")
        parts.append("-")
    return "\n".join(parts) + "\n"


def _recreate(dn, attrs):
    """LDIF delete + add: the structural class changes."""
    record = render_entry(dn, attrs)
    first, rest = record.split("\n", 1)
    return f"dn: {dn}\nchangetype: delete\n\n{first}\nchangetype: add\n{rest}"


AD_SHAPE_ATTRS = ("homeMDB", "msExchHomeServerName",
                  "msExchRecipientTypeDetails", "msExchRecipientDisplayType",
                  "targetAddress")
OL_SHAPE_ATTRS = ("mailHost", "mailRoutingAddress")


def to_custom_ldif(tree, e):
    """The profile's custom-recipient shape of mailbox entry e."""
    if tree is ad_tree:
        # a MailUser: targetAddress, no homeMDB, type 128
        return _replace(e.dn, {
            "homeMDB": None, "msExchHomeServerName": None,
            "msExchRecipientTypeDetails": "128",
            "msExchRecipientDisplayType": "6",
            "targetAddress": f"SMTP:{e.login}@elsewhere.test"})
    if tree is ex55_tree:
        # a remote-address with Target-Address, same name and password
        attrs = {"objectClass": ["top", "person", "remote-address"],
                 "cn": e.attrs["cn"], "sn": e.attrs["sn"],
                 "uid": e.attrs["uid"], "mail": e.attrs["mail"],
                 "Target-Address": f"SMTP:{e.login}@elsewhere.test",
                 "userPassword": e.ldif_attrs()["userPassword"]}
        return _recreate(e.dn, attrs)
    # forward only: mailRoutingAddress without mailHost
    return _replace(e.dn, {"mailHost": None,
                           "mailRoutingAddress": f"{e.login}@elsewhere.test"})


def to_mailbox_ldif(tree, e):
    """Entry e as the fixture has it."""
    if tree is ex55_tree:
        return _recreate(e.dn, e.ldif_attrs())
    names = AD_SHAPE_ATTRS if tree is ad_tree else OL_SHAPE_ATTRS
    return _replace(e.dn, {a: e.attrs.get(a) for a in names})


def modify(ldap, ldif):
    r = ldap.ldapmodify(ldif)
    assert r.returncode == 0, f"ldapmodify failed: {r.stderr}\n{ldif}"


def wait_cache_expiry(last_write):
    """Until whatever the auth cache (and the plugin's memory of custom
    recipients) stored at or before the wall time last_write has expired.

    Dovecot stamps an entry with time(NULL) (whole seconds) and drops it
    once now > created + ttl (src/auth/auth-cache.c); the plugin's memory
    expires at now >= stored + ttl. Both hold from floor(last_write) +
    TTL + 1 on, by their clocks: time(NULL) reads the kernel's coarse
    clock, which may lag the precise one by a timer tick (a few ms), and
    the plugin's ioloop_time is read when the auth process wakes up, so
    the wait ends CLOCK_SLACK later."""
    target = math.floor(last_write) + TTL + 1 + CLOCK_SLACK
    time.sleep(max(0.0, target - time.time()))


def classify_path(path, reply):
    """One path's answer as ok / refused / tempfail / authfail / 535 /
    other: text."""
    if path == "smtp":
        code = smtp_code(reply)
        return {235: "ok", 535: "535"}.get(code, f"other: {reply.text}")
    if path == "doveadm":
        rc, out = reply
        if rc == 0 and "auth succeeded" in out and "nologin" not in out:
            return "ok"
        if rc == 77 and "auth failed" in out:
            if "code=user_disabled" in out and \
                    f"reason={REFUSAL_REASON}" in out:
                return "refused"
            if "code=" not in out:
                return "authfail"
        if rc == doveadm_tempfail_rc() and TEMPFAIL_SAYS in out and \
                "code=temp_fail" in out:
            return "tempfail"
        return f"other: {rc} {out!r}"
    if reply.ok:
        return "ok"
    texts = {"imap": (IMAP_REFUSED, IMAP_TEMPFAIL, IMAP_AUTHFAIL),
             "pop3": (POP3_REFUSED, POP3_TEMPFAIL, POP3_AUTHFAIL)}[path]
    if reply.text == texts[0]:
        return "refused"
    if reply.text.startswith(texts[1]):
        return "tempfail"
    if reply.text == texts[2]:
        return "authfail"
    return f"other: {reply.text}"


def every_path(s, logins):
    """IMAP, POP3, SMTP AUTH PLAIN through Postfix and `doveadm auth test`
    for each (login, password), on both modes' setups, all at once.
    Returns {(mode, login, path): outcome}."""
    keys, jobs = [], []
    for mode in MODES:
        setup = getattr(s, mode)
        for login, password in logins:
            for path, job in (
                    ("imap", (setup.dc.imap_login, login, password)),
                    ("pop3", (setup.dc.pop3_login, login, password)),
                    ("smtp", (setup.pf.smtp_auth, login, password, "PLAIN")),
                    ("doveadm", (auth_test, setup.dc, login, password))):
                keys.append((mode, login, path))
                jobs.append(job)
    got = s.failure.dc.parallel(jobs, workers=len(jobs))
    return {k: classify_path(k[2], r) for k, r in zip(keys, got)}


# what each path shows for a custom recipient with the right password
REFUSAL_SEEN = {
    "failure": {"imap": "refused", "pop3": "refused", "smtp": "535",
                "doveadm": "refused"},
    "tempfail": {"imap": "tempfail", "pop3": "tempfail", "smtp": "535",
                 "doveadm": "tempfail"},
}


@pytest.mark.parametrize("tree", list(TREES))
def test_cache_follows_conversion(trees, tree):
    """A cached mailbox user turned into the profile's custom-recipient
    shape is refused on every path with the configured mode once the TTL
    passed (twice in a row: nothing of the refusal is reused); turned back
    into a mailbox it logs in again once the TTL passed. One user logs in
    under its stored name, one under a name pass_attrs renames."""
    s = trees(tree)
    users = [s.tree.EXPECTED[n] for n in CACHE_USERS[tree]]
    logins = [(users[0].login, users[0].password),
              (f"{users[1].login}@{RENAME_DOMAIN}", users[1].password)]

    got = every_path(s, logins)
    assert set(got.values()) == {"ok"}, got
    # the premise: the cache answers a repeated login without a search.
    # A loaded machine can take longer than the TTL between a login and
    # its repeat, so each round logs in (fills the cache) and at once
    # again (counted); a cache not in use fails every round.
    for _ in range(3):
        for mode in MODES:
            for login, password in logins:
                assert getattr(s, mode).dc.imap_login(login, password).ok
        cached_at = time.time()
        before = s.ldap.search_count()
        for mode in MODES:
            for login, password in logins:
                assert getattr(s, mode).dc.imap_login(login, password).ok
        if s.ldap.search_count() == before:
            break
    assert s.ldap.search_count() == before, "the auth cache is not in use"

    for e in users:
        modify(s.ldap, to_custom_ldif(s.tree, e))
    try:
        wait_cache_expiry(cached_at)
        problems = []
        for attempt in (1, 2):
            got = every_path(s, logins)
            for (mode, login, path), seen in sorted(got.items()):
                if seen != REFUSAL_SEEN[mode][path]:
                    problems.append(f"custom recipient, attempt {attempt}: "
                                    f"{mode} {login} {path}: {seen}")
        refused_at = time.time()
    finally:
        for e in users:
            modify(s.ldap, to_mailbox_ldif(s.tree, e))
    assert not problems, "\n".join(problems)

    wait_cache_expiry(refused_at)
    got = every_path(s, logins)
    back = [f"mailbox again: {k}: {v}" for k, v in sorted(got.items())
            if v != "ok"]
    assert not back, "\n".join(back)


# --- non-plaintext mechanisms ------------------------------------------------

@pytest.fixture(scope="module")
def cram():
    """AD tree with plaintext-stored passwords (CRAM-MD5 needs them) for a
    mailbox user and two custom recipients; a failure-mode Dovecot with a
    Postfix, and a tempfail-mode Dovecot."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    need_postfix()
    sb = Sandbox(prefix="mgc")
    try:
        ldap = sb.slapd(suffix=ad_tree.SUFFIX, ldif=ad_tree.ldif())
        for name in ("alice", "partner", "mailuser"):
            e = ad_tree.EXPECTED[name]
            modify(ldap, _replace(e.dn, {"userPassword":
                                         "{PLAIN}" + e.password}))
        mechs = {"auth_mechanisms": "plain login cram-md5"}
        setups = {}
        for mode in MODES:
            _, dc = mgsetup.guard_setup(
                sb, ad_tree, settings_over={"recipient_profile": "ad",
                                            "custom_recipient_result": mode},
                dovecot_settings=mechs, match=None, ldap=ldap, start=False)
            pf = sb.postfix(dc) if mode == "failure" else None
            dc.start()
            if pf is not None:
                pf.start()
            setups[mode] = SimpleNamespace(dc=dc, pf=pf)
        yield SimpleNamespace(**setups)
    finally:
        sb.close()


def test_cram_md5_custom_recipient_fails_like_a_wrong_password(cram):
    alice = ad_tree.EXPECTED["alice"]
    custom = [ad_tree.EXPECTED["partner"], ad_tree.EXPECTED["mailuser"]]
    pf = cram.failure.pf
    assert "CRAM-MD5" in pf.auth_mechanisms(), "Postfix offers no CRAM-MD5"
    jobs, want = [], []
    for mode in MODES:
        dc = getattr(cram, mode).dc
        jobs.append((dc.imap_authenticate_cram_md5, alice.login,
                     alice.password))
        want.append((mode, alice.login, "imap right", "ok"))
        for e in [alice] + custom:
            jobs.append((dc.imap_authenticate_cram_md5, e.login, "wrong"))
            want.append((mode, e.login, "imap wrong", IMAP_AUTHFAIL))
        for e in custom:
            jobs.append((dc.imap_authenticate_cram_md5, e.login, e.password))
            want.append((mode, e.login, "imap right", IMAP_AUTHFAIL))
            # control: the plaintext path still classifies it
            jobs.append((dc.imap_login, e.login, e.password))
            want.append((mode, e.login, "imap LOGIN",
                         IMAP_REFUSED if mode == "failure"
                         else IMAP_TEMPFAIL))
    jobs.append((pf.smtp_auth, alice.login, alice.password, "CRAM-MD5"))
    want.append(("failure", alice.login, "smtp right", "235"))
    for e in custom:
        jobs.append((pf.smtp_auth, e.login, e.password, "CRAM-MD5"))
        want.append(("failure", e.login, "smtp right", "535"))
    got = cram.failure.dc.parallel(jobs)
    problems = []
    for (mode, login, what, expect), reply in zip(want, got):
        if expect == "ok":
            seen_ok = reply.ok
        elif what.startswith("smtp"):
            seen_ok = str(smtp_code(reply)) == expect
        elif expect == IMAP_TEMPFAIL:
            seen_ok = reply.text.startswith(expect)
        else:
            seen_ok = reply.text == expect
        if not seen_ok:
            problems.append(f"{mode} {login} {what}: {reply.text}")
    assert not problems, "\n".join(problems)


# --- a Dovecot proxy in front of a backend -----------------------------------

@pytest.fixture(scope="module")
def proxy_pair():
    """backend: a Dovecot whose passwd-file knows every AD fixture login
    with its password, custom recipients included (whoever the proxy
    sends there logs in). proxy: mailbox_guard with pass_attrs adding
    proxy=y and the backend's host and port (IMAP or POP3 by %s)."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    sb = Sandbox(prefix="mgx")
    try:
        backend = sb.dovecot(start=False, name="backend", modules=[])
        users = backend.write_settings_text("users", "".join(
            f"{e.login}:{{PLAIN}}{e.password}::::::\n"
            for e in ad_tree.EXPECTED.values() if e.password), mode=0o644)
        backend.auth_dbs = [
            AuthDB("passdb", "passwd-file", users),
            AuthDB("userdb", "static", "uid=nobody gid=nogroup")]
        backend.start()
        route = ",=proxy=y,=host=127.0.0.1"
        if not is_24():
            route += (",=port=%{if;%s;eq;pop3;"
                      f"{backend.pop3_port};{backend.imap_port}}}")
        settings = {"recipient_profile": "ad",
                    "pass_attrs": ad_tree.PASS_ATTRS + route}
        _, proxy = mgsetup.guard_setup(sb, ad_tree, settings_over=settings,
                                       match=None, start=False)
        if is_24():
            # 2.4's conditional has commas, which pass_attrs can't hold:
            # the port goes straight into the passdb's fields { }
            proxy.auth_dbs[0].settings["fields"]["port"] = (
                f"%{{protocol | if('eq', 'pop3', '{backend.pop3_port}', "
                f"'{backend.imap_port}')}}")
        proxy.start()
        yield SimpleNamespace(backend=backend, proxy=proxy)
    finally:
        sb.close()


def _mentions(log, login):
    return [l for l in log.splitlines()
            if f"<{login}>" in l or f"({login}," in l or f"({login})" in l]


def test_proxy_mailbox_users_reach_the_backend(proxy_pair):
    proxy, backend = proxy_pair.proxy, proxy_pair.backend
    users = entries(ad_tree, OK)
    mark = backend.log_mark()
    jobs = []
    for e in users:
        jobs += [(proxy.imap_login, e.login, e.password, None, True),
                 (proxy.pop3_login, e.login, e.password, None, True)]
    got = proxy.parallel(jobs)
    assert all(r.ok for r in got), [r.text for r in got]
    for e in users:
        for proto in ("imap", "pop3"):
            needle = f"{proto}-login: Info: {LOGIN_LINE}<{e.login}>"
            assert backend.wait_log(needle, since=mark), \
                f"{needle!r} not in the backend log"


def test_proxy_refuses_custom_recipients_itself(proxy_pair):
    """Refused at the proxy with the reason; the backend never hears of
    them (no login, no auth lookup)."""
    proxy, backend = proxy_pair.proxy, proxy_pair.backend
    custom = entries(ad_tree, REFUSED)
    mark = backend.log_mark()
    got = proxy.parallel([(proxy.login_all, e.login, e.password)
                          for e in custom] +
                         [(proxy.login_all, e.login, "wrong")
                          for e in custom])
    for e, replies in zip(custom, got):
        texts = (replies["imap-login"].text, replies["imap-plain"].text,
                 replies["pop3"].text)
        assert texts == mgsetup.WANT[REFUSED], (e.login, texts)
    for e, replies in zip(custom, got[len(custom):]):
        texts = tuple(r.text for r in replies.values())
        assert texts == mgsetup.WANT[AUTHFAIL], (e.login, texts)
    # a mailbox login after them: once its line is in the backend log,
    # anything the backend did for the earlier attempts is too
    alice = ad_tree.EXPECTED["alice"]
    assert proxy.imap_login(alice.login, alice.password).ok
    assert backend.wait_log(f"{LOGIN_LINE}<{alice.login}>", since=mark)
    log = backend.log_since(mark)
    for e in custom:
        assert not _mentions(log, e.login), (e.login, _mentions(log, e.login))


@pytest.mark.parametrize("service", ["imap", "pop3"])
def test_proxy_refusal_carries_no_routing_fields(proxy_pair, service):
    """On the login socket (as imap-login / pop3-login ask): a mailbox user
    gets the routing fields, a custom recipient only nologin and reason."""
    proxy = proxy_pair.proxy
    alice = ad_tree.EXPECTED["alice"]
    custom = entries(ad_tree, REFUSED)
    with AuthClient(os.path.join(proxy.base_dir, "login", "login"),
                    service=service) as ac:
        ids = [ac.send_plain(e.login, e.password) for e in [alice] + custom]
        got = ac.wait_all(ids)
    first = got[ids[0]]
    assert first.ok and not first.nologin, first
    assert {"proxy", "host", "port", "pass"} <= set(first.fields), first
    for e, i in zip(custom, ids[1:]):
        a = got[i]
        assert a.ok and a.nologin, (e.login, a)
        assert a.fields.get("reason") == REFUSAL_REASON, (e.login, a)
        assert not set(a.fields) & set(ROUTING_FIELDS), (e.login, a)


# --- imaptest login storm ----------------------------------------------------

@pytest.mark.imaptest
def test_imaptest_storm_never_lets_a_custom_recipient_in(sandbox):
    """16 imaptest clients for 10 s over users mixing mailbox users and
    custom recipients: no custom recipient ever gets an imap process, no
    mailbox user is refused."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    tree = ad_tree
    _, dc = mgsetup.guard_setup(sandbox, tree, settings_over={
        "recipient_profile": tree.PROFILE}, match=None)
    mailbox = entries(tree, OK)
    custom = entries(tree, REFUSED)
    userfile = dc.write_settings_text("imaptest-users", "".join(
        f"{e.login}:{e.password}\n" for e in mailbox + custom))
    env = dict(os.environ)
    env.setdefault("USER", "root")   # imaptest's default user template
    argv = [os.environ["IMAPTEST"], "host=127.0.0.1",
            f"port={dc.imap_port}", f"userfile={userfile}", "clients=16",
            "secs=10", "-", "select=0"]
    mark = dc.log_mark()
    r = subprocess.run(argv, capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    lines = dc.log_since(mark).splitlines()

    def login_lines(e):
        return [l for l in lines
                if "imap-login:" in l and f"user=<{e.login}>" in l]
    tried = sum(len(login_lines(e)) for e in custom)
    assert tried > 0, "imaptest never tried a custom recipient"
    for e in custom:
        sessions = [l for l in lines if f"imap({e.login})" in l or
                    f"{LOGIN_LINE}<{e.login}>" in l]
        assert not sessions, (e.login, sessions[:5])
    # a mailbox user's imap-login line is its Login: anything else (a
    # refusal, a failure) ended the login there
    assert any(login_lines(e) for e in mailbox), \
        "no mailbox user logged in"
    for e in mailbox:
        other = [l for l in login_lines(e) if LOGIN_LINE not in l]
        assert not other, (e.login, other[:5])

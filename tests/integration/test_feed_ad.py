"""The change feed on Active Directory (issue 13, AD part): a private Samba AD
DC, the plugin with change_feed = ad-notify (and auto) and a one-hour auth
cache. A change written to the DC over LDAP reaches the next login over
IMAP, POP3 and SMTP AUTH within a second; with change_feed = no the cached
answer stays (the control: the same change must then still see the old
answer past 1 s). SMTP AUTH is checked as Dovecot's auth answers it
(doveadm auth test, service=smtp). A DC restart (the feed's connection
drops) flushes, is logged once, and the feed comes back; a change made
while the DC was down is never served stale.

What "the new answer" is comes from the change itself (an old password no
longer valid, a mailbox turned into a MailUser, a disabled account, a
deleted one, a second mailbox sharing a login's address), never from the
plugin's output.

The feed removes exactly the changed entry's answers (by its objectGUID,
and by the logins its values hold): an unrelated cached user is not asked
again, as the DC's own authentication log shows (auth_bind = yes: every
answer not taken from the cache is a bind as the user there).

A notification the feed cannot trace to an entry (Samba always sends
objectGUID: a proxy, sandbox/ldapproxy.py, removes it from the
notification search's entries) empties the whole cache, logged once for
the change, and the next login sees the change; through the same proxy
leaving the notifications whole, the same change removes only its
entry's answers.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from mgsetup import WANT, plugin_available, skip_reason, standin
from fixtures import REFUSED
import mgsetup
from sandbox import Sandbox
from sandbox import procs, samba
from sandbox.ldapproxy import StripProxy
from sandbox.samba import BASE, unicode_pwd
from test_samba_ad import (MAIL, MDB, PERSON_USER, SVC_DN, SVC_PASSWORD,
                           SAM_SETTINGS, UPN_SUFFIX, _entry, _user, pw,
                           settings_for)

pytestmark = [
    pytest.mark.plugin,
    pytest.mark.skipif(not plugin_available(), reason=skip_reason()),
    pytest.mark.skipif(standin(), reason="plugin feature"),
    pytest.mark.skipif(shutil.which("samba") is None or
                       shutil.which("ldbadd") is None,
                       reason="samba / ldb-tools not installed"),
]

ADMIN_DN = f"CN=Administrator,CN=Users,{BASE}"
# a service account without the right on Deleted Objects
SVC2_DN = f"CN=dovecot-svc2,CN=Users,{BASE}"
CACHE = {"auth_cache_size": "1M", "auth_cache_ttl": "1 hour",
         "auth_cache_negative_ttl": "1 hour", "auth_debug": "yes"}
FRESH_WITHIN = 1.0
FEEDS = ["ad-notify", "no"]
KINDS = ["pw", "mu", "dis", "del", "dup", "cut", "down", "again"]
# by account name, or by address: a second mailbox holding a login's
# address makes that login match two (anchored on the login: exact)
LOGINS = {"pass_filter": f"(&{PERSON_USER}(|(sAMAccountName=%n)(mail=%u)))",
          "user_filter": f"(&{PERSON_USER}(|(sAMAccountName=%n)(mail=%u)))"}
# the exactness test's accounts: one changed per kind, one that stays
EXACT = ["pw", "mu", "dis", "del", "dup"]
BYSTANDER = "bystander"
TAG = {"ad-notify": "a", "no": "n", "auto": "x"}
# the notification without objectGUID: (kind, whether the proxy strips it)
UNPLACED = [("mu", True), ("pw", True), ("mu", False)]
NOTIFICATION_OID = "1.2.840.113556.1.4.528"
UNSURE = "(no readable entryUUID or objectGUID)"


def unplaced(kind, strip):
    return f"g{kind}{'s' if strip else 'k'}"


def user(kind, feed):
    return f"{kind}{TAG[feed]}"


ENTRIES = "\n".join([
    _entry(MAIL, "objectClass: organizationalUnit"),
    _entry(MDB, "objectClass: container"),
    _entry(SVC_DN, "objectClass: user", "sAMAccountName: dovecot-svc",
           "userAccountControl: 66048",
           f"unicodePwd:: {unicode_pwd(SVC_PASSWORD)}"),
    _entry(SVC2_DN, "objectClass: user", "sAMAccountName: dovecot-svc2",
           "userAccountControl: 66048",
           f"unicodePwd:: {unicode_pwd(SVC_PASSWORD)}"),
    _user("gone"),
    *[_user(f"x{kind}") for kind in EXACT],
    _user(BYSTANDER),
    *[_user(user(kind, feed)) for kind in KINDS for feed in TAG],
    *[_user(unplaced(kind, strip)) for kind, strip in UNPLACED],
])
NO_DELETES = "no deleted object is visible"


@pytest.fixture(scope="module")
def dc():
    root = tempfile.mkdtemp(prefix="mgfad", dir="/tmp")
    # Samba still accepts the previous password in a bind for this long
    # after a change (default 60 minutes): no cache can make that fresh
    dc = samba.SambaDC(root, ENTRIES,
                       options={"old password allowed period": "0",
                                # a line for every bind, as the DC saw it
                                "log level": "1 auth_audit:3"})
    try:
        dc.provision()
        # what doc/active-directory.md asks of the admin: the service
        # account may list and read Deleted Objects
        dc.allow_reading_deleted_objects(SVC_DN)
        # one deleted object, so that the right shows
        dc.ldb_delete(dn("gone"))
        dc.start()
        yield dc
    finally:
        dc.stop()
        if not os.environ.get("MG_KEEP_SANDBOX"):
            shutil.rmtree(root, ignore_errors=True)


def start_dovecot(sb, dc, feed, **over):
    d = sb.dovecot(start=False, settings=CACHE)
    d.bind_mounts = [(dc.hosts, "/etc/hosts")]
    d.auth_dbs = mgsetup.auth_dbs_for(d, settings_for(
        dc, SAM_SETTINGS, change_feed=feed, **{**LOGINS, **over}))
    d.start()
    if feed != "no":
        assert d.wait_log("change feed: running"), d.log_text()[-3000:]
        assert (NO_DELETES in d.log_text()) == (over.get("dn") == SVC2_DN)
    return d


@pytest.fixture(scope="module")
def guards(dc):
    with Sandbox(prefix="mgfada") as sa, Sandbox(prefix="mgfadn") as sn:
        yield {"ad-notify": start_dovecot(sa, dc, "ad-notify"),
               "no": start_dovecot(sn, dc, "no")}


def ldap_write(tool, ldif_or_dn):
    argv = [tool, "-x", "-ZZ", "-H", f"ldap://{samba.IP}", "-D", ADMIN_DN,
            "-w", samba.ADMIN_PASSWORD]
    if tool == "ldapdelete":
        r = subprocess.run(argv + [ldif_or_dn], capture_output=True,
                           text=True, env=dict(os.environ,
                                               LDAPTLS_REQCERT="never"))
    else:
        r = subprocess.run(argv, input=ldif_or_dn, capture_output=True,
                           text=True, env=dict(os.environ,
                                               LDAPTLS_REQCERT="never"))
    assert r.returncode == 0, r.stdout + r.stderr


def dn(name):
    return f"CN={name},{MAIL}"


def set_password(name, password):
    ldap_write("ldapmodify", f"dn: {dn(name)}\nchangetype: modify\n"
               f"replace: unicodePwd\nunicodePwd:: {unicode_pwd(password)}\n")


def to_mailuser(name):
    ldap_write("ldapmodify", f"dn: {dn(name)}\nchangetype: modify\n"
               "delete: homeMDB\n-\nreplace: msExchRecipientTypeDetails\n"
               "msExchRecipientTypeDetails: 128\n-\nadd: targetAddress\n"
               f"targetAddress: SMTP:{name}@partner.test\n")


def disable(name):
    ldap_write("ldapmodify", f"dn: {dn(name)}\nchangetype: modify\n"
               "replace: userAccountControl\nuserAccountControl: 514\n")


def add_twin(name):
    """A second mailbox (enabled, no password needed) holding name's
    address: a login by that address matches two mailboxes, a temporary
    failure."""
    ldap_write("ldapadd", _entry(
        dn(f"{name}-twin"), "objectClass: user",
        f"sAMAccountName: {name}-twin", f"mail: {login_of('dup', name)}",
        "userAccountControl: 544", f"homeMDB: {MDB}",
        "msExchRecipientTypeDetails: 1"))


CHANGES = {
    "pw": lambda name: set_password(name, "Changed-Passw0rd!"),
    "mu": to_mailuser,
    "dis": disable,
    "del": lambda name: ldap_write("ldapdelete", dn(name)),
    "dup": add_twin,
}


def login_of(kind, name):
    """The name the account logs in with: dup by its address."""
    return f"{name}@{UPN_SUFFIX}" if kind == "dup" else name


def answers(d, name, login=None):
    """(ok, text) of IMAP LOGIN, IMAP AUTHENTICATE PLAIN, POP3 and SMTP
    AUTH as Dovecot's auth answers it (doveadm auth test, service=smtp)
    with the password the account had before any change, logging in as
    login (default: name)."""
    login = login or name
    got = d.login_all(login, pw(name))
    # a fresh client address each time: failures raise its auth penalty
    rc, out = d.doveadm_auth_test(login, pw(name), "smtp",
                                  f"rip={procs.next_source_address()}")
    return tuple((r.ok, r.text) for r in (got["imap-login"],
                                          got["imap-plain"], got["pop3"])) \
        + ((rc == 0, out.strip()[-200:]),)


def refused_everywhere(got):
    return not any(ok for ok, _ in got)


def logins_after(d, name, written, login=None):
    """Logs in until every path is refused, or until a login that
    started more than FRESH_WITHIN after the write is answered. Returns
    the last answers and when their logins started (seconds after the
    write)."""
    while True:
        started = time.monotonic() - written
        got = answers(d, name, login)
        if refused_everywhere(got) or started > FRESH_WITHIN:
            return got, started


def refused_texts(d, name, login=None):
    """A round of logins once the change was heard, all refused: the
    texts of IMAP LOGIN, AUTHENTICATE and POP3. (In the round that first
    saw the change, a login whose passdb answer came from the cache just
    before may be refused by its userdb lookup instead, with other
    texts: "user not found" makes IMAP's an internal error and POP3 close
    the connection.)"""
    got = answers(d, name, login)
    assert refused_everywhere(got), got
    return tuple(text for _, text in got[:3])


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("kind", sorted(CHANGES))
def test_change_reaches_the_next_login(guards, kind, feed):
    d = guards[feed]
    name = user(kind, feed)
    login = login_of(kind, name)
    # cached: a one-hour answer that only the feed can end
    for _ in range(2):
        assert all(ok for ok, _ in answers(d, name, login))
    CHANGES[kind](name)
    written = time.monotonic()
    got, started = logins_after(d, name, written, login)
    if feed == "no":
        # the control: the cache still lets the old answer in
        assert all(ok for ok, _ in got), \
            f"fresh at {started:.2f} s without a feed: {got}"
        return
    assert refused_everywhere(got), f"stale at {started:.2f} s: {got}"
    assert started <= FRESH_WITHIN
    print(f"{kind}: fresh at {started:.3f} s")
    # and it stays so
    texts = refused_texts(d, name, login)
    if kind == "mu":
        assert texts == WANT[REFUSED]


def verifications(dc, name):
    """How many binds as name the DC has answered (its auth_audit log):
    each answer the plugin does not take from the cache is one."""
    return sum(1 for line in dc.log_text().splitlines()
               if "Auth: [LDAP,simple bind" in line and
               f"[CN={name},{MAIL}]" in line)


def cached(d, dc, name, login=None, heard=None):
    """Logs name in until a round of logins costs the DC no bind: its
    answers are cached. Returns the DC's count of its binds. heard():
    whether the feed has had the first bind's change (default: as the
    plugin logs it)."""
    mark = d.log_mark()
    first = verifications(dc, name)
    assert all(ok for ok, _ in answers(d, name, login))
    if first == 0:
        # its first bind: the DC counted it (the count is live), and it
        # wrote its lastLogonTimestamp, a change of its entry that
        # removes its answers: the feed hears it first
        assert verifications(dc, name) > 0, dc.log_text()[-3000:]
        if heard is None:
            assert d.wait_log(f"change feed: change CN={name},{MAIL}",
                              since=mark), d.log_since(mark)[-3000:]
        else:
            assert heard()
    deadline = time.monotonic() + 10
    while True:
        before = verifications(dc, name)
        assert all(ok for ok, _ in answers(d, name, login))
        if verifications(dc, name) == before:
            return before
        assert time.monotonic() < deadline, dc.log_text()[-3000:]


@pytest.mark.parametrize("kind", EXACT)
def test_change_removes_only_its_entry(dc, guards, kind):
    """An account changes (each kind of change): its answers go, the
    bystander's stay: its next logins cost the DC no bind. (Were every
    answer emptied, its next login would bind again: cached() shows the
    DC counting its binds.)"""
    d = guards["ad-notify"]
    name = f"x{kind}"
    login = login_of(kind, name)
    bystander = cached(d, dc, BYSTANDER)
    cached(d, dc, name, login)
    assert verifications(dc, BYSTANDER) == bystander
    CHANGES[kind](name)
    got, started = logins_after(d, name, time.monotonic(), login)
    assert refused_everywhere(got), f"stale at {started:.2f} s: {got}"
    assert all(ok for ok, _ in answers(d, BYSTANDER))
    assert verifications(dc, BYSTANDER) == bystander, \
        "the bystander's answers were dropped"


def test_auto_chooses_ad_notify(dc):
    with Sandbox(prefix="mgfadx") as sb:
        d = start_dovecot(sb, dc, "auto")
        name = user("pw", "auto")
        assert all(ok for ok, _ in answers(d, name))
        set_password(name, "Changed-Passw0rd!")
        got, started = logins_after(d, name, time.monotonic())
        assert refused_everywhere(got), f"stale at {started:.2f} s: {got}"


def test_without_the_right_on_deleted_objects_it_warns(dc):
    with Sandbox(prefix="mgfadw") as sb:
        start_dovecot(sb, dc, "ad-notify", dn=SVC2_DN)


def test_samba_offers_the_controls(dc):
    """What the rootDSE of Samba lists (doc/active-directory.md): change
    notification and DirSync, not RFC 4533."""
    r = subprocess.run(["ldapsearch", "-x", "-ZZ", "-H", f"ldap://{samba.IP}",
                        "-b", "", "-s", "base", "-LLL", "supportedControl"],
                       capture_output=True, text=True,
                       env=dict(os.environ, LDAPTLS_REQCERT="never"))
    assert r.returncode == 0, r.stderr
    assert "1.2.840.113556.1.4.528" in r.stdout
    assert "1.2.840.113556.1.4.841" in r.stdout
    assert "1.3.6.1.4.1.4203.1.9.1.1" not in r.stdout


@pytest.fixture(scope="module")
def proxied(dc):
    """The feed's notifications through a proxy that removes objectGUID
    from them (strip) or leaves them whole (the control), each in front of
    a Dovecot of its own. The proxy speaks StartTLS to the DC, the plugin
    plain LDAP to the proxy; its lookups pass through untouched."""
    with Sandbox(prefix="mgfadg") as sg, Sandbox(prefix="mgfadk") as sk:
        proxies, guards = {}, {}
        try:
            for strip, sb in ((True, sg), (False, sk)):
                proxies[strip] = proxy = StripProxy(
                    samba.IP, 389, NOTIFICATION_OID, "objectGUID",
                    ca=dc.ca, server_hostname=samba.FQDN)
                proxy.damage = strip
                try:
                    guards[strip] = start_dovecot(sb, dc, "ad-notify",
                                                  uris=proxy.uri, tls="no")
                except AssertionError:
                    print(f"proxy errors: {proxy.errors}")
                    raise
                assert proxy.searches == 1, proxy.errors
            yield {strip: (guards[strip], proxies[strip])
                   for strip in proxies}
        finally:
            for proxy in proxies.values():
                proxy.close()


@pytest.mark.parametrize("kind,strip", UNPLACED)
def test_change_without_objectguid_empties_the_cache(dc, proxied, kind,
                                                     strip):
    """A notification the feed cannot trace to an entry (no objectGUID)
    empties the whole cache, logged once, and the next login sees the
    change. Through the proxy that leaves it whole (the control) the same
    change removes only its entry's answers: no full flush."""
    d, proxy = proxied[strip]
    name = unplaced(kind, strip)
    # its answers are cached: a round of logins costs the DC no bind
    # (the first bind's change seen through the proxy, not in the log
    # of the code under test)
    cached(d, dc, name, heard=lambda: proxy.wait_entry(dn(name)))
    mark = d.log_mark()
    CHANGES[kind](name)
    got, started = logins_after(d, name, time.monotonic())
    assert refused_everywhere(got), f"stale at {started:.2f} s: {got}"
    texts = refused_texts(d, name)
    if kind == "mu":
        assert texts == WANT[REFUSED]
    heard = f"change feed: change {dn(name)} (objectGUID "
    log = d.log_since(mark, wait_for=heard)
    flushed = f"{heard}?) {UNSURE}: "
    if not strip:
        assert proxy.damaged == 0
        assert UNSURE not in log, log[-3000:]
        assert re.search(re.escape(heard) + r"[0-9a-f]{32}\): [1-9][0-9]* "
                         r"cached answers removed", log), log[-3000:]
        return
    assert proxy.damaged > 0
    # (another change heard just before, such as the first bind of the
    # account that wrote the change, may have emptied it already)
    assert re.search(re.escape(flushed) + r"[0-9]+ cache entries flushed",
                     log), log[-3000:]
    if kind == "mu":
        # the logins after a conversion bind successfully and write
        # nothing to the entry: one change, one flush (an old password's
        # failed binds write badPwdCount, changes of their own)
        assert log.count(flushed) == 1, log[-3000:]


def test_probes_are_answered(guards):
    """The feed's probe (every half change_feed_timeout, so a dozen times
    by now) gets the empty answer it asks for: a DC answers a search of
    its rootDSE with the rootDSE whatever the filter, an entry without a
    DN, which made every probe count as failed."""
    log = guards["ad-notify"].log_text()
    assert "change feed: running" in log
    assert "ping failed" not in log, \
        [line for line in log.splitlines() if "ping failed" in line][:3]


def test_connection_cut_flushes_logs_once_and_resumes(dc, guards):
    """The feed's connection is cut under it (ss -K: every client
    connection to the DC, the lookups' too, which open again)."""
    fed = guards["ad-notify"]
    name = user("cut", "ad-notify")
    for _ in range(2):
        assert all(ok for ok, _ in answers(fed, name))
    mark = fed.log_mark()
    r = subprocess.run(["ss", "-K", "dst", samba.IP, "dport", "=", ":389"],
                       capture_output=True, text=True)
    if "ESTAB" not in r.stdout:
        pytest.skip(f"ss -K cut nothing (kernel without sock_destroy?): "
                    f"{r.stdout}{r.stderr}")
    assert fed.wait_log("change feed: back", since=mark, timeout=30), \
        fed.log_since(mark)[-3000:]
    log = fed.log_since(mark)
    assert log.count("change feed: down, auth cache flushed") == 1, \
        log[-3000:]
    # what it protected went at once (cut's answers at least)
    assert re.search(r"change feed: down: [1-9][0-9]* cache entries "
                     r"flushed", log), log[-3000:]
    # the feed hears changes again
    disable(name)
    got, started = logins_after(fed, name, time.monotonic())
    assert refused_everywhere(got), f"stale at {started:.2f} s: {got}"


def test_dc_restart_flushes_logs_once_and_resumes(dc, guards):
    """Last in the module: the DC goes away (the feed's connection drops),
    an account is disabled while it is down (offline, in sam.ldb), and the
    DC comes back."""
    fed, control = guards["ad-notify"], guards["no"]
    a, n = user("down", "ad-notify"), user("down", "no")
    for d, name in ((fed, a), (control, n)):
        for _ in range(2):
            assert all(ok for ok, _ in answers(d, name))
    mark = fed.log_mark()
    dc.stop()
    assert fed.wait_log("change feed: down", since=mark), \
        fed.log_since(mark)[-3000:]
    # several reconnection attempts fail while the DC is down
    deadline = time.monotonic() + 10
    while fed.log_since(mark).count("change feed: still down") < 3:
        assert time.monotonic() < deadline, fed.log_since(mark)[-3000:]
        time.sleep(0.1)
    dc.ldb_modify(f"dn: {dn(a)}\nchangetype: modify\n"
                  "replace: userAccountControl\nuserAccountControl: 514\n"
                  f"\ndn: {dn(n)}\nchangetype: modify\n"
                  "replace: userAccountControl\nuserAccountControl: 514\n")
    dc.start()
    assert fed.wait_log("change feed: back", since=mark, timeout=30), \
        fed.log_since(mark)[-3000:]
    log = fed.log_since(mark)
    assert log.count("change feed: down, auth cache flushed") == 1, \
        log[-3000:]
    assert refused_everywhere(answers(fed, a))
    # the control: its cache never heard of the change
    assert all(ok for ok, _ in answers(control, n))
    # and the feed hears changes again
    name = user("again", "ad-notify")
    for _ in range(2):
        assert all(ok for ok, _ in answers(fed, name))
    disable(name)
    got, started = logins_after(fed, name, time.monotonic())
    assert refused_everywhere(got), f"stale at {started:.2f} s: {got}"

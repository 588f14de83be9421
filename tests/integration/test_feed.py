"""The change feed (issue 13, OpenLDAP part): with change_feed = syncrepl
and a one-hour auth cache, a change in the directory reaches the next login
within a second; with change_feed = no the cached answer stays (the
control: the same scenario must then see the stale answer past 1 s).

slapd runs the syncprov overlay. Every change kind turns a login that got
in into one that must not: what "the new answer" is comes from the change
itself (a new password, a mailbox turned into a forward-only entry, a
disabled flag the filter excludes, a delete, a second mailbox sharing the
address), never from the plugin's output.
"""

import re
import subprocess
import time

import pytest

import mgsetup
from fixtures import openldap_tree, ssha
from sandbox import AuthDB, Sandbox
from sandbox.ldapproxy import HoldRefreshProxy, SyncStateProxy
from sandbox.ldapwire import tlv

pytestmark = pytest.mark.plugin

CACHE = {"auth_cache_size": "1M", "auth_cache_ttl": "1 hour",
         "auth_cache_negative_ttl": "1 hour"}
# the feed says at debug level whether it replays from a cookie
DEBUG = dict(CACHE, auth_debug="yes")
# uid or mail; an entry with description=disabled is nobody
FILTER = "(&(|(uid=%u)(mail=%u))(!(description=disabled)))"
PEOPLE = openldap_tree.PEOPLE
ALICE = openldap_tree.EXPECTED["ol-alice"]
BOB = openldap_tree.EXPECTED["ol-bob"]
PLAIN = openldap_tree.EXPECTED["ol-plain"]
FRESH_WITHIN = 1.0
FEEDS = ["syncrepl", "no"]
SYNC_OID = "1.3.6.1.4.1.4203.1.9.1.1"
SYNC_INFO_OID = b"1.3.6.1.4.1.4203.1.9.1.4"
# what the feed logs for a change it can't place, by the proxy's damage
UNSURE = {"uuid": f"change feed: modify {ALICE.dn} (no readable entryUUID "
                  "or objectGUID): ",
          "control": "change feed: entry without a readable sync state: "}


@pytest.fixture
def setup():
    """setup(change_feed) -> (slapd, dovecot), the feed running when it
    is on."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    sandboxes = []

    def build(change_feed, pass_filter=FILTER, extra=None, masters=None,
              uris_for=None, running=True):
        """masters: a passwd-file text for a master passdb before the
        plugin's (logins "user*master"). uris_for(slapd): the plugin's
        uris (default: slapd's). running: wait for the feed to run."""
        sb = Sandbox(prefix="mgf")
        sandboxes.append(sb)
        ldap = sb.slapd(suffix=openldap_tree.SUFFIX, ldif=openldap_tree.ldif(),
                        modules=("back_mdb", "syncprov"),
                        db_conf="index entryCSN,entryUUID eq\n"
                                "overlay syncprov\n")
        if uris_for is not None:
            extra = dict(extra or {}, uris=uris_for(ldap))
        _, dc = mgsetup.guard_setup(
            sb, openldap_tree, ldap=ldap, start=False,
            dovecot_settings=dict(DEBUG, auth_master_user_separator="*"),
            settings_over={"recipient_profile": "openldap",
                           "pass_filter": pass_filter,
                           "user_filter": pass_filter,
                           "change_feed": change_feed, **(extra or {})})
        if masters:
            path = dc.write_settings_text("masters", masters, mode=0o644)
            dc.auth_dbs.insert(0, AuthDB("passdb", "passwd-file", path,
                                         master="yes", **{"pass": "yes"}))
        dc.start()
        if change_feed != "no" and running:
            assert dc.wait_log("change feed: running"), \
                dc.log_text()[-2000:]
        return ldap, dc
    try:
        yield build
    finally:
        for sb in sandboxes:
            sb.close()


IN = (True, True, True)
OUT = (False, False, False)


def gets_in(dc, login, password):
    """(IMAP LOGIN ok, POP3 USER/PASS ok, doveadm auth test service=smtp
    ok)"""
    imap = dc.imap_login(login, password)
    pop3 = dc.pop3_login(login, password)
    rc, _ = dc.doveadm_auth_test(login, password, "smtp")
    return imap.ok, pop3.ok, rc == 0


def modify(ldap, ldif):
    r = ldap.ldapmodify(ldif)
    assert r.returncode == 0, r.stdout + r.stderr


def add(ldap, ldif):
    r = subprocess.run(["ldapadd", "-x", "-H", ldap.uri, "-D", ldap.rootdn,
                        "-w", ldap.rootpw], input=ldif, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def logins_after(dc, login, password, written, fresh=OUT):
    """Logs in until both paths give the fresh answer, or until a login
    that started more than FRESH_WITHIN after the write is answered.
    Returns the last answer and when its login started (seconds after the
    write)."""
    while True:
        started = time.monotonic() - written
        got = gets_in(dc, login, password)
        if got == fresh or started > FRESH_WITHIN:
            return got, started


def set_password(ldap, entry, password):
    modify(ldap, f"dn: {entry.dn}\nchangetype: modify\nreplace: "
                 f"userPassword\nuserPassword: {ssha(password)}\n")


def old_password_fails(dc, entry, after=""):
    """Right after a password change: the old one stops working within
    FRESH_WITHIN, on every path."""
    got, started = logins_after(dc, entry.login, entry.password,
                                time.monotonic())
    assert got == OUT, f"stale at {started:.2f} s{after}: {got}"


def check_change(setup, feed, login, password, change, before=IN,
                 after=OUT, masters=None):
    ldap, dc = setup(feed, masters=masters)
    # cached: a one-hour answer that only the feed can end
    assert gets_in(dc, login, password) == before
    assert gets_in(dc, login, password) == before
    change(ldap)
    got, started = logins_after(dc, login, password, time.monotonic(), after)
    if feed == "no":
        # the control: the cache still answers with what it had
        assert got == before, f"fresh at {started:.2f} s without a feed"
        return
    assert got == after, f"stale at {started:.2f} s: {got}"
    assert started <= FRESH_WITHIN
    # and it stays so
    assert gets_in(dc, login, password) == after


@pytest.mark.parametrize("feed", FEEDS + ["auto"])
def test_password_change(setup, feed):
    def change(ldap):
        set_password(ldap, ALICE, "New-1")
    check_change(setup, feed, ALICE.login, ALICE.password, change)


@pytest.mark.parametrize("feed", FEEDS)
def test_mailbox_becomes_custom_recipient(setup, feed):
    # mailRoutingAddress without mailHost: forward only (the openldap
    # profile's custom recipient)
    def change(ldap):
        modify(ldap, f"dn: {BOB.dn}\nchangetype: modify\n"
                     f"delete: mailHost\n")
    check_change(setup, feed, BOB.login, BOB.password, change)


@pytest.mark.parametrize("feed", FEEDS)
def test_custom_recipient_becomes_mailbox(setup, feed):
    # the plugin's own memory of custom recipients must forget it too
    routed = openldap_tree.EXPECTED["ol-routed"]

    def change(ldap):
        modify(ldap, f"dn: {routed.dn}\nchangetype: modify\n"
                     "add: mailHost\nmailHost: mail.example.test\n")
    check_change(setup, feed, routed.login, routed.password, change,
                 before=OUT, after=IN)


@pytest.mark.parametrize("feed", FEEDS)
def test_renamed(setup, feed):
    # the login name was the RDN: after the rename nobody has it
    def change(ldap):
        modify(ldap, f"dn: {PLAIN.dn}\nchangetype: modrdn\n"
                     "newrdn: uid=ol-plain-renamed\ndeleteoldrdn: 1\n")
    check_change(setup, feed, PLAIN.login, PLAIN.password, change)


@pytest.mark.parametrize("feed", FEEDS)
def test_disabled(setup, feed):
    def change(ldap):
        modify(ldap, f"dn: {PLAIN.dn}\nchangetype: modify\n"
                     f"add: description\ndescription: disabled\n")
    check_change(setup, feed, PLAIN.login, PLAIN.password, change)


@pytest.mark.parametrize("feed", FEEDS)
def test_disabled_master_login(setup, feed):
    """A master user logs in as Alice: Dovecot caches the plugin's answer
    under a key of its own (the master user's name in it); Alice is
    disabled: that login ends within a second too."""
    def change(ldap):
        modify(ldap, f"dn: {ALICE.dn}\nchangetype: modify\n"
                     "add: description\ndescription: disabled\n")
    check_change(setup, feed, f"{ALICE.login}*admin", "Master-pw-1", change,
                 masters="admin:{PLAIN}Master-pw-1::::::\n")


@pytest.mark.parametrize("feed", FEEDS)
def test_deleted(setup, feed):
    def change(ldap):
        modify(ldap, f"dn: {PLAIN.dn}\nchangetype: delete\n")
    check_change(setup, feed, PLAIN.login, PLAIN.password, change)


@pytest.mark.parametrize("feed", FEEDS)
def test_added_duplicate(setup, feed):
    # a second mailbox sharing alice's address: a login by address now
    # matches two mailboxes, which is a temporary failure
    mail = ALICE.attrs["mail"]

    def change(ldap):
        add(ldap, f"dn: uid=ol-twin,{PEOPLE}\n"
                  "objectClass: inetOrgPerson\n"
                  "objectClass: inetLocalMailRecipient\n"
                  f"cn: ol-twin\nsn: ol-twin\nuid: ol-twin\nmail: {mail}\n"
                  "mailHost: mail.example.test\n"
                  f"userPassword: {ssha(ALICE.password)}\n")
    check_change(setup, feed, mail, ALICE.password, change)


@pytest.mark.parametrize("feed", FEEDS)
def test_unknown_login_then_added(setup, feed):
    """A login nobody has is cached as unknown for an hour; the entry
    that gives it a mailbox is added: it gets in within a second."""
    def change(ldap):
        add(ldap, f"dn: uid=ol-newcomer,{PEOPLE}\n"
                  "objectClass: inetOrgPerson\n"
                  "objectClass: inetLocalMailRecipient\n"
                  "cn: ol-newcomer\nsn: ol-newcomer\nuid: ol-newcomer\n"
                  "mail: ol-newcomer@example.test\n"
                  "mailHost: mail.example.test\n"
                  f"userPassword: {ssha('Newcomer-1')}\n")
    check_change(setup, feed, "ol-newcomer", "Newcomer-1", change,
                 before=OUT, after=IN)


def searches_for(ldap, login):
    return sum(1 for _, _, filt in ldap.searches()
               if f"(uid={login})" in filt)


# substrings: the feed can't tell which logins an entry answers for
UNANCHORED = "(&(|(uid=%u)(mail=%u*))(!(description=disabled)))"
# a login no entry has: cached as unknown (a negative entry)
STRANGER = "ol-stranger"


@pytest.mark.parametrize("pass_filter", [FILTER, UNANCHORED],
                         ids=["anchored", "unanchored"])
def test_change_removes_only_its_entry(setup, pass_filter):
    """Alice's password changes: her cached answers go, Bob's stay, and
    so does the unknown answer cached for a stranger (no search for
    either at their next login, as slapd's log shows). With a filter the
    feed can't read exactly, every change empties the whole cache
    instead, and both are searched again: the control."""
    ldap, dc = setup("syncrepl", pass_filter)
    if pass_filter == UNANCHORED:
        assert dc.wait_log("not anchored on the login name")
    for login, password, answer in ((ALICE.login, ALICE.password, IN),
                                    (BOB.login, BOB.password, IN),
                                    (STRANGER, "Stranger-1", OUT)):
        assert gets_in(dc, login, password) == answer
        assert gets_in(dc, login, password) == answer
    searched = {login: searches_for(ldap, login)
                for login in (BOB.login, STRANGER)}
    assert all(searched.values()), searched
    set_password(ldap, ALICE, "New-3")
    old_password_fails(dc, ALICE)
    assert gets_in(dc, BOB.login, BOB.password) == IN
    assert gets_in(dc, STRANGER, "Stranger-1") == OUT
    now = {login: searches_for(ldap, login) for login in searched}
    if pass_filter == FILTER:
        assert now == searched, "answers of other logins were dropped"
    else:
        assert all(now[login] > searched[login] for login in searched), \
            (searched, now)


@pytest.mark.parametrize("flush", ["all", "user", "sighup"])
def test_flush_reaches_memory(setup, flush):
    """Without a feed, the plugin's memory of a custom recipient outlives
    its change for the hour of auth_cache_ttl (the control, checked
    first); doveadm auth cache flush, for everyone or for that user, or
    SIGHUP to the auth process, ends it: the next login is searched again
    and gets in."""
    import os
    import signal
    routed = openldap_tree.EXPECTED["ol-routed"]
    ldap, dc = setup("no")
    assert gets_in(dc, routed.login, routed.password) == OUT
    assert gets_in(dc, routed.login, routed.password) == OUT
    modify(ldap, f"dn: {routed.dn}\nchangetype: modify\n"
                 "add: mailHost\nmailHost: mail.example.test\n")
    # from memory: still refused, with no search
    searched = len(ldap.searches())
    assert not dc.imap_login(routed.login, routed.password).ok
    assert len(ldap.searches()) == searched
    if flush == "sighup":
        os.kill(dc.auth_pid(), signal.SIGHUP)
        assert dc.wait_log("SIGHUP received")
    else:
        rc, out = dc.doveadm("auth", "cache", "flush",
                             *([routed.login] if flush == "user" else []))
        assert rc == 0, out
    assert gets_in(dc, routed.login, routed.password) == IN


def test_smtp_auth_via_postfix():
    """Postfix's SMTP AUTH (PLAIN, against Dovecot's auth socket) with a
    one-hour cache and the feed: a password change and a mailbox turned
    into a forward-only entry each end the 235 within a second."""
    import shutil
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    if shutil.which("postfix") is None:
        pytest.skip("postfix not installed (tests/install-deps installs it)")
    with Sandbox(prefix="mgf") as sb:
        ldap = sb.slapd(suffix=openldap_tree.SUFFIX,
                        ldif=openldap_tree.ldif(),
                        modules=("back_mdb", "syncprov"),
                        db_conf="index entryCSN,entryUUID eq\n"
                                "overlay syncprov\n")
        _, dc, pf = mgsetup.postfix_setup(
            sb, openldap_tree, ldap=ldap, dovecot_settings=CACHE,
            settings_over={"recipient_profile": "openldap",
                           "pass_filter": FILTER, "user_filter": FILTER,
                           "change_feed": "syncrepl"})
        assert dc.wait_log("change feed: running")

        def code(login, password):
            reply = pf.smtp_auth(login, password, "PLAIN")
            return int(reply.text[:3]) if reply.text[:3].isdigit() else None

        changes = [
            (ALICE, f"dn: {ALICE.dn}\nchangetype: modify\nreplace: "
                    f"userPassword\nuserPassword: {ssha('New-5')}\n"),
            (BOB, f"dn: {BOB.dn}\nchangetype: modify\ndelete: mailHost\n"),
        ]
        for who, ldif in changes:
            assert code(who.login, who.password) == 235
            assert code(who.login, who.password) == 235
            modify(ldap, ldif)
            written = time.monotonic()
            while True:
                started = time.monotonic() - written
                got = code(who.login, who.password)
                if got == 535 or started > FRESH_WITHIN:
                    break
            assert got == 535, f"{who.login}: stale at {started:.2f} s"


SILENCE = 2.0


def test_silent_server(setup):
    """slapd is stopped (SIGSTOP): the feed's connection stays open but
    nothing comes. Within change_feed_timeout the feed counts as down
    (said once) and its cache goes: no login is answered from it while
    the directory can't be asked. Once slapd runs again the feed is back
    and changes arrive within a second again."""
    ldap, dc = setup("syncrepl", extra={
        "change_feed_timeout": f"{SILENCE:g}s", "request_timeout": "1s"})
    assert gets_in(dc, ALICE.login, ALICE.password) == IN
    mark = dc.log_mark()
    ldap.freeze()
    try:
        # the bound the setting sets, with room for a loaded machine
        text = dc.wait_log("change feed: down, auth cache flushed",
                           since=mark, timeout=SILENCE + 2.0)
        assert text, "the silent server was not noticed"
        assert "no answer from LDAP" in text
        assert not dc.imap_login(ALICE.login, ALICE.password).ok
        assert not dc.pop3_login(ALICE.login, ALICE.password).ok
    finally:
        ldap.thaw()
    text = dc.wait_log("change feed: back", since=mark, timeout=15)
    assert text, dc.log_since(mark)[-3000:]
    assert text.count("change feed: down, auth cache flushed") == 1
    assert gets_in(dc, ALICE.login, ALICE.password) == IN
    set_password(ldap, ALICE, "New-4")
    old_password_fails(dc, ALICE, " after the return")


@pytest.mark.parametrize("damage", ["uuid", "control", "none"])
def test_change_it_cannot_place_empties_the_cache(setup, damage):
    """A change in the persist phase whose syncStateValue holds no
    readable entryUUID (a 15-byte one), or that comes without the control,
    can't be traced to the answers that came from its entry: the whole
    cache goes, logged once for the change, and the next login sees it.
    The control: through the same proxy leaving the control whole, only
    the entry's answers go (no full flush)."""
    proxies = []

    def through_proxy(ldap):
        proxy = SyncStateProxy("127.0.0.1", ldap.port, SYNC_OID, damage)
        proxy.damage = damage != "none"
        proxies.append(proxy)
        return proxy.uri
    try:
        ldap, dc = setup("syncrepl", uris_for=through_proxy)
        proxy = proxies[0]
        assert proxy.searches == 1, proxy.errors
        check_unplaced_change(ldap, dc, proxy, damage)
    finally:
        for proxy in proxies:
            proxy.close()


def test_sync_info_it_cannot_read_empties_the_cache(setup):
    """A syncInfo message the feed can't read (here a choice RFC 4533 does
    not define) may have been a set of deleted entries: in the persist
    phase the whole cache goes, and the feed goes on."""
    proxies = []

    def through_proxy(ldap):
        proxies.append(SyncStateProxy("127.0.0.1", ldap.port, SYNC_OID,
                                      "uuid"))
        proxies[-1].damage = False
        return proxies[-1].uri
    try:
        ldap, dc = setup("syncrepl", uris_for=through_proxy)
        assert gets_in(dc, ALICE.login, ALICE.password) == IN
        assert gets_in(dc, ALICE.login, ALICE.password) == IN
        mark = dc.log_mark()
        # IntermediateResponse { responseName [0], responseValue [1] }
        proxies[0].inject(tlv(0x79, tlv(0x80, SYNC_INFO_OID) +
                              tlv(0x81, tlv(0xa5, b""))))
        unsure = "change feed: a sync info message it can't read: "
        log = dc.log_since(mark, wait_for=unsure)
        assert re.search(re.escape(unsure) + r"[1-9][0-9]* cache entries "
                         r"flushed", log), log[-3000:]
        assert log.count(unsure) == 1
        assert "change feed: down" not in log, log[-3000:]
        set_password(ldap, ALICE, "New-6")
        old_password_fails(dc, ALICE)
    finally:
        for proxy in proxies:
            proxy.close()


def test_refresh_that_never_ends_is_said(setup):
    """A server that holds the sync search open but never ends its
    refresh (the proxy drops its syncInfo messages): the feed never
    runs, and says so after change_feed_timeout, once, instead of
    leaving answers to a feed that isn't there without a word."""
    proxies = []

    def through_proxy(ldap):
        proxies.append(HoldRefreshProxy("127.0.0.1", ldap.port, SYNC_OID))
        return proxies[-1].uri
    slow = "change feed: refresh not done after 2000 ms (change_feed_timeout)"
    try:
        ldap, dc = setup("syncrepl", uris_for=through_proxy, running=False,
                         extra={"change_feed_timeout": "2s"})
        log = dc.log_text(wait_for=slow)
        assert slow in log, log[-3000:]
        assert proxies[0].searches == 1 and proxies[0].damaged >= 1, \
            (proxies[0].searches, proxies[0].damaged, proxies[0].errors)
        assert "change feed: running" not in log, log[-3000:]
        assert log.count(slow) == 1, log[-3000:]
        # the mailbox still answers, by the cache's TTL meanwhile
        assert gets_in(dc, ALICE.login, ALICE.password) == IN
    finally:
        for proxy in proxies:
            proxy.close()


def check_unplaced_change(ldap, dc, proxy, damage):
    # cached: a one-hour answer that only the feed can end
    assert gets_in(dc, ALICE.login, ALICE.password) == IN
    assert gets_in(dc, ALICE.login, ALICE.password) == IN
    mark = dc.log_mark()
    set_password(ldap, ALICE, "New-5")
    old_password_fails(dc, ALICE)
    assert gets_in(dc, ALICE.login, ALICE.password) == OUT
    assert proxy.wait_entry(ALICE.dn)
    if damage == "none":
        log = dc.log_since(mark, wait_for=f"change feed: modify {ALICE.dn}")
        assert proxy.damaged == 0
        assert "(no readable" not in log and "without a readable" not in \
            log, log[-3000:]
        assert re.search(f"change feed: modify {re.escape(ALICE.dn)}: "
                         r"[1-9][0-9]* cached answers removed", log), \
            log[-3000:]
        return
    log = dc.log_since(mark, wait_for=UNSURE[damage])
    assert proxy.damaged > 0
    assert re.search(re.escape(UNSURE[damage]) + r"[1-9][0-9]* cache "
                     r"entries flushed", log), log[-3000:]
    assert log.count(UNSURE[damage]) == 1, log[-3000:]


@pytest.mark.parametrize("feed", FEEDS)
def test_change_while_feed_down(setup, feed):
    """slapd stops; a change is written offline (slapmodify); slapd comes
    back. The change is never served stale past the return, and the feed
    then hears changes again."""
    ldap, dc = setup(feed)
    assert gets_in(dc, ALICE.login, ALICE.password) == IN
    mark = dc.log_mark()
    ldap.stop()
    if feed != "no":
        assert dc.wait_log("change feed: down", since=mark)
    r = subprocess.run(["slapmodify", "-q", "-f", ldap.conf_path],
                       input=f"dn: {ALICE.dn}\nchangetype: modify\n"
                             "replace: userPassword\n"
                             f"userPassword: {ssha('New-2')}\n",
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    ldap.start()
    got, started = logins_after(dc, ALICE.login, ALICE.password,
                                time.monotonic())
    if feed == "no":
        assert got == IN, "fresh without a feed"
        return
    assert got == OUT, f"stale at {started:.2f} s: {got}"
    # resumed from the cookie: the next change arrives through the feed
    text = dc.wait_log("change feed: back", since=mark)
    assert text and "replaying from the last cookie" in text
    assert gets_in(dc, BOB.login, BOB.password) == IN
    modify(ldap, f"dn: {BOB.dn}\nchangetype: modify\ndelete: mailHost\n")
    got, started = logins_after(dc, BOB.login, BOB.password, time.monotonic())
    assert got == OUT, f"stale at {started:.2f} s after return"


def test_auto_without_syncprov_is_no_feed():
    """change_feed = auto against a slapd without syncprov: no feed, said
    once; logins still work from the cache as with change_feed = no."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox(prefix="mgf") as sb:
        _, dc = mgsetup.guard_setup(
            sb, openldap_tree, dovecot_settings=CACHE,
            settings_over={"recipient_profile": "openldap",
                           "change_feed": "auto"})
        assert dc.wait_log("does not offer Content Synchronization")
        assert gets_in(dc, ALICE.login, ALICE.password) == IN

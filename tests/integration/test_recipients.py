"""Recipient semantics: profiles, auth_bind, tempfail mode, wrong passwords
that look alike, master users, duplicate matches, passdb chaining, the auth
cache, iteration, and one LDAP search per login.

Expected results come from the fixture trees' side tables (fixtures/*.py)
and from the issue's wording, never from the plugin's own output.
"""

import pytest

import mgsetup
from fixtures import ad_tree, ex55_tree, openldap_tree, REFUSED, AUTHFAIL
from sandbox import (Sandbox, AuthDB, IMAP_REFUSED, POP3_REFUSED,
                     IMAP_AUTHFAIL)

pytestmark = pytest.mark.plugin

TREES = {"ad": ad_tree, "ex55": ex55_tree, "openldap": openldap_tree}
IMAP_TEMPFAIL = "NO [UNAVAILABLE] Temporary authentication failure."
POP3_TEMPFAIL = "-ERR [SYS/TEMP] Temporary authentication failure."
WANT = mgsetup.WANT
ALICE = ad_tree.EXPECTED["alice"]
PARTNER = ad_tree.EXPECTED["partner"]            # contact with a password
MAILUSER = ad_tree.EXPECTED["mailuser"]          # user + targetAddress
PARTNER_NOPW = ad_tree.EXPECTED["partner-nopw"]  # contact, no password


@pytest.fixture(scope="module")
def make():
    """make(tree, settings_over, dovecot_settings) -> (slapd, dovecot),
    each in a sandbox of its own, all closed at module end."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    sandboxes = []

    def build(tree, settings_over=None, dovecot_settings=None, match="default",
              start=True):
        sb = Sandbox(prefix="mgr")
        sandboxes.append(sb)
        return mgsetup.guard_setup(sb, tree, settings_over=settings_over,
                                   dovecot_settings=dovecot_settings,
                                   match=match, start=start)
    try:
        yield build
    finally:
        for sb in sandboxes:
            sb.close()


# --- each profile alone classifies its own directory ----------------------

@pytest.fixture(scope="module")
def profile_setups(make):
    started = {}

    def get(name):
        if name not in started:
            tree = TREES[name]
            started[name] = make(tree, {"recipient_profile": tree.PROFILE},
                                 match=None)[1]
        return started[name]
    return get


PROFILE_CASES = [(n, login) for n, t in TREES.items() for login in t.EXPECTED]


@pytest.mark.parametrize("tree,login", PROFILE_CASES,
                         ids=[f"{t}:{l}" for t, l in PROFILE_CASES])
def test_profile_classifies(profile_setups, tree, login):
    entry = TREES[tree].EXPECTED[login]
    dc = profile_setups(tree)
    mgsetup.assert_logins(dc, entry)
    rc, out = dc.doveadm_user(entry.login)
    assert rc == (0 if entry.userdb else 67), out


# --- auth_bind -------------------------------------------------------------

@pytest.fixture(scope="module")
def bind_setup(make):
    return make(ad_tree, {"auth_bind": "yes"})


@pytest.mark.parametrize("login", sorted(ad_tree.EXPECTED))
def test_auth_bind_yes(bind_setup, login):
    mgsetup.assert_logins(bind_setup[1], ad_tree.EXPECTED[login])


def test_auth_bind_binds_as_the_entry(bind_setup):
    ldap, dc = bind_setup
    got = dc.login_all(ALICE.login, ALICE.password + "x")
    assert tuple(r.text for r in got.values()) == WANT[AUTHFAIL]
    assert f'BIND dn="cn=alice,ou=Users,{ad_tree.SUFFIX}"' in ldap.log_text()


def test_auth_bind_queued_binds_are_served(make):
    """More simultaneous logins than user-bind connections: the queued
    binds go out as each one finishes, not at their timeout."""
    _, dc = make(ad_tree, {"auth_bind": "yes", "connections": "1",
                           "request_timeout": "3s"})
    jobs = [(dc.imap_login, ALICE.login, ALICE.password)] * 8
    replies = dc.parallel(jobs, workers=8)
    assert all(r.ok for r in replies), [r.text for r in replies]


def test_auth_bind_userdn(make):
    """The bind names the entry; one base-scope search reads it."""
    ldap, dc = make(ad_tree, {
        "auth_bind": "yes",
        "auth_bind_userdn": f"cn=%u,ou=Users,{ad_tree.SUFFIX}"})
    before = ldap.search_count()
    assert dc.imap_login(ALICE.login, ALICE.password).ok
    assert ldap.search_count() - before == 1
    assert dc.imap_login(MAILUSER.login, MAILUSER.password).text == IMAP_REFUSED
    assert dc.imap_login(ALICE.login, "wrong").text == IMAP_AUTHFAIL
    # a contact lives elsewhere: the DN the template names does not exist
    assert dc.imap_login(PARTNER.login, PARTNER.password).text == IMAP_AUTHFAIL


def test_auth_bind_userdn_escapes_dn_metacharacters(make):
    ldap, dc = make(ad_tree, {
        "auth_bind": "yes",
        "auth_bind_userdn": f"cn=%u,ou=Users,{ad_tree.SUFFIX}"})
    for name in ("alice,ou=Users", "alice+sn=alice", "x,cn=alice", "=alice"):
        reply = dc.imap_login(name, ALICE.password)
        assert not reply.ok, name
        assert reply.text == IMAP_AUTHFAIL, (name, reply.text)


# --- tempfail mode -----------------------------------------------------------

def test_tempfail_mode(make):
    _, dc = make(ad_tree, {"custom_recipient_result": "tempfail"})
    got = dc.login_all(PARTNER.login, PARTNER.password)
    assert got["imap-login"].text.startswith(IMAP_TEMPFAIL), got
    assert got["imap-plain"].text.startswith(IMAP_TEMPFAIL), got
    assert got["pop3"].text.startswith(POP3_TEMPFAIL), got
    # the kind shows only behind the right password
    got = dc.login_all(PARTNER.login, "wrong")
    assert tuple(r.text for r in got.values()) == WANT[AUTHFAIL]
    assert dc.imap_login(ALICE.login, ALICE.password).ok


# --- a wrong password looks the same for every kind --------------------------

def test_wrong_password_looks_alike(make):
    _, dc = make(ad_tree)
    mark = dc.log_mark()
    replies = {}
    for entry, password in ((ALICE, "wrong"), (PARTNER, "wrong"),
                            (PARTNER_NOPW, "anything")):
        replies[entry.login] = tuple(
            r.text for r in dc.login_all(entry.login, password).values())
    assert set(replies.values()) == {WANT[AUTHFAIL]}, replies
    log = dc.log_since(mark)
    for needle in ("custom recipient", "Event ID", "contact"):
        assert needle not in log, needle
    # each attempt logs Dovecot's own mismatch line, the same for all three
    for login in replies:
        lines = dc.db_log_lines(log, login)
        assert lines, login
        assert all(l.endswith("Password mismatch") for l in lines), lines


# --- master users --------------------------------------------------------------

def _master_setup(make):
    ldap, dc = make(ad_tree, dovecot_settings={
        "auth_master_user_separator": "*"}, start=False)
    path = dc.write_settings_text("masters", "admin:{PLAIN}Master-pw-1::::::\n",
                                   mode=0o644)
    dc.auth_dbs.insert(0, AuthDB("passdb", "passwd-file", path,
                                 master="yes", **{"pass": "yes"}))
    dc.start()
    return ldap, dc


def test_master_user(make):
    _, dc = _master_setup(make)
    assert dc.imap_login(f"{ALICE.login}*admin", "Master-pw-1").ok
    mark = dc.log_mark()
    got = dc.login_all(f"{PARTNER_NOPW.login}*admin", "Master-pw-1")
    assert tuple(r.text for r in got.values()) == WANT[REFUSED]
    log = dc.log_since(mark, wait_for="refused for master user admin")
    assert "refused for master user admin" in log
    assert f"cn={PARTNER_NOPW.login},ou=Contacts" in log
    assert dc.imap_login(f"{PARTNER.login}*admin", "wrong").text == IMAP_AUTHFAIL


# --- duplicate matches ---------------------------------------------------------

MAIL_FILTER = "(&(objectClass=person)(|(mailNickname=%u)(mail=%u)))"


def test_contact_sharing_mail_does_not_lock_the_user_out(make):
    _, dc = make(ad_tree, {"pass_filter": MAIL_FILTER,
                           "user_filter": MAIL_FILTER})
    mark = dc.log_mark()
    got = dc.login_all("alice@corp.test", ALICE.password)
    assert all(r.ok for r in got.values()), got
    log = dc.log_since(mark, wait_for="ignoring")
    assert "cn=alice-ext,ou=Contacts" in log and "ignoring" in log


def test_two_mailboxes_are_a_tempfail(make):
    ldap, dc = make(ad_tree, {"pass_filter": MAIL_FILTER,
                              "user_filter": MAIL_FILTER})
    ldap.ldapmodify(f"dn: cn=bob,ou=Users,{ad_tree.SUFFIX}\n"
                    "changetype: modify\nreplace: mail\n"
                    "mail: alice@corp.test\n")
    mark = dc.log_mark()
    reply = dc.imap_login("alice@corp.test", ALICE.password)
    assert reply.text.startswith(IMAP_TEMPFAIL), reply
    log = dc.log_since(mark, wait_for="cn=bob,ou=Users")
    assert "cn=alice,ou=Users" in log and "cn=bob,ou=Users" in log


# --- chaining ------------------------------------------------------------------

def test_unknown_user_reaches_the_next_passdb(make):
    ldap, dc = make(ad_tree, start=False)
    path = dc.write_settings_text(
        "local", "localonly:{PLAIN}Local-pw-1::::::\n"
                 f"{PARTNER.login}:{{PLAIN}}{PARTNER.password}::::::\n",
        mode=0o644)
    passdbs = [d for d in dc.auth_dbs if d.kind == "passdb"]
    userdbs = [d for d in dc.auth_dbs if d.kind == "userdb"]
    # while LDAP is down the passwd-file must not answer (fatal at start)
    passdbs[-1].settings["result_internalfail"] = "return-fail"
    dc.auth_dbs = passdbs + [AuthDB("passdb", "passwd-file", path)] + userdbs + [
        AuthDB("userdb", "static", "uid=nobody gid=nogroup")]
    dc.start()
    assert dc.imap_login("localonly", "Local-pw-1").ok
    assert dc.pop3_login("localonly", "Local-pw-1").ok
    # a refused custom recipient is not rescued by a later passdb
    assert dc.imap_login(PARTNER.login, PARTNER.password).text == IMAP_REFUSED


# --- the auth cache --------------------------------------------------------------

CACHE = {"auth_cache_size": "1M", "auth_cache_ttl": "1 hour",
         "auth_cache_negative_ttl": "1 hour"}


def test_cache_serves_mailboxes_and_refusals_still_log(make):
    ldap, dc = make(ad_tree, dovecot_settings=CACHE)
    assert dc.imap_login(ALICE.login, ALICE.password).ok
    before = ldap.search_count()
    assert dc.imap_login(ALICE.login, ALICE.password).ok
    assert ldap.search_count() == before, "second login was not cached"

    # a refusal is never answered by Dovecot's cache: each one is decided
    # and logged again, from the plugin's memory after the first search
    before = ldap.search_count()
    for _ in range(3):
        mark = dc.log_mark()
        assert dc.imap_login(PARTNER.login, PARTNER.password).text == IMAP_REFUSED
        # the log process may write the line after the client has its answer
        assert dc.wait_log("Event ID 1023", since=mark)
    assert ldap.search_count() == before + 1
    # the password is still checked for a remembered custom recipient
    mark = dc.log_mark()
    assert dc.imap_login(PARTNER.login, "wrong").text == IMAP_AUTHFAIL
    assert "Event ID" not in dc.log_since(mark)
    assert ldap.search_count() == before + 1


def test_cached_wrong_password_never_opens_a_custom_recipient(make):
    _, dc = make(ad_tree, dovecot_settings=CACHE)
    assert dc.imap_login(MAILUSER.login, "wrong").text == IMAP_AUTHFAIL
    assert dc.imap_login(MAILUSER.login, MAILUSER.password).text == IMAP_REFUSED
    assert dc.pop3_login(MAILUSER.login, MAILUSER.password).text == POP3_REFUSED


def test_cache_off_still_refuses(make):
    _, dc = make(ad_tree, dovecot_settings={"auth_cache_size": "0"})
    assert dc.imap_login(PARTNER.login, PARTNER.password).text == IMAP_REFUSED
    assert dc.imap_login(ALICE.login, ALICE.password).ok


# --- one search per login ----------------------------------------------------------

def test_one_search_per_login(make):
    ldap, dc = make(ad_tree)
    for login in (dc.imap_login, dc.pop3_login, dc.imap_authenticate_plain):
        before = ldap.search_count()
        assert login(ALICE.login, ALICE.password).ok
        assert ldap.search_count() - before == 1, login.__name__


# --- every login service, userdb and iteration ---------------------------------------

@pytest.fixture(scope="module")
def plain_setup(make):
    return make(ad_tree)


@pytest.mark.parametrize("service", ["imap", "pop3", "submission", "sieve"])
def test_refused_for_every_service(plain_setup, service):
    """A login process (doveadm auth login speaks as one) gets the refusal
    as nologin + reason, which every *-login process honours; the same
    service asked on the auth-client socket (Postfix, Exim, doveadm auth
    test) gets a real failure."""
    dc = plain_setup[1]
    rc, out = dc.doveadm_auth_login(PARTNER.login, PARTNER.password, service)
    assert rc == 77 and "nologin" in out and "reason=" in out, out
    rc, out = dc.doveadm_auth_test(PARTNER.login, PARTNER.password, service)
    assert rc == 77 and "auth failed" in out, out
    assert "code=user_disabled" in out and "reason=" in out, out
    rc, out = dc.doveadm_auth_test(ALICE.login, ALICE.password, service)
    assert rc == 0 and "nologin" not in out, out


def test_iteration_lists_mailboxes_only(make):
    _, dc = make(ad_tree, {"iterate_filter": "(objectClass=person)",
                           "iterate_attrs": "mailNickname=user"})
    rc, out = dc.doveadm("user", "*")
    assert rc == 0, out
    listed = set(out.split())
    want = {e.login for e in ad_tree.EXPECTED.values() if e.userdb}
    assert listed == want


def test_iteration_defaults_to_uid(make):
    """Without iterate_attrs (2.4: userdb_mailbox_guard_iterate_fields)
    the user names are the entries' uid, as the default filters read."""
    _, dc = make(openldap_tree, {"iterate_filter": "(objectClass=person)",
                                 "iterate_attrs": None})
    rc, out = dc.doveadm("user", "*")
    assert rc == 0, out
    want = {e.attrs["uid"] for e in openldap_tree.EXPECTED.values()
            if e.userdb}
    assert len(want) > 1
    assert set(out.split()) == want

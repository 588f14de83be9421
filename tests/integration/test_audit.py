"""The Exchange audit trail over real IMAP and POP3 logins: exactly the
event lines of KB Q173776 at each diagnostics_logging level, audit_only,
delegate (master user) logons, other services, and the metric and
event_exporter blocks of doc/monitoring.md loaded verbatim.

Expected lines are built here from the issue's wording and the fixture's
own data (legacyExchangeDN, mailNickname, the base DN), never read back
from the plugin.
"""

import json
import os
import re

import pytest

import mgsetup
from fixtures import ad_tree
from sandbox import (Sandbox, AuthDB, db_line_re, is_24, IMAP_REFUSED, POP3_REFUSED,
                     IMAP_AUTHFAIL, procs)

pytestmark = pytest.mark.plugin

ALICE = ad_tree.EXPECTED["alice"]
PARTNER = ad_tree.EXPECTED["partner"]
PARTNER_NOPW = ad_tree.EXPECTED["partner-nopw"]
DOMAIN = "CORP"                                 # first dc= of the base
LEVELS = {"none": 0, "minimum": 1, "medium": 3, "maximum": 5}
LINE_RX = db_line_re()
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "doc", "monitoring.md")


def monitoring_block():
    """The ```dovecot block of doc/monitoring.md for the Dovecot installed,
    as admins copy it: the first is 2.3's, the second (under "On Dovecot
    2.4") 2.4's."""
    with open(DOC) as f:
        text = f.read()
    blocks = re.findall(r"```dovecot\n(.*?)```", text, re.S)
    assert len(blocks) == 2, "doc/monitoring.md: want a 2.3 and a 2.4 block"
    assert text.index("### On Dovecot 2.4") < text.index(blocks[1])
    return blocks[1] if is_24() else blocks[0]


def x500(entry):
    return entry.attrs["legacyExchangeDN"]


def line_1023(login, login_x500, target):
    return ("Info", f"MSExchangeIS Private: Event ID 1023 (Failure Audit, Logons): "
            f"{DOMAIN}\\{login} was validated as {login_x500} but was unable "
            f"to log on to {x500(target)}.")


def line_imap_13003(addr, login, target):
    return ("Error", f"MSExchange IMAP4: Event ID 13003 (Error, Authentication): "
            f"Logon attempt from {addr} to {login}/{target.attrs['mailNickname']} "
            "has failed: EcDoPrivateLogon() call failed with error Logon failure.")


def line_pop3_13003(addr, login, target):
    return ("Error", f"MSExchange POP3: Event ID 13003 (Error, Authentication): "
            f"Logon attempt from {addr} to {login}/{target.attrs['mailNickname']} "
            "has failed: EcGetMailboxDN() call failed with error. The requested "
            "mailbox is not available on this server.")


def line_11202(addr, login, target):
    return ("Info", f"MSExchange IMAP4: Event ID 11202 (Success Audit, "
            f"Authentication): An IMAP4 client {addr} successfully logged on "
            f"to the mailbox {login}/{target.attrs['mailNickname']}.")


def exchange_lines(log):
    out = []
    for raw in log.splitlines():
        m = LINE_RX.search(raw)
        if m and "Event ID" in m.group(2):
            out.append((m.group(1), m.group(2)))
    return out


def exchange_lines_since(dc, mark, want):
    """The Exchange lines after mark, once there are as many as `want`
    (or after wait_log's timeout): the log process may write them after
    the client has its answer."""
    dc.wait_log(lambda t: len(exchange_lines(t)) >= len(want), since=mark)
    return exchange_lines(dc.log_since(mark))


@pytest.fixture(scope="module")
def make():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    sandboxes = []

    def build(settings_over, dovecot_settings=None, extra_conf="",
              masters=None):
        sb = Sandbox(prefix="mga")
        sandboxes.append(sb)
        ldap, dc = mgsetup.guard_setup(
            sb, ad_tree, settings_over=dict(settings_over,
                                            recipient_profile="ad"),
            dovecot_settings=dovecot_settings, match=None, start=False)
        dc.extra_conf = extra_conf
        if masters:
            path = dc.write_settings_text("masters", masters, mode=0o644)
            dc.auth_dbs.insert(0, AuthDB("passdb", "passwd-file", path,
                                         master="yes", **{"pass": "yes"}))
        dc.start()
        return dc
    try:
        yield build
    finally:
        for sb in sandboxes:
            sb.close()


def run_logins(dc):
    """A fixed set of logins; returns (what each got, the lines expected
    at each level, keyed by the minimum level that writes them)."""
    a = [procs.next_source_address() for _ in range(6)]
    got = [
        dc.imap_login(ALICE.login, ALICE.password, source=a[0]),
        dc.pop3_login(ALICE.login, ALICE.password, source=a[1]),
        dc.imap_login(PARTNER.login, PARTNER.password, source=a[2]),
        dc.pop3_login(PARTNER.login, PARTNER.password, source=a[3]),
        dc.imap_login(PARTNER.login, "wrong", source=a[4]),
        dc.imap_login(PARTNER_NOPW.login, "anything", source=a[5]),
    ]
    always = [line_1023(PARTNER.login, x500(PARTNER), PARTNER),
              line_imap_13003(a[2], PARTNER.login, PARTNER),
              line_pop3_13003(a[3], PARTNER.login, PARTNER)]
    success = [line_11202(a[0], ALICE.login, ALICE),
               line_11202(a[2], PARTNER.login, PARTNER)]
    return got, always, success


@pytest.mark.parametrize("level", list(LEVELS))
def test_exact_lines_at_each_level(make, level):
    dc = make({"diagnostics_logging": level})
    mark = dc.log_mark()
    got, always, success = run_logins(dc)
    assert got[0].ok and got[1].ok
    assert got[2].text == IMAP_REFUSED and got[3].text == POP3_REFUSED
    assert got[4].text == IMAP_AUTHFAIL and got[5].text == IMAP_AUTHFAIL
    want = always + (success if LEVELS[level] >= 1 else [])
    assert sorted(exchange_lines_since(dc, mark, want)) == sorted(want)


def test_exchange_events_off(make):
    dc = make({"exchange_events": "no", "diagnostics_logging": "maximum"})
    mark = dc.log_mark()
    got, _, _ = run_logins(dc)
    assert got[2].text == IMAP_REFUSED
    log = dc.log_since(mark, wait_for="refused for pop3")
    assert exchange_lines(log) == []
    # the plain refusal line stays
    assert "refused for imap" in log and "refused for pop3" in log


def test_audit_only_lets_in_and_still_writes(make):
    dc = make({"audit_only": "yes"})
    mark = dc.log_mark()
    got, always, _ = run_logins(dc)
    assert got[2].ok, got[2]
    assert got[3].ok, got[3]
    # still no way in without the password
    assert got[4].text == IMAP_AUTHFAIL and got[5].text == IMAP_AUTHFAIL
    suffixed = [(lvl, text + " [audit_only: not refused]") for lvl, text in always]
    assert sorted(exchange_lines_since(dc, mark, suffixed)) == \
        sorted(suffixed)
    # outside a login (LMTP, doveadm) a custom recipient still has no mailbox
    rc, out = dc.doveadm_user(PARTNER.login)
    assert rc == 67, out


def test_delegate_logon_names_the_master(make):
    dc = make({}, dovecot_settings={"auth_master_user_separator": "*"},
              masters="admin:{PLAIN}Master-pw-1::::::\n")
    addr = procs.next_source_address()
    mark = dc.log_mark()
    reply = dc.imap_login(f"{PARTNER_NOPW.login}*admin", "Master-pw-1",
                          source=addr)
    assert reply.text == IMAP_REFUSED
    admin_x500 = "/o=corp/ou=test/cn=Recipients/cn=admin"
    want = [line_1023("admin", admin_x500, PARTNER_NOPW),
            line_imap_13003(addr, "admin", PARTNER_NOPW)]
    assert sorted(exchange_lines_since(dc, mark, want)) == sorted(want)


def test_other_services_get_one_plain_line(make):
    dc = make({"diagnostics_logging": "maximum"})
    for service in ("submission", "sieve"):
        mark = dc.log_mark()
        rc, out = dc.doveadm_auth_login(PARTNER.login, PARTNER.password,
                                        service)
        assert rc == 77 and "nologin" in out, out
        log = dc.log_since(mark, wait_for="cn=partner,ou=Contacts")
        assert exchange_lines(log) == [], log
        assert f"cn=partner,ou=Contacts,{ad_tree.SUFFIX} refused for {service}" in log


def stats_counts(dc):
    rc, out = dc.doveadm("stats", "dump")
    assert rc == 0, out
    counts = {}
    for row in out.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) > 2 and cols[1] == "duration":
            counts[cols[0]] = int(cols[2])
    return counts


def test_metrics_and_json_export(make):
    dc = make({"diagnostics_logging": "minimum"}, extra_conf=monitoring_block())
    mark = dc.log_mark()
    got, always, success = run_logins(dc)
    assert got[2].text == IMAP_REFUSED

    counts = stats_counts(dc)
    assert counts.get("mailbox_guard_refusals_imap") == 1, counts
    assert counts.get("mailbox_guard_refusals_pop3") == 1, counts
    assert counts.get("mailbox_guard_decisions_mailbox_ok_imap") == 1, counts
    assert counts.get("mailbox_guard_decisions_mailbox_ok_pop3") == 1, counts
    assert counts.get("mailbox_guard_decisions_custom_recipient_failure") == 2
    assert counts.get("mailbox_guard_exchange_events_13003") == 2, counts
    assert counts.get("mailbox_guard_exchange_events_1023") == 1, counts
    assert counts.get("mailbox_guard_exchange_events_11202") == 2, counts

    want = sorted(text for _, text in always + success)

    def exported(text):
        return [json.loads(l[l.index("{"):]) for l in text.splitlines()
                if "stats: Info: {" in l and "mailbox_guard_exchange_event" in l]
    text = dc.wait_log(lambda t: len(exported(t)) >= len(want), since=mark)
    assert text is not None, "JSON lines never reached the log"
    events = exported(text)
    lines = sorted(f"{e['fields']['source']}: Event ID {e['fields']['event_id']} "
                   f"({e['fields']['event_type']}, {e['fields']['category']}): "
                   f"{e['fields']['description']}" for e in events)
    assert lines == want
    for e in events:
        # 2.4's login event calls the service protocol
        assert e["fields"]["protocol" if is_24() else "service"] in \
            ("imap", "pop3")
        assert e["fields"]["user"] in (ALICE.login, PARTNER.login)
        assert "remote_ip" in e["fields"] and "session" in e["fields"]

"""A fault soak: thousands of logins over Dovecot's auth protocol while the
directory is stopped, frozen, failed over and brought back, with every
single answer checked. No custom recipient may ever get in, no login may
succeed without the right password, and LDAP trouble may never give a
mailbox user anything but a temporary failure. The auth process must
survive it all with its memory flat.
"""

import pytest

import mgsetup
from fixtures import ad_tree
from sandbox import Sandbox, procs
from sandbox.dovecot import auth_check_mode
from sandbox.load import wait_until

pytestmark = pytest.mark.plugin

ALICE = ad_tree.EXPECTED["alice"]
BOB = ad_tree.EXPECTED["bob"]
PARTNER = ad_tree.EXPECTED["partner"]
MAILUSER = ad_tree.EXPECTED["mailuser"]

# (who, user, password): what may come back is decided by `who`
MIX = [("mailbox", ALICE.login, ALICE.password),
       ("mailbox", BOB.login, BOB.password),
       ("custom", PARTNER.login, PARTNER.password),
       ("custom", MAILUSER.login, MAILUSER.password),
       ("wrong", ALICE.login, "not-her-password"),
       ("wrong", PARTNER.login, "not-its-password"),
       ("unknown", "nobody-here", "whatever")]
BATCH_COPIES = 10           # one batch: 70 requests in flight
MIN_REQUESTS = 3000


def violation(who, answer):
    """Why answer is wrong for who, or None."""
    if who == "mailbox":
        if answer.refused:
            return "mailbox refused as a custom recipient"
        if not answer.ok and not answer.temp:
            return "mailbox user got a permanent failure"
    elif who == "custom":
        if answer.logged_in:
            return "custom recipient logged in"
    elif answer.ok:
        return f"{who} login succeeded"
    return None


class Soak:
    def __init__(self, dc):
        self.dc = dc
        self.sent = 0
        self.outcomes = {}
        self.bad = []

    def batch(self, phase):
        with self.dc.auth_client(timeout=30) as ac:
            ids = {}
            for _ in range(BATCH_COPIES):
                for who, user, password in MIX:
                    ids[ac.send_plain(user, password)] = who
            answers = ac.wait_all(ids, timeout=30)
        for rid, who in ids.items():
            a = answers[rid]
            kind = ("temp" if a.temp else "refused" if a.refused else
                    "ok" if a.ok else "fail")
            key = (phase, who, kind)
            self.outcomes[key] = self.outcomes.get(key, 0) + 1
            why = violation(who, a)
            if why is not None:
                self.bad.append((phase, who, why, a))
        self.sent += len(ids)

    def run(self, phase, batches):
        for _ in range(batches):
            self.batch(phase)


def test_fault_soak():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox(prefix="mgs") as sb:
        first, second, dc = mgsetup.pair_setup(sb, ad_tree,
                                               request_timeout="1s",
                                               max_pending="512")
        pid = dc.auth_pid()
        soak = Soak(dc)

        soak.run("healthy", 4)
        rss_start = procs.rss_kb(pid)

        first.stop()                      # fail over to the second
        soak.run("first stopped", 8)
        first.start()
        soak.run("first back", 6)

        def served_by_first():
            before = first.search_count()
            with dc.auth_client() as ac:
                ac.auth_plain(BOB.login, BOB.password)
            return first.search_count() > before
        # idle connections go back to the first URI; freeze it only then
        assert wait_until(served_by_first, 30), "never back on the first URI"

        first.freeze()                    # hangs: left after a timeout
        try:
            soak.run("first frozen", 8)
            second.stop()                 # nothing answers at all
            soak.run("all down", 4)
        finally:
            first.thaw()
        second.start()
        soak.run("recovering", 6)
        assert wait_until(lambda: dc.auth_client().auth_plain(
            ALICE.login, ALICE.password).logged_in, 15)
        soak.run("healthy again", 10)
        rss_end = procs.rss_kb(pid)

        total = soak.sent
        print(f"soak: {total} requests; RSS {rss_start} -> {rss_end} kB")
        for key in sorted(soak.outcomes):
            print("  ", key, soak.outcomes[key])
        assert total >= MIN_REQUESTS
        assert not soak.bad, soak.bad[:10]
        # the phases did what they claim: some tempfails while nothing
        # answered, and full service at the end
        assert soak.outcomes.get(("all down", "mailbox", "temp"), 0) > 0
        assert soak.outcomes.get(("first frozen", "mailbox", "temp"), 0) > 0
        assert soak.outcomes.get(("first frozen", "mailbox", "ok"), 0) > 0
        assert soak.outcomes.get(("healthy again", "mailbox", "ok"), 0) == \
            10 * BATCH_COPIES * 2
        assert soak.outcomes.get(("healthy again", "custom", "refused"), 0) == \
            10 * BATCH_COPIES * 2
        assert dc.auth_pid() == pid, "the auth process was restarted"
        assert dc.crash_lines() == []
        # under ASan or valgrind the RSS is the checker's allocator, and
        # the checker's own report is the memory check
        if auth_check_mode() is None:
            assert rss_end - rss_start < 2048, (rss_start, rss_end)

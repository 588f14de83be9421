"""Failover through the URIs in order, and back to the first one when it
returns. Two independent slapd serve the same tree (replication itself is
exercised in the fault tests)."""

import time

import pytest

import mgsetup
from fixtures import ad_tree
from sandbox import Sandbox, IMAP_REFUSED
from sandbox.load import wait_until

pytestmark = pytest.mark.plugin

ALICE = ad_tree.EXPECTED["alice"]
PARTNER = ad_tree.EXPECTED["partner"]


def test_fails_over_and_back():
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox(prefix="mgf") as sb:
        first, second, dc = mgsetup.pair_setup(sb, ad_tree, request_timeout="2s")

        before = (first.search_count(), second.search_count())
        assert dc.imap_login(ALICE.login, ALICE.password).ok
        assert first.search_count() == before[0] + 1, "first URI not used first"
        assert second.search_count() == before[1]

        first.stop()
        # at most one tempfail while the connection in use notices
        ok = [dc.imap_login(ALICE.login, ALICE.password).ok for _ in range(4)]
        assert ok[-3:] == [True] * 3, ok
        assert dc.imap_login(PARTNER.login, PARTNER.password).text == IMAP_REFUSED

        first.start()
        base = first.search_count()
        # an idle connection goes back within the failback interval
        assert wait_until(lambda: (dc.imap_login(ALICE.login, ALICE.password)
                                   .ok and first.search_count() > base), 15), \
            "never went back to the first URI"
        assert dc.wait_log("back on the first URI"), dc.log_text()[-3000:]


def test_frozen_server_fails_over():
    """A server that hangs (SIGSTOP: connections stay open, nothing
    answers) is left for the next URI after one request timeout."""
    if not mgsetup.plugin_available() or mgsetup.standin():
        pytest.skip(mgsetup.skip_reason())
    with Sandbox(prefix="mgz") as sb:
        first, second, dc = mgsetup.pair_setup(sb, ad_tree,
                                               request_timeout="1s",
                                               connections="1")
        assert dc.imap_login(ALICE.login, ALICE.password).ok

        first.freeze()
        try:
            started = time.monotonic()
            replies = []
            while time.monotonic() - started < 10:
                reply = dc.imap_login(ALICE.login, ALICE.password)
                replies.append(reply)
                if reply.ok:
                    break
            assert replies[-1].ok, [r.text for r in replies]
            # nothing but tempfails before: never a failure, never a refusal
            for r in replies[:-1]:
                assert r.text.startswith("NO [UNAVAILABLE]"), r.text
            assert len(replies) <= 3, [r.text for r in replies]
            before = second.search_count()
            assert dc.imap_login(PARTNER.login, PARTNER.password).text == IMAP_REFUSED
            assert second.search_count() == before + 1
        finally:
            first.thaw()
        assert dc.wait_log("no answer from LDAP within 1000 ms"), \
            dc.log_text()[-3000:]

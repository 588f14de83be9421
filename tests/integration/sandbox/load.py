"""Concurrent IMAP / POP3 logins for fault tests, and their outcomes.

    load = LoginLoad(dc, cases, threads=6, max_per_thread=80).start()
    load.wait(lambda rs: len(rs) >= 10, timeout=20)
    ... break something ...
    load.stop()
    for r in load.results: r.case, r.proto, r.outcome, r.started, r.ended

Each result is classified by the exact server text into "ok", "tempfail",
"authfail", "refused" or "other". Every thread stops by itself after
max_per_thread logins, so a test that forgets to stop stays bounded.
"""

import threading
import time
from dataclasses import dataclass

from .dovecot import IMAP_REFUSED, POP3_REFUSED, IMAP_AUTHFAIL, POP3_AUTHFAIL

IMAP_TEMPFAIL = "NO [UNAVAILABLE] Temporary authentication failure."
POP3_TEMPFAIL = "-ERR [SYS/TEMP] Temporary authentication failure."


def classify(proto, reply):
    """Reply -> "ok" | "tempfail" | "authfail" | "refused" | "other"."""
    ok, text = reply
    if proto == "pop3":
        if ok and text.startswith("+OK"):
            return "ok"
        if text.startswith(POP3_TEMPFAIL):
            return "tempfail"
        if text == POP3_AUTHFAIL:
            return "authfail"
        if text == POP3_REFUSED:
            return "refused"
        return "other"
    if ok and text.startswith("OK"):
        return "ok"
    if text.startswith(IMAP_TEMPFAIL):
        return "tempfail"
    if text == IMAP_AUTHFAIL:
        return "authfail"
    if text == IMAP_REFUSED:
        return "refused"
    return "other"


@dataclass
class Case:
    """One kind of login the load repeats."""
    name: str             # "mailbox", "wrong-password", "custom", ...
    user: str
    password: str
    allowed: tuple        # outcomes that are never a bug for this case


@dataclass
class Result:
    case: str
    proto: str
    outcome: str
    text: str
    started: float        # time.monotonic()
    ended: float


PROTOS = ("imap", "imap-plain", "pop3")


class LoginLoad:
    def __init__(self, dovecot, cases, threads=6, max_per_thread=80):
        self.dc = dovecot
        self.cases = list(cases)
        self.threads = threads
        self.max_per_thread = max_per_thread
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = []

    def _login(self, proto, case):
        if proto == "imap":
            return self.dc.imap_login(case.user, case.password)
        if proto == "imap-plain":
            return self.dc.imap_authenticate_plain(case.user, case.password)
        return self.dc.pop3_login(case.user, case.password)

    def _run(self, n):
        for i in range(self.max_per_thread):
            if self._stop.is_set():
                return
            case = self.cases[(n + i) % len(self.cases)]
            proto = PROTOS[(n + i // len(self.cases)) % len(PROTOS)]
            t0 = time.monotonic()
            reply = self._login(proto, case)
            t1 = time.monotonic()
            with self._lock:
                self.results.append(Result(case.name, proto,
                                           classify(proto, reply), reply[1],
                                           t0, t1))

    def start(self):
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def snapshot(self):
        with self._lock:
            return list(self.results)

    def wait(self, predicate, timeout):
        """Wait until predicate(results) is true; False on timeout or when
        every thread has finished without it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.snapshot()):
                return True
            if not any(t.is_alive() for t in self._workers):
                return predicate(self.snapshot())
            time.sleep(0.05)
        return False

    def stop(self, timeout=30.0):
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._workers:
            t.join(max(0.1, deadline - time.monotonic()))
        return self.snapshot()

    def violations(self):
        """Results whose outcome is not allowed for their case."""
        allowed = {c.name: c.allowed for c in self.cases}
        return [r for r in self.snapshot() if r.outcome not in allowed[r.case]]


def wait_until(predicate, timeout, interval=0.05):
    """Poll predicate() until true (returns True) or timeout (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)

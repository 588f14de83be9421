"""pytest setup for the integration tests.

* puts tests/integration on sys.path (packages `sandbox`, `fixtures`,
  module `mgsetup`)
* `--tap` (or MG_TAP=1): a tiny TAP producer replaces pytest's terminal
  output: `ok N - nodeid`, `not ok N - nodeid` (+ `# ` diagnostics),
  `ok N - nodeid # SKIP reason`, xfail as `# TODO`, plan `1..N` at the end
* marker `imaptest`: skipped unless IMAPTEST names the imaptest binary
* marker `plugin`: skipped unless the mailbox_guard module is built (or
  MG_STANDIN=ldap)
* on a failing test the tails of the open sandboxes' logs are attached
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import mgsetup                      # noqa: E402
from sandbox import Sandbox, procs  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--tap", action="store_true", default=False,
                     help="print TAP to stdout instead of pytest's report")


@pytest.hookimpl(trylast=True)   # after the terminal reporter is registered
def pytest_configure(config):
    config.addinivalue_line("markers",
                            "imaptest: needs the imaptest binary ($IMAPTEST)")
    config.addinivalue_line("markers",
                            "plugin: needs the built mailbox_guard module")
    procs.install_cleanup_handlers()
    if config.getoption("--tap", default=False) or os.environ.get("MG_TAP") == "1":
        tap = TapReporter(config)
        config.pluginmanager.register(tap, "mg-tap")
        tr = config.pluginmanager.getplugin("terminalreporter")
        if tr is not None:
            config.pluginmanager.unregister(tr)


def pytest_collection_modifyitems(config, items):
    imaptest = os.environ.get("IMAPTEST")
    for item in items:
        if item.get_closest_marker("imaptest") and not imaptest:
            item.add_marker(pytest.mark.skip(
                reason="IMAPTEST is unset (path to the imaptest binary)"))
        if item.get_closest_marker("plugin") and not mgsetup.plugin_available():
            item.add_marker(pytest.mark.skip(reason=mgsetup.skip_reason()))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and Sandbox.live:
        for sb in list(Sandbox.live):
            try:
                rep.sections.append((f"sandbox {sb.root}", sb.diagnostics()))
            except Exception:
                pass


@pytest.fixture
def sandbox():
    """A fresh Sandbox for one test, closed (daemons stopped) afterwards."""
    sb = Sandbox()
    try:
        yield sb
    finally:
        sb.close()


class TapReporter:
    """Writes TAP version 12/13 lines for each test item."""

    def __init__(self, config):
        self.config = config
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        self.n = 0
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.pending = {}

    def _emit(self, line):
        self.out.write(line + "\n")
        self.out.flush()

    def _diag(self, text):
        for line in str(text).splitlines():
            self._emit("# " + line)

    def _result(self, nodeid, status, directive="", diag=None):
        self.n += 1
        # TAP: an expected failure is "not ok ... # TODO", an unexpected
        # pass "ok ... # TODO" (tap-driver.sh reports XFAIL / XPASS)
        prefix = "ok" if status in ("passed", "skipped", "xpass") else "not ok"
        name = nodeid.replace("#", "\\#")        # '#' starts a directive
        line = f"{prefix} {self.n} - {name}"
        if directive:
            line += f" # {directive}"
        self._emit(line)
        if diag:
            self._diag(diag)
        key = {"xfail": "skipped", "xpass": "failed"}.get(status, status)
        self.counts[key] = self.counts.get(key, 0) + 1

    @staticmethod
    def _skip_reason(rep):
        lr = rep.longrepr
        if isinstance(lr, tuple) and len(lr) == 3:
            reason = lr[2]
        else:
            reason = str(lr)
        if reason.startswith("Skipped: "):
            reason = reason[len("Skipped: "):]
        return reason.replace("\n", " ")

    def pytest_collectreport(self, report):
        if report.failed:
            self._result(f"collect {report.nodeid or '.'}", "failed",
                         diag=report.longreprtext)

    def pytest_runtest_logreport(self, report):
        st = self.pending.setdefault(report.nodeid, [])
        st.append(report)
        if report.when != "teardown":
            return
        reps = self.pending.pop(report.nodeid)
        failed = [r for r in reps if r.failed]
        if failed:
            diag = "\n".join(f"[{r.when}] {r.longreprtext}" for r in failed)
            for r in failed:
                for title, body in r.sections:
                    if title.startswith("sandbox "):
                        diag += f"\n[{title}]\n{body}"
            self._result(report.nodeid, "failed", diag=diag)
            return
        for r in reps:
            if hasattr(r, "wasxfail"):
                if r.skipped:
                    self._result(report.nodeid, "xfail",
                                 f"TODO {r.wasxfail or 'expected failure'}")
                else:
                    self._result(report.nodeid, "xpass",
                                 f"TODO unexpectedly passed {r.wasxfail}")
                return
        for r in reps:
            if r.skipped:
                self._result(report.nodeid, "skipped",
                             f"SKIP {self._skip_reason(r)}")
                return
        self._result(report.nodeid, "passed")

    def pytest_internalerror(self, excrepr):
        self._diag(f"internal error: {excrepr}")

    def pytest_sessionfinish(self, session, exitstatus):
        if self.n == 0:
            self._emit("1..0 # SKIP no tests ran")
        else:
            self._emit(f"1..{self.n}")
        c = self.counts
        self._emit(f"integration: {c['passed']} passed, {c['failed']} failed, "
                   f"{c['skipped']} skipped")

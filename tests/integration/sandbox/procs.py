"""Process bookkeeping, port allocation and client source addresses.

Every daemon the harness starts is registered here by PID and stopped by
PID (SIGTERM, wait, SIGKILL to its own process group as a fallback).
Nothing is ever killed by name.
"""

import atexit
import itertools
import os
import random
import signal
import socket
import subprocess
import threading
import time

_lock = threading.Lock()
_running = {}          # pid -> ManagedProcess
_handlers_installed = False


class ManagedProcess:
    """A daemon started by the harness, known by its PID."""

    def __init__(self, name, argv, log_path, cwd=None, env=None,
                 kill_when_childless=False):
        self.name = name
        self.kill_when_childless = kill_when_childless
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, cwd=cwd, env=env,
            start_new_session=True)          # own process group == pid
        self.pid = self.popen.pid
        with _lock:
            _running[self.pid] = self

    def alive(self):
        return self.popen.poll() is None

    def terminate(self):
        """Send SIGTERM (no waiting); SIGCONT too, in case a test froze
        the process with SIGSTOP."""
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                os.kill(self.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def signal(self, sig):
        """Send sig to the PID itself (SIGSTOP, SIGCONT, SIGKILL, ...)."""
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _forget(self):
        """No longer ours to stop: off the cleanup list, log closed."""
        with _lock:
            _running.pop(self.pid, None)
        if not self._log.closed:
            self._log.close()

    def kill(self, timeout=10.0):
        """SIGKILL the PID, reap it and forget it; returns its exit code."""
        try:
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout)
            if _group_alive(self.pid):
                _kill_group(self.pid)
        finally:
            self._forget()
        return self.popen.returncode

    def stop(self, timeout=10.0):
        """SIGTERM the PID and wait; SIGKILL its process group on timeout.

        kill_when_childless: once the process has no children left for
        0.3 s, SIGKILL it instead of waiting (dovecot's master lingers ~2 s
        after its log process, the last child, has exited)."""
        try:
            self.terminate()
            deadline = time.monotonic() + timeout
            childless_since = None
            while self.popen.poll() is None and time.monotonic() < deadline:
                if self.kill_when_childless:
                    if children_of(self.pid):
                        childless_since = None
                    elif childless_since is None:
                        childless_since = time.monotonic()
                    elif time.monotonic() - childless_since > 0.3:
                        break
                time.sleep(0.03)
            if self.popen.poll() is None:
                _kill_group(self.pid)
                self.popen.wait(5)
            # anything left in the group (e.g. children after a crash)
            deadline = time.monotonic() + 3
            while _group_alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _group_alive(self.pid):
                _kill_group(self.pid)
        finally:
            self._forget()
        return self.popen.returncode


def _kill_group(pgid):
    """SIGKILL the process group we started (its leader's PID)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def children_of(pid):
    """PIDs whose parent is pid (from /proc)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        if int(st.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(d))
    return kids


def cmdline(pid):
    """/proc/PID/cmdline with NULs as spaces ("" when gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def proc_status(pid, field):
    """A field of /proc/PID/status ("VmRSS" -> "12345 kB"), None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k == field:
                    return v.strip()
    except OSError:
        return None
    return None


def rss_kb(pid):
    v = proc_status(pid, "VmRSS")
    return int(v.split()[0]) if v else None


def stop_all():
    """SIGTERM everything still running at once, then reap each."""
    with _lock:
        procs = list(_running.values())
    for p in procs:
        p.terminate()
    for p in reversed(procs):
        try:
            p.stop(timeout=5)
        except Exception:          # best effort at exit
            pass


def _on_signal(signum, frame):
    stop_all()
    # let the normal unwinding (pytest finalizers, finally blocks) run
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup_handlers():
    """atexit + SIGTERM/SIGINT/SIGHUP: stop everything we started."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(stop_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, _on_signal)


# --------------------------------------------------------------------------
# ports
# --------------------------------------------------------------------------

_given_ports = set()


def free_port(host="127.0.0.1", low=20000, high=32000):
    """A free TCP port below the kernel's ephemeral range."""
    for _ in range(200):
        port = random.randint(low, high)
        if port in _given_ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, port))
        except OSError:
            continue
        finally:
            s.close()
        _given_ports.add(port)
        return port
    raise RuntimeError("no free port found")


def wait_port(host, port, timeout=15.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited (rc={proc.popen.returncode});"
                               f" see {proc.log_path}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not open in {timeout}s")


# --------------------------------------------------------------------------
# client source addresses: Dovecot keys its auth failure penalty on the
# client IP, so every client connection comes from a fresh 127.x.y.z.
# --------------------------------------------------------------------------

_src_counter = itertools.count(random.randint(0, 5000))


def next_source_address():
    n = next(_src_counter) % (250 * 250)
    return f"127.{10 + os.getpid() % 200}.{1 + n // 250}.{2 + n % 250}"

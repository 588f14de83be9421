"""A raw client of Dovecot's auth-client socket (auth protocol 1.2).

Login processes speak this protocol to the auth process. Talking it
directly lets a test put many requests in flight on one connection (load
without a login process per request), send SASL data the login processes
would reject first (a 10 KB name), and time each answer.

    with dc.auth_client() as ac:
        ids = [ac.send_plain("alice", "pw") for _ in range(50)]
        answers = ac.wait_all(ids, timeout=10)   # id -> AuthAnswer

Only PLAIN is used; every request is answered by one OK or FAIL line.
"""

import base64
import itertools
import os
import socket
import time

from . import procs

_cpids = itertools.count(1)


class AuthAnswer:
    """One OK / FAIL line: .ok, .temp, .nologin, .refused, .logged_in, .fields,
    .elapsed (seconds from sending the request to reading this line)."""

    def __init__(self, line, elapsed):
        parts = line.split("\t")
        self.line = line
        self.status = parts[0]
        self.id = int(parts[1])
        self.fields = {}
        for p in parts[2:]:
            k, _, v = p.partition("=")
            self.fields[k] = v
        self.elapsed = elapsed

    ok = property(lambda self: self.status == "OK")
    # Dovecot 2.3.19 says code=temp_fail, older ones a bare "temp"
    temp = property(lambda self: self.status == "FAIL" and (
        self.fields.get("code") == "temp_fail" or "temp" in self.fields))
    # a login process is refused with OK + nologin, every other client
    # (this socket's) with a final failure coded user_disabled
    nologin = property(lambda self: "nologin" in self.fields)
    refused = property(lambda self: self.nologin or (
        self.status == "FAIL" and
        self.fields.get("code") == "user_disabled"))
    logged_in = property(lambda self: self.ok and not self.nologin)

    def __repr__(self):
        return f"AuthAnswer({self.line!r}, {self.elapsed:.3f}s)"


class AuthClient:
    def __init__(self, socket_path, service="imap", timeout=30.0):
        self.service = service
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path)
        self.buf = b""
        self.ids = itertools.count(1)
        self.sent = {}          # id -> monotonic send time
        self.answers = {}       # id -> AuthAnswer
        # a CPID unique to this client: the auth process keys per-client
        # state on it
        cpid = (os.getpid() % 10000) * 10000 + next(_cpids)
        self.sock.sendall(f"VERSION\t1\t2\nCPID\t{cpid}\n".encode())
        self.handshake = []
        deadline = time.monotonic() + timeout
        while True:
            line = self._read_line(deadline)
            self.handshake.append(line)
            if line == "DONE":
                break

    def _read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("auth server sent no full line")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("auth server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def send_raw_plain(self, blob, source=None, extra=()):
        """AUTH PLAIN with the given SASL PLAIN bytes (authzid NUL authcid
        NUL password, or anything else); returns the request id."""
        rid = next(self.ids)
        rip = source or procs.next_source_address()
        fields = [f"service={self.service}", "lip=127.0.0.1", f"rip={rip}",
                  "secured", *extra,
                  "resp=" + base64.b64encode(blob).decode()]
        line = "\t".join(["AUTH", str(rid), "PLAIN", *fields]) + "\n"
        self.sent[rid] = time.monotonic()
        self.sock.sendall(line.encode())
        return rid

    def send_plain(self, user, password, authz="", **kw):
        def b(s):
            return s if isinstance(s, bytes) else s.encode()
        return self.send_raw_plain(b(authz) + b"\0" + b(user) + b"\0" +
                                   b(password), **kw)

    def wait_all(self, ids, timeout=30.0):
        """Read answers until every id in ids has one; returns them."""
        ids = list(ids)
        deadline = time.monotonic() + timeout
        while any(i not in self.answers for i in ids):
            line = self._read_line(deadline)
            status = line.split("\t", 1)[0]
            if status not in ("OK", "FAIL", "CONT"):
                continue
            a = AuthAnswer(line, 0.0)
            if status == "CONT":
                raise RuntimeError(f"unexpected CONT: {line}")
            a.elapsed = time.monotonic() - self.sent.get(a.id, 0.0)
            self.answers[a.id] = a
        return {i: self.answers[i] for i in ids}

    def auth_plain(self, user, password, timeout=30.0, **kw):
        rid = self.send_plain(user, password, **kw)
        return self.wait_all([rid], timeout)[rid]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

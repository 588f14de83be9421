"""Servers that hang a client at the step where libldap blocks: a TCP
listener that accepts and never speaks TLS (ldaps://, or after agreeing
to StartTLS), and a DNS server that never answers.

Each records what it has seen, so a test can wait until the client is
stuck in the step (a TLS ClientHello arrived, a DNS query arrived)
instead of sleeping.
"""

import socket
import threading
import time


def _ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag, content):
    return bytes([tag]) + _ber_len(len(content)) + content


def _int(n):
    return _tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big"))


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def starttls_success(msgid):
    """An LDAP ExtendedResponse saying yes to StartTLS (RFC 4511 4.14.2)."""
    op = _tlv(0x78, _tlv(0x0a, b"\x00") + _tlv(0x04, b"") + _tlv(0x04, b"")
              + _tlv(0x8a, STARTTLS_OID))
    return _tlv(0x30, _int(msgid) + op)


def _read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _read_ldap_message(conn):
    """One BER-encoded LDAPMessage; returns (msgid, op tag, raw bytes)."""
    head = _read_exact(conn, 2)
    if head[0] != 0x30:
        raise ValueError(f"not an LDAPMessage: {head!r}")
    n = head[1]
    if n & 0x80:
        ext = _read_exact(conn, n & 0x7f)
        n = int.from_bytes(ext, "big")
    body = _read_exact(conn, n)
    assert body[0] == 0x02, body
    idlen = body[1]
    msgid = int.from_bytes(body[2:2 + idlen], "big")
    return msgid, body[2 + idlen], body


class _Waitable:
    def __init__(self):
        self._cond = threading.Condition()
        self.seen = 0

    def _note(self):
        with self._cond:
            self.seen += 1
            self._cond.notify_all()

    def wait_seen(self, count=1, timeout=10.0):
        """Waits until `count` events were seen; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.seen < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True


class TLSStallServer(_Waitable):
    """Accepts on 127.0.0.1 and never completes a TLS handshake.

    starttls=False: an ldaps:// server that reads the ClientHello and
    stays silent. starttls=True: an ldap:// server that answers the
    StartTLS request with success, then reads the ClientHello and stays
    silent. `seen` counts ClientHellos received."""

    def __init__(self, starttls):
        super().__init__()
        self.starttls = starttls
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.errors = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self):
        scheme = "ldap" if self.starttls else "ldaps"
        return f"{scheme}://127.0.0.1:{self.port}/"

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        try:
            if self.starttls:
                msgid, tag, body = _read_ldap_message(conn)
                if tag != 0x77 or STARTTLS_OID not in body:
                    self.errors.append(f"not a StartTLS request: {body!r}")
                    return
                conn.sendall(starttls_success(msgid))
            first = conn.recv(1)
            if first == b"\x16":        # TLS handshake record
                self._note()
            # then nothing: hold the connection until the client leaves
            while conn.recv(4096):
                pass
        except (OSError, EOFError, ValueError) as e:
            if not self._closed:
                self.errors.append(repr(e))

    def close(self):
        self._closed = True
        for s in [self.sock, *self.conns]:
            try:
                s.close()
            except OSError:
                pass


class SilentDNS(_Waitable):
    """A UDP DNS server on ADDRESS:53 that reads queries and never
    answers. `seen` counts queries; `resolv_conf()` is a resolv.conf
    pointing at it."""

    def __init__(self, address="127.0.0.153"):
        super().__init__()
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 53))
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._closed:
            try:
                self.sock.recvfrom(4096)
            except OSError:
                return
            self._note()

    def resolv_conf(self, timeout_secs):
        return (f"nameserver {self.address}\n"
                f"options timeout:{timeout_secs} attempts:1\n")

    def close(self):
        self._closed = True
        self.sock.close()

"""Servers that hang a client at the step where libldap blocks: a TCP
listener that accepts and never speaks TLS (ldaps://, or after agreeing
to StartTLS), and a DNS server that never answers.

Each records what it has seen, so a test can wait until the client is
stuck in the step (a TLS ClientHello arrived, a DNS query arrived)
instead of sleeping.
"""

import errno
import random
import socket
import threading
import time

from .ldapwire import LoopbackServer, read_message, result, tlv


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def starttls_success(msgid):
    """An LDAP ExtendedResponse saying yes to StartTLS (RFC 4511 4.14.2)."""
    return result(0x78, msgid, tlv(0x8a, STARTTLS_OID))


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


class TLSStallServer(LoopbackServer, _Waitable):
    """Accepts on 127.0.0.1 and never completes a TLS handshake.

    starttls=False: an ldaps:// server that reads the ClientHello and
    stays silent. starttls=True: an ldap:// server that answers the
    StartTLS request with success, then reads the ClientHello and stays
    silent. `seen` counts ClientHellos received."""

    def __init__(self, starttls):
        _Waitable.__init__(self)
        self.starttls = starttls
        self.errors = []
        LoopbackServer.__init__(self)

    @property
    def uri(self):
        scheme = "ldap" if self.starttls else "ldaps"
        return f"{scheme}://127.0.0.1:{self.port}/"

    def serve(self, conn):
        try:
            if self.starttls:
                msgid, tag, body = read_message(conn)
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
            if not self.closed:
                self.errors.append(repr(e))


class SilentDNS(_Waitable):
    """A UDP DNS server on port 53 of a free loopback address that reads
    queries and never answers. `seen` counts queries; `resolv_conf()` is
    a resolv.conf pointing at it. (resolv.conf can't name a port, and
    another run on the machine may hold port 53 of any one address.)"""

    def __init__(self):
        super().__init__()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(50):
            self.address = "127.%d.%d.%d" % (random.randint(1, 254),
                                             random.randint(0, 255),
                                             random.randint(1, 254))
            try:
                self.sock.bind((self.address, 53))
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
        else:
            raise OSError("no free loopback address for port 53")
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

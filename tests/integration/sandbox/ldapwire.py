"""Just enough LDAPv3 on the wire for the test servers that play a
directory gone wrong (fakeldap.py, stall.py, ldapproxy.py): BER elements,
reading one LDAPMessage, a result message, and a loopback TCP listener that
serves each connection on a thread of its own until it is closed.
"""

import socket
import threading


def tlv(tag, body):
    """One BER element with a definite length."""
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def octets(value):
    return tlv(0x04, value.encode() if isinstance(value, str) else value)


def integer(value):
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big",
                         signed=True)
    return tlv(0x02, raw)


def message(msgid, op):
    """LDAPMessage ::= SEQUENCE { messageID, protocolOp }"""
    return tlv(0x30, integer(msgid) + op)


def result(tag, msgid, extra=b""):
    """A successful LDAPResult under `tag` (BindResponse 0x61,
    SearchResultDone 0x65, ExtendedResponse 0x78 with `extra`)."""
    ok = tlv(0x0a, b"\x00") + octets("") + octets("")
    return message(msgid, tlv(tag, ok + extra))


def _read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def split(data):
    """(tag, content, rest) of the first BER element in data."""
    n, header = data[1], 2
    if n & 0x80:
        header = 2 + (n & 0x7f)
        n = int.from_bytes(data[2:header], "big")
    return data[0], data[header:header + n], data[header + n:]


def read_message(conn):
    """One LDAPMessage from conn: (messageID, protocolOp tag, its
    content). Raises EOFError when the client has gone."""
    head = _read_exact(conn, 2)
    if head[0] != 0x30:
        raise ValueError(f"not an LDAPMessage: {head!r}")
    n = head[1]
    if n & 0x80:
        n = int.from_bytes(_read_exact(conn, n & 0x7f), "big")
    _, msgid, rest = split(_read_exact(conn, n))
    tag, body, _ = split(rest)
    return int.from_bytes(msgid, "big"), tag, body


class LoopbackServer:
    """Listens on 127.0.0.1 (a free port) and calls self.serve(conn) on a
    thread per connection; close() stops listening and drops every
    connection."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        raise NotImplementedError

    def close(self):
        self.closed = True
        for s in [self.sock, *self.conns]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

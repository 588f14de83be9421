"""A tiny LDAP server that answers with entries a real directory never
sends (an empty DN, attributes that can't be decoded), to prove the plugin
never classifies what it could only partly read.

It speaks just enough LDAPv3 BER: any bind succeeds, every search on a
non-empty base gets the configured raw SearchResultEntry bodies and a
successful SearchResultDone, a search on the empty base (the root DSE, the
schema) gets no entry, unbind closes. It listens on 127.0.0.1 and stops
when closed.
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


def attribute(name, *values):
    """PartialAttribute ::= SEQUENCE { type, vals SET OF value }"""
    return tlv(0x30, octets(name) + tlv(0x31, b"".join(octets(v)
                                                      for v in values)))


def entry_body(dn, *elements):
    """The body of a SearchResultEntry: objectName and the raw bytes of
    its attribute list (whatever elements the caller makes)."""
    return octets(dn) + tlv(0x30, b"".join(elements))


def _result(tag, msgid):
    ok = tlv(0x0a, b"\x00") + octets("") + octets("")
    return tlv(0x30, integer(msgid) + tlv(tag, ok))


def _read_element(sock, buf):
    """Returns (element bytes, rest of buf) or (None, buf) at EOF."""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            buf += chunk
        return True

    if not need(2):
        return None, buf
    first = buf[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7f
        if not need(2 + count):
            return None, buf
        header = 2 + count
        length = int.from_bytes(buf[2:header], "big")
    if not need(header + length):
        return None, buf
    return buf[:header + length], buf[header + length:]


def _parse_request(element):
    """(messageID, protocolOp tag, protocolOp body) of one LDAPMessage."""
    body = element[2:] if element[1] < 0x80 else element[2 + (element[1] & 0x7f):]
    idlen = body[1]
    msgid = int.from_bytes(body[2:2 + idlen], "big")
    op = body[2 + idlen:]
    tag = op[0]
    if op[1] < 0x80:
        op_body = op[2:2 + op[1]]
    else:
        count = op[1] & 0x7f
        oplen = int.from_bytes(op[2:2 + count], "big")
        op_body = op[2 + count:2 + count + oplen]
    return msgid, tag, op_body


class FakeLdap:
    def __init__(self, entries):
        """entries: list of SearchResultEntry bodies (see entry_body)."""
        self.entries = entries
        self.searches = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.closed = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                element, buf = _read_element(conn, buf)
                if element is None:
                    return
                msgid, tag, body = _parse_request(element)
                if tag == 0x60:                     # BindRequest
                    conn.sendall(_result(0x61, msgid))
                elif tag == 0x63:                   # SearchRequest
                    base_len = body[1]
                    if base_len > 0:
                        self.searches += 1
                        for e in self.entries:
                            conn.sendall(tlv(0x30, integer(msgid) +
                                             tlv(0x64, e)))
                    conn.sendall(_result(0x65, msgid))
                elif tag == 0x42:                   # UnbindRequest
                    return
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.closed = True
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

"""A tiny LDAP server that answers with entries a real directory never
sends (an empty DN, attributes that can't be decoded), to prove the plugin
never classifies what it could only partly read.

Any bind succeeds; every search on a non-empty base gets the configured
raw SearchResultEntry bodies and a successful SearchResultDone; a search on
the empty base (the root DSE, the schema) gets no entry; unbind closes.
"""

from .ldapwire import (LoopbackServer, tlv, octets, integer, message,
                       read_message, result)

__all__ = ["FakeLdap", "attribute", "entry_body", "tlv", "integer"]


def attribute(name, *values):
    """PartialAttribute ::= SEQUENCE { type, vals SET OF value }"""
    return tlv(0x30, octets(name) + tlv(0x31, b"".join(octets(v)
                                                      for v in values)))


def entry_body(dn, *elements):
    """The body of a SearchResultEntry: objectName and the raw bytes of
    its attribute list (whatever elements the caller makes)."""
    return octets(dn) + tlv(0x30, b"".join(elements))


class FakeLdap(LoopbackServer):
    def __init__(self, entries):
        """entries: list of SearchResultEntry bodies (see entry_body)."""
        self.entries = entries
        self.searches = 0
        super().__init__()
        self.uri = f"ldap://127.0.0.1:{self.port}"

    def serve(self, conn):
        try:
            while True:
                msgid, tag, body = read_message(conn)
                if tag == 0x60:                     # BindRequest
                    conn.sendall(result(0x61, msgid))
                elif tag == 0x63:                   # SearchRequest
                    if body[1] > 0:                 # a non-empty base
                        self.searches += 1
                        for e in self.entries:
                            conn.sendall(message(msgid, tlv(0x64, e)))
                    conn.sendall(result(0x65, msgid))
                elif tag == 0x42:                   # UnbindRequest
                    return
        except (OSError, EOFError):
            return
        finally:
            conn.close()

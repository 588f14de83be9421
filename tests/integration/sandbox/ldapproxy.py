"""An LDAP proxy on 127.0.0.1 that forwards every message both ways as it
came, with one exception it can be told to make: it rewrites the entries
answering a search sent with one control (a change feed's stream), so that
a test sees what the plugin does with a change it cannot place.

StripProxy stands in front of a directory that wants its simple binds
encrypted (a Samba DC): the client speaks plain LDAP to the proxy, the
proxy StartTLS to the server, and it removes one attribute (objectGUID)
from the entries of AD's notification search. SyncStateProxy stands in
front of slapd and damages the syncStateValue control of the entries of an
RFC 4533 sync search: a 15-byte entryUUID, or no control at all; inject()
sends a message of the test's own on a watched search. HoldRefreshProxy
drops a sync search's syncInfo messages, so its refresh never ends.

The messages are read whole (ldapwire's BER helpers) on an asyncio loop of
the proxy's own thread; close() drops every connection.
"""

import asyncio
import ssl
import threading

from .ldapwire import message, split, tlv

STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE = 0x63, 0x64, 0x65
INTERMEDIATE = 0x79
CONTROLS = 0xa0


async def _read_message(reader):
    """One LDAPMessage, its bytes as they came."""
    head = await reader.readexactly(2)
    n, more = head[1], b""
    if n & 0x80:
        more = await reader.readexactly(n & 0x7f)
        n = int.from_bytes(more, "big")
    return head + more + await reader.readexactly(n)


def _elements(data):
    """(tag, content) of each BER element in data, one after the other."""
    while data:
        tag, body, data = split(data)
        yield tag, body


def _parts(raw):
    """(messageID element, protocolOp tag, its content, controls) of an
    LDAPMessage; the controls as their bytes, b"" when there are none."""
    _, content, _ = split(raw)
    tag, msgid, rest = split(content)
    op_tag, op, controls = split(rest)
    return tlv(tag, msgid), op_tag, op, controls


def _control_oids(controls):
    if not controls or controls[0] != CONTROLS:
        return set()
    _, body, _ = split(controls)
    return {next(_elements(ctrl))[1] for _, ctrl in _elements(body)}


class WatchProxy:
    """Forwards 127.0.0.1:(a free port) to host:port, with StartTLS when
    ca is given (server_hostname: the name its certificate holds). While
    `damage` is true, every entry answering a search that carried
    `control` goes through self.entry(). `searches` counts such searches,
    `damaged` what entry() changed, `entries` holds the DNs of their
    entries, in order."""

    def __init__(self, host, port, control, ca=None, server_hostname=None):
        self.host = host
        self.upstream_port = port
        self.server_hostname = server_hostname
        self.control = control.encode()
        self.damage = True
        self.searches = 0
        self.damaged = 0
        self.entries = []
        self._entry_seen = threading.Condition()
        self.errors = []
        self.ctx = None
        if ca is not None:
            self.ctx = ssl.create_default_context(cafile=ca)
            # Samba's own CA is not what Python 3.13's default strict
            # X.509 checks want (libldap, the plugin's client, takes it)
            self.ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
        self._writers = set()
        # (client's writer, messageIDs of its watched searches)
        self._streams = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        daemon=True)
        self._thread.start()
        self._server = self._call(asyncio.start_server(
            self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}"

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _connect(self):
        reader, writer = await asyncio.open_connection(self.host,
                                                       self.upstream_port)
        self._writers.add(writer)
        if self.ctx is None:
            return reader, writer
        # ExtendedRequest ::= [APPLICATION 23] { requestName [0] }
        writer.write(message(1, tlv(0x77, tlv(0x80, STARTTLS_OID))))
        _, op_tag, op, _ = _parts(await _read_message(reader))
        code = next(_elements(op))
        if op_tag != 0x78 or code != (0x0a, b"\x00"):
            raise RuntimeError(f"StartTLS refused: {op!r}")
        await writer.start_tls(self.ctx,
                               server_hostname=self.server_hostname)
        return reader, writer

    def _watch(self, raw, watched):
        msgid, op_tag, _, controls = _parts(raw)
        if op_tag == SEARCH_REQUEST and \
                self.control in _control_oids(controls):
            watched.add(msgid)
            self.searches += 1

    def _rewrite(self, raw, watched):
        msgid, op_tag, op, controls = _parts(raw)
        if op_tag == SEARCH_DONE:
            watched.discard(msgid)
        if op_tag != SEARCH_ENTRY or msgid not in watched:
            return raw
        name, attrs = _elements(op)
        with self._entry_seen:
            self.entries.append(name[1].decode())
            self._entry_seen.notify_all()
        if not self.damage:
            return raw
        attrs, controls = self.entry(attrs[1], controls)
        return tlv(0x30, msgid + tlv(SEARCH_ENTRY, tlv(*name) +
                                     tlv(0x30, attrs)) + controls)

    def entry(self, attrs, controls):
        """(attributes, controls) of an entry to send instead: the content
        of its PartialAttributeList, its message's controls element."""
        raise NotImplementedError

    def inject(self, op):
        """Sends op (a protocolOp element) to every client as an answer
        to its watched searches."""
        async def send():
            for writer, watched in self._streams:
                for msgid in list(watched):
                    writer.write(tlv(0x30, msgid + op))
                await writer.drain()
        self._call(send())

    def wait_entry(self, dn, timeout=10.0):
        """Waits until an entry named dn has answered a watched search;
        False on timeout."""
        with self._entry_seen:
            return self._entry_seen.wait_for(
                lambda: dn.lower() in (e.lower() for e in self.entries),
                timeout)

    async def _pump(self, reader, writer, handle, watched):
        try:
            while True:
                writer.write(handle(await _read_message(reader), watched))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _serve(self, creader, cwriter):
        self._writers.add(cwriter)
        try:
            sreader, swriter = await self._connect()
        except (OSError, RuntimeError, ssl.SSLError) as e:
            self.errors.append(repr(e))
            cwriter.close()
            return
        # the messageIDs of the searches whose entries are rewritten
        watched = set()
        self._streams.append((cwriter, watched))
        up = asyncio.ensure_future(
            self._pump(creader, swriter, self._forward_up, watched))
        down = asyncio.ensure_future(
            self._pump(sreader, cwriter, self._rewrite, watched))
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        swriter.close()
        cwriter.close()

    def _forward_up(self, raw, watched):
        self._watch(raw, watched)
        return raw

    async def _shut(self):
        self._server.close()
        for writer in self._writers:
            writer.close()
        tasks = [t for t in asyncio.all_tasks()
                 if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self):
        self._call(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class StripProxy(WatchProxy):
    """Removes the attribute `attr` from the watched entries."""

    def __init__(self, host, port, control, attr, **kw):
        super().__init__(host, port, control, **kw)
        self.attr = attr.lower().encode()

    def entry(self, attrs, controls):
        kept = b""
        for _, attr in _elements(attrs):
            if next(_elements(attr))[1].lower() == self.attr:
                self.damaged += 1
            else:
                kept += tlv(0x30, attr)
        return kept, controls


SYNC_STATE_OID = b"1.3.6.1.4.1.4203.1.9.1.2"


class SyncStateProxy(WatchProxy):
    """mode "uuid": the entryUUID of the watched entries' syncStateValue
    loses its last byte; mode "control": the control goes."""

    def __init__(self, host, port, control, mode, **kw):
        super().__init__(host, port, control, **kw)
        self.mode = mode

    def _control(self, ctrl):
        (_, oid), *rest = _elements(ctrl)
        if oid != SYNC_STATE_OID:
            return tlv(0x30, ctrl)
        self.damaged += 1
        if self.mode == "control":
            return b""
        # criticality BOOLEAN (optional), controlValue: syncStateValue
        # { state, entryUUID, cookie OPTIONAL }
        *crit, (_, value) = rest
        state, (tag, uuid), *more = _elements(split(value)[1])
        value = tlv(0x30, tlv(*state) + tlv(tag, uuid[:-1]) +
                    b"".join(tlv(*m) for m in more))
        return tlv(0x30, tlv(0x04, oid) +
                   b"".join(tlv(*c) for c in crit) + tlv(0x04, value))

    def entry(self, attrs, controls):
        if not controls or controls[0] != CONTROLS:
            return attrs, controls
        kept = b"".join(self._control(ctrl)
                        for _, ctrl in _elements(split(controls)[1]))
        return attrs, tlv(CONTROLS, kept) if kept else b""


class HoldRefreshProxy(WatchProxy):
    """Drops every IntermediateResponse answering a watched search (a
    sync search's syncInfo messages, its refreshDone among them): the
    stream stays open and every entry passes, but the refresh never
    ends."""

    def __init__(self, host, port, control, **kw):
        super().__init__(host, port, control, **kw)
        self.damage = False     # the entries pass as they came

    def _rewrite(self, raw, watched):
        msgid, op_tag, _, _ = _parts(raw)
        if op_tag == INTERMEDIATE and msgid in watched:
            self.damaged += 1
            return b""
        return super()._rewrite(raw, watched)


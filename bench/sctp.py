"""SCTP (RFC 9260) for single associations: a userspace endpoint over a raw IP-protocol-132 socket where the
kernel has no SCTP (handshake with a state cookie, DATA/SACK, retransmission, HEARTBEAT, ABORT, SHUTDOWN,
CRC32c), and the same small interface over kernel SCTP sockets where it has. Used by the MME and the mock unit."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IPPROTO_SCTP = 132
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
SCTP_SNDRCV = 1  # cmsg type (linux/sctp.h)
SCTP_EVENTS = 11
DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT = 0, 1, 2, 3, 4, 5, 6
SHUTDOWN, SHUTDOWN_ACK, ERROR, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE = 7, 8, 9, 10, 11, 14
CHUNK_NAMES = {
    DATA: "DATA", INIT: "INIT", INIT_ACK: "INIT-ACK", SACK: "SACK", HEARTBEAT: "HEARTBEAT",
    HEARTBEAT_ACK: "HEARTBEAT-ACK", ABORT: "ABORT", SHUTDOWN: "SHUTDOWN", SHUTDOWN_ACK: "SHUTDOWN-ACK",
    ERROR: "ERROR", COOKIE_ECHO: "COOKIE-ECHO", COOKIE_ACK: "COOKIE-ACK", SHUTDOWN_COMPLETE: "SHUTDOWN-COMPLETE",
}  # fmt: skip
STATE_COOKIE = 7  # INIT-ACK parameter type
COOKIE_LIFE = 60.0


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC32c (Castagnoli), as SCTP's checksum (RFC 9260 appendix A)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def chunk(kind: int, flags: int, value: bytes) -> bytes:
    raw = struct.pack("!BBH", kind, flags, 4 + len(value)) + value
    return raw + b"\0" * (-len(raw) % 4)


def packet(sport: int, dport: int, vtag: int, chunks: list[bytes]) -> bytes:
    """An SCTP packet with its CRC32c (stored little-endian, as RFC 9260 appendix A computes it)."""
    body = struct.pack("!HHII", sport, dport, vtag, 0) + b"".join(chunks)
    return body[:8] + struct.pack("<I", crc32c(body)) + body[12:]


@dataclass
class Packet:
    sport: int
    dport: int
    vtag: int
    chunks: list[tuple[int, int, bytes]]  # (type, flags, value)


def parse(data: bytes) -> Packet | None:
    """An SCTP packet (no IP header), or None when it is short, malformed or its checksum is wrong."""
    if len(data) < 12:
        return None
    (check,) = struct.unpack("<I", data[8:12])
    if crc32c(data[:8] + b"\0\0\0\0" + data[12:]) != check:
        return None
    sport, dport, vtag = struct.unpack("!HHI", data[:8])
    chunks, off = [], 12
    while off + 4 <= len(data):
        kind, flags, length = struct.unpack("!BBH", data[off : off + 4])
        if length < 4 or off + length > len(data):
            return None
        chunks.append((kind, flags, data[off + 4 : off + length]))
        off += length + (-length % 4)
    return Packet(sport, dport, vtag, chunks)


def split_ip(data: bytes) -> tuple[str, str, bytes] | None:
    """Source, destination and payload of an IPv4 packet carrying SCTP, as a raw socket reads it."""
    if len(data) < 20 or data[0] >> 4 != 4 or data[9] != IPPROTO_SCTP:
        return None
    ihl = (data[0] & 0x0F) * 4
    return socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20]), data[ihl:]


def _after(a: int, b: int) -> bool:
    """TSN `a` is later than `b` (serial number arithmetic, RFC 1982)."""
    return a != b and (a - b) & 0xFFFFFFFF < 0x80000000


def _init_value(tag: int, tsn: int, params: bytes = b"") -> bytes:
    return struct.pack("!IIHHI", tag, 65535, 2, 2, tsn) + params


DataHandler = Callable[["Association", int, int, bytes], None]  # (assoc, stream, ppid, payload)
StateHandler = Callable[["Association", str, str], None]  # (assoc, state, reason)


@dataclass
class _Pending:
    packet: bytes
    sent: float
    tries: int = 1


@dataclass
class Association:
    """One association, free of I/O: packets go out through `send`, come in through `receive`, and `tick`
    runs the retransmission timers. `rto` doubles on every timeout (up to `rto_max`); after `max_retrans`
    timeouts in a row the association is aborted."""

    local_port: int
    peer_port: int
    send_packet: Callable[[bytes], None]
    on_data: DataHandler = lambda a, s, p, d: None
    on_state: StateHandler = lambda a, s, r: None
    rto_initial: float = 1.0
    rto_max: float = 8.0
    max_retrans: int = 5
    clock: Callable[[], float] = time.monotonic
    peer: str = ""
    local: str = ""  # the address the peer reached this end at
    state: str = "closed"
    my_tag: int = field(default_factory=lambda: random.getrandbits(32) or 1)
    peer_tag: int = 0
    next_tsn: int = field(default_factory=lambda: random.getrandbits(32))
    peer_cum: int = 0  # the last peer TSN received in order
    dropped: int = 0  # packets dropped: bad checksum or verification tag
    ssn: list[int] = field(default_factory=lambda: [0, 0])
    _rto: float = 0.0
    _control: _Pending | None = None  # INIT, COOKIE-ECHO, SHUTDOWN or SHUTDOWN-ACK awaiting its answer
    _outstanding: dict[int, _Pending] = field(default_factory=dict)
    _queued: list[tuple[int, int, bytes]] = field(default_factory=list)
    _early: dict[int, tuple[int, int, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rto = self.rto_initial

    # -- sending ---------------------------------------------------------------------------------------
    def _out(self, vtag: int, chunks: list[bytes]) -> bytes:
        raw = packet(self.local_port, self.peer_port, vtag, chunks)
        self.send_packet(raw)
        return raw

    def _set_state(self, state: str, reason: str = "") -> None:
        if state != self.state:
            self.state = state
            self.on_state(self, state, reason)

    def connect(self) -> None:
        """Start the four-way handshake (client side)."""
        init = chunk(INIT, 0, _init_value(self.my_tag, self.next_tsn))
        self._control = _Pending(self._out(0, [init]), self.clock())
        self._set_state("cookie-wait")

    def send(self, ppid: int, payload: bytes, stream: int = 0) -> None:
        """One user message in one DATA chunk (unordered never, fragmented never: S1AP messages are small)."""
        if self.state != "established":
            self._queued.append((stream, ppid, payload))
            return
        tsn = self.next_tsn
        self.next_tsn = (tsn + 1) & 0xFFFFFFFF
        ssn = self.ssn[stream]
        self.ssn[stream] = (ssn + 1) & 0xFFFF
        value = struct.pack("!IHHI", tsn, stream, ssn, ppid) + payload
        raw = self._out(self.peer_tag, [chunk(DATA, 0x03, value)])
        self._outstanding[tsn] = _Pending(raw, self.clock())

    def abort(self, reason: str = "aborted by the local side") -> None:
        if self.state not in ("closed", "aborted"):
            self._out(self.peer_tag, [chunk(ABORT, 0, b"")])
        self._close("aborted", reason)

    def shutdown(self) -> None:
        """Graceful close: SHUTDOWN, SHUTDOWN-ACK, SHUTDOWN-COMPLETE."""
        if self.state != "established":
            self._close("closed", "shut down before it was up")
            return
        raw = self._out(self.peer_tag, [chunk(SHUTDOWN, 0, struct.pack("!I", self.peer_cum))])
        self._control = _Pending(raw, self.clock())
        self._set_state("shutdown-sent")

    def _close(self, state: str, reason: str) -> None:
        self._control = None
        self._outstanding.clear()
        self._set_state(state, reason)

    # -- timers ----------------------------------------------------------------------------------------
    def deadline(self) -> float | None:
        """When tick() has something to do (on `clock`): the oldest unanswered packet's RTO; None while nothing
        waits for an answer."""
        waiting = [p for p in [self._control, *self._outstanding.values()] if p is not None]
        return min(p.sent for p in waiting) + self._rto if waiting else None

    def tick(self) -> None:
        """Retransmit what has waited longer than the RTO; abort after `max_retrans` timeouts in a row."""
        now = self.clock()
        waiting = [p for p in [self._control, *self._outstanding.values()] if p is not None]
        if not waiting or now - min(p.sent for p in waiting) < self._rto:
            return
        if max(p.tries for p in waiting) > self.max_retrans:
            self.abort(f"no answer after {self.max_retrans} retransmissions ({self.state})")
            return
        for p in waiting:
            self.send_packet(p.packet)
            p.sent, p.tries = now, p.tries + 1
        self._rto = min(self._rto * 2, self.rto_max)

    # -- receiving -------------------------------------------------------------------------------------
    def receive(self, pkt: Packet) -> None:
        """One packet for this association (ports already matched by the caller)."""
        kinds = [c[0] for c in pkt.chunks]
        if kinds[:1] == [INIT]:
            return  # a restart or a collision: not needed for one unit and one MME
        tag_ok = pkt.vtag == self.my_tag or (
            kinds[:1] in ([ABORT], [SHUTDOWN_COMPLETE]) and pkt.chunks[0][1] & 1 and pkt.vtag == self.peer_tag
        )
        if not tag_ok:  # RFC 9260 8.5: not for this association (or forged)
            self.dropped += 1
            return
        got_data = False
        for kind, _flags, value in pkt.chunks:
            if kind == INIT_ACK and self.state == "cookie-wait":
                self._on_init_ack(value)
            elif kind == COOKIE_ACK and self.state == "cookie-echoed":
                self._established()
            elif kind == DATA and self.state in ("established", "shutdown-sent"):
                got_data = True
                self._on_data(value)
            elif kind == SACK:
                self._on_sack(value)
            elif kind == HEARTBEAT:
                self._out(self.peer_tag, [chunk(HEARTBEAT_ACK, 0, value)])
            elif kind == ABORT:
                self._close("aborted", "ABORT from the peer")
                return
            elif kind == SHUTDOWN and self.state == "established":
                raw = self._out(self.peer_tag, [chunk(SHUTDOWN_ACK, 0, b"")])
                self._control = _Pending(raw, self.clock())
                self._set_state("shutdown-ack-sent")
            elif kind == SHUTDOWN_ACK and self.state in ("shutdown-sent", "shutdown-ack-sent"):
                self._out(self.peer_tag, [chunk(SHUTDOWN_COMPLETE, 0, b"")])
                self._close("closed", "shut down by the local side")
            elif kind == SHUTDOWN_COMPLETE and self.state == "shutdown-ack-sent":
                self._close("closed", "shut down by the peer")
        if got_data:
            sack = struct.pack("!IIHH", self.peer_cum, 65535, 0, 0)
            self._out(self.peer_tag, [chunk(SACK, 0, sack)])

    def _on_init_ack(self, value: bytes) -> None:
        self.peer_tag, _, _, _, tsn = struct.unpack("!IIHHI", value[:16])
        self.peer_cum = (tsn - 1) & 0xFFFFFFFF
        cookie, off = b"", 16
        while off + 4 <= len(value):
            ptype, plen = struct.unpack("!HH", value[off : off + 4])
            if plen < 4:
                break
            if ptype == STATE_COOKIE:
                cookie = value[off + 4 : off + plen]
            off += plen + (-plen % 4)
        self._control = _Pending(self._out(self.peer_tag, [chunk(COOKIE_ECHO, 0, cookie)]), self.clock())
        self._rto = self.rto_initial
        self._set_state("cookie-echoed")

    def _established(self) -> None:
        self._control = None
        self._rto = self.rto_initial
        self._set_state("established")
        queued, self._queued = self._queued, []
        for stream, ppid, payload in queued:
            self.send(ppid, payload, stream)

    def _on_data(self, value: bytes) -> None:
        tsn, stream, _ssn, ppid = struct.unpack("!IHHI", value[:12])
        if _after(tsn, self.peer_cum):
            self._early[tsn] = (stream, ppid, value[12:])
        while (nxt := (self.peer_cum + 1) & 0xFFFFFFFF) in self._early:
            self.peer_cum = nxt
            s, p, d = self._early.pop(nxt)
            self.on_data(self, s, p, d)

    def _on_sack(self, value: bytes) -> None:
        (cum,) = struct.unpack("!I", value[:4])
        acked = [t for t in self._outstanding if not _after(t, cum)]
        for t in acked:
            del self._outstanding[t]
        if acked:
            self._rto = self.rto_initial


class CookieJar:
    """The listening side's state cookies (RFC 9260 5.1.3): no state is kept until a valid COOKIE-ECHO."""

    def __init__(self) -> None:
        self.secret = os.urandom(32)

    def init_ack(self, pkt: Packet, now: float) -> bytes:
        """The INIT-ACK packet answering `pkt` (an INIT)."""
        peer_tag, _, _, _, peer_tsn = struct.unpack("!IIHHI", pkt.chunks[0][2][:16])
        my_tag, my_tsn = random.getrandbits(32) or 1, random.getrandbits(32)
        state = struct.pack("!IIIIHHd", peer_tag, my_tag, peer_tsn, my_tsn, pkt.sport, pkt.dport, now)
        cookie = state + hmac.new(self.secret, state, hashlib.sha256).digest()
        param = struct.pack("!HH", STATE_COOKIE, 4 + len(cookie)) + cookie
        value = _init_value(my_tag, my_tsn, param)
        return packet(pkt.dport, pkt.sport, peer_tag, [chunk(INIT_ACK, 0, value)])

    def open(self, cookie: bytes, now: float) -> tuple[int, int, int, int] | None:
        """(peer tag, my tag, peer TSN, my TSN) from a valid, fresh cookie, else None."""
        state, mac = cookie[:-32], cookie[-32:]
        if len(state) != 28 or not hmac.compare_digest(
            mac, hmac.new(self.secret, state, hashlib.sha256).digest()
        ):
            return None
        peer_tag, my_tag, peer_tsn, my_tsn, _, _, made = struct.unpack("!IIIIHHd", state)
        if not 0 <= now - made < COOKIE_LIFE:
            return None
        return peer_tag, my_tag, peer_tsn, my_tsn


SeenHandler = Callable[[str, str, Packet, float | None], None]  # (src, dst, packet, kernel receive time)


class RawSctp:
    """Userspace SCTP on a raw IP-132 socket: every SCTP packet to this namespace arrives here (which also
    keeps the kernel from answering with ICMP protocol-unreachable), is checked, then handed to the
    association its addresses and ports name; a listener accepts new ones with state cookies."""

    def __init__(self, sock: socket.socket, on_seen: SeenHandler | None = None, **assoc_opts: float) -> None:
        self.sock = sock
        self.sock.settimeout(0.05)  # a read the reader was told will not wait, or a send, never waits long
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        self.on_seen = on_seen
        self.assoc_opts = assoc_opts
        self.lock = threading.RLock()
        self.assocs: dict[tuple[str, int, int], Association] = {}
        self.listeners: dict[int, tuple[DataHandler, StateHandler]] = {}
        self.cookies = CookieJar()
        self.dropped = 0
        # The kernel's receive time of the packet being handled: a data handler's message arrived then, however
        # late the reader got to it (a check of "not before X" compares it).
        self.arrived: float | None = None
        self._emptied = threading.Condition()
        # How many times the reader found its socket empty (drained() waits for one more).
        self._empty_seen = 0
        # The reader waits for a packet, the next retransmission timer or this pair: a timer armed from another
        # thread (connect, send), drained() and close() wake it (it polled 20 times a second before).
        self._wake = socket.socketpair()
        for end in self._wake:
            end.setblocking(False)
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="sctp", daemon=True)
        self._thread.start()

    def _sender(self, addr: str, local: str = "") -> Callable[[bytes], None]:
        """Sends to `addr`; from `local` when given (IP_PKTINFO), so an answer leaves from the address the peer
        reached, not from whatever the route to the peer would pick."""
        anc = []
        if local:
            info = struct.pack("@i4s4s", 0, socket.inet_aton(local), bytes(4))
            anc = [(socket.IPPROTO_IP, IP_PKTINFO, info)]

        def send(raw: bytes) -> None:
            # No route yet (a tunnel being replaced): the retransmission timer sends it again.
            with contextlib.suppress(OSError):
                self.sock.sendmsg([raw], anc, 0, (addr, 0))
            if threading.current_thread() is not self._thread:
                self._poke()  # what was sent may have armed a timer the waiting reader does not know of

        return send

    def _poke(self) -> None:
        """Wake the reader to look again (at its socket, its timers, a stop)."""
        # Full: a wake is already pending. Closed: the reader is gone.
        with contextlib.suppress(OSError):
            self._wake[1].send(b"x")

    def listen(self, port: int, on_data: DataHandler, on_state: StateHandler) -> None:
        self.listeners[port] = (on_data, on_state)

    def connect(self, addr: str, port: int, on_data: DataHandler, on_state: StateHandler) -> Association:
        with self.lock:
            local = random.randint(32768, 60999)
            a = Association(local, port, self._sender(addr), on_data, on_state, peer=addr, **self.assoc_opts)  # type: ignore[arg-type]
            self.assocs[(addr, port, local)] = a
            a.connect()
            return a

    def send(self, a: Association, ppid: int, payload: bytes, stream: int = 0) -> None:
        with self.lock:
            a.send(ppid, payload, stream)

    def close_association(self, a: Association, graceful: bool = True) -> None:
        with self.lock:
            a.shutdown() if graceful else a.abort()

    def drained(self, timeout: float) -> bool:
        """Wait until every packet that reached this socket by now has been handled (its events recorded): the
        reader runs late on a busy machine, and a check asking "was there an INIT before X?" asks this first
        instead of guessing a delay. False when `timeout` passed first."""
        with self._emptied:
            start = self._empty_seen
            self._poke()  # an idle reader looks at its socket once more
            return self._emptied.wait_for(lambda: self._empty_seen > start, timeout)

    def _next_timer(self) -> float | None:
        """Seconds until the earliest association's retransmission timer; None: no timer runs."""
        with self.lock:
            due = [d - a.clock() for a in self.assocs.values() if (d := a.deadline()) is not None]
        return max(0.0, min(due)) if due else None

    def _serve(self) -> None:
        wake = self._wake[0]
        while True:
            try:
                ready = select.select([self.sock, wake], [], [], self._next_timer())[0]
                if wake in ready:
                    while wake.recv(4096):
                        pass
            except BlockingIOError:
                pass  # every wake read
            except (OSError, ValueError):
                return  # closed
            if self._closing:
                return
            data: bytes = b""
            anc: list[tuple[int, int, bytes]] = []
            if self.sock in ready:
                try:
                    data, anc, _, _ = self.sock.recvmsg(65535, socket.CMSG_SPACE(16))
                except TimeoutError:
                    data = b""
                except OSError:
                    return
            with self.lock:
                if data:
                    self._handle(data, anc)
                for a in list(self.assocs.values()):
                    a.tick()
                    if a.state in ("closed", "aborted"):
                        self.assocs = {k: v for k, v in self.assocs.items() if v is not a}
            if not data or not self._readable():
                with self._emptied:
                    self._empty_seen += 1
                    self._emptied.notify_all()

    def _readable(self) -> bool:
        try:
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):  # closed meanwhile: nothing more to read
            return False

    def _handle(self, data: bytes, anc: list[tuple[int, int, bytes]]) -> None:
        ip = split_ip(data)
        if ip is None:
            return
        src, dst, body = ip
        pkt = parse(body)
        if pkt is None or not pkt.chunks:
            self.dropped += 1  # RFC 9260 6.8: a packet with a wrong checksum is discarded silently
            return
        self.arrived = None
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(raw) >= 16:
                sec, usec = struct.unpack("@qq", raw[:16])
                self.arrived = sec + usec / 1e6
        if self.on_seen is not None:
            self.on_seen(src, dst, pkt, self.arrived)
        key = (src, pkt.sport, pkt.dport)
        kind = pkt.chunks[0][0]
        if key in self.assocs and kind == INIT and pkt.dport in self.listeners:
            del self.assocs[key]  # the peer restarted (a rebooted unit) with the same port: start afresh
        if key in self.assocs:
            self.assocs[key].receive(pkt)
            return
        if pkt.dport not in self.listeners:
            return  # another endpoint's packet (a raw socket sees them all), or a port nobody serves
        now = time.time()
        if kind == INIT and pkt.vtag == 0:
            self._sender(src, dst)(self.cookies.init_ack(pkt, now))
        elif kind == COOKIE_ECHO:
            opened = self.cookies.open(pkt.chunks[0][2], now)
            if opened is None or opened[1] != pkt.vtag:
                self.dropped += 1
                return
            peer_tag, my_tag, peer_tsn, my_tsn = opened
            on_data, on_state = self.listeners[pkt.dport]
            a = Association(pkt.dport, pkt.sport, self._sender(src, dst), on_data, on_state, peer=src, local=dst,
                            my_tag=my_tag, peer_tag=peer_tag, next_tsn=my_tsn,
                            peer_cum=(peer_tsn - 1) & 0xFFFFFFFF, **self.assoc_opts)  # type: ignore[arg-type]  # fmt: skip
            for k, old in list(
                self.assocs.items()
            ):  # one association per unit and port: the new one replaces it
                if k[0] == src and k[2] == pkt.dport:
                    del self.assocs[k]
                    old._close("closed", "replaced by a new association from the same address")
            self.assocs[key] = a
            a._out(peer_tag, [chunk(COOKIE_ACK, 0, b"")])
            a._established()
            rest = Packet(pkt.sport, pkt.dport, pkt.vtag, pkt.chunks[1:])
            if rest.chunks:  # DATA bundled with the COOKIE-ECHO
                a.receive(rest)
        elif kind == ABORT:
            return
        # else: out of the blue (RFC 9260 8.4); a bench endpoint stays quiet rather than ABORT someone else's

    def close(self) -> None:
        with self.lock:
            for a in list(self.assocs.values()):
                if a.state == "established":
                    a.abort("the endpoint is closing")
        self._closing = True
        self._poke()
        self._thread.join(timeout=2)
        self.sock.close()
        for end in self._wake:
            end.close()


def kernel_sctp() -> bool:
    """This kernel has SCTP sockets."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP).close()
        return True
    except OSError:
        return False


def kernel_send(sock: socket.socket, ppid: int, payload: bytes, stream: int = 0) -> None:
    """One message on a kernel SCTP socket with its PPID (struct sctp_sndrcvinfo; the PPID travels as given)."""
    info = struct.pack("@HHHIIIIIi", stream, 0, 0, socket.htonl(ppid), 0, 0, 0, 0, 0)
    sock.sendmsg([payload], [(IPPROTO_SCTP, SCTP_SNDRCV, info)])


def kernel_recv(sock: socket.socket) -> tuple[int, int, bytes]:
    """(stream, ppid, message) from a kernel SCTP socket set up by `kernel_subscribe`; b'' when closed."""
    data, anc, _, _ = sock.recvmsg(65535, socket.CMSG_SPACE(32))
    stream, ppid = 0, 0
    for level, kind, raw in anc:
        if level == IPPROTO_SCTP and kind == SCTP_SNDRCV and len(raw) >= 12:
            stream, _, _, ppid_n = struct.unpack("@HHHI", raw[:12])
            ppid = socket.ntohl(ppid_n)
    return stream, ppid, data


def kernel_subscribe(sock: socket.socket) -> None:
    """Ask for the PPID with every message (sctp_event_subscribe.sctp_data_io_event)."""
    sock.setsockopt(IPPROTO_SCTP, SCTP_EVENTS, b"\x01")

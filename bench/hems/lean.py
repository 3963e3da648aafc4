"""The HeMS's lean HTTP/1.1 path: a plain request (Content-Length framing, no encoding, no Expect) is read and
answered here at a fifth of aiohttp's cost per request; at the first request that is anything else, the
connection is handed to aiohttp, which serves it from that request on exactly as it serves any other.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import NamedTuple, cast

# What aiohttp accepts by default (max_line_size, max_field_size); a longer head goes to aiohttp to refuse.
MAX_HEAD = 8190
_REQUEST_LINE = re.compile(rb"(GET|POST) (/[A-Za-z0-9/._~?=&-]*) HTTP/1\.1")
_START, _GET = b"POST ", b"GET /"
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ ]*([\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?[ ]*")
# Framing, encodings and protocol switches this path does not implement: aiohttp serves those requests.
_AIOHTTP_HEADERS = frozenset({b"transfer-encoding", b"content-encoding", b"expect", b"upgrade", b"te"})
_NO_BODY = frozenset({204, 304})
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class LeanRequest(NamedTuple):
    method: str
    path_qs: str
    authorization: str | None
    cookies: list[str]
    body: bytes
    close: bool
    missing: int = 0
    """Bytes of the Content-Length the peer never sent: it ended the connection first."""


Answer = Callable[[LeanRequest, str], Awaitable[tuple[int, bytes, dict[str, str]]]]
"""(request, peer) -> (HTTP status, body, headers): the HeMS's handling of one request."""


class _HandOver:
    """The request at the buffer's start is one for aiohttp."""


HAND_OVER = _HandOver()


def take_request(buf: bytearray, max_body: int, eof: bool = False) -> LeanRequest | _HandOver | None:
    """The complete plain request at the start of `buf` (removed from it), HAND_OVER for any other request,
    or None while the request is still incomplete. After the peer's EOF (`eof`), a request whose body was cut
    short is returned with `missing` set."""
    if not buf:
        return None
    end = buf.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
    if end < 0:
        # What is not the start of a request line here goes to aiohttp at once (TLS to a plain port, say).
        eol = buf.find(b"\r\n")
        first = bytes(buf[:eol] if eol >= 0 else buf[:5])
        started = (
            _REQUEST_LINE.fullmatch(first) if eol >= 0 else _START.startswith(first) or _GET.startswith(first)
        )
        return HAND_OVER if len(buf) > MAX_HEAD or not started else None
    lines = bytes(buf[:end]).split(b"\r\n")
    line = _REQUEST_LINE.fullmatch(lines[0])
    # Dot segments and a leading "//" would make aiohttp's path_qs differ from the bytes sent.
    if line is None or b"/." in line[2] or line[2].startswith(b"//"):
        return HAND_OVER
    length: int | None = None
    authorization: str | None = None
    cookies: list[str] = []
    close = False
    for raw in lines[1:]:
        header = _HEADER.fullmatch(raw)
        if header is None:
            return HAND_OVER
        name, value = header[1].lower(), header[2] or b""
        if name == b"content-length":
            if length is not None or not value.isdigit() or len(value) > 9:
                return HAND_OVER
            length = int(value)
        elif name in _AIOHTTP_HEADERS:
            return HAND_OVER
        elif name == b"authorization":
            if authorization is None:
                authorization = value.decode("ascii")
        elif name == b"cookie":
            cookies.append(value.decode("ascii"))
        elif name == b"connection":
            if value.lower() == b"close":
                close = True
            elif value.lower() != b"keep-alive":
                return HAND_OVER
    length = length or 0
    if length > max_body:
        return HAND_OVER
    total = end + 4 + length
    if len(buf) < total and not eof:
        return None
    body = bytes(buf[end + 4 : total])
    del buf[:total]
    method, path_qs = line[1].decode("ascii"), line[2].decode("ascii")
    return LeanRequest(method, path_qs, authorization, cookies, body, close, length - len(body))


def response(status: int, body: bytes, headers: dict[str, str], close: bool) -> bytes:
    """One HTTP/1.1 response, head and body."""
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if status not in _NO_BODY:
        head.append(f"Content-Length: {len(body)}")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (b"" if status in _NO_BODY else body)


class Connections:
    """The connections of one HeMS, every one of which starts on the lean path: those still on it (closed at
    stop), and how many each peer has open on either path, with a wait for a peer to have none that each
    closing connection wakes."""

    def __init__(self) -> None:
        self.lean: set[LeanHttp] = set()  # touched in the event loop's thread only
        self._open: dict[str, int] = {}
        self._changed = threading.Condition()

    def opened(self, conn: LeanHttp) -> None:
        self.lean.add(conn)
        with self._changed:
            self._open[conn.peer] = self._open.get(conn.peer, 0) + 1

    def closed(self, peer: str) -> None:
        with self._changed:
            left = self._open.get(peer, 0) - 1
            if left > 0:
                self._open[peer] = left
            else:
                self._open.pop(peer, None)
            self._changed.notify_all()

    def wait_none(self, peer: str, timeout: float) -> bool:
        """Whether `peer` has no connection open, waiting up to `timeout` s for its last one to close."""
        with self._changed:
            return self._changed.wait_for(lambda: peer not in self._open, timeout)


class _Handed(asyncio.Protocol):
    """A connection handed to aiohttp: its RequestHandler, told everything the transport tells, and `closed`
    once the connection is lost."""

    def __init__(self, handler: asyncio.Protocol, closed: Callable[[], None]) -> None:
        self._handler = handler
        self._closed = closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self._handler.eof_received()

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            self._handler.connection_lost(exc)
        finally:
            self._closed()


class LeanHttp(asyncio.Protocol):
    """One connection: its plain requests answered in order by `answer`; handed to `aiohttp()` (a new aiohttp
    RequestHandler) at the first other request, or when the peer ends the connection within a request."""

    def __init__(
        self, answer: Answer, aiohttp: Callable[[], asyncio.Protocol], max_body: int, conns: Connections
    ) -> None:
        self._answer = answer
        self._aiohttp = aiohttp
        self._max_body = max_body
        self._conns = conns
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._peer = "?"
        self._task: asyncio.Task[None] | None = None
        self._eof = False
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else "?"
        self._conns.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._conns.lean.discard(self)
        self._conns.closed(self._peer)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > MAX_HEAD + self._max_body and self._transport is not None and not self._paused:
            # More than the largest plain request: pipelined ahead of the answers; read on as they go out.
            self._transport.pause_reading()
            self._paused = True
        self._next()

    def eof_received(self) -> bool:
        self._eof = True
        if self._task is None:
            self._next()
        return self._task is not None  # keep the write side open for the answer being worked on

    @property
    def peer(self) -> str:
        return self._peer

    def close(self) -> asyncio.Task[None] | None:
        """Close the connection (the HeMS stopping); returns the request task still running, cancelled."""
        if self._transport is not None:
            self._transport.close()
        if self._task is not None:
            self._task.cancel()
        return self._task

    def _next(self) -> None:
        if self._task is not None or self._transport is None or self._transport.is_closing():
            return
        request = take_request(self._buf, self._max_body, self._eof)
        if request is None:
            if self._eof:
                self._transport.close()  # nothing, or a request's head cut short: aiohttp drops those too
            return
        if isinstance(request, _HandOver):
            self._hand_over()
            return
        if self._paused and len(self._buf) <= MAX_HEAD + self._max_body:
            self._transport.resume_reading()
            self._paused = False
        self._task = asyncio.get_running_loop().create_task(self._serve(request))

    async def _serve(self, request: LeanRequest) -> None:
        try:
            status, body, headers = await self._answer(request, self._peer)
        finally:
            self._task = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if status == 0:  # the HeMS fails the session on purpose: the connection closed, nothing answered
            transport.close()
            return
        close = request.close or (self._eof and not self._buf)
        transport.write(response(status, body, headers, close))
        if close:
            transport.close()
        else:
            self._next()

    def _hand_over(self) -> None:
        transport = self._transport
        assert transport is not None
        if self._paused:
            transport.resume_reading()  # aiohttp keeps its own account of pausing
        peer = self._peer
        handler = _Handed(self._aiohttp(), lambda: self._conns.closed(peer))
        self._conns.lean.discard(self)
        self._transport = None
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self._buf:
            handler.data_received(bytes(self._buf))
        self._buf.clear()
        if self._eof:
            handler.eof_received()
            transport.close()  # as the transport does after an EOF aiohttp does not keep open

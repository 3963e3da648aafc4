"""The reference HeMS (TR-069 ACS) on aiohttp, served from its own event loop thread.

Test code queues RPCs per unit (its DeviceKey: OUI, ProductClass, SerialNumber), waits for Informs and results, and sends connection requests;
every message goes to the timeline and the transcript.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import gc
import itertools
import os
import re
import secrets
import socket
import ssl
import struct
import tempfile
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

from bench import cwmp
from bench.cwmp import CwmpFault, CwmpParseError, DeviceKey, Envelope, GpvResult, RpcResult, SpvResult
from bench.errors import DeviceError, InfraError
from bench.events import HemsKind, Source
from bench.hems.connreq import CONNECTION_REQUEST_URL_PARAMS, ConnReqResult, CrPolicy, connection_request
from bench.hems.failures import CLOSE, SessionFailure, SessionFailures, SessionStarts
from bench.hems.hooks import InformHook, InformHooks
from bench.hems.lean import LeanHttp, LeanRequest
from bench.hems.tls import CertChoice, serve_tls
from bench.httpauth import Authenticator
from bench.timeline import Bound, Event, Timeline, bound_note

__all__ = [
    "CrPolicy",
    "CwmpFault",
    "DeviceKey",
    "GpvResult",
    "Hems",
    "RpcCall",
    "RpcResult",
    "SpvResult",
    "Unit",
]

COOKIE = "hems_session"
# SOAP 1.1 section 6.2 puts faults in HTTP 500 responses; TR-069 does not override it in what we could read.
FAULT_HTTP_STATUS = 500
TEXT_XML = 'text/xml; charset="utf-8"'
CPE_REQUESTS = ("TransferComplete", "AutonomousTransferComplete", "GetRPCMethods", "RequestDownload")
_INFORM_TAG = re.compile(rb"<(?:[\w.-]+:)?Inform[\s/>]")
# A full garbage collection walks every object the process holds, the whole timeline of the run included, so its
# pause grows with the run (140 ms after 40,000 sessions). While a HeMS serves, what the process holds is frozen
# (gc.freeze) when it starts and every this many events it records: a full collection walks only what came since.
# stop() gives it all back (gc.unfreeze), so what died meanwhile in a reference cycle is collected after all.
FREEZE_EVERY = 10_000
MAX_HTTP_BODY = 4 * cwmp.MAX_BODY
Unit = DeviceKey | str
"""A unit as the HeMS knows it: its DeviceKey, or a SerialNumber alone (shorthand for any OUI and ProductClass)."""


_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{0,64}")
_ID_MARK = "hems-id-mark"


@functools.cache
def _inform_response_halves(
    ns: str, with_id: bool, hold_requests: bool | None, session_timeout: int | None, use_version: str | None
) -> tuple[bytes, bytes]:
    out = cwmp.inform_response(
        ns, _ID_MARK if with_id else None, 1, hold_requests, session_timeout, use_version
    )
    head, _, tail = out.partition(_ID_MARK.encode())
    return head, tail


def inform_response(
    ns: str,
    cwmp_id: str | None,
    hold_requests: bool | None,
    session_timeout: int | None,
    use_version: str | None,
) -> bytes:
    """cwmp.inform_response (MaxEnvelopes 1) from a template per header set: an ID of letters, digits and
    `_.:-` needs no escaping and goes between its halves (a tenth of the time lxml takes to build it)."""
    if cwmp_id is not None and not _PLAIN_ID.fullmatch(cwmp_id):
        return cwmp.inform_response(ns, cwmp_id, 1, hold_requests, session_timeout, use_version)
    head, tail = _inform_response_halves(ns, cwmp_id is not None, hold_requests, session_timeout, use_version)
    return head + (cwmp_id or "").encode() + tail


def matches(unit: Unit, key: DeviceKey) -> bool:
    """Whether `unit` (a DeviceKey, or a serial number alone) names the device `key`."""
    return unit == key if isinstance(unit, DeviceKey) else unit == key.serial_number


class Transcript:
    """Every HTTP message in and out, appended to an unlinked temporary file as it happens.

    Only the offset of each entry stays in memory (8 bytes), so a long or busy run neither grows the heap nor
    gives the garbage collector more to walk; `read` returns the entries as dicts, as they were received.
    """

    _HEAD = struct.Struct(
        "<dhBHI"
    )  # time, HTTP status (-1: none), direction (0 in, 1 out), peer len, body len

    def __init__(self) -> None:
        # Open for the HeMS's lifetime (transcript() works after stop); closed when the HeMS is collected.
        self._file = tempfile.TemporaryFile(buffering=1 << 16, prefix="hems-transcript-")  # noqa: SIM115
        self._offsets = array("q")
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, t: float, direction: str, peer: str, status: int | None, body: bytes) -> None:
        peer_b = peer.encode("utf-8", errors="replace")
        head = self._HEAD.pack(
            t, -1 if status is None else status, direction == "out", len(peer_b), len(body)
        )
        with self._lock:
            self._offsets.append(self._size)
            self._file.write(head + peer_b + body)
            self._size += len(head) + len(peer_b) + len(body)

    def exchange(self, t_in: float, t_out: float, peer: str, status: int, body: bytes, out: bytes) -> None:
        """A request and its answer, one after the other."""
        peer_b = peer.encode("utf-8", errors="replace")
        head_in = self._HEAD.pack(t_in, status, False, len(peer_b), len(body))
        head_out = self._HEAD.pack(t_out, status, True, len(peer_b), len(out))
        with self._lock:
            self._offsets.append(self._size)
            self._size += len(head_in) + len(peer_b) + len(body)
            self._offsets.append(self._size)
            self._size += len(head_out) + len(peer_b) + len(out)
            self._file.write(b"".join((head_in, peer_b, body, head_out, peer_b, out)))

    def read(self, since: int = 0) -> list[dict[str, Any]]:
        """Entries from index `since` (list-slice semantics: negative counts from the end)."""
        with self._lock:
            start = slice(since, None).indices(len(self._offsets))[0]
            if start >= len(self._offsets):
                return []
            self._file.flush()
            offset = self._offsets[start]
            data = os.pread(self._file.fileno(), self._size - offset, offset)
        entries: list[dict[str, Any]] = []
        pos, head = 0, self._HEAD
        while pos < len(data):
            t, status, out, peer_len, body_len = head.unpack_from(data, pos)
            pos += head.size
            peer = data[pos : pos + peer_len].decode("utf-8", errors="replace")
            pos += peer_len
            xml = data[pos : pos + body_len].decode("utf-8", errors="replace")
            pos += body_len
            entries.append(
                {
                    "t": t,
                    "direction": "out" if out else "in",
                    "peer": peer,
                    "status": None if status < 0 else status,
                    "xml": xml,
                }
            )
        return entries

    def close(self) -> None:
        with self._lock:
            self._file.close()


def _sent_fields(method: str, args: dict[str, Any]) -> dict[str, Any]:
    """What a check needs of an RPC the HeMS sent, on its rpc-sent event: the values and ParameterKey of a
    SetParameterValues (a judge reads them from the timeline, as it reads them from a capture's request); a
    Download's URL, CommandKey, FileType and Username (its password is not kept)."""
    if method == "Download":
        return {k: args.get(k) for k in ("url", "command_key", "file_type", "username")}
    if method != "SetParameterValues":
        return {}
    return {
        "values": {str(p[0]): str(p[1]) for p in args.get("params", ())},
        "parameter_key": args.get("parameter_key", ""),
    }


class RpcCall:
    """One ACS RPC queued for a unit; `result()` blocks until the unit answers it."""

    def __init__(self, hems: Hems, unit: Unit, method: str, args: dict[str, Any]) -> None:
        self.hems = hems
        self.unit = unit
        self.method = method
        self.args = args
        self.id: str | None = None
        self._done = threading.Event()
        self._result: RpcResult | None = None
        self._error: str | None = None

    def build(self, ns: str, hold_requests: bool | None = None) -> bytes:
        return cwmp.request(ns, self.id, self.method, self.args, hold_requests)

    def resolve(self, result: RpcResult) -> None:
        self._result = result
        self._done.set()

    def fail(self, error: str) -> None:
        """The unit's answer could not be read: `result()` raises DeviceError quoting `error` at once."""
        self._error = error
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float) -> RpcResult:
        """The typed response, or the unit's CwmpFault; DeviceError when nothing came in time."""
        if not self._done.wait(timeout):
            state = f"sent as ID {self.id}, no answer" if self.id else "never sent: no session from the unit"
            raise DeviceError(
                f"HeMS {self.hems.name}: timed out after {timeout:g} s{bound_note(timeout)} waiting for the {self.method} "
                f"response from unit {self.unit} ({state}); {self.hems.last_from(self.unit)}"
            )
        if self._error is not None:
            raise DeviceError(
                f"HeMS {self.hems.name}: unit {self.unit} answered {self.method} (ID {self.id}) with a message "
                f"the HeMS could not read: {self._error}"
            )
        assert self._result is not None
        return self._result


@dataclass
class _Session:
    token: str
    device: DeviceKey
    ns: str
    peer: str
    version: str
    user: str | None = None
    pending: RpcCall | None = None
    held: bool = False
    ended: bool = False


class Hems:
    """A TR-069 ACS for tests. Thread-safe: the public methods are called from test threads.

    `idle_wait` holds an empty POST that many seconds for an RPC to be queued before ending the session.
    `auth` makes the HeMS challenge every new session; `tls` serves HTTPS (one context, or one per peer). `hold_requests` sets HoldRequests
    while the HeMS has RPCs for the unit. `session_timeout` (CWMP 1.3) goes into InformResponse in the 1-2
    namespace. `max_version` caps the version the HeMS agrees to use (CWMP 1.4 UseCWMPVersion).
    `on_inform(hems, device_key, events, params)` runs in the server thread before the InformResponse is sent,
    then the hooks registered for that device in `inform_hooks` (bench/hems/hooks.py).
    """

    def __init__(
        self,
        name: str,
        timeline: Timeline,
        session_end_status: int = 204,
        idle_wait: float = 0.0,
        *,
        auth: Authenticator | None = None,
        tls: ssl.SSLContext | CertChoice | None = None,
        hold_requests: bool = False,
        session_timeout: int | None = None,
        max_version: str = "1.4",
        on_inform: InformHook | None = None,
    ) -> None:
        if max_version not in cwmp.CWMP_VERSIONS:
            raise ValueError(f"max_version {max_version!r}: expected one of {', '.join(cwmp.CWMP_VERSIONS)}")
        self.name = name
        self.timeline = timeline
        self.session_end_status = session_end_status
        self.idle_wait = idle_wait
        self.auth = auth
        self.tls = tls
        self.hold_requests = hold_requests
        self.session_timeout = session_timeout
        self.max_version = max_version
        self.on_inform = on_inform
        self.inform_hooks = InformHooks()
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._by_peer: dict[str, str] = {}
        self._by_device: dict[DeviceKey, str] = {}
        self._queues: dict[Unit, deque[RpcCall]] = {}
        self._last: dict[DeviceKey, str] = {}
        self._cr_urls: dict[DeviceKey, str] = {}
        self._transcript = Transcript()
        self._ids = itertools.count(1)
        self._recorded = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None
        self._lean_conns: set[LeanHttp] = set()
        self._tls_accepts: list[asyncio.Task[None]] = []
        self.failures = SessionFailures()
        self.starts = SessionStarts()

    # ---- lifecycle ----

    def start(self, sock: socket.socket) -> None:
        """Serve HTTP (HTTPS with `tls`) on a bound, listening socket from a background thread."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            # libuv's loop: about 15% less CPU per session than asyncio's own (benchmarks/bench_hems.py).
            loop = uvloop.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"hems-{self.name}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise InfraError(f"HeMS {self.name} did not start: {failure[0]!r}")
        gc.freeze()

    def listen(self, sock: socket.socket, tls: ssl.SSLContext | CertChoice | None = None) -> None:
        """Serve on one more bound, listening socket (HTTPS with `tls`: one context, or one chosen per peer,
        bench.hems.tls.PeerCertificates), once started: one HeMS, one transcript and one set of queues on two
        addresses (an Initial HeMS both private and public)."""
        if self._loop is None or self._runner is None:
            raise InfraError(f"HeMS {self.name} is not running")
        if tls is not None:
            server = self._runner.server
            assert server is not None
            self._loop.call_soon_threadsafe(self._accept_tls, sock, tls, server)
            return
        site = web.SockSite(self._runner, sock, backlog=1024)
        asyncio.run_coroutine_threadsafe(site.start(), self._loop).result(10)

    def _accept_tls(
        self,
        sock: socket.socket,
        tls: ssl.SSLContext | CertChoice,
        protocol: Callable[[], asyncio.BaseProtocol],
    ) -> None:
        """HTTPS on `sock`, each handshake done by the HeMS (bench.hems.tls.serve_tls): one that fails is a
        `tls-handshake-failed` event naming the peer, the alert it sent (a unit refusing the certificate) and
        the certificate that handshake was shown (`own`, or the name the bench gave one it shows that peer)."""

        def failed(peer: str, reason: str, alert: str | None, cert: str) -> None:
            self._event(HemsKind.TLS_FAILED, peer, reason=reason, alert=alert, cert=cert or "own")

        self._tls_accepts.append(asyncio.ensure_future(serve_tls(sock, tls, protocol, failed)))

    async def _serve(self, sock: socket.socket) -> None:
        # A generous HTTP cap: the CWMP size limit is enforced by the codec, which records the reason.
        app = web.Application(client_max_size=MAX_HTTP_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        # Plain requests take the lean path; a connection is aiohttp's from its first other request on.
        aiohttp = self._runner.server
        assert aiohttp is not None

        def lean() -> LeanHttp:
            return LeanHttp(self._lean, aiohttp, MAX_HTTP_BODY, self._lean_conns)

        if self.tls is not None:
            self._accept_tls(sock, self.tls, lean)
            return
        self._server = await asyncio.get_running_loop().create_server(lean, sock=sock, backlog=1024)

    async def _cleanup(self) -> None:
        if self._server is not None:
            self._server.close()
        for accepting in self._tls_accepts:
            accepting.cancel()
        await asyncio.gather(*self._tls_accepts, return_exceptions=True)
        tasks = [task for conn in list(self._lean_conns) if (task := conn.close()) is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        # What is still going (a connection request) is cancelled, not left pending in a closed loop: its
        # caller's future ends now (request_connection: InfraError).
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def stop(self) -> None:
        """Stop serving and join the thread; safe to call twice."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        gc.unfreeze()

    # ---- test-facing API ----

    def wait_closed(self, peer: str, timeout: float) -> bool:
        """Wait until `peer` has no connection open to this HeMS (a unit closes its session's connection once
        it has the HeMS's last answer); False if one is still open after `timeout`. A bench action that cuts
        the unit's path (an address change) waits for this, so no answer still on its way is lost."""
        loop = self._loop
        if loop is None:
            return True

        async def open_from() -> bool:
            server = self._runner.server if self._runner is not None else None
            handed = [h.transport for h in server.connections] if server is not None else []
            peers = [c.peer for c in self._lean_conns] + [
                str((t.get_extra_info("peername") or ("?",))[0]) for t in handed if t is not None
            ]
            return peer in peers

        deadline = time.monotonic() + timeout
        while asyncio.run_coroutine_threadsafe(open_from(), loop).result(5):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def fail_sessions(
        self, unit: Unit, events: Sequence[str] = (), how: str = "503", count: int = 1
    ) -> SessionFailure:
        """Fail the next `count` sessions of `unit` whose Inform carries one of `events` (any Inform when
        empty): HTTP 503, or (`how` "close") the connection closed unanswered, as a HeMS restarting does.
        Each is recorded as a session-failed-on-purpose event; the rule returned lists them."""
        return self.failures.arm(SessionFailure(unit, tuple(events), how, count))

    def queue_rpc(self, unit: Unit, method: str, **args: Any) -> RpcCall:
        """Queue an RPC for `unit`: sent in its open session if there is one, else in its next.

        The arguments are those of bench.cwmp.ACS_RPCS (e.g. SetParameterValues: params, parameter_key).
        """
        call = RpcCall(self, unit, method, cwmp.rpc_args(method, args))
        with self._lock:
            self._queues.setdefault(unit, deque()).append(call)
        return call

    def drop_queued(self, unit: Unit) -> int:
        """Forget RPCs still queued for `unit` (a new boot is primed afresh); returns how many."""
        with self._lock:
            dropped = len(self._queues.pop(unit, ()))
        return dropped

    def call(
        self,
        unit: Unit,
        method: str,
        timeout: float = 30.0,
        connection_request: bool = False,
        cr_username: str = "",
        cr_password: str = "",
        **args: Any,
    ) -> RpcResult:
        """Run an RPC on the unit; return its typed result or CwmpFault (a fault is a result, not an error).

        Queued for the unit's current or next session; with `connection_request`, the HeMS also asks the
        unit to open a session now (once). DeviceError on timeout, naming the RPC and what the unit last sent.
        """
        cr = CrPolicy(cr_username, cr_password) if connection_request else None
        return self.session(unit, [(method, args)], timeout, cr)[0]

    def session(
        self,
        unit: Unit,
        rpcs: Sequence[tuple[str, dict[str, Any]]],
        timeout: float = 30.0,
        cr: CrPolicy | None = None,
        purpose: str = "",
    ) -> list[RpcResult]:
        """Run RPCs on the unit in one session, in order, and return their results in order.

        Queued together for the unit's current or next session; with `cr`, one connection request opens it
        (sent again as `cr` says while the unit refuses; `purpose` labels the requests on the timeline).
        `timeout` bounds the session's start and each response. DeviceError at the first RPC that gets no
        readable answer; the RPCs not sent by then are withdrawn, so no later session gets them.
        """
        calls = [self.queue_rpc(unit, method, **args) for method, args in rpcs]
        t0 = time.monotonic()
        try:
            if cr is not None and calls:
                self.connect(
                    unit,
                    cr.username,
                    cr.password,
                    timeout=timeout,
                    call=calls[0],
                    attempts=cr.attempts,
                    retry_after=cr.retry_after,
                    purpose=purpose,
                )
            results = []
            for i, call in enumerate(calls):
                left = max(0.0, timeout - (time.monotonic() - t0)) if i == 0 else float(timeout)
                results.append(call.result(Bound(left, timeout.key) if isinstance(timeout, Bound) else left))
            return results
        except DeviceError:
            with self._lock:
                queue = self._queues.get(unit)
                for call in calls:
                    if queue and call in queue:
                        queue.remove(call)
            raise

    def wait_inform(
        self, unit: Unit, events: Iterable[str] = (), timeout: float = 30.0, since: int = 0
    ) -> Event:
        """The first Inform (timeline event) from `unit` since `since` carrying all of `events`."""
        wanted = list(events)
        try:
            return self.timeline.wait_for(self._inform_match(unit, wanted), timeout, "an Inform", since=since)
        except DeviceError:
            what = f"an Inform with [{', '.join(wanted)}]" if wanted else "an Inform"
            raise DeviceError(
                f"HeMS {self.name}: timed out after {timeout:g} s{bound_note(timeout)} waiting for {what} "
                f"from unit {unit}; "
                f"{self.last_from(unit)}"
            ) from None

    def _inform_match(self, unit: Unit, wanted: list[str]) -> Callable[[Event], bool]:
        def match(e: Event) -> bool:
            d = e.data
            return (
                e.source == "hems"
                and e.kind == "inform"
                and d.get("hems") == self.name
                and matches(
                    unit, DeviceKey(d.get("oui", ""), d.get("product_class", ""), d.get("serial", ""))
                )
                and all(code in e.data.get("events", ()) for code in wanted)
            )

        return match

    def connection_request_url(self, unit: Unit) -> str | None:
        """The ConnectionRequestURL the unit last reported in an Inform (by a serial alone: the device with
        that serial that reported one last)."""
        with self._lock:
            found = [url for key, url in self._cr_urls.items() if matches(unit, key)]
        return found[-1] if found else None

    def request_connection(
        self,
        unit: Unit,
        username: str,
        password: str,
        url: str | None = None,
        timeout: float = 10.0,
        credentials: bool = True,
        **note: Any,
    ) -> ConnReqResult:
        """Send a connection request (HTTP GET with Digest) to the unit; the result goes on the timeline
        (with `note`, e.g. attempt and purpose). Without `credentials`, none are sent even when challenged."""
        url = url or self.connection_request_url(unit)
        if not url:
            raise DeviceError(
                f"HeMS {self.name}: no ConnectionRequestURL for unit {unit}; {self.last_from(unit)}"
            )
        if self._loop is None or self._thread is None:
            raise InfraError(f"HeMS {self.name} is not running")
        loop = self._loop
        fut = asyncio.run_coroutine_threadsafe(
            connection_request(url, username, password, timeout, credentials), loop
        )
        try:
            result = fut.result(timeout + 5)
        except (TimeoutError, concurrent.futures.CancelledError):
            # The request bounds itself (`timeout`): no result means the HeMS stopped while it was going (a
            # factory reset's request, sent from a thread of its own, can outlive its run's HeMS).
            if not loop.is_closed():
                fut.cancel()
            raise InfraError(
                f"HeMS {self.name}: connection request to {url}: no result (the HeMS stopped while it was going)"
            ) from None
        self._event(
            HemsKind.CONNECTION_REQUEST,
            url,
            serial=unit.serial_number if isinstance(unit, DeviceKey) else unit,
            url=url,
            status=result.status,
            error=result.error,
            auth=result.auth,
            elapsed=round(result.elapsed, 4),
            **({"retry_after_header": result.retry_after} if result.retry_after else {}),
            **note,
        )
        return result

    def connect(
        self,
        unit: Unit,
        username: str,
        password: str,
        url: str | None = None,
        timeout: float = 30.0,
        call: RpcCall | None = None,
        attempts: int = 1,
        retry_after: float = 10.0,
        purpose: str = "",
    ) -> Event:
        """Connection request, then wait for the Inform with `6 CONNECTION REQUEST`; returns that Inform.

        With `call` (the first RPC the request is for), the wait also ends when that RPC went out in a session
        the unit still had open (or opened by itself): a unit slow to end its last session gets it there, and
        may never send that Inform (a Reboot, say). A request the unit refuses (a status other than 200/204,
        no answer, or no session within `timeout`) is sent again `retry_after` s later, up to `attempts`
        requests. Each is a `connection-request` event (`attempt`, `attempts`, `purpose`); an accepted one that
        no session followed is also a `connection-request-unanswered` event. DeviceError then names what the
        unit answered each time."""
        seen: list[str] = []
        key = unit.serial_number if isinstance(unit, DeviceKey) else unit
        refused = False
        result: ConnReqResult | None = None
        # A late session from an earlier attempt counts too: everything is awaited since the first.
        mark = self.timeline.mark()
        for attempt in range(1, attempts + 1):
            note: dict[str, Any] = (
                {"attempt": attempt, "attempts": attempts, "purpose": purpose}
                if attempts > 1 or purpose
                else {}
            )
            result = self.request_connection(
                unit, username, password, url, timeout=min(timeout, 10.0), **note
            )
            if result.ok:
                try:
                    return self._session_opened(unit, timeout, call, mark)
                except DeviceError:
                    refused = False
                    seen.append(f"HTTP {result.status}, then no session within {timeout:g} s")
                    self._event(
                        HemsKind.CONNECTION_REQUEST_UNANSWERED,
                        result.url,
                        serial=key,
                        waited=float(timeout),
                        **note,
                    )
            else:
                refused = True
                seen.append(f"HTTP {result.status}" if result.status is not None else result.error)
            if attempt < attempts:
                # A unit may open a session by itself meanwhile (a periodic Inform): the call goes out there.
                try:
                    wait = f"{retry_after:g} s before connection request {attempt + 1} of {attempts}"
                    return self.timeline.wait_for(self._sent(call), retry_after, wait, since=mark)
                except DeviceError:
                    pass
        assert result is not None
        tries = (
            f" ({attempts} connection requests {retry_after:g} s apart: {'; '.join(seen)})"
            if attempts > 1
            else ""
        )
        if refused:
            got = f"HTTP {result.status}" if result.status is not None else result.error
            raise DeviceError(
                f"HeMS {self.name}: connection request to unit {unit} at {result.url} answered {got}, "
                f"expected HTTP 200 or 204{tries}; {self.last_from(unit)}"
            )
        raise DeviceError(
            f"HeMS {self.name}: timed out after {timeout:g} s{bound_note(timeout)} waiting for an Inform with "
            f"[6 CONNECTION REQUEST] from unit {unit}{tries}; {self.last_from(unit)}"
        )

    @staticmethod
    def _sent(call: RpcCall | None) -> Callable[[Event], bool]:
        """The event of `call` going out to the unit (never, without a call)."""
        return lambda e: (
            call is not None and e.kind == "rpc-sent" and call.id is not None and e.data.get("id") == call.id
        )

    def _session_opened(self, unit: Unit, timeout: float, call: RpcCall | None, mark: int) -> Event:
        if call is None:
            return self.wait_inform(unit, ["6 CONNECTION REQUEST"], timeout, since=mark)
        inform, sent = self._inform_match(unit, ["6 CONNECTION REQUEST"]), self._sent(call)
        return self.timeline.wait_for(lambda e: inform(e) or sent(e), timeout, "an Inform", since=mark)

    def refusals(self, events: Iterable[Event], limit: int = 3) -> str:
        """Why this HeMS refused a unit among `events` (the unit's view of the timeline), in its own words: TLS
        handshakes the unit did not complete (its alert, the certificate it was shown) and HTTP 401s to
        credentials the HeMS did not accept (the Digest or Basic failure); '' when it refused nothing."""
        said: list[str] = []
        for e in events:
            d = e.data
            if e.source != Source.HEMS or d.get("hems") != self.name:
                continue
            if e.kind == HemsKind.TLS_FAILED:
                shown = (
                    f", shown its {d['cert']} certificate" if d.get("cert") not in (None, "", "own") else ""
                )
                said.append(f"TLS handshake from {d.get('peer')} not completed: {d.get('reason')}{shown}")
            elif e.kind == HemsKind.AUTH_FAILED:
                said.append(f"HTTP 401 to {d.get('peer')}: {d.get('reason')}")
        unique = list(dict.fromkeys(said))
        if not unique:
            return ""
        more = f" and {len(unique) - limit} more" if len(unique) > limit else ""
        return f"{self.name} refused the unit: {' | '.join(unique[:limit])}{more}"

    def last_from(self, unit: Unit) -> str:
        with self._lock:
            found = [what for key, what in self._last.items() if matches(unit, key)]
        return (
            f"last from the unit: {found[-1]}"
            if found
            else f"unit {unit} never sent anything to HeMS {self.name}"
        )

    def transcript(self, since: int = 0) -> list[dict[str, Any]]:
        """Every HTTP message from entry `since` on, each a fresh dict: t, direction (in/out), peer, status
        (of the answer, for both), xml (the body, decoded leniently). A request comes right before its answer.
        """
        return self._transcript.read(since)

    def write_transcript(self, path: Path) -> None:
        t0 = self.timeline.t0
        with path.open("w", encoding="utf-8") as fh:
            for e in self.transcript():
                arrow = "<- from" if e["direction"] == "in" else "-> to"
                fh.write(f"=== +{e['t'] - t0:.3f}s HeMS {self.name} {arrow} {e['peer']} HTTP {e['status']}\n")
                fh.write((e["xml"] or "(empty body)") + "\n\n")

    # ---- HTTP handling ----

    def _note(self, device: DeviceKey | None, what: str) -> None:
        if device is not None:
            with self._lock:
                # Re-inserted so the newest note is last: a serial alone reads the device heard from last.
                self._last.pop(device, None)
                self._last[device] = f"{what} at +{time.time() - self.timeline.t0:.3f}s"

    def _event(self, kind: HemsKind, peer: str, **data: Any) -> Event:
        ev = self.timeline.add(Source.HEMS, kind, hems=self.name, peer=peer, **data)
        if next(self._recorded) % FREEZE_EVERY == 0:
            gc.freeze()
        return ev

    def _session_for(self, cookies: list[str], peer: str) -> _Session | None:
        tokens = []
        for header in cookies:
            # Some CPEs join cookies with commas instead of semicolons.
            for part in header.replace(",", ";").split(";"):
                key, _, value = part.strip().partition("=")
                if key == COOKIE:
                    tokens.append(value.strip().strip('"'))
        with self._lock:
            for token in tokens:
                if token in self._sessions:
                    return self._sessions[token]
            # Stale or missing cookie: a CPE keeps one source address for the whole session.
            return self._sessions.get(self._by_peer.get(peer, ""))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """A request aiohttp read (one the lean path handed over: bench/hems/lean.py)."""
        peer = request.remote or "?"
        t_in = time.time()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            self._event(HemsKind.BAD_MESSAGE, peer, reason=exc.text, size=request.content_length)
            answer = self._finish(t_in, peer, b"", 400, b"bad CWMP message: body too large\n", None, {})
        except (web.RequestPayloadError, ConnectionError) as exc:
            # The unit's fault (a body cut short, a Content-Encoding that does not decode), not the bench's.
            reason = " ".join(f"the body could not be read: {exc}".split())
            self._event(HemsKind.BAD_MESSAGE, peer, reason=reason, size=request.content_length)
            answer = self._finish(t_in, peer, b"", 400, f"bad CWMP message: {reason}\n".encode(), None, {})
        except Exception as exc:  # noqa: BLE001 - a bad request must never take the HeMS down
            self._event(HemsKind.HEMS_ERROR, peer, reason=repr(exc), size=request.content_length)
            answer = self._finish(t_in, peer, b"", 500, b"internal error\n", None, {})
        except BaseException:
            # Cancelled (the server stopping): the request was still received.
            self._transcript.add(t_in, "in", peer, None, b"")
            raise
        else:
            answer = await self._answer(
                request.method,
                request.path_qs,
                request.headers.get("Authorization"),
                request.headers.getall("Cookie", []),
                peer,
                body,
                request.content_length,
                t_in,
            )
        status, out, headers = answer
        if status == CLOSE and request.transport is not None:  # failed on purpose: closed, nothing answered
            request.transport.close()  # aiohttp drops the answer it can no longer write
        return web.Response(status=status, body=out, content_type=None, headers=headers)

    async def _lean(self, request: LeanRequest, peer: str) -> tuple[int, bytes, dict[str, str]]:
        """A request the lean path read (bench/hems/lean.py)."""
        if request.missing:
            length = len(request.body) + request.missing
            reason = f"the body could not be read: the connection ended {request.missing} bytes short of its Content-Length {length}"
            self._event(HemsKind.BAD_MESSAGE, peer, reason=reason, size=length)
            return self._finish(
                time.time(), peer, b"", 400, f"bad CWMP message: {reason}\n".encode(), None, {}
            )
        return await self._answer(
            request.method,
            request.path_qs,
            request.authorization,
            request.cookies,
            peer,
            request.body,
            len(request.body),
            time.time(),
        )

    async def _answer(
        self,
        method: str,
        path_qs: str,
        authorization: str | None,
        cookies: list[str],
        peer: str,
        body: bytes,
        size: int | None,
        t_in: float,
    ) -> tuple[int, bytes, dict[str, str]]:
        """(HTTP status, body, headers) for one request, recorded on the transcript (and timeline)."""
        headers: dict[str, str] = {}
        opens = method == "POST" and _INFORM_TAG.search(body) is not None  # a session's Inform
        try:
            session = self._session_for(cookies, peer)
            user = session.user if session is not None else None
            if method != "POST":
                status, out, cookie = 405, b"CWMP needs POST\n", None
            elif self.auth is not None and (user is None or opens):
                # Every Inform opens a new session and must authenticate; the rest of it rides on the cookie.
                check = self.auth.check(method, path_qs, authorization)
                if check.user is None:
                    kind = (
                        HemsKind.AUTH_CHALLENGE
                        if "no Authorization" in check.reason
                        else HemsKind.AUTH_FAILED
                    )
                    self._event(kind, peer, reason=check.reason, scheme=self.auth.scheme)
                    headers["WWW-Authenticate"] = self.auth.challenge(stale=check.stale)
                    status, out, cookie = 401, b"authentication required\n", None
                else:
                    status, out, cookie = await self._dispatch(peer, body, session, check.user, opens, t_in)
            else:
                status, out, cookie = await self._dispatch(peer, body, session, user, opens, t_in)
            if opens and status == 401:
                self.starts.request(peer, t_in, challenged=True)
        except Exception as exc:  # noqa: BLE001 - a bad request must never take the HeMS down
            # The bench's own bug, kept apart from bad-message so it never reads as the unit's fault.
            self._event(HemsKind.HEMS_ERROR, peer, reason=repr(exc), size=size)
            status, out, cookie = 500, b"internal error\n", None
        except BaseException:
            # Cancelled (the server stopping): the request was still received.
            self._transcript.add(t_in, "in", peer, None, body)
            raise
        return self._finish(t_in, peer, body, status, out, cookie, headers)

    def _finish(
        self,
        t_in: float,
        peer: str,
        body: bytes,
        status: int,
        out: bytes,
        cookie: str | None,
        headers: dict[str, str],
    ) -> tuple[int, bytes, dict[str, str]]:
        # Both written once the answer is known, so a request is always followed by its answer.
        self._transcript.exchange(t_in, time.time(), peer, status, body, out)
        if out:
            headers["Content-Type"] = TEXT_XML if out.startswith(b"<?xml") else "text/plain; charset=utf-8"
        if cookie:
            # The token is hex: no quoting needed (aiohttp's set_cookie goes through the slower SimpleCookie).
            headers["Set-Cookie"] = f"{COOKIE}={cookie}; Path=/"
        return status, out, headers

    async def _dispatch(
        self, peer: str, body: bytes, session: _Session | None, user: str | None, opens: bool, t_in: float
    ) -> tuple[int, bytes, str | None]:
        """Return (HTTP status, body, session cookie to set); `opens`: the body is an Inform, arrived at `t_in`."""
        if opens:
            self.starts.request(peer, t_in, challenged=False)
        if not body.strip():
            if session is None or session.ended:
                # A stray empty POST (after the end, or with no session at all): end again, quietly.
                return self.session_end_status, b"", None
            self._note(session.device, "empty POST")
            return (*await self._next_or_end(session), None)

        device = session.device if session else None
        serial = device.serial_number if device else None
        try:
            env = cwmp.parse_envelope(body)
            if env.defects and env.method != "Inform":
                self._defects(env, peer, device)
            if env.method == "Inform":
                return self._on_inform(env, peer, user)
            if env.method == "Fault" or env.method.endswith("Response"):
                return (*await self._on_response(env, session, peer), None)
            if env.method in CPE_REQUESTS:
                return (*self._on_cpe_request(env, session, peer), None)
        except CwmpParseError as exc:
            self._event(HemsKind.BAD_MESSAGE, peer, reason=str(exc), size=len(body), serial=serial)
            self._note(device, f"a bad message ({exc})")
            return 400, f"bad CWMP message: {exc}\n".encode(), None
        # A CPE request we do not implement: TR-069 answers with ACS fault 8000.
        self._note(device, f"unsupported {env.method}")
        self._event(HemsKind.UNSUPPORTED_RPC, peer, serial=serial, method=env.method, id=env.id)
        return (
            FAULT_HTTP_STATUS,
            cwmp.fault(env.ns, env.id, 8000, f"Method not supported: {env.method}"),
            None,
        )

    def _defects(self, env: Envelope, peer: str, device: DeviceKey | None) -> None:
        """What the codec repaired to read a message: the unit's defect, recorded; the message is answered."""
        for defect in env.defects:
            self._event(
                HemsKind.DEFECT,
                peer,
                serial=device.serial_number if device else None,
                device=str(device) if device else None,
                method=env.method,
                id=env.id,
                reason=defect,
            )
        self._note(device, f"{env.method} with {len(env.defects)} defect(s): {env.defects[0]}")

    def _negotiate(self, env: Envelope) -> tuple[str | None, str | None]:
        """(version to use, UseCWMPVersion to send) or (None, None) when no common version exists."""
        base = {cwmp.CWMP_NAMESPACES[0]: "1.0", cwmp.CWMP_NAMESPACES[1]: "1.1"}.get(env.ns, "1.2")
        if env.supported_versions is None or env.ns != cwmp.CWMP_NAMESPACES[2]:
            return base, None
        common = [
            v for v in env.supported_versions if cwmp.CWMP_VERSIONS.get(v) == env.ns and v <= self.max_version
        ]
        if not common:
            return None, None
        best = max(common)
        return best, best

    def _on_inform(self, env: Envelope, peer: str, user: str | None) -> tuple[int, bytes, str | None]:
        inform = cwmp.read_inform(env)
        dev = inform.device_id
        key = dev.key
        version, use_version = self._negotiate(env)
        codes = [code for code, _ in inform.events]
        self._note(key, f"Inform [{', '.join(codes)}]")
        if version is None:
            offered = ",".join(env.supported_versions or ())
            self._event(HemsKind.VERSION_MISMATCH, peer, serial=dev.serial_number, offered=offered,
                        max_version=self.max_version)  # fmt: skip
            refusal = f"ACS supports up to CWMP {self.max_version}, CPE {offered}"
            return FAULT_HTTP_STATUS, cwmp.fault(env.ns, env.id, 8006, refusal), None
        failure = self.failures.match(key, codes)
        if failure is not None:
            return self._fail_on_purpose(failure, env, inform, peer, user, version)
        session = _Session(secrets.token_hex(16), key, env.ns, peer, version, user)
        for name in CONNECTION_REQUEST_URL_PARAMS:
            if inform.params.get(name):
                with self._lock:
                    self._cr_urls.pop(key, None)  # newest last
                    self._cr_urls[key] = inform.params[name]
        informed = self._inform_event(env, inform, peer, user, version)
        if env.defects:
            self._defects(env, peer, key)
        for hook in self.inform_hooks.of(key, self.on_inform, unit=informed.unit):
            try:
                hook(self, key, codes, inform.params)
            except Exception as exc:  # noqa: BLE001 - a broken script or hook must not break the session
                self._event(HemsKind.HEMS_ERROR, peer, serial=dev.serial_number, reason=f"on_inform: {exc!r}")
        with self._lock:
            # A new Inform opens a new session; whatever this unit had before is over.
            old = self._by_device.get(key)
            if old is not None:
                self._sessions.pop(old, None)
            self._sessions[session.token] = session
            self._by_device[key] = session.token
            self._by_peer[peer] = session.token
            queued = self._queues.get(key) or self._queues.get(key.serial_number)
            session.held = self.hold_requests and bool(queued)
        ns2 = env.ns == cwmp.CWMP_NAMESPACES[2]
        out = inform_response(
            env.ns,
            env.id,
            True if session.held else None,
            self.session_timeout if ns2 else None,
            use_version,
        )
        return 200, out, session.token

    def _inform_event(
        self,
        env: Envelope,
        inform: cwmp.Inform,
        peer: str,
        user: str | None,
        version: str | None,
        **extra: Any,
    ) -> Event:
        """The Inform on the timeline, as it came: DeviceId, events with their CommandKeys, parameters."""
        dev = inform.device_id
        return self._event(
            HemsKind.INFORM,
            peer,
            serial=dev.serial_number,
            oui=dev.oui,
            product_class=dev.product_class,
            manufacturer=dev.manufacturer,
            events=[code for code, _ in inform.events],
            command_keys=[key for _, key in inform.events],
            params=inform.params,
            cwmp_ns=env.ns,
            cwmp_version=version,
            user=user,
            id=env.id,
            retry_count=inform.retry_count,
            session_started=self.starts.take(peer),  # the attempt's first request (bench.hems.failures)
            **extra,
        )

    def _fail_on_purpose(
        self,
        failure: SessionFailure,
        env: Envelope,
        inform: cwmp.Inform,
        peer: str,
        user: str | None,
        version: str | None,
    ) -> tuple[int, bytes, str | None]:
        """The Inform recorded as it came (marked failed_on_purpose: no InformResponse was sent), the failure
        recorded, and the answer that fails the session: 503, or CLOSE (no answer, the connection closed)."""
        dev = inform.device_id
        codes = [code for code, _ in inform.events]
        self._inform_event(env, inform, peer, user, version, failed_on_purpose=failure.how)
        self._note(dev.key, f"Inform [{', '.join(codes)}] failed on purpose ({failure.how})")
        seq = self.timeline.add(
            Source.HEMS,
            HemsKind.SESSION_FAILED,
            hems=self.name,
            peer=peer,
            serial=dev.serial_number,
            how=failure.how,
            events=codes,
            command_keys=[key for _, key in inform.events],
            params=sorted(inform.params),
            retry_count=inform.retry_count,
            nth=len(failure.failed),
            of=failure.count,
        ).seq
        failure.recorded(seq)
        if failure.how == "close":
            return CLOSE, b"", None
        return 503, b"HeMS unavailable (failed on purpose by the bench)\n", None

    def _on_cpe_request(self, env: Envelope, session: _Session | None, peer: str) -> tuple[int, bytes]:
        if session is None:
            raise CwmpParseError(f"{env.method} outside a session (no Inform from this peer or cookie)")
        serial = session.device.serial_number
        data: dict[str, Any]
        if env.method == "TransferComplete":
            data = dataclasses.asdict(cwmp.read_transfer_complete(env))
        elif env.method == "AutonomousTransferComplete":
            data = dataclasses.asdict(cwmp.read_autonomous_transfer_complete(env))
        elif env.method == "RequestDownload":
            data = dataclasses.asdict(cwmp.read_request_download(env))
        else:
            data = {}
        session.ended = False  # an empty response lifts HoldRequests: the CPE may go on with its requests
        if session.held:
            self._event(
                HemsKind.PROTOCOL_VIOLATION,
                peer,
                serial=serial,
                reason=f"{env.method} sent while the HeMS had set HoldRequests",
            )
        self._event(HemsKind.CPE_RPC, peer, serial=serial, method=env.method, id=env.id, **data)
        self._note(session.device, env.method)
        hold = True if session.held else None
        if env.method == "GetRPCMethods":
            methods = ["Inform", *CPE_REQUESTS]
            if env.ns == cwmp.CWMP_NAMESPACES[0]:
                methods.remove("AutonomousTransferComplete")  # not in CWMP 1.0
            return 200, cwmp.get_rpc_methods_response(env.ns, env.id, methods, hold)
        return 200, cwmp.empty_response(env.ns, env.id, f"{env.method}Response", hold)

    async def _on_response(self, env: Envelope, session: _Session | None, peer: str) -> tuple[int, bytes]:
        if session is None:
            raise CwmpParseError(f"{env.method} outside a session (no Inform from this peer or cookie)")
        call = session.pending
        if call is None:
            raise CwmpParseError(f"{env.method} but no RPC is pending in this session")
        serial = session.device.serial_number
        if env.method not in ("Fault", f"{call.method}Response"):
            raise CwmpParseError(f"expected {call.method}Response or Fault for {call.id}, got {env.method}")
        try:
            result = cwmp.read_result(env, call.method)
        except CwmpParseError as exc:
            # The unit answered, wrongly: the call fails now with what it sent, the session goes on.
            self._event(
                HemsKind.BAD_MESSAGE,
                peer,
                reason=str(exc),
                serial=serial,
                method=call.method,
                id=env.id,
                answered=True,
            )
            self._note(session.device, f"an unreadable {env.method} ({exc})")
            session.pending = None
            call.fail(str(exc))
            return await self._next_or_end(session)
        if isinstance(result, CwmpFault):
            self._event(
                HemsKind.RPC_FAULT,
                peer,
                serial=serial,
                method=call.method,
                id=env.id,
                fault_code=result.fault_code,
                fault_string=result.fault_string,
                meaning=result.meaning,
                param_faults=[tuple(p) for p in result.param_faults],
            )
            self._note(session.device, f"Fault {result.fault_code} to {call.method}")
        else:
            fields = {k: v for k, v in dataclasses.asdict(result).items() if k != "method"}
            self._event(HemsKind.RPC_RESPONSE, peer, serial=serial, method=call.method, id=env.id, **fields)
            self._note(session.device, env.method)
        session.pending = None
        call.resolve(result)
        return await self._next_or_end(session)

    def _pop(self, device: DeviceKey) -> RpcCall | None:
        with self._lock:
            queue = self._queues.get(device) or self._queues.get(device.serial_number)
            return queue.popleft() if queue else None

    async def _next_or_end(self, session: _Session) -> tuple[int, bytes]:
        call = self._pop(session.device)
        if call is None and self.idle_wait > 0:
            deadline = time.monotonic() + self.idle_wait
            while call is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                call = self._pop(session.device)
        if call is not None:
            call.id = f"{self.name}-{next(self._ids)}"
            session.pending = call
            self._event(
                HemsKind.RPC_SENT,
                session.peer,
                serial=session.device.serial_number,
                method=call.method,
                id=call.id,
                **_sent_fields(call.method, call.args),
            )
            return 200, call.build(session.ns, True if session.held else None)
        session.ended = True
        session.held = False
        self._event(HemsKind.SESSION_END, session.peer, serial=session.device.serial_number)
        return self.session_end_status, b""

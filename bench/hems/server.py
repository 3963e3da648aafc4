"""The reference HeMS (TR-069 ACS) on aiohttp, served from its own event loop thread.

Test code queues RPCs per unit serial and waits on their results;
every message goes to the timeline and the transcript.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bench import cwmp
from bench.cwmp import CwmpFault, CwmpParseError, Envelope
from bench.errors import DeviceError, InfraError
from bench.timeline import Timeline

COOKIE = "hems_session"
# SOAP 1.1 section 6.2 puts faults in HTTP 500 responses; TR-069 does not override it in what we could read.
FAULT_HTTP_STATUS = 500
TEXT_XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class SpvResult:
    status: int


@dataclass(frozen=True)
class GpvResult:
    values: dict[str, str]


RpcResult = SpvResult | GpvResult | CwmpFault

RESPONSE_OF = {
    "SetParameterValues": "SetParameterValuesResponse",
    "GetParameterValues": "GetParameterValuesResponse",
}


class RpcCall:
    """One ACS RPC queued for a unit; `result()` blocks until the unit answers it."""

    def __init__(self, hems: Hems, serial: str, method: str, args: dict[str, Any]) -> None:
        self.hems = hems
        self.serial = serial
        self.method = method
        self.args = args
        self.id: str | None = None
        self._done = threading.Event()
        self._result: RpcResult | None = None

    def build(self, ns: str) -> bytes:
        if self.method == "SetParameterValues":
            return cwmp.set_parameter_values(ns, self.id, self.args["params"], self.args["parameter_key"])
        return cwmp.get_parameter_values(ns, self.id, self.args["names"])

    def resolve(self, result: RpcResult) -> None:
        self._result = result
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float) -> RpcResult:
        if not self._done.wait(timeout):
            state = f"sent as ID {self.id}, no answer" if self.id else "never sent: no session from the unit"
            raise DeviceError(
                f"HeMS {self.hems.name}: timed out after {timeout:g} s waiting for the {self.method} "
                f"response "
                f"from unit {self.serial} ({state}); {self.hems.last_from(self.serial)}"
            )
        assert self._result is not None
        return self._result


@dataclass
class _Session:
    token: str
    serial: str
    ns: str
    peer: str
    pending: RpcCall | None = None


class Hems:
    """A TR-069 ACS for tests. Thread-safe: start/stop/queue_rpc/transcript are called from test threads.

    `idle_wait` holds an empty POST that many seconds for an RPC to be queued before ending the session,
    so a script that reacts to an Inform can still reach the unit in the same session.
    """

    def __init__(
        self, name: str, timeline: Timeline, session_end_status: int = 204, idle_wait: float = 0.0
    ) -> None:
        self.name = name
        self.timeline = timeline
        self.session_end_status = session_end_status
        self.idle_wait = idle_wait
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._by_peer: dict[str, str] = {}
        self._queues: dict[str, deque[RpcCall]] = {}
        self._last: dict[str, str] = {}
        self._transcript: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    # ---- lifecycle ----

    def start(self, sock: socket.socket) -> None:
        """Serve HTTP on a bound, listening socket from a background thread; return once ready."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
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

    async def _serve(self, sock: socket.socket) -> None:
        # A generous HTTP cap: the CWMP size limit is enforced by the codec, which records the reason.
        app = web.Application(client_max_size=4 * cwmp.MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving and join the thread; safe to call twice."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    # ---- test-facing API ----

    def queue_rpc(self, serial: str, method: str, **args: Any) -> RpcCall:
        """Queue an RPC for the unit `serial`: sent in its open session if there is one, else in its next."""
        if method == "SetParameterValues":
            if set(args) != {"params", "parameter_key"}:
                raise TypeError(
                    "SetParameterValues takes params=[(name, value, xsd_type)] and parameter_key=str"
                )
        elif method == "GetParameterValues":
            if set(args) != {"names"}:
                raise TypeError("GetParameterValues takes names=[str]")
        else:
            raise ValueError(f"HeMS {self.name} cannot send {method!r} yet")
        call = RpcCall(self, serial, method, args)
        with self._lock:
            self._queues.setdefault(serial, deque()).append(call)
        return call

    def drop_queued(self, serial: str) -> int:
        """Forget RPCs still queued for `serial` (a new boot is primed afresh); returns how many."""
        with self._lock:
            dropped = len(self._queues.pop(serial, ()))
        return dropped

    def last_from(self, serial: str) -> str:
        with self._lock:
            last = self._last.get(serial)
        return (
            f"last from the unit: {last}"
            if last
            else f"unit {serial} never sent anything to HeMS {self.name}"
        )

    def transcript(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._transcript]

    def write_transcript(self, path: Path) -> None:
        t0 = self.timeline.t0
        with path.open("w", encoding="utf-8") as fh:
            for e in self.transcript():
                arrow = "<- from" if e["direction"] == "in" else "-> to"
                fh.write(f"=== +{e['t'] - t0:.3f}s HeMS {self.name} {arrow} {e['peer']} HTTP {e['status']}\n")
                fh.write((e["xml"] or "(empty body)") + "\n\n")

    # ---- HTTP handling ----

    def _note(self, serial: str | None, what: str) -> None:
        if serial:
            with self._lock:
                self._last[serial] = f"{what} at +{time.time() - self.timeline.t0:.3f}s"

    def _event(self, kind: str, peer: str, **data: Any) -> None:
        self.timeline.add("hems", kind, hems=self.name, peer=peer, **data)

    def _session_for(self, request: web.Request, peer: str) -> _Session | None:
        tokens = []
        for header in request.headers.getall("Cookie", []):
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
        peer = request.remote or "?"
        entry: dict[str, Any] = {"t": time.time(), "direction": "in", "peer": peer, "status": None, "xml": ""}
        with self._lock:
            self._transcript.append(entry)
        try:
            body = await request.read()
            entry["xml"] = body.decode("utf-8", errors="replace")
            if request.method != "POST":
                status, out, cookie = 405, b"CWMP needs POST\n", None
            else:
                status, out, cookie = await self._dispatch(request, peer, body)
        except web.HTTPRequestEntityTooLarge as exc:
            self._event("bad-message", peer, reason=exc.text, size=request.content_length)
            status, out, cookie = 400, b"bad CWMP message: body too large\n", None
        except Exception as exc:  # noqa: BLE001 - a bad request must never take the HeMS down
            # The bench's own bug, kept apart from bad-message so it never reads as the unit's fault.
            self._event("hems-error", peer, reason=repr(exc), size=request.content_length)
            status, out, cookie = 500, b"internal error\n", None
        entry["status"] = status
        is_xml = out.startswith(b"<?xml")
        with self._lock:
            self._transcript.append(
                {"t": time.time(), "direction": "out", "peer": peer, "status": status, "xml": out.decode()}
            )
        resp = web.Response(status=status, body=out, content_type=None)
        if out:
            resp.headers["Content-Type"] = TEXT_XML if is_xml else "text/plain; charset=utf-8"
        if cookie:
            resp.set_cookie(COOKIE, cookie, path="/")
        return resp

    async def _dispatch(self, request: web.Request, peer: str, body: bytes) -> tuple[int, bytes, str | None]:
        """Return (HTTP status, body, session cookie to set)."""
        session = self._session_for(request, peer)
        if not body.strip():
            if session is None:
                return self.session_end_status, b"", None
            self._note(session.serial, "empty POST")
            return (*await self._next_or_end(session), None)

        try:
            env = cwmp.parse_envelope(body)
            if env.method == "Inform":
                return self._on_inform(env, peer)
            if env.method in RESPONSE_OF.values() or env.method == "Fault":
                return (*await self._on_response(env, session, peer), None)
        except CwmpParseError as exc:
            serial = session.serial if session else None
            self._event("bad-message", peer, reason=str(exc), size=len(body), serial=serial)
            self._note(serial, f"a bad message ({exc})")
            return 400, f"bad CWMP message: {exc}\n".encode(), None
        # A CPE request we do not implement: TR-069 answers with ACS fault 8000.
        serial = session.serial if session else None
        self._note(serial, f"unsupported {env.method}")
        self._event("unsupported-rpc", peer, serial=serial, method=env.method, id=env.id)
        return (
            FAULT_HTTP_STATUS,
            cwmp.fault(env.ns, env.id, 8000, f"Method not supported: {env.method}"),
            None,
        )

    def _on_inform(self, env: Envelope, peer: str) -> tuple[int, bytes, str]:
        inform = cwmp.read_inform(env)
        dev = inform.device_id
        session = _Session(secrets.token_hex(16), dev.serial_number, env.ns, peer)
        with self._lock:
            # A new Inform opens a new session; whatever this unit had before is over.
            for token in [t for t, s in self._sessions.items() if s.serial == dev.serial_number]:
                del self._sessions[token]
            self._sessions[session.token] = session
            self._by_peer[peer] = session.token
        codes = [code for code, _ in inform.events]
        self._note(dev.serial_number, f"Inform [{', '.join(codes)}]")
        self._event(
            "inform",
            peer,
            serial=dev.serial_number,
            oui=dev.oui,
            product_class=dev.product_class,
            manufacturer=dev.manufacturer,
            events=codes,
            params=inform.params,
            cwmp_ns=env.ns,
        )
        return 200, cwmp.inform_response(env.ns, env.id, max_envelopes=1), session.token

    async def _on_response(self, env: Envelope, session: _Session | None, peer: str) -> tuple[int, bytes]:
        if session is None:
            raise CwmpParseError(f"{env.method} outside a session (no Inform from this peer or cookie)")
        call = session.pending
        if call is None:
            raise CwmpParseError(f"{env.method} but no RPC is pending in this session")
        serial = session.serial
        if env.method == "Fault":
            f = cwmp.read_fault(env)
            self._event(
                "rpc-fault",
                peer,
                serial=serial,
                method=call.method,
                id=env.id,
                fault_code=f.fault_code,
                fault_string=f.fault_string,
                param_faults=f.param_faults,
            )
            self._note(serial, f"Fault {f.fault_code} to {call.method}")
            result: RpcResult = f
        elif env.method != RESPONSE_OF[call.method]:
            raise CwmpParseError(
                f"expected {RESPONSE_OF[call.method]} or Fault for {call.id}, got {env.method}"
            )
        elif env.method == "SetParameterValuesResponse":
            result = SpvResult(cwmp.read_spv_response(env))
            self._event(
                "rpc-response", peer, serial=serial, method=call.method, id=env.id, status=result.status
            )
        else:
            result = GpvResult(cwmp.read_gpv_response(env))
            self._event(
                "rpc-response", peer, serial=serial, method=call.method, id=env.id, values=result.values
            )
        if env.method != "Fault":
            self._note(serial, env.method)
        session.pending = None
        call.resolve(result)
        return await self._next_or_end(session)

    def _pop(self, serial: str) -> RpcCall | None:
        with self._lock:
            queue = self._queues.get(serial)
            return queue.popleft() if queue else None

    async def _next_or_end(self, session: _Session) -> tuple[int, bytes]:
        call = self._pop(session.serial)
        deadline = time.monotonic() + self.idle_wait
        while call is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            call = self._pop(session.serial)
        if call is not None:
            call.id = f"{self.name}-{next(self._ids)}"
            session.pending = call
            self._event("rpc-sent", session.peer, serial=session.serial, method=call.method, id=call.id)
            return 200, call.build(session.ns)
        with self._lock:
            self._sessions.pop(session.token, None)
            if self._by_peer.get(session.peer) == session.token:
                del self._by_peer[session.peer]
        self._event("session-end", session.peer, serial=session.serial)
        return self.session_end_status, b""

"""The HeMS's session engine: the TR-069 CWMP session state machine behind its transport. One request in, one
answer out: the Digest challenge of each new session, Inform and InformResponse (version negotiation, the
unit's ConnectionRequestURL, Inform hooks, sessions failed on purpose), the unit's responses and faults to the
RPCs queued for it, its own requests, the empty POST that ends a session (or is held for an RPC to come). Every
message goes to the transcript and the timeline; a bad one is recorded and answered, never raised."""

from __future__ import annotations

import dataclasses
import functools
import gc
import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench import cwmp
from bench.cwmp import CwmpFault, CwmpParseError, DeviceKey, Envelope
from bench.events import HemsKind, Source
from bench.hems.connreq import CONNECTION_REQUEST_URL_PARAMS
from bench.hems.failures import CLOSE, SessionFailure, SessionFailures, SessionStarts
from bench.hems.hooks import InformHooks
from bench.hems.rpc import RpcCall, RpcQueues, Unit, matches, sent_fields
from bench.hems.transcript import Transcript
from bench.timeline import Event

if TYPE_CHECKING:
    from bench.hems.server import Hems

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
Answer = tuple[int, bytes, dict[str, str]]
"""(HTTP status, body, headers) of one answer; status CLOSE: close the connection, answer nothing."""

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


class SessionEngine:
    """The sessions of one HeMS (`hems`, whose settings it reads at each request, so a change applies to the
    next one). `answer` is the whole of a request's handling; the transport only reads and writes HTTP."""

    def __init__(self, hems: Hems) -> None:
        self.hems = hems
        self.timeline = hems.timeline
        self.queues = RpcQueues()
        self.transcript = Transcript()
        self.inform_hooks = InformHooks()
        self.failures = SessionFailures()
        self.starts = SessionStarts()
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._by_peer: dict[str, str] = {}
        self._by_device: dict[DeviceKey, str] = {}
        self._last: dict[DeviceKey, str] = {}
        self._cr_urls: dict[DeviceKey, str] = {}
        self._ids = itertools.count(1)
        self._recorded = itertools.count(1)

    # ---- what the HeMS knows of its units ----

    def event(self, kind: HemsKind, peer: str, **data: Any) -> Event:
        ev = self.timeline.add(Source.HEMS, kind, hems=self.hems.name, peer=peer, **data)
        if next(self._recorded) % FREEZE_EVERY == 0:
            gc.freeze()
        return ev

    def note(self, device: DeviceKey | None, what: str) -> None:
        if device is not None:
            with self._lock:
                # Re-inserted so the newest note is last: a serial alone reads the device heard from last.
                self._last.pop(device, None)
                self._last[device] = f"{what} at +{time.time() - self.timeline.t0:.3f}s"

    def last_from(self, unit: Unit) -> str:
        with self._lock:
            found = [what for key, what in self._last.items() if matches(unit, key)]
        return (
            f"last from the unit: {found[-1]}"
            if found
            else f"unit {unit} never sent anything to HeMS {self.hems.name}"
        )

    def connection_request_url(self, unit: Unit) -> str | None:
        with self._lock:
            found = [url for key, url in self._cr_urls.items() if matches(unit, key)]
        return found[-1] if found else None

    # ---- one request ----

    async def answer(
        self,
        method: str,
        path_qs: str,
        authorization: str | None,
        cookies: list[str],
        peer: str,
        body: bytes,
        size: int | None,
        t_in: float,
    ) -> Answer:
        """(HTTP status, body, headers) for one request, recorded on the transcript (and timeline)."""
        headers: dict[str, str] = {}
        opens = method == "POST" and _INFORM_TAG.search(body) is not None  # a session's Inform
        auth = self.hems.auth
        try:
            session = self._session_for(cookies, peer)
            user = session.user if session is not None else None
            if method != "POST":
                status, out, cookie = 405, b"CWMP needs POST\n", None
            elif auth is not None and (user is None or opens):
                # Every Inform opens a new session and must authenticate; the rest of it rides on the cookie.
                check = auth.check(method, path_qs, authorization)
                if check.user is None:
                    kind = (
                        HemsKind.AUTH_CHALLENGE
                        if "no Authorization" in check.reason
                        else HemsKind.AUTH_FAILED
                    )
                    self.event(kind, peer, reason=check.reason, scheme=auth.scheme)
                    headers["WWW-Authenticate"] = auth.challenge(stale=check.stale)
                    status, out, cookie = 401, b"authentication required\n", None
                else:
                    status, out, cookie = await self._dispatch(peer, body, session, check.user, opens, t_in)
            else:
                status, out, cookie = await self._dispatch(peer, body, session, user, opens, t_in)
            if opens and status == 401:
                self.starts.request(peer, t_in, challenged=True)
        except Exception as exc:  # noqa: BLE001 - a bad request must never take the HeMS down
            # The bench's own bug, kept apart from bad-message so it never reads as the unit's fault.
            self.event(HemsKind.HEMS_ERROR, peer, reason=repr(exc), size=size)
            status, out, cookie = 500, b"internal error\n", None
        except BaseException:
            # Cancelled (the server stopping): the request was still received.
            self.transcript.add(t_in, "in", peer, None, body)
            raise
        return self.finish(t_in, peer, body, status, out, cookie, headers)

    def finish(
        self,
        t_in: float,
        peer: str,
        body: bytes,
        status: int,
        out: bytes,
        cookie: str | None,
        headers: dict[str, str],
    ) -> Answer:
        # Both written once the answer is known, so a request is always followed by its answer.
        self.transcript.exchange(t_in, time.time(), peer, status, body, out)
        if out:
            headers["Content-Type"] = TEXT_XML if out.startswith(b"<?xml") else "text/plain; charset=utf-8"
        if cookie:
            # The token is hex: no quoting needed (aiohttp's set_cookie goes through the slower SimpleCookie).
            headers["Set-Cookie"] = f"{COOKIE}={cookie}; Path=/"
        return status, out, headers

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

    async def _dispatch(
        self, peer: str, body: bytes, session: _Session | None, user: str | None, opens: bool, t_in: float
    ) -> tuple[int, bytes, str | None]:
        """Return (HTTP status, body, session cookie to set); `opens`: the body is an Inform, arrived at `t_in`."""
        if opens:
            self.starts.request(peer, t_in, challenged=False)
        if not body.strip():
            if session is None or session.ended:
                # A stray empty POST (after the end, or with no session at all): end again, quietly.
                return self.hems.session_end_status, b"", None
            self.note(session.device, "empty POST")
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
            self.event(HemsKind.BAD_MESSAGE, peer, reason=str(exc), size=len(body), serial=serial)
            self.note(device, f"a bad message ({exc})")
            return 400, f"bad CWMP message: {exc}\n".encode(), None
        # A CPE request we do not implement: TR-069 answers with ACS fault 8000.
        self.note(device, f"unsupported {env.method}")
        self.event(HemsKind.UNSUPPORTED_RPC, peer, serial=serial, method=env.method, id=env.id)
        return (
            FAULT_HTTP_STATUS,
            cwmp.fault(env.ns, env.id, 8000, f"Method not supported: {env.method}"),
            None,
        )

    def _defects(self, env: Envelope, peer: str, device: DeviceKey | None) -> None:
        """What the codec repaired to read a message: the unit's defect, recorded; the message is answered."""
        for defect in env.defects:
            self.event(
                HemsKind.DEFECT,
                peer,
                serial=device.serial_number if device else None,
                device=str(device) if device else None,
                method=env.method,
                id=env.id,
                reason=defect,
            )
        self.note(device, f"{env.method} with {len(env.defects)} defect(s): {env.defects[0]}")

    # ---- the Inform ----

    def _negotiate(self, env: Envelope) -> tuple[str | None, str | None]:
        """(version to use, UseCWMPVersion to send) or (None, None) when no common version exists."""
        base = {cwmp.CWMP_NAMESPACES[0]: "1.0", cwmp.CWMP_NAMESPACES[1]: "1.1"}.get(env.ns, "1.2")
        if env.supported_versions is None or env.ns != cwmp.CWMP_NAMESPACES[2]:
            return base, None
        max_version = self.hems.max_version
        common = [
            v for v in env.supported_versions if cwmp.CWMP_VERSIONS.get(v) == env.ns and v <= max_version
        ]
        if not common:
            return None, None
        best = max(common)
        return best, best

    def _on_inform(self, env: Envelope, peer: str, user: str | None) -> tuple[int, bytes, str | None]:
        hems = self.hems
        inform = cwmp.read_inform(env)
        dev = inform.device_id
        key = dev.key
        version, use_version = self._negotiate(env)
        codes = [code for code, _ in inform.events]
        self.note(key, f"Inform [{', '.join(codes)}]")
        if version is None:
            offered = ",".join(env.supported_versions or ())
            self.event(HemsKind.VERSION_MISMATCH, peer, serial=dev.serial_number, offered=offered,
                       max_version=hems.max_version)  # fmt: skip
            refusal = f"ACS supports up to CWMP {hems.max_version}, CPE {offered}"
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
        for hook in self.inform_hooks.of(key, hems.on_inform, unit=informed.unit):
            try:
                hook(hems, key, codes, inform.params)
            except Exception as exc:  # noqa: BLE001 - a broken script or hook must not break the session
                self.event(HemsKind.HEMS_ERROR, peer, serial=dev.serial_number, reason=f"on_inform: {exc!r}")
        queued = self.queues.has(key)
        with self._lock:
            # A new Inform opens a new session; whatever this unit had before is over.
            old = self._by_device.get(key)
            if old is not None:
                self._sessions.pop(old, None)
            self._sessions[session.token] = session
            self._by_device[key] = session.token
            self._by_peer[peer] = session.token
            session.held = hems.hold_requests and queued
        ns2 = env.ns == cwmp.CWMP_NAMESPACES[2]
        out = inform_response(
            env.ns,
            env.id,
            True if session.held else None,
            hems.session_timeout if ns2 else None,
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
        return self.event(
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
        self.note(dev.key, f"Inform [{', '.join(codes)}] failed on purpose ({failure.how})")
        seq = self.timeline.add(
            Source.HEMS,
            HemsKind.SESSION_FAILED,
            hems=self.hems.name,
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

    # ---- the rest of a session ----

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
            self.event(
                HemsKind.PROTOCOL_VIOLATION,
                peer,
                serial=serial,
                reason=f"{env.method} sent while the HeMS had set HoldRequests",
            )
        self.event(HemsKind.CPE_RPC, peer, serial=serial, method=env.method, id=env.id, **data)
        self.note(session.device, env.method)
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
            self.event(
                HemsKind.BAD_MESSAGE,
                peer,
                reason=str(exc),
                serial=serial,
                method=call.method,
                id=env.id,
                answered=True,
            )
            self.note(session.device, f"an unreadable {env.method} ({exc})")
            session.pending = None
            call.fail(str(exc))
            return await self._next_or_end(session)
        if isinstance(result, CwmpFault):
            self.event(
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
            self.note(session.device, f"Fault {result.fault_code} to {call.method}")
        else:
            fields = {k: v for k, v in dataclasses.asdict(result).items() if k != "method"}
            self.event(HemsKind.RPC_RESPONSE, peer, serial=serial, method=call.method, id=env.id, **fields)
            self.note(session.device, env.method)
        session.pending = None
        call.resolve(result)
        return await self._next_or_end(session)

    async def _next_or_end(self, session: _Session) -> tuple[int, bytes]:
        """The next RPC queued for the unit (waiting `idle_wait` s for one to be queued), or the session's end."""
        call = self.queues.pop(session.device)
        if call is None and self.hems.idle_wait > 0:
            call = await self.queues.take(session.device, self.hems.idle_wait)
        if call is not None:
            call.id = f"{self.hems.name}-{next(self._ids)}"
            session.pending = call
            self.event(
                HemsKind.RPC_SENT,
                session.peer,
                serial=session.device.serial_number,
                method=call.method,
                id=call.id,
                **sent_fields(call.method, call.args),
            )
            return 200, call.build(session.ns, True if session.held else None)
        session.ended = True
        session.held = False
        self.event(HemsKind.SESSION_END, session.peer, serial=session.device.serial_number)
        return self.hems.session_end_status, b""

"""The reference HeMS (TR-069 ACS): the small API plans and the bench call, over a session engine
(bench/hems/session.py: the CWMP session state machine) and a transport (bench/hems/transport.py: aiohttp and the
lean HTTP path, TLS, in the HeMS's own event-loop thread).

Test code queues RPCs per unit (its DeviceKey: OUI, ProductClass, SerialNumber), waits for Informs and results,
sends connection requests and fails sessions on purpose; every message goes to the timeline and the transcript.
Every wait is woken by what it waits for (a recorded event, an answered RPC, a closed connection), never polled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench import cwmp
from bench.cwmp import CwmpFault, DeviceKey, GpvResult, RpcResult, SpvResult
from bench.errors import DeviceError, InfraError
from bench.events import HemsKind, Source
from bench.hems.connreq import ConnReqResult, CrPolicy, connection_request, refused_words
from bench.hems.failures import SessionFailure
from bench.hems.hooks import InformHook
from bench.hems.rpc import RpcCall, Unit, matches
from bench.hems.session import SessionEngine, inform_response
from bench.hems.tls import CertChoice
from bench.hems.transcript import Transcript
from bench.hems.transport import Transport
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
    "Transcript",
    "Unit",
    "inform_response",
    "matches",
]


class Hems:
    """A TR-069 ACS for tests. Thread-safe: the public methods are called from test threads.

    `idle_wait` holds an empty POST that many seconds for an RPC to be queued before ending the session.
    `auth` makes the HeMS challenge every new session; `tls` serves HTTPS (one context, or one per peer). `hold_requests` sets HoldRequests
    while the HeMS has RPCs for the unit. `session_timeout` (CWMP 1.3) goes into InformResponse in the 1-2
    namespace. `max_version` caps the version the HeMS agrees to use (CWMP 1.4 UseCWMPVersion).
    `on_inform(hems, device_key, events, params)` runs in the server thread before the InformResponse is sent,
    then the hooks registered for that device in `inform_hooks` (bench/hems/hooks.py). The session engine
    reads these settings at each request: a change applies from the next one.
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
        self.engine = SessionEngine(self)
        self.transport = Transport(name, self.engine)
        self.inform_hooks = self.engine.inform_hooks
        self.failures = self.engine.failures
        self.starts = self.engine.starts

    # ---- lifecycle ----

    def start(self, sock: socket.socket) -> None:
        """Serve HTTP (HTTPS with `tls`) on a bound, listening socket from a background thread."""
        self.transport.start(sock, self.tls)

    def listen(self, sock: socket.socket, tls: ssl.SSLContext | CertChoice | None = None) -> None:
        """Serve on one more bound, listening socket (HTTPS with `tls`: one context, or one chosen per peer,
        bench.hems.tls.PeerCertificates), once started: one HeMS, one transcript and one set of queues on two
        addresses (an Initial HeMS both private and public)."""
        self.transport.listen(sock, tls)

    def stop(self) -> None:
        """Stop serving and join the thread; safe to call twice."""
        self.transport.stop()

    # ---- test-facing API ----

    def wait_closed(self, peer: str, timeout: float) -> bool:
        """Wait until `peer` has no connection open to this HeMS (a unit closes its session's connection once
        it has the HeMS's last answer); False if one is still open after `timeout`. A bench action that cuts
        the unit's path (an address change) waits for this, so no answer still on its way is lost."""
        return self.transport.wait_closed(peer, timeout)

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
        self.engine.queues.put(call)
        return call

    def drop_queued(self, unit: Unit) -> int:
        """Forget RPCs still queued for `unit` (a new boot is primed afresh); returns how many."""
        return self.engine.queues.drop(unit)

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
            self.engine.queues.withdraw(unit, calls)
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
        return self.engine.connection_request_url(unit)

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
        loop = self.transport.loop
        if loop is None:
            raise InfraError(f"HeMS {self.name} is not running")
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
            words = refused_words(self.name, unit, result.url, got, seen, attempts, retry_after)
            raise DeviceError(f"{words}; {self.last_from(unit)}")
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
        """What the HeMS last heard from `unit` and when, for an error message."""
        return self.engine.last_from(unit)

    def transcript(self, since: int = 0) -> list[dict[str, Any]]:
        """Every HTTP message from entry `since` on, each a fresh dict: t, direction (in/out), peer, status
        (of the answer, for both), xml (the body, decoded leniently). A request comes right before its answer.
        """
        return self.engine.transcript.read(since)

    def write_transcript(self, path: Path) -> None:
        t0 = self.timeline.t0
        with path.open("w", encoding="utf-8") as fh:
            for e in self.transcript():
                arrow = "<- from" if e["direction"] == "in" else "-> to"
                fh.write(f"=== +{e['t'] - t0:.3f}s HeMS {self.name} {arrow} {e['peer']} HTTP {e['status']}\n")
                fh.write((e["xml"] or "(empty body)") + "\n\n")

    def _event(self, kind: HemsKind, peer: str, **data: Any) -> None:
        """An event of this HeMS on the timeline (what the API itself records: connection requests)."""
        self.engine.event(kind, peer, **data)

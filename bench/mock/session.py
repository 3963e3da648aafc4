"""The mock unit's CWMP session engine (TR-069 3.7): the Inform (events, forced and extra parameters, the
DeviceId), HTTP(S) with the HeMS's authentication (bench/mock/http.py: one kept-alive connection, its cookies),
the CPE's own requests, the RPC loop to the empty POST, and TR-069 3.2.1.1's session retry from the unit's
CWMPRetryMinimumWaitInterval and CWMPRetryIntervalMultiplier."""

from __future__ import annotations

import asyncio
import random
import ssl
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from bench import cwmp
from bench.knobs import Knob
from bench.mock.config import MockConfig
from bench.mock.datamodel import DataModel
from bench.mock.http import Client, HttpError
from bench.mock.rpc import Rpc

# Attempts of one session before the unit gives up on it (TR-069 has it retry for ever; the mock's procedures
# start it again, keeping its events).
RETRIES = 8
# TR-069 3.2.1.1's defaults (TR-181 CWMPRetryMinimumWaitInterval, CWMPRetryIntervalMultiplier).
DEFAULT_M, DEFAULT_K = 5, 2000


class Restart(Exception):
    """The console rebooted or reset the unit while it was still looking for its Serving SeGW/HeMS."""


class SessionFailed(Exception):
    """The HeMS failed the session (HTTP 5xx): retried with the backoff, as a broken connection is."""


def retry_window(n: int, m: float, k: int) -> tuple[float, float]:
    """TR-069 3.2.1.1: the range of the wait before retry `n` (1, 2, ...)."""
    return m * (k / 1000) ** (n - 1), m * (k / 1000) ** n


def retry_parameters(model: DataModel, ms: str) -> tuple[int, int]:
    """(m, k) as the unit's ManagementServer object `ms` holds them, TR-069's defaults where unset or bad."""
    try:
        m = int(model.get(ms + "CWMPRetryMinimumWaitInterval") or DEFAULT_M)
        k = int(model.get(ms + "CWMPRetryIntervalMultiplier") or DEFAULT_K)
    except (KeyError, ValueError):
        return DEFAULT_M, DEFAULT_K
    return max(m, 1), max(k, 1000)


class Unit(Protocol):
    """What a session needs of the unit's core."""

    cfg: MockConfig
    knobs: set[str]
    ns: str
    ms: str
    device_id: cwmp.DeviceId
    wrong_id: cwmp.DeviceId
    model: DataModel
    requests: list[dict[str, Any]]
    rpc: Rpc

    def log(self, msg: str) -> None: ...


class CwmpClient:
    """The TR-069 sessions of `unit`, one at a time."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.held: list[Any] = []  # keep_session_open: the connections it never closed

    def inform_params(self, extra: list[str]) -> list[tuple[str, str, str]]:
        names = [n for n, p in self.unit.model.params.items() if p.forced]
        for n in extra:
            if n in self.unit.model.params and n not in names:
                names.append(n)
        return [(n, self.unit.model.params[n].value, self.unit.model.params[n].type) for n in names]

    def hems_auth(self) -> dict[str, tuple[str, str]]:
        """How this unit answers the HeMS's challenge: ManagementServer.Username/Password, Basic or Digest."""
        user, password = (
            self.unit.model.get(self.unit.ms + "Username"),
            self.unit.model.get(self.unit.ms + "Password"),
        )
        if Knob.WRONG_HEMS_PASSWORD in self.unit.knobs:
            password += "-wrong"
        if not user or self.unit.cfg.hems_auth == "none":
            return {}
        return {self.unit.cfg.hems_auth: (user, password)}  # basic: sent ahead; digest: answered

    def device_id_for(self, phase: str) -> cwmp.DeviceId:
        """The DeviceId sent in an Inform of `phase` (discovery, registration, address-change, ...)."""
        wrong = (
            Knob.WRONG_DEVICE_ID in self.unit.knobs
            or (Knob.WRONG_DEVICE_ID_AT_REGISTRATION in self.unit.knobs and phase != "discovery")
            or (Knob.WRONG_DEVICE_ID_ON_ADDRESS_CHANGE in self.unit.knobs and phase == "address-change")
        )
        return self.unit.wrong_id if wrong else self.unit.device_id

    def retry_wait(self, n: int) -> float:
        """The wait before retry `n` (1, 2, ...) of a failed session, TR-069 3.2.1.1: random between
        m*(k/1000)**(n-1) and m*(k/1000)**n seconds, m = CWMPRetryMinimumWaitInterval, k =
        CWMPRetryIntervalMultiplier (the count stops growing at 10)."""
        if Knob.RETRY_STORM in self.unit.knobs:
            return 0.02  # bug: retries at once (a breath apart), however often the HeMS failed it
        m, k = retry_parameters(self.unit.model, self.unit.ms)
        lo, hi = retry_window(min(n, 10), m, k)
        return random.uniform(lo, hi)

    async def session(
        self,
        url: str,
        server_ip: str,
        events: list[str] | list[tuple[str, str]],
        extra: list[str],
        phase: str,
        overrides: dict[str, str] | None = None,
        requests: list[dict[str, Any]] | None = None,
    ) -> None:
        """A TR-069 session, retried as TR-069 3.2.1.1 says (retry_wait) while it fails (no answer, a broken
        connection, an HTTP 5xx), every attempt's Inform carrying the same events until one is answered.
        `requests` are the CPE requests (TransferComplete) whose events this Inform carries."""
        ev = [(e, "") if isinstance(e, str) else e for e in events]
        retry = 0  # the Inform's RetryCount
        while True:
            sent = ev
            if retry and Knob.FORGET_EVENTS_AFTER_FAILED_SESSION in self.unit.knobs:
                sent, extra = [], []  # bug: the events (and what they carried) died with the failed session
            body = self.inform(sent, extra, phase, overrides, retry)
            self.unit.log(f"cwmp: Inform {[e for e, _ in sent]} to {url} ({server_ip}), retry {retry}")
            try:
                hold = phase == "discovery" and Knob.KEEP_SESSION_OPEN in self.unit.knobs
                await self.exchange(url, server_ip, body, requests or [], hold)
                return
            except (HttpError, OSError, TimeoutError, cwmp.CwmpParseError, SessionFailed) as exc:
                retry += 1
                if retry >= RETRIES and Knob.RETRY_STORM not in self.unit.knobs:  # a storm never gives up
                    raise RuntimeError(f"no TR-069 session after {RETRIES} attempts ({exc})") from None
                wait = self.retry_wait(retry)
                self.unit.log(f"cwmp: session failed ({exc}); retry {retry} in {wait:.2f} s")
                await asyncio.sleep(wait)

    def tls_for(self, url: str) -> ssl.SSLContext | None:
        if urlsplit(url).scheme != "https":
            return None
        # No verification at all (the HeMS certificate knobs decided in the own check, bench.mock.hems_trust).
        lax = {Knob.ACCEPT_ANY_CERT, Knob.ACCEPT_CERT_ON_RETRY, Knob.ACCEPT_UNTRUSTED_HEMS_CA,
               Knob.ACCEPT_EXPIRED_HEMS_CERT}  # fmt: skip
        if lax & self.unit.knobs:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            return ctx
        ctx = ssl.create_default_context(cafile=self.unit.cfg.ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def inform(
        self,
        ev: list[tuple[str, str]],
        extra: list[str],
        phase: str,
        overrides: dict[str, str] | None,
        retry: int,
    ) -> bytes:
        """The Inform of one attempt: `ev` (code, CommandKey), the forced and `extra` parameters (`overrides`
        replacing values), the DeviceId `phase` calls for, RetryCount `retry`."""
        params = self.inform_params(extra)
        if Knob.BOOT_EVENT_EVERY_SESSION in self.unit.knobs and all(code != "1 BOOT" for code, _ in ev):
            ev = [("1 BOOT", ""), *ev]  # bug: a boot in every session
        if overrides:
            params = [(n, overrides.get(n, v), t) for n, v, t in params]
        return cwmp.inform(
            self.unit.ns,
            str(random.randint(1, 10**9)),
            self.device_id_for(phase),
            ev,
            params,
            datetime.now(UTC),
            retry_count=0 if Knob.RETRY_COUNT_ZERO in self.unit.knobs else retry,  # the bug: always 0
        )

    async def exchange(
        self, url: str, server_ip: str, body: bytes, requests: list[dict[str, Any]], hold: bool = False
    ) -> None:
        """One HTTP session: the Inform `body`, the CPE's `requests`, then RPCs until the HeMS ends it; its
        connection closed then (`hold`, keep_session_open: left open, the session never released)."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = parts.path or "/"
        headers = {"Host": parts.netloc, "SOAPAction": ""}
        xml = {**headers, "Content-Type": "text/xml"}
        async with Client(
            server_ip, port, self.tls_for(url), parts.hostname, 30.0, **self.hems_auth()
        ) as http:
            r = await http.request("POST", path, body, xml)
            if r.status >= 500:
                raise SessionFailed(f"Inform answered HTTP {r.status}")
            if r.status != 200:
                raise RuntimeError(f"Inform refused: HTTP {r.status}")
            cwmp.parse_envelope(r.body)
            for req in [r for r in requests if r in self.unit.requests]:
                r = await http.request("POST", path, self.cpe_request(req), xml)
                if r.status != 200:
                    raise RuntimeError(f"{req['method']} refused: HTTP {r.status}")
                self.unit.requests.remove(req)
                self.unit.log(f"cwmp: {req['method']} sent (fault {req.get('fault_code', 0)})")
            out = b""
            while True:
                r = await http.request("POST", path, out, xml if out else headers)
                if r.status == 204 or not r.body.strip():
                    self.unit.log("cwmp: session ended")
                    if hold:
                        self.unit.log("bug: keeping the session's connection open after its end")
                        self.held.append(http.writer)
                        http.writer = None  # not closed when the client is
                    return
                env = cwmp.parse_envelope(r.body)
                out = await self.unit.rpc.answer(env)

    def cpe_request(self, req: dict[str, Any]) -> bytes:
        return cwmp.transfer_complete(
            self.unit.ns,
            str(random.randint(1, 10**9)),
            req["command_key"],
            req["fault_code"],
            req["fault_string"],
            req["start"],
            req["end"],
        )

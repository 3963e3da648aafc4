"""Connection requests (TR-069 3.2.2): an HTTP GET with Digest (or Basic) auth to a ConnectionRequestURL."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

CONNECTION_REQUEST_URL_PARAMS = (
    "Device.ManagementServer.ConnectionRequestURL",
    "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
)


def refused_words(
    hems: str, unit: object, url: str, got: str, seen: Sequence[str], attempts: int, retry_after: float
) -> str:
    """A step's connection request refused each time (`seen`: what each of the `attempts` got): the live
    HeMS's words, and a judge's from evidence (bench/evidence/judge_cr.py)."""
    tries = (
        f" ({attempts} connection requests {retry_after:g} s apart: {'; '.join(seen)})"
        if attempts > 1
        else ""
    )
    return f"HeMS {hems}: connection request to unit {unit} at {url} answered {got}, expected HTTP 200 or 204{tries}"


@dataclass(frozen=True)
class ConnReqResult:
    """What the unit answered: `status` is the final HTTP status (None when no answer), `error` why not."""

    url: str
    status: int | None
    error: str
    elapsed: float
    auth: str
    retry_after: str = ""  # the unit's Retry-After header (e.g. with 503), as sent

    @property
    def ok(self) -> bool:
        # TR-069 3.2.2: the CPE answers 200 or 204 and then opens a session.
        return self.status in (200, 204)


@dataclass(frozen=True)
class CrPolicy:
    """How the HeMS asks a unit for a session: with these credentials, up to `attempts` connection requests
    `retry_after` seconds apart while the unit refuses (an HTTP status other than 200/204, no answer, or no
    session within the wait's bound)."""

    username: str
    password: str
    attempts: int = 1
    retry_after: float = 10.0


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


async def connection_request(
    url: str, username: str, password: str, timeout: float = 10.0, credentials: bool = True
) -> ConnReqResult:
    """GET `url`, answering a Digest challenge (or a Basic one, which some units still use); without
    `credentials`, answering none (a request the unit must refuse with 401, TR-069 3.2.2)."""
    t0 = time.monotonic()
    limit = aiohttp.ClientTimeout(total=timeout)
    auth = "none"
    if not credentials:
        try:
            async with (
                aiohttp.ClientSession(timeout=limit) as http,
                http.get(url, allow_redirects=False) as r,
            ):
                await r.read()
                return ConnReqResult(
                    url, r.status, "", time.monotonic() - t0, auth, r.headers.get("Retry-After", "")
                )
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            return ConnReqResult(url, None, f"{type(exc).__name__}: {exc}", time.monotonic() - t0, auth)
    try:
        digest = aiohttp.DigestAuthMiddleware(username, password, preemptive=False)
        async with (
            aiohttp.ClientSession(timeout=limit, middlewares=(digest,)) as http,
            http.get(url, allow_redirects=False) as r,
        ):
            await r.read()
            status = r.status
            retry = r.headers.get("Retry-After", "")
            challenge = r.headers.get("WWW-Authenticate", "")
            sent = r.request_info.headers.get("Authorization", "")
            auth = sent.split(" ", 1)[0].lower() or "none"
        if status == 401 and challenge.lower().startswith("basic"):
            async with (
                aiohttp.ClientSession(timeout=limit) as http,
                http.get(
                    url, allow_redirects=False, headers={"Authorization": _basic(username, password)}
                ) as r,
            ):
                await r.read()
                status, auth = r.status, "basic"
                retry = r.headers.get("Retry-After", "")
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        return ConnReqResult(url, None, f"{type(exc).__name__}: {exc}", time.monotonic() - t0, auth)
    return ConnReqResult(url, status, "", time.monotonic() - t0, auth, retry)

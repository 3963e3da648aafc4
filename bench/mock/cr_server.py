"""The mock unit's connection-request server (TR-069 3.2.2): HTTP digest with the credentials in its data model;
an accepted request asks for a session with 6 CONNECTION REQUEST. A small HTTP/1.1 server on asyncio streams
(aiohttp's cost the mock process 2 MiB more than this, and its client 9)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from bench.httpauth import Authenticator
from bench.knobs import Knob
from bench.mock.datamodel import DataModel

CR_PORT = 7547
CR_RATE_LIMIT = 3.0  # s: knob cr_rate_limit refuses a connection request this soon after the last accepted
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           503: "Service Unavailable"}  # fmt: skip
IDLE = 30.0  # s a kept-alive connection may wait for its next request


async def serve(
    model: Callable[[], DataModel],
    ms: str,
    knobs: set[str],
    log: Callable[[str], None],
    notify: Callable[[dict[str, str]], None],
    port: int = CR_PORT,
) -> asyncio.Server:
    """Listen on CR_PORT; `model` gives the unit's current data model (a factory reset replaces it), `ms` is its
    ManagementServer object path, `notify` queues the session's events."""
    auth = Authenticator("digest", {}, realm="henb-bench unit")
    accepted = [-CR_RATE_LIMIT]  # when the last request was accepted (monotonic)

    def answer(
        method: str, target: str, authorization: str | None, remote: str
    ) -> tuple[int, dict[str, str]]:
        if target.split("?", 1)[0] != "/cr":
            return 404, {}
        if method not in ("GET", "HEAD"):
            return 405, {"Allow": "GET, HEAD"}
        user = model().get(ms + "ConnectionRequestUsername")
        auth.users = {user: model().get(ms + "ConnectionRequestPassword")}
        result = auth.check(method, target, authorization)
        if result.user is None and (
            (Knob.CR_WITHOUT_CREDENTIALS in knobs and not authorization)
            or (Knob.CR_WRONG_CREDENTIALS in knobs and authorization)
        ):
            log(f"bug: accepting a connection request from {remote} with {'wrong' if authorization else 'no'} "
                "credentials")  # fmt: skip
        elif result.user is None:
            if authorization:
                log(f"cr: refused from {remote}: {result.reason}")
            return 401, {"WWW-Authenticate": auth.challenge(result.stale)}
        if Knob.CR_RATE_LIMIT in knobs and time.monotonic() - accepted[0] < CR_RATE_LIMIT:
            log(f"cr: refused from {remote}: another within {CR_RATE_LIMIT:g} s (rate limit)")
            return 503, {"Retry-After": str(int(CR_RATE_LIMIT))}
        accepted[0] = time.monotonic()
        log(f"cr: connection request from {remote}")
        notify({"6 CONNECTION REQUEST": ""})
        return 200, {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        remote = (writer.get_extra_info("peername") or ("?",))[0]
        with contextlib.suppress(
            OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError
        ):
            while True:
                head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE)).decode("latin-1")
                request, *lines = head.split("\r\n")
                parts = request.split(" ")
                headers: dict[str, str] = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = headers.get("content-length", "0")
                if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not length.isdigit():
                    status, extra, close = 400, dict[str, str](), True
                else:
                    await reader.readexactly(int(length))  # a GET has no body; one sent is read and ignored
                    status, extra = answer(parts[0], parts[1], headers.get("authorization"), remote)
                    close = headers.get("connection", "").lower() == "close" or parts[2] == "HTTP/1.0"
                fields = {**extra, "Content-Length": "0", **({"Connection": "close"} if close else {})}
                writer.write(
                    f"HTTP/1.1 {status} {REASONS[status]}\r\n".encode()
                    + "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("latin-1")
                    + b"\r\n"
                )
                await writer.drain()
                if close:
                    break
        writer.close()

    return await asyncio.start_server(handle, "0.0.0.0", port)

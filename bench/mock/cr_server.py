"""The mock unit's connection-request server (TR-069 3.2.2): HTTP digest with the credentials in its data model;
an accepted request asks for a session with 6 CONNECTION REQUEST. aiohttp's server loads only here."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.knobs import Knob
from bench.mock.datamodel import DataModel

CR_PORT = 7547
CR_RATE_LIMIT = 3.0  # s: knob cr_rate_limit refuses a connection request this soon after the last accepted


async def serve(
    model: Callable[[], DataModel],
    ms: str,
    knobs: set[str],
    log: Callable[[str], None],
    notify: Callable[[dict[str, str]], None],
) -> None:
    """Listen on CR_PORT; `model` gives the unit's current data model (a factory reset replaces it), `ms` is its
    ManagementServer object path, `notify` queues the session's events."""
    from aiohttp import web

    from bench.hems.auth import Authenticator

    auth = Authenticator("digest", {}, realm="henb-bench unit")
    accepted = [-CR_RATE_LIMIT]  # when the last request was accepted (monotonic)

    async def handle(request: web.Request) -> web.Response:
        user = model().get(ms + "ConnectionRequestUsername")
        auth.users = {user: model().get(ms + "ConnectionRequestPassword")}
        result = auth.check(request.method, request.path_qs, request.headers.get("Authorization"))
        if result.user is None:
            if request.headers.get("Authorization"):
                log(f"cr: refused from {request.remote}: {result.reason}")
            return web.Response(status=401, headers={"WWW-Authenticate": auth.challenge(result.stale)})
        if Knob.CR_RATE_LIMIT in knobs and time.monotonic() - accepted[0] < CR_RATE_LIMIT:
            log(f"cr: refused from {request.remote}: another within {CR_RATE_LIMIT:g} s (rate limit)")
            return web.Response(status=503, headers={"Retry-After": str(int(CR_RATE_LIMIT))})
        accepted[0] = time.monotonic()
        log(f"cr: connection request from {request.remote}")
        notify({"6 CONNECTION REQUEST": ""})
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/cr", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", CR_PORT).start()

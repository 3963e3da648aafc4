"""The HeMS's transport: HTTP and HTTPS served from the HeMS's own event-loop thread (uvloop). Every connection
starts on the lean path (bench/hems/lean.py) and is aiohttp's from its first request that is not plain; both
hand each request to the session engine (bench/hems/session.py) and write its answer. TLS handshakes are done
here (bench.hems.tls.serve_tls), so one a unit breaks off is a `tls-handshake-failed` event."""

from __future__ import annotations

import asyncio
import gc
import socket
import ssl
import threading
import time
from collections.abc import Callable

import uvloop
from aiohttp import web

from bench import cwmp
from bench.errors import InfraError
from bench.events import HemsKind
from bench.hems.failures import CLOSE
from bench.hems.lean import Connections, LeanHttp, LeanRequest
from bench.hems.session import Answer, SessionEngine
from bench.hems.tls import CertChoice, serve_tls

MAX_HTTP_BODY = 4 * cwmp.MAX_BODY


class Transport:
    """The listeners of HeMS `name`, each request answered by `engine`. `start` runs the event loop's thread,
    `listen` adds a listener, `stop` ends them all; `wait_closed` follows each peer's open connections."""

    def __init__(self, name: str, engine: SessionEngine) -> None:
        self.name = name
        self.engine = engine
        self.connections = Connections()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tls_accepts: list[asyncio.Task[None]] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop while serving, else None."""
        return self._loop if self._thread is not None else None

    def start(self, sock: socket.socket, tls: ssl.SSLContext | CertChoice | None) -> None:
        """Serve HTTP (HTTPS with `tls`) on a bound, listening socket from a background thread."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            # libuv's loop: about 15% less CPU per session than asyncio's own (benchmarks/bench_hems.py).
            loop = uvloop.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(sock, tls))
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

    def listen(self, sock: socket.socket, tls: ssl.SSLContext | CertChoice | None) -> None:
        """Serve on one more bound, listening socket (HTTPS with `tls`), the lean path first as on the first."""
        loop = self.loop
        if loop is None:
            raise InfraError(f"HeMS {self.name} is not running")
        if tls is not None:
            loop.call_soon_threadsafe(self._accept_tls, sock, tls)
            return

        async def serve() -> None:
            await loop.create_server(self._lean_protocol, sock=sock, backlog=1024)

        asyncio.run_coroutine_threadsafe(serve(), loop).result(10)

    def stop(self) -> None:
        """Stop serving and join the thread; safe to call twice."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        gc.unfreeze()

    def wait_closed(self, peer: str, timeout: float) -> bool:
        """Wait until `peer` has no connection open; False if one still is after `timeout`. Woken by each
        connection that closes, on either path."""
        if self.loop is None:
            return True
        return self.connections.wait_none(peer, timeout)

    # ---- in the loop's thread ----

    def _lean_protocol(self) -> LeanHttp:
        server = self._runner.server if self._runner is not None else None
        assert server is not None
        return LeanHttp(self._lean, server, MAX_HTTP_BODY, self.connections)

    async def _serve(self, sock: socket.socket, tls: ssl.SSLContext | CertChoice | None) -> None:
        # A generous HTTP cap: the CWMP size limit is enforced by the codec, which records the reason.
        app = web.Application(client_max_size=MAX_HTTP_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        # Plain requests take the lean path; a connection is aiohttp's from its first other request on.
        if tls is not None:
            self._accept_tls(sock, tls)
            return
        self._server = await asyncio.get_running_loop().create_server(
            self._lean_protocol, sock=sock, backlog=1024
        )

    def _accept_tls(self, sock: socket.socket, tls: ssl.SSLContext | CertChoice) -> None:
        """HTTPS on `sock`, each handshake done here: one that fails is a `tls-handshake-failed` event naming
        the peer, the alert it sent (a unit refusing the certificate) and the certificate that handshake was
        shown (`own`, or the name the bench gave one it shows that peer)."""

        def failed(peer: str, reason: str, alert: str | None, cert: str) -> None:
            self.engine.event(HemsKind.TLS_FAILED, peer, reason=reason, alert=alert, cert=cert or "own")

        protocol: Callable[[], asyncio.BaseProtocol] = self._lean_protocol
        self._tls_accepts.append(asyncio.ensure_future(serve_tls(sock, tls, protocol, failed)))

    async def _cleanup(self) -> None:
        if self._server is not None:
            self._server.close()
        for accepting in self._tls_accepts:
            accepting.cancel()
        await asyncio.gather(*self._tls_accepts, return_exceptions=True)
        tasks = [task for conn in list(self.connections.lean) if (task := conn.close()) is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        # What is still going (a connection request) is cancelled, not left pending in a closed loop: its
        # caller's future ends now (request_connection: InfraError).
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """A request aiohttp read (one the lean path handed over: bench/hems/lean.py)."""
        engine = self.engine
        peer = request.remote or "?"
        t_in = time.time()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            engine.event(HemsKind.BAD_MESSAGE, peer, reason=exc.text, size=request.content_length)
            answer = engine.finish(t_in, peer, b"", 400, b"bad CWMP message: body too large\n", None, {})
        except (web.RequestPayloadError, ConnectionError) as exc:
            # The unit's fault (a body cut short, a Content-Encoding that does not decode), not the bench's.
            reason = " ".join(f"the body could not be read: {exc}".split())
            engine.event(HemsKind.BAD_MESSAGE, peer, reason=reason, size=request.content_length)
            answer = engine.finish(t_in, peer, b"", 400, f"bad CWMP message: {reason}\n".encode(), None, {})
        except Exception as exc:  # noqa: BLE001 - a bad request must never take the HeMS down
            engine.event(HemsKind.HEMS_ERROR, peer, reason=repr(exc), size=request.content_length)
            answer = engine.finish(t_in, peer, b"", 500, b"internal error\n", None, {})
        except BaseException:
            # Cancelled (the server stopping): the request was still received.
            engine.transcript.add(t_in, "in", peer, None, b"")
            raise
        else:
            answer = await engine.answer(
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

    async def _lean(self, request: LeanRequest, peer: str) -> Answer:
        """A request the lean path read (bench/hems/lean.py)."""
        if request.missing:
            length = len(request.body) + request.missing
            reason = f"the body could not be read: the connection ended {request.missing} bytes short of its Content-Length {length}"
            self.engine.event(HemsKind.BAD_MESSAGE, peer, reason=reason, size=length)
            return self.engine.finish(
                time.time(), peer, b"", 400, f"bad CWMP message: {reason}\n".encode(), None, {}
            )
        return await self.engine.answer(
            request.method,
            request.path_qs,
            request.authorization,
            request.cookies,
            peer,
            request.body,
            len(request.body),
            time.time(),
        )

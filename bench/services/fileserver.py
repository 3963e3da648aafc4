"""The operator's file server in the core namespace: HTTP and HTTPS (aiohttp), FTP (pyftpdlib) and SFTP
(asyncssh), with a user name and password per file; every transfer goes on the timeline (source "fileserver")."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import os
import re
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.errors import InfraError
from bench.events import FileserverKind, Source
from bench.hems.tls import serve_tls, server_context
from bench.httpauth import basic_credentials
from bench.pki import CertFiles
from bench.timeline import Timeline

ANON = "_anonymous"
UNTRUSTED = "https-untrusted"  # the port whose certificate no unit may accept
_SAFE = re.compile(r"^[A-Za-z0-9._/+=,-]+$")


def connected_at(sock: socket.socket | None) -> float:
    """When the unit's TCP connection was made (or last brought data: an SSH client's greeting), by the kernel's
    clock: TCP_INFO's tcpi_last_data_recv, ms before now. The server's thread gets to a new connection late on a
    busy bench, and a PM schedule is judged by when each upload began. Now, when the kernel does not say."""
    now = time.time()
    if sock is None:
        return now
    try:
        (ago_ms,) = struct.unpack_from("=I", sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104), 52)
    except (OSError, struct.error):
        return now
    return now - ago_ms / 1000


class FileServer:
    """Start it from a thread inside `netns` (its threads inherit the namespace). Files live under `workdir/files/<user>/<path>`: a file added for a user is served only to that user
    (with its password); an upload by a user lands in that user's folder. `users` may upload."""

    def __init__(
        self,
        netns: str,
        address: str,
        workdir: Path,
        timeline: Timeline,
        tls: CertFiles | None = None,
        ports: dict[str, int] | None = None,
        hostname: str | None = None,
        untrusted: CertFiles | None = None,
    ) -> None:
        self.netns = netns
        self.address = address
        self.hostname = hostname or address
        self.root = workdir / "files"
        self.workdir = workdir
        self.timeline = timeline
        self.tls = tls
        # HTTPS with a certificate for the right name from a CA no unit trusts (a unit must refuse it).
        self.untrusted = untrusted
        self.ports = {"http": 80, "https": 443, "ftp": 21, "sftp": 22, UNTRUSTED: 8443, **(ports or {})}
        self.users: dict[str, str] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ftp_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._ftp_ready = threading.Event()  # the FTP listener has its own thread
        self._rounds = threading.Condition()
        self._ftp_rounds = 0  # rounds of the FTP thread's loop so far (caught_up() waits for one more)
        self._error: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._ssh: Any = None
        self._ftp: Any = None

    # -- content -----------------------------------------------------------------------------------
    def add_user(self, user: str, password: str) -> None:
        with self._lock:
            self.users[user] = password
        self._sync_ftp_user(user, password)

    def add_file(self, path: str, data: bytes, user: str = "", password: str = "") -> str:
        """Serve `data` at `path` (e.g. '/cfg/unit.xml') to `user`/`password` ('' for anonymous); returns
        the path."""
        path = "/" + path.lstrip("/")
        if not _SAFE.match(path) or ".." in path:
            raise ValueError(f"file path {path!r}: use letters, digits, '._/+=,-' and no '..'")
        if user:
            self.add_user(user, password)
        target = self.local(user or ANON, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return path

    def untrusted_url(self, path: str) -> str:
        """`path` over HTTPS on the port that presents a certificate from an untrusted CA."""
        if self.untrusted is None:
            raise InfraError("the file server has no HTTPS port with an untrusted certificate")
        return f"https://{self.hostname}:{self.ports[UNTRUSTED]}/{path.lstrip('/')}"

    def url(self, proto: str, path: str) -> str:
        port = self.ports[proto]
        default = {"http": 80, "https": 443, "ftp": 21, "sftp": 22}[proto]
        host = self.hostname if port == default else f"{self.hostname}:{port}"
        return f"{proto}://{host}/{path.lstrip('/')}"

    def local(self, user: str, path: str) -> Path:
        return self.root / (user or ANON) / path.lstrip("/")

    def _event(self, kind: FileserverKind, **data: Any) -> None:
        self.timeline.add(Source.FILESERVER, kind, **data)

    def _login_refused(self, proto: str, user: str, peer: str, status: int) -> None:
        """An FTP or SFTP login refused (a session-level refusal: no path yet)."""
        self._event(FileserverKind.AUTH_FAILED, proto=proto, path="", user=user, peer=peer, status=status)

    def _check(self, user: str, password: str) -> bool:
        with self._lock:
            known = self.users.get(user)
        return known is not None and hmac.compare_digest(known.encode(), password.encode())

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ANON).mkdir(exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="fileserver", daemon=True)
        self._thread.start()
        self._ftp_thread = threading.Thread(target=self._run_ftp, name="fileserver-ftp", daemon=True)
        self._ftp_thread.start()
        ready = self._ready.wait(timeout) and self._ftp_ready.wait(timeout)
        if not ready or self._error is not None:
            raise InfraError(f"file server on {self.address} did not start: {self._error}")

    def _run(self) -> None:
        try:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        import asyncssh

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.address, self.ports["http"]).start()
        if self.tls is not None:
            ctx = server_context(self.tls.cert, self.tls.key, keylog=self.workdir / "fileserver-tls-keys.log")
            await web.TCPSite(self._runner, self.address, self.ports["https"], ssl_context=ctx).start()
        if self.untrusted is not None:
            self._serve_untrusted(self.untrusted)
        key_path = self.workdir / "ssh_host_key"
        if not key_path.exists():
            asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key_path))
        server = self

        class _Ssh(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                self.peer = conn.get_extra_info("peername")[0]
                conn.set_extra_info(connected=connected_at(conn.get_extra_info("socket")))

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                ok = server._check(username, password)
                if not ok:
                    server._login_refused("sftp", username, self.peer, 0)
                return ok

        def sftp_factory(chan: Any) -> asyncssh.SFTPServer:
            return sftp_server()(chan, server)  # type: ignore[no-any-return]

        self._ssh = await asyncssh.listen(
            self.address,
            self.ports["sftp"],
            server_host_keys=[str(key_path)],
            server_factory=_Ssh,
            sftp_factory=sftp_factory,
            allow_scp=False,
        )

    def _serve_untrusted(self, cert: CertFiles) -> None:
        """HTTPS on the untrusted port, each handshake done here (bench.hems.tls.serve_tls), so a unit that
        refuses the certificate is seen: a `tls-handshake-failed` event with its alert."""
        import socket

        assert self._runner is not None and self._runner.server is not None
        ctx = server_context(cert.cert, cert.key, keylog=self.workdir / "fileserver-tls-keys.log")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, self.ports[UNTRUSTED]))
        sock.listen(128)
        port = self.ports[UNTRUSTED]

        def failed(peer: str, reason: str, alert: str | None, _cert: str) -> None:
            self._event(
                FileserverKind.TLS_FAILED, proto="https", port=port, peer=peer, reason=reason, alert=alert
            )

        self._untrusted_accept = asyncio.ensure_future(serve_tls(sock, ctx, self._runner.server, failed))

    def _run_ftp(self) -> None:
        import warnings

        with warnings.catch_warnings():
            # pyftpdlib still imports asyncore/asynchat (deprecated, but present in 3.11).
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyftpdlib.authorizers import DummyAuthorizer
            from pyftpdlib.handlers import FTPHandler
            from pyftpdlib.servers import FTPServer

        server = self
        try:
            authorizer = DummyAuthorizer()
            (self.root / ANON).mkdir(parents=True, exist_ok=True)

            class Handler(FTPHandler):
                def _path(self, file: str) -> str:
                    return "/" + os.path.relpath(file, server.local(self.username or ANON, "/"))

                def on_file_sent(self, file: str) -> None:
                    server._event(
                        FileserverKind.DOWNLOAD,
                        proto="ftp",
                        path=self._path(file),
                        user=self.username,
                        peer=self.remote_ip,
                        status=226,
                        bytes=os.path.getsize(file),
                    )

                def on_connect(self) -> None:
                    self.began: float | None = connected_at(self.socket)

                def ftp_STOR(self, file: str, mode: str = "w") -> Any:
                    # The first upload of a session began when the unit connected; a later one at its STOR.
                    self.stor_began = self.began or time.time()
                    self.began = None
                    return super().ftp_STOR(file, mode)

                def _uploaded(self, file: str, status: int) -> None:
                    server._event(
                        FileserverKind.UPLOAD,
                        proto="ftp",
                        path=self._path(file),
                        user=self.username,
                        peer=self.remote_ip,
                        status=status,
                        bytes=os.path.getsize(file),
                        stored=file,
                        began=round(getattr(self, "stor_began", time.time()), 6),
                    )

                def on_file_received(self, file: str) -> None:
                    self._uploaded(file, 226)

                def on_incomplete_file_received(self, file: str) -> None:
                    self._uploaded(file, 426)

                def on_login_failed(self, username: str, password: str) -> None:
                    server._login_refused("ftp", username, self.remote_ip, 530)

            Handler.authorizer = authorizer
            Handler.banner = "henb-bench file server"
            Handler.passive_ports = range(30000, 30100)
            # pyftpdlib answers a failed login only after 3 s (against password guessing); the bench reports
            # it when it happens, or a unit's wrong password reads as "no upload within the bound".
            Handler.auth_failed_timeout = 0
            Handler.log_prefix = ""
            self._authorizer = authorizer
            with self._lock:
                for user, password in self.users.items():
                    self._ftp_add(user, password)
            import logging

            logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
            from pyftpdlib.ioloop import IOLoop

            # An IOLoop of its own: pyftpdlib's default is one per process, which close_all() closes, so a file
            # server stopped while another ran left that one polling a closed epoll (ValueError on its thread),
            # and two servers' threads polled each other's connections.
            self._ftp = FTPServer((self.address, self.ports["ftp"]), Handler, ioloop=IOLoop())
        except BaseException as exc:
            self._error = exc
            self._ftp_ready.set()
            return
        self._ftp_ready.set()
        ioloop = self._ftp.ioloop
        while not self._stop.is_set():
            # One poll at a time (not serve_forever, which logs a banner on every call) so stop() is heard.
            ioloop.poll(0.1)
            ioloop.sched.poll()  # call_later work, such as the answer to a failed login
            with self._rounds:
                self._ftp_rounds += 1
                self._rounds.notify_all()
        self._ftp.close_all()

    def _ftp_add(self, user: str, password: str) -> None:
        home = self.local(user, "/")
        home.mkdir(parents=True, exist_ok=True)
        known = self._authorizer.user_table.get(user)
        if known is not None:
            # In place: removing and adding the user again (from a test's thread) let a login or transfer in
            # progress on the FTP thread find no such user (an FTP download failed with EOF while another unit's
            # test set the same user).
            known["pwd"] = password
            return
        self._authorizer.add_user(user, password, str(home), perm="elrw")

    def _sync_ftp_user(self, user: str, password: str) -> None:
        if getattr(self, "_authorizer", None) is not None:
            self._ftp_add(user, password)

    def caught_up(self, timeout: float) -> bool:
        """Wait until every transfer the file server has answered by now is on the timeline. pyftpdlib closes the
        data connection (the unit has the whole file) and answers 226 before it calls the hook that records the
        transfer: a unit quick to report it (its TransferComplete) can reach the HeMS while a busy bench's FTP
        thread has not recorded it yet. Both are one callback of that thread's loop, so one more round of it
        is enough; the HTTP and SFTP loop runs a callback queued now. False when `timeout` passed first."""
        if self._stop.is_set() or self._error is not None or not self._ready.is_set():
            return True  # not serving: nothing to record
        deadline = time.monotonic() + timeout
        with self._rounds:
            start = self._ftp_rounds
            ftp = self._rounds.wait_for(lambda: self._ftp_rounds > start or self._stop.is_set(), timeout)
        ran = threading.Event()
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # closed meanwhile (stopped): nothing more to record
                self._loop.call_soon_threadsafe(ran.set)
                return ran.wait(max(0.0, deadline - time.monotonic())) and ftp
        return ftp

    def stop(self) -> None:
        self._stop.set()
        loop = self._loop
        if loop is not None and self._thread is not None:

            async def close() -> None:
                accepting = getattr(self, "_untrusted_accept", None)
                if accepting is not None:
                    accepting.cancel()
                    await asyncio.gather(accepting, return_exceptions=True)
                if self._ssh is not None:
                    self._ssh.close()
                if self._runner is not None:
                    await self._runner.cleanup()

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
        if self._ftp_thread is not None:
            self._ftp_thread.join(5)

    # -- HTTP ----------------------------------------------------------------------------------------
    def _basic(self, request: web.Request) -> tuple[str, str] | None:
        return basic_credentials(request.headers.get("Authorization", ""))

    async def _http(self, request: web.Request) -> web.StreamResponse:
        began = round(time.time(), 6)  # the request's headers are in; its body may take a while yet
        proto = "https" if request.secure else "http"
        peer = request.remote or ""
        path = "/" + request.match_info["path"]
        creds = self._basic(request)
        user = creds[0] if creds else ""
        common: dict[str, Any] = {"proto": proto, "path": path, "user": user, "peer": peer}
        sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
        if self.untrusted is not None and sockname and sockname[1] == self.ports[UNTRUSTED]:
            common["cert"] = "untrusted"  # the unit accepted the certificate from an untrusted CA
        if request.method in ("PUT", "POST"):
            common["began"] = began
        if not _SAFE.match(path) or ".." in path:
            self._event(
                FileserverKind.UPLOAD if request.method in ("PUT", "POST") else FileserverKind.DOWNLOAD,
                **common,
                status=400,
                bytes=0,
            )
            return web.Response(status=400, text="bad path\n")
        if creds is not None and not self._check(*creds):
            self._event(FileserverKind.AUTH_FAILED, **common, status=401)
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="henb-bench files"'})
        if request.method in ("PUT", "POST"):
            if creds is None:
                self._event(FileserverKind.AUTH_FAILED, **common, status=401)
                return web.Response(
                    status=401, headers={"WWW-Authenticate": 'Basic realm="henb-bench files"'}
                )
            data = await request.read()
            stored = self._unique(self.local(user, path))
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(data)
            self._event(FileserverKind.UPLOAD, **common, status=201, bytes=len(data), stored=str(stored))
            return web.Response(status=201)
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405)
        target = self.local(user, path)
        if not target.is_file():
            if creds is None and any(p.is_file() for p in self.root.glob(f"*/{path.lstrip('/')}")):
                self._event(FileserverKind.AUTH_FAILED, **common, status=401)
                return web.Response(
                    status=401, headers={"WWW-Authenticate": 'Basic realm="henb-bench files"'}
                )
            self._event(FileserverKind.DOWNLOAD, **common, status=404, bytes=0)
            return web.Response(status=404)
        data = target.read_bytes()
        self._event(FileserverKind.DOWNLOAD, **common, status=200, bytes=len(data))
        return web.Response(body=data, content_type="application/octet-stream")

    @staticmethod
    def _unique(path: Path) -> Path:
        if not path.exists():
            return path
        for i in range(1, 10000):
            candidate = path.with_name(f"{path.name}.{i}")
            if not candidate.exists():
                return candidate
        return path


@functools.cache
def sftp_server() -> type:
    """The SFTP server class, made when the file server first starts: asyncssh (a quarter of a second of CPU to
    import, and a C compiler run by ctypes looking for libnettle) only where a run uses the file server."""
    import asyncssh

    class Sftp(asyncssh.SFTPServer):  # type: ignore[misc]
        """SFTP chrooted into the user's folder; every closed file is a transfer on the timeline."""

        def __init__(self, chan: Any, server: FileServer) -> None:
            user = chan.get_extra_info("username")
            root = server.local(user, "/")
            root.mkdir(parents=True, exist_ok=True)
            super().__init__(chan, chroot=str(root).encode())
            self.fs = server
            self.user = user
            self.peer = chan.get_extra_info("peername")[0]
            self.open_files: dict[int, tuple[str, bool, float]] = {}
            # The first file of a connection began when the unit connected (an SSH handshake can take seconds on
            # a loaded unit or bench); a later one on the same connection when it was opened.
            self.connected: float | None = chan.get_connection().get_extra_info("connected")

        def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
            fh = super().open(path, pflags, attrs)
            began, self.connected = self.connected or time.time(), None
            self.open_files[id(fh)] = (
                path.decode(errors="replace"),
                bool(pflags & asyncssh.FXF_WRITE),
                began,
            )
            return fh

        def close(self, file_obj: Any) -> None:
            info = self.open_files.pop(id(file_obj), None)
            super().close(file_obj)
            if info is None:
                return
            path, writing, began = info
            path = "/" + path.lstrip("/")
            local = self.fs.local(self.user, path)
            size = local.stat().st_size if local.exists() else 0
            data: dict[str, Any] = {
                "proto": "sftp",
                "path": path,
                "user": self.user,
                "peer": self.peer,
                "status": 0,
                "bytes": size,
                "began": round(began, 6),
            }
            if writing:
                self.fs._event(FileserverKind.UPLOAD, **data, stored=str(local))
            else:
                self.fs._event(FileserverKind.DOWNLOAD, **data)

    return Sftp

"""An SSH server (asyncssh, in a thread, on 127.0.0.1) standing in for a unit's debug shell.

Commands run in a local /bin/sh; public-key or password login; SFTP can be switched off like on dropbear.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

import asyncssh


async def _run_command(process: asyncssh.SSHServerProcess[bytes]) -> None:
    # The bench's client always sends all of stdin then EOF, so read it first and run the command to the end.
    stdin = await process.stdin.read()
    proc = await asyncio.create_subprocess_shell(
        process.command or "exec /bin/sh",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )

    async def pump(source: asyncio.StreamReader, sink: Any) -> None:
        while chunk := await source.read(65536):
            with contextlib.suppress(OSError, asyncssh.Error):  # keep draining after the client left
                sink.write(chunk)

    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    run: asyncio.Future[Any] = asyncio.gather(
        pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr), proc.wait()
    )
    closed: asyncio.Future[Any] = asyncio.ensure_future(process.channel.wait_closed())
    await asyncio.wait({run, closed}, return_when=asyncio.FIRST_COMPLETED)
    if run.done() and not closed.done():
        rc = proc.returncode or 0
        process.exit(rc if rc >= 0 else 128 - rc)  # killed by a signal: like a shell reports it
        closed.cancel()
        return
    # The client gave up (timeout) or went away: the command must not outlive the session.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(
            proc.pid, signal.SIGKILL
        )  # the whole group: `sh -c "sleep 30"` leaves a child holding stdout
    await run


class _Server(asyncssh.SSHServer):
    def __init__(self, passwords: dict[str, str], connections: set[asyncssh.SSHServerConnection]) -> None:
        self.passwords = passwords
        self.connections = connections

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.difference_update([c for c in self.connections if c.is_closed()])

    def password_auth_supported(self) -> bool:
        return bool(self.passwords)

    def validate_password(self, username: str, password: str) -> bool:
        return self.passwords.get(username) == password


class SshServer:
    """`with SshServer(tmp_path, user="root", client_key=pub) as srv:` listens on 127.0.0.1:`srv.port`.

    `client_key` is an OpenSSH public key line allowed to log in as `user`; `host_key` is what the server
    presents (generated when not given).
    """

    def __init__(
        self,
        user: str = "root",
        client_key: str | None = None,
        password: str | None = None,
        sftp: bool = True,
        host_key: asyncssh.SSHKey | None = None,
    ) -> None:
        self.user = user
        self.client_key = client_key
        self.passwords = {user: password} if password else {}
        self.sftp = sftp
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._serve(),), daemon=True
        )

    @property
    def host_key_line(self) -> str:
        """The server's public key as "type base64", the form the inventory pins."""
        return " ".join(self.host_key.export_public_key("openssh").decode().split()[:2])

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        connections: set[asyncssh.SSHServerConnection] = set()
        authorized = asyncssh.import_authorized_keys(self.client_key) if self.client_key else None
        server = await asyncssh.create_server(
            lambda: _Server(self.passwords, connections),
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            authorized_client_keys=authorized,
            process_factory=_run_command,
            sftp_factory=True if self.sftp else None,
            encoding=None,
            allow_scp=False,
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        # Like a unit losing power: listener and open sessions go, and the commands they ran are ended.
        server.close()
        for conn in list(connections):
            conn.close()
        await server.wait_closed()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def start(self) -> SshServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("simulated SSH server did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> SshServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def write_client_key(directory: Path) -> tuple[Path, str]:
    """Make a fresh ed25519 key pair for a test; returns the private key file and the public key line."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = directory / "id_ed25519"
    path.write_bytes(key.export_private_key("openssh"))
    path.chmod(0o600)
    return path, key.export_public_key("openssh").decode()

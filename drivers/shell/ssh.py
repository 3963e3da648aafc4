"""SSH into a unit's debug shell with asyncssh (the bench's one SSH stack: the file server's SFTP, the mock's
uploads and the simulated lab use it too): run a command with a timeout, fetch and put files.

Files go over SFTP, or over `cat` when the unit's SSH server has no SFTP (dropbear on many units). The calls
are plain functions; the connection lives on an event loop in a thread of the driver's own.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncssh

from drivers.errors import EquipmentError, UnitError
from drivers.shell.base import CommandResult

if TYPE_CHECKING:
    from drivers.events import EventSink
    from drivers.shell.settings import SshShellConfig

T = TypeVar("T")


class _PinnedHostKey(asyncssh.SSHClient):
    """Accept only the host key given in the inventory ("ssh-ed25519 AAAA..." or "SHA256:..." fingerprint);
    checked during the key exchange, before any credential is sent."""

    def __init__(self, expected: str) -> None:
        self.expected = expected.strip()

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        line = " ".join(key.export_public_key("openssh").decode().split()[:2])
        return self.expected in (line, key.get_fingerprint("sha256"))


class SshShell:
    def __init__(
        self,
        host: str,
        username: str,
        port: int = 22,
        key_file: Path | None = None,
        password: str | None = None,
        host_key: str | None = None,
        connect_timeout: float = 10.0,
        unit: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.key_file = key_file
        self._password = password
        self.host_key = host_key
        self.connect_timeout = connect_timeout
        self.unit = unit
        self._conn: asyncssh.SSHClientConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SshShell({self.address})"

    @property
    def address(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"

    # -- connection ------------------------------------------------------------------------------

    def _error(self, what: str) -> EquipmentError:
        unit = f" (unit {self.unit})" if self.unit else ""
        return EquipmentError(f"ssh {self.address}{unit}: {what}")

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the driver's event loop (started on first use) and wait for its result."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name=f"ssh-{self.address}", daemon=True)
            self._thread.start()
            self._loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _connect(self) -> asyncssh.SSHClientConnection:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        self._conn = None
        # A unit is reflashed often and gets a new host key each time: pin one only if the inventory has it.
        pinned = self.host_key
        try:
            self._conn = await asyncssh.connect(
                self.host, self.port, username=self.username, password=self._password,
                client_keys=[str(self.key_file)] if self.key_file else [],
                client_factory=(lambda: _PinnedHostKey(pinned)) if pinned else None,
                known_hosts=([], [], []) if pinned else None, agent_path=None, config=[],
                connect_timeout=self.connect_timeout, login_timeout=self.connect_timeout,
                preferred_auth="publickey,password,keyboard-interactive",
            )  # fmt: skip
        except asyncssh.HostKeyNotVerifiable:
            raise self._error("host key does not match the one in the inventory") from None
        except asyncssh.PermissionDenied:
            how = (
                f"key {self.key_file}"
                if self.key_file
                else "password"
                if self._password
                else "no credentials"
            )
            raise self._error(f"authentication failed ({how})") from None
        except (OSError, asyncssh.Error, TimeoutError) as e:
            raise self._error(f"cannot connect: {e or type(e).__name__}") from None
        return self._conn

    def connect(self) -> asyncssh.SSHClientConnection:
        return self._call(self._connect())

    def probe(self) -> str:
        """Connect and log in (EquipmentError when that fails); runs nothing on the unit."""
        banner = self.connect().get_extra_info("server_version") or "?"
        return f"logs in ({banner})"

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def close() -> None:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
                await conn.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(self.connect_timeout)
        except (OSError, asyncssh.Error, TimeoutError):
            pass  # closing what is already gone
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(self.connect_timeout)
            loop.close()

    def __enter__(self) -> SshShell:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands --------------------------------------------------------------------------------

    def run(
        self, command: str, timeout: float = 30.0, check: bool = False, stdin: bytes = b""
    ) -> CommandResult:
        """Run `command` in the unit's shell; UnitError if it does not finish within `timeout` seconds,
        or (with `check`) if it exits non-zero."""
        status, out, err = self._call(self._exec(command, timeout, stdin))
        result = CommandResult(command, status, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and not result.ok:
            raise UnitError(
                f"command {command!r} on {self.address} exited {status}; stderr: {_tail(result.stderr)}; "
                f"stdout: {_tail(result.stdout)}"
            )
        return result

    async def _exec(self, command: str, timeout: float, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
        conn = await self._connect()
        try:
            process = await conn.create_process(command, encoding=None)
            process.stdin.write(stdin)
            process.stdin.write_eof()
        except (OSError, asyncssh.Error) as e:
            self._conn = None
            raise self._error(f"cannot start {command!r}: {e}") from None
        out, err = bytearray(), bytearray()

        async def drain(stream: asyncssh.SSHReader[bytes], into: bytearray) -> None:
            while chunk := await stream.read(65536):
                into += chunk

        try:
            await asyncio.wait_for(
                asyncio.gather(drain(process.stdout, out), drain(process.stderr, err), process.wait_closed()),
                timeout,
            )
        except TimeoutError:
            raise UnitError(
                f"timed out after {timeout:g} s waiting for command {command!r} on {self.address}; "
                f"last output: {_tail(out.decode(errors='replace')) or '(nothing)'}"
            ) from None
        except (OSError, asyncssh.Error):
            self._conn = None
            raise self._error(f"connection lost while running {command!r}") from None
        finally:
            process.close()
        if conn.is_closed() and process.exit_status is None:
            self._conn = None
            raise self._error(f"connection lost while running {command!r}")
        status = process.exit_status
        return (-1 if status is None else status), bytes(out), bytes(err)

    # -- files -----------------------------------------------------------------------------------

    def get(self, remote: str, local: Path) -> None:
        """Copy `remote` from the unit to `local`."""
        local = Path(local)
        local.parent.mkdir(parents=True, exist_ok=True)
        self._call(self._transfer("get", remote, local))

    def put(self, local: Path, remote: str) -> None:
        """Copy `local` to `remote` on the unit."""
        self._call(self._transfer("put", remote, Path(local)))

    async def _transfer(self, way: str, remote: str, local: Path) -> None:
        what = f"cannot fetch {remote} from" if way == "get" else f"cannot put {remote} on"
        conn = await self._connect()
        try:
            sftp = await conn.start_sftp_client()
        except (OSError, asyncssh.Error):
            sftp = None  # no SFTP subsystem on the unit: fall back to cat
        if sftp is not None:
            try:
                if way == "get":
                    await sftp.get(remote, str(local))
                else:
                    await sftp.put(str(local), remote)
                return
            except (OSError, asyncssh.SFTPError) as e:
                raise UnitError(f"{what} {self.address}: {getattr(e, 'reason', None) or e}") from None
            finally:
                sftp.exit()
        if way == "get":
            status, out, err = await self._exec(f"cat -- {shlex.quote(remote)}", timeout=120)
        else:
            status, _, err = await self._exec(f"cat > {shlex.quote(remote)}", 120, local.read_bytes())
        if status != 0:
            raise UnitError(f"{what} {self.address}: {err.decode(errors='replace').strip()}")
        if way == "get":
            local.write_bytes(out)


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def build(cfg: SshShellConfig, events: EventSink | None, unit: str | None) -> SshShell:
    from drivers.registry import secret

    return SshShell(
        cfg.host, cfg.username, port=cfg.port, key_file=cfg.key_file, password=secret(cfg.password),
        host_key=cfg.host_key, connect_timeout=cfg.connect_timeout, unit=unit,
    )  # fmt: skip

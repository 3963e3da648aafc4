"""SSH into a unit's debug shell (paramiko): run a command with a timeout, fetch and put files.

Files go over SFTP, or over `cat` when the unit's SSH server has no SFTP (dropbear on many units).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import paramiko

from drivers.errors import EquipmentError, UnitError
from drivers.shell.base import CommandResult


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Accept only the host key given in the inventory ("ssh-ed25519 AAAA..." or "SHA256:..." fingerprint)."""

    def __init__(self, expected: str) -> None:
        self.expected = expected.strip()

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if self.expected in (f"{key.get_name()} {key.get_base64()}", key.fingerprint):
            return
        raise paramiko.BadHostKeyException(hostname, key, key)


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
        self._client: paramiko.SSHClient | None = None

    def __repr__(self) -> str:
        return f"SshShell({self.address})"

    @property
    def address(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"

    # -- connection ------------------------------------------------------------------------------

    def _error(self, what: str) -> EquipmentError:
        unit = f" (unit {self.unit})" if self.unit else ""
        return EquipmentError(f"ssh {self.address}{unit}: {what}")

    def connect(self) -> paramiko.SSHClient:
        client = self._client
        transport = client.get_transport() if client else None
        if client is not None and transport is not None and transport.is_active():
            return client
        self.close()
        client = paramiko.SSHClient()
        # A unit is reflashed often and gets a new host key each time: pin one only if the inventory has it.
        client.set_missing_host_key_policy(
            _PinnedHostKey(self.host_key) if self.host_key else paramiko.AutoAddPolicy()
        )
        t = self.connect_timeout
        try:
            client.connect(
                self.host, self.port, self.username, password=self._password,
                key_filename=str(self.key_file) if self.key_file else None, timeout=t, banner_timeout=t,
                auth_timeout=t, look_for_keys=False, allow_agent=False,
            )  # fmt: skip
        except paramiko.BadHostKeyException:
            client.close()
            raise self._error("host key does not match the one in the inventory") from None
        except paramiko.AuthenticationException:
            client.close()
            how = (
                f"key {self.key_file}"
                if self.key_file
                else "password"
                if self._password
                else "no credentials"
            )
            raise self._error(f"authentication failed ({how})") from None
        except (OSError, paramiko.SSHException) as e:
            client.close()
            raise self._error(f"cannot connect: {e}") from None
        self._client = client
        return client

    def probe(self) -> str:
        """Connect and log in (EquipmentError when that fails); runs nothing on the unit."""
        transport = self.connect().get_transport()
        banner = transport.remote_version if transport is not None else "?"
        return f"logs in ({banner})"

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

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
        status, out, err = self._exec(command, timeout, stdin)
        result = CommandResult(command, status, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and not result.ok:
            raise UnitError(
                f"command {command!r} on {self.address} exited {status}; stderr: {_tail(result.stderr)}; "
                f"stdout: {_tail(result.stdout)}"
            )
        return result

    def _exec(self, command: str, timeout: float, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
        transport = self.connect().get_transport()
        assert transport is not None
        try:
            chan = transport.open_session(timeout=self.connect_timeout)
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
        except (OSError, paramiko.SSHException) as e:
            self.close()
            raise self._error(f"cannot start {command!r}: {e}") from None
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        try:
            while True:
                while chan.recv_ready():
                    out += chan.recv(65536)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if chan.exit_status_ready() and (chan.eof_received or chan.closed):
                    if not (chan.recv_ready() or chan.recv_stderr_ready()):
                        return chan.recv_exit_status(), bytes(out), bytes(err)
                    continue
                if not transport.is_active():
                    self.close()
                    raise self._error(f"connection lost while running {command!r}")
                if time.monotonic() > deadline:
                    raise UnitError(
                        f"timed out after {timeout:g} s waiting for command {command!r} on {self.address}; "
                        f"last output: {_tail(out.decode(errors='replace')) or '(nothing)'}"
                    )
                time.sleep(0.01)
        finally:
            chan.close()

    # -- files -----------------------------------------------------------------------------------

    def get(self, remote: str, local: Path) -> None:
        """Copy `remote` from the unit to `local`."""
        local = Path(local)
        local.parent.mkdir(parents=True, exist_ok=True)
        sftp = self._sftp()
        if sftp is not None:
            try:
                sftp.get(remote, str(local))
                return
            except OSError as e:
                raise UnitError(f"cannot fetch {remote} from {self.address}: {e}") from None
            finally:
                sftp.close()
        status, out, err = self._exec(f"cat -- {shlex.quote(remote)}", timeout=120)
        if status != 0:
            raise UnitError(
                f"cannot fetch {remote} from {self.address}: {err.decode(errors='replace').strip()}"
            )
        local.write_bytes(out)

    def put(self, local: Path, remote: str) -> None:
        """Copy `local` to `remote` on the unit."""
        data = Path(local).read_bytes()
        sftp = self._sftp()
        if sftp is not None:
            try:
                sftp.put(str(local), remote)
                return
            except OSError as e:
                raise UnitError(f"cannot put {remote} on {self.address}: {e}") from None
            finally:
                sftp.close()
        status, _, err = self._exec(f"cat > {shlex.quote(remote)}", timeout=120, stdin=data)
        if status != 0:
            raise UnitError(f"cannot put {remote} on {self.address}: {err.decode(errors='replace').strip()}")

    def _sftp(self) -> Any:
        try:
            return self.connect().open_sftp()
        except (OSError, paramiko.SSHException, EOFError):
            return None  # no SFTP subsystem on the unit: fall back to cat


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])

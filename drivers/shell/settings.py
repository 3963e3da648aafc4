"""Settings model of the SSH shell (drivers/shell/ssh.py, which imports asyncssh only when a shell is built)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr

from drivers import registry
from drivers.registry import DriverSettings, Port

if TYPE_CHECKING:
    from drivers.shell.ssh import SshShell


class SshShellConfig(DriverSettings):
    driver: Literal["ssh"]
    host: str
    port: Port = 22
    username: str = "root"
    key_file: Path | None = None
    password: SecretStr | None = None
    host_key: str | None = Field(
        None, description='pin the unit\'s key: "ssh-ed25519 AAAA..." or "SHA256:..."'
    )
    connect_timeout: float = Field(10.0, gt=0)

    def where(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"


def build_shell(cfg: Any, unit: str | None = None) -> SshShell:
    """The shell for a unit's `shell:` entry, by its backend."""
    shell: SshShell = registry.build("shell", cfg, None, unit)
    return shell

"""Shell drivers: run commands on a unit's debug shell and move files to and from it."""

from typing import TYPE_CHECKING, Any

from drivers.shell.base import CommandResult, ShellDriver

if TYPE_CHECKING:
    from drivers.shell.ssh import SshShell

__all__ = ["CommandResult", "ShellDriver", "SshShell"]


def __getattr__(name: str) -> Any:
    # SshShell on first use: asyncssh is heavy, and the package is imported with the inventory (its settings).
    if name == "SshShell":
        from drivers.shell.ssh import SshShell

        return SshShell
    raise AttributeError(name)

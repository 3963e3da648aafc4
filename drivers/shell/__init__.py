"""Shell drivers: run commands on a unit's debug shell and move files to and from it."""

from drivers.shell.base import CommandResult, ShellDriver
from drivers.shell.ssh import SshShell

__all__ = ["CommandResult", "ShellDriver", "SshShell"]

"""The interface every shell backend offers to the unit and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class ShellDriver(Protocol):
    def run(self, command: str, timeout: float = 30.0, check: bool = False) -> CommandResult: ...

    def get(self, remote: str, local: Path) -> None: ...

    def put(self, local: Path, remote: str) -> None: ...

    def close(self) -> None: ...

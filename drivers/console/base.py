"""The interface every console backend offers to the unit and the tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol


class ConsoleDriver(Protocol):
    log_path: Path

    def open(self) -> None: ...

    def close(self) -> None: ...

    def write(self, data: bytes | str) -> None: ...

    def expect(self, pattern: str, timeout: float) -> re.Match[str]: ...

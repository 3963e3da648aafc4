"""A raw pseudo-terminal pair: the mock unit writes its console on one end, SerialConsole opens the other."""

from __future__ import annotations

import contextlib
import os
import tty


class PtyPair:
    """`device_fd`: the simulated unit's serial line; `path`: the tty the bench opens like real hardware."""

    def __init__(self) -> None:
        self.device_fd, self._slave_fd = os.openpty()
        # Raw, so the bench sees exactly the device's bytes: no echo of commands, no CR/LF rewriting.
        tty.setraw(self._slave_fd)
        self.path = os.ttyname(self._slave_fd)

    def close(self) -> None:
        for fd in (self.device_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.device_fd = self._slave_fd = -1

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

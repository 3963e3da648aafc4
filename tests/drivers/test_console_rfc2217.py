"""SerialConsole over rfc2217:// to an in-process RFC 2217 server in front of a pty (a terminal server)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.lab.sim.rfc2217 import Rfc2217Server
from bench.timeline import Timeline
from drivers.console import PtyPair, SerialConsole


def test_console_over_rfc2217(tmp_path: Path) -> None:
    tl = Timeline()
    with PtyPair() as pty, Rfc2217Server(pty.path) as server:
        with SerialConsole(server.url, tmp_path / "c.log", tl, baudrate=115200, unit="u1") as con:
            # 0xFF is the telnet IAC byte: it must arrive once, unescaped.
            os.write(pty.device_fd, b"U-Boot 2024.01 \xff\r\nhenb login: ")
            assert con.expect(r"login: ", timeout=30)
            con.write("root\n")
            got = b""
            deadline = time.monotonic() + 3
            while len(got) < 5 and time.monotonic() < deadline:
                got += os.read(pty.device_fd, 16)
            assert got == b"root\n"
        assert con.lines()[0] == "U-Boot 2024.01 \ufffd"
    assert [e.data["line"] for e in tl if e.kind == "console-line"][0] == "U-Boot 2024.01 \ufffd"

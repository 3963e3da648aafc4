"""Tests for bench/lab/console.py: the lab's console server read through the real SerialConsole driver, over
socket:// (as ser2net) and rfc2217://, on 127.0.0.1 ports the OS chose."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import pytest

from bench.lab.console import ConsoleServer
from bench.timeline import Timeline
from drivers.console import PtyPair, SerialConsole
from drivers.errors import UnitError


def read_device(fd: int, n: int, timeout: float = 10.0) -> bytes:
    """What a client typed, as the unit reads it from its serial line."""
    os.set_blocking(fd, False)
    got, deadline = b"", time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        try:
            got += os.read(fd, 64)
        except BlockingIOError:
            time.sleep(0.02)
    return got


def print_until_seen(con: SerialConsole, fd: int, data: bytes, pattern: str, timeout: float = 10.0) -> bool:
    """The unit prints `data` until the client sees it: what a terminal server reads before it has taken the
    client (a socket:// connect completes before the server's accept) is lost, as on ser2net."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        os.write(fd, data)
        try:
            con.expect(pattern, timeout=0.5)
            return True
        except UnitError:
            continue
    return False


@pytest.mark.parametrize("kind", ["socket", "rfc2217"])
def test_console_server_both_ways(kind: str, tmp_path: Path) -> None:
    tl = Timeline()
    with PtyPair() as pty:
        server = ConsoleServer(pty.path).start()
        try:
            with SerialConsole(server.url(kind), tmp_path / "c.log", tl, unit="u1") as con:
                # 0xFF is telnet's IAC: over RFC 2217 it is escaped on the wire and must arrive once.
                assert print_until_seen(con, pty.device_fd, b"U-Boot 2024.01 \xff\r\nhenb login: ", "login: ")
                con.write("root\n")
                assert read_device(pty.device_fd, 5) == b"root\n"
            assert con.lines()[0] == "U-Boot 2024.01 \ufffd"
        finally:
            server.stop()


def test_a_newer_client_takes_over(tmp_path: Path) -> None:
    with PtyPair() as pty:
        server = ConsoleServer(pty.path).start()
        try:
            first = socket.create_connection(("127.0.0.1", server.ports["socket"]), timeout=0.2)
            got, deadline = b"", time.monotonic() + 10
            while b"seen by the first\r\n" not in got and time.monotonic() < deadline:
                os.write(pty.device_fd, b"seen by the first\r\n")  # until the server has taken the client
                with contextlib.suppress(TimeoutError):
                    got += first.recv(256)
            assert b"seen by the first" in got
            first.settimeout(10)
            with SerialConsole(server.url("socket"), tmp_path / "c.log", unit="u1") as con:
                while first.recv(256):  # ends when the server lets the older client go (a timeout fails)
                    pass
                os.write(pty.device_fd, b"boot banner\r\n")
                con.expect(r"boot banner", timeout=10)
            first.close()
        finally:
            server.stop()

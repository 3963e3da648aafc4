"""Tests for drivers/console: SerialConsole over a real pty and over socket://, PtyPair."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial

from bench.timeline import Timeline
from drivers.console import PtyPair, SerialConsole
from drivers.console import serial as console_serial
from drivers.errors import EquipmentError, UnitError
from drivers.retry import poll

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} ")


@pytest.fixture
def pty() -> Iterator[PtyPair]:
    with PtyPair() as p:
        yield p


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


def wait_until(cond: Callable[[], object], timeout: float = 30) -> bool:
    return bool(poll(cond, bool, timeout, every=0.01))


def device_writes(pty: PtyPair, *chunks: bytes, pause: float = 0.0) -> threading.Thread:
    def run() -> None:
        for chunk in chunks:
            os.write(pty.device_fd, chunk)
            time.sleep(pause)

    t = threading.Thread(target=run)
    t.start()
    return t


def log_texts(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    assert all(TS.match(line) for line in lines), lines
    return [TS.sub("", line) for line in lines]


def test_expect_over_pty(pty: PtyPair, tmp_path: Path, timeline: Timeline) -> None:
    with SerialConsole(pty.path, tmp_path / "c.log", timeline, unit="u1") as con:
        device_writes(pty, b"U-Boot 2024.01\r\n", b"Starting kernel ...\r\n", b"henb login: ", pause=0.02)
        m = con.expect(r"U-Boot (\S+)", timeout=30)
        assert m.group(1) == "2024.01"
        # The prompt has no newline: expect still sees it, and searching resumes after the previous match.
        assert con.expect(r"login: ", timeout=30).group(0) == "login: "
        with pytest.raises(UnitError):
            con.expect(r"U-Boot", timeout=0.2)
    assert con.lines() == ["U-Boot 2024.01", "Starting kernel ...", "henb login: "]


def test_expect_timeout_names_pattern_timeout_and_last_lines(pty: PtyPair, tmp_path: Path) -> None:
    with SerialConsole(pty.path, tmp_path / "c.log", None) as con:
        device_writes(pty, b"".join(f"line {i}\n".encode() for i in range(8))).join()
        assert wait_until(lambda: len(con.lines()) == 8)
        t0 = time.monotonic()
        with pytest.raises(UnitError) as exc:
            con.expect(r"Inform sent", timeout=0.3)
        assert 0.25 < time.monotonic() - t0 < 1.0
    msg = str(exc.value)
    assert "'Inform sent'" in msg and "0.3 s" in msg
    assert all(f"line {i}" in msg for i in range(3, 8))
    assert "line 2" not in msg


def test_log_gets_every_line_without_expect(pty: PtyPair, tmp_path: Path, timeline: Timeline) -> None:
    log = tmp_path / "sub" / "console.log"
    sent = [f"boot message {i:03d}" for i in range(200)]
    with SerialConsole(pty.path, log, timeline, unit="lab-henb-07") as con:
        # Written in odd-sized chunks so lines are split across reads.
        blob = "".join(s + "\r\n" for s in sent).encode()
        device_writes(pty, *(blob[i : i + 37] for i in range(0, len(blob), 37))).join()
        assert wait_until(lambda: len(con.lines()) == 200)
    assert log_texts(log) == sent
    events = timeline.find(lambda e: e.kind == "console-line")
    assert [e.data["line"] for e in events] == sent
    assert all(e.source == "console" and e.data["unit"] == "lab-henb-07" for e in events)


def test_partial_line_is_logged_on_close(pty: PtyPair, tmp_path: Path) -> None:
    with SerialConsole(pty.path, tmp_path / "c.log", None) as con:
        os.write(pty.device_fd, b"# ")
        con.expect("# ", timeout=30)
    assert log_texts(tmp_path / "c.log") == ["# "]


def test_crash_pattern_detection(pty: PtyPair, tmp_path: Path, timeline: Timeline) -> None:
    out = (
        b"eth0: link up\n"
        b"Unable to handle kernel NULL pointer dereference at virtual address 00000000\n"
        b"Internal error: Oops: 5 [#1] SMP ARM\n"
        b"PC is at fapd_rx+0x1c/0x80\n"
        b"all good\n"
    )
    with SerialConsole(pty.path, tmp_path / "c.log", timeline, unit="u1") as con:
        os.write(pty.device_fd, out)
        con.expect("all good", timeout=30)
        crashes = con.crashes
        assert [c.line for c in crashes] == [
            "Unable to handle kernel NULL pointer dereference at virtual address 00000000",
            "Internal error: Oops: 5 [#1] SMP ARM",
        ]
        assert crashes[0].index == 1
        with pytest.raises(UnitError) as exc:
            con.check_crashes()
    assert "PC is at fapd_rx" in str(exc.value) and "eth0: link up" in str(exc.value)
    ev = timeline.find(lambda e: e.kind == "console-crash")
    assert [e.data["line"] for e in ev] == [c.line for c in crashes]


def test_crash_patterns_default_and_custom(pty: PtyPair, tmp_path: Path) -> None:
    with SerialConsole(pty.path, tmp_path / "c.log", None) as con:
        os.write(
            pty.device_fd,
            b"watchdog: enabled, timeout=60s\n"
            b"fapd: Oops-free startup counter 3\n"
            b"NMI watchdog: Watchdog detected hard LOCKUP on cpu 1\n"
            b"Kernel panic - not syncing: Fatal exception\n"
            b"ready\n",
        )
        con.expect("ready", timeout=30)
        assert [c.index for c in con.crashes] == [2, 3]
    # Custom patterns replace the defaults.
    with SerialConsole(pty.path, tmp_path / "d.log", None, crash_patterns=[r"FATAL"]) as con2:
        os.write(pty.device_fd, b"Kernel panic - not syncing\nFATAL: fapd died\n")
        con2.expect("fapd died", timeout=30)
        assert [c.line for c in con2.crashes] == ["FATAL: fapd died"]
    with pytest.raises(UnitError) as exc:
        con2.check_crashes()
    assert "'FATAL'" in str(exc.value) and "Kernel panic - not syncing" in str(exc.value)


def test_write_reaches_device(pty: PtyPair, tmp_path: Path) -> None:
    with SerialConsole(pty.path, tmp_path / "c.log", None) as con:
        con.write("reboot\n")
        con.write(b"\x03")
        got = b""
        deadline = time.monotonic() + 1
        while len(got) < 8 and time.monotonic() < deadline:
            got += os.read(pty.device_fd, 64)
    assert got == b"reboot\n\x03"


def test_missing_device_raises_infra_error(tmp_path: Path) -> None:
    con = SerialConsole("/dev/hb-no-such-tty", tmp_path / "c.log", None)
    with pytest.raises(EquipmentError) as exc:
        con.open()
    assert "/dev/hb-no-such-tty" in str(exc.value)
    assert "No such file" in str(exc.value)


class LineServer:
    """A ser2net stand-in: one TCP client at a time; can go away and come back on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.received = b""
        self.conn: socket.socket | None = None
        self._listen()

    def _listen(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(1)
        self.sock.settimeout(30)  # a generous bound: the console reconnects in well under a second

    def accept(self) -> socket.socket:
        self.conn, _ = self.sock.accept()
        return self.conn

    def go_away(self) -> None:
        if self.conn:
            self.conn.close()
        self.sock.close()

    def come_back(self) -> None:
        self._listen()

    def close(self) -> None:
        self.go_away()


@pytest.fixture
def server() -> Iterator[LineServer]:
    s = LineServer()
    yield s
    s.close()


def test_socket_url(server: LineServer, tmp_path: Path, timeline: Timeline) -> None:
    with SerialConsole(f"socket://127.0.0.1:{server.port}", tmp_path / "c.log", timeline) as con:
        conn = server.accept()
        conn.sendall(b"Inform RPC sent to hems.example.org\r\n")
        m = con.expect(r"Inform RPC sent to (\S+)\n", timeout=30)  # \n: the name may arrive in pieces
        assert m.group(1) == "hems.example.org"
        con.write("ls\n")
        conn.settimeout(1)
        assert conn.recv(16) == b"ls\n"
    assert log_texts(tmp_path / "c.log") == ["Inform RPC sent to hems.example.org"]


def test_reopen_after_port_goes_away(
    server: LineServer, tmp_path: Path, timeline: Timeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_serial, "REOPEN_INTERVAL", 0.2)  # the real 0.5 s would make this test slow
    log = tmp_path / "c.log"
    with SerialConsole(f"socket://127.0.0.1:{server.port}", log, timeline, unit="u1") as con:
        server.accept().sendall(b"before power off\nhalf a li")
        con.expect("before power off", timeout=30)
        server.go_away()
        assert wait_until(lambda: timeline.first(lambda e: e.kind == "console-lost") is not None)
        with pytest.raises(EquipmentError):
            con.write("x")
        time.sleep(0.3)  # at least one reopen attempt fails while nothing listens
        server.come_back()
        conn = server.accept()
        conn.sendall(b"after power on\n")
        con.expect("after power on", timeout=30)  # generous: shared machines stall threads
    kinds = [e.kind for e in timeline.events()]
    assert kinds.index("console-lost") < kinds.index("console-reopened")
    assert kinds.count("console-reopened") == 1
    assert timeline.first(lambda e: e.kind == "console-lost").data["unit"] == "u1"  # type: ignore[union-attr]
    texts = log_texts(log)
    assert texts[0] == "before power off"
    assert texts[1] == "half a li"  # the cut-off line is kept
    assert texts[2].startswith("[bench] console lost")
    assert texts[3] == "[bench] console reopened"
    assert texts[4] == "after power on"
    assert con.lines() == ["before power off", "half a li", "after power on"]


def test_bytes_sent_while_the_port_opens_are_kept(
    server: LineServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit (or ser2net) that speaks the moment the console connects: pyserial's open() flushes the input
    at its end, which would throw those bytes away. Held open long enough for them to arrive first."""
    from serial.urlhandler import protocol_socket

    configured = threading.Event()
    real = protocol_socket.Serial._reconfigure_port

    def slow_reconfigure(self: protocol_socket.Serial, *args: object) -> None:
        real(self, *args)
        configured.wait(10)  # the server's greeting is in the socket before open() finishes
        time.sleep(0.2)

    monkeypatch.setattr(protocol_socket.Serial, "_reconfigure_port", slow_reconfigure)

    def greet() -> None:
        server.accept().sendall(b"U-Boot 2024.01 banner\n")
        configured.set()

    t = threading.Thread(target=greet)
    t.start()
    port = console_serial.open_port(f"socket://127.0.0.1:{server.port}", timeout=2)
    t.join(10)
    try:
        assert port.read_until(b"\n") == b"U-Boot 2024.01 banner\n"
    finally:
        port.close()


def test_close_stops_reader_and_port(pty: PtyPair, tmp_path: Path) -> None:
    con = SerialConsole(pty.path, tmp_path / "c.log", None)
    con.open()
    thread = con._thread
    con.close()
    assert thread is not None and not thread.is_alive()
    with pytest.raises(EquipmentError):
        con.write("x")


def test_reader_on_a_tty_sleeps_until_the_unit_says_something(
    pty: PtyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tty's read can be cancelled: the reader blocks in it (no timeout to wake it ten times a second) and
    # close() wakes it.
    reads: list[int] = []
    read = serial.Serial.read

    def counted(port: serial.Serial, size: int = 1) -> bytes:
        reads.append(size)
        return read(port, size)

    monkeypatch.setattr(serial.Serial, "read", counted)
    con = SerialConsole(pty.path, tmp_path / "c.log", None)
    con.open()
    os.write(pty.device_fd, b"ready\n")
    con.expect("ready\n", timeout=30)
    settled = len(reads)
    time.sleep(0.5)
    assert len(reads) <= settled + 1  # the read it was about to start, if any: it waits there
    os.write(pty.device_fd, b"more\n")
    con.expect("more\n", timeout=30)  # what comes wakes it
    closing = threading.Thread(target=con.close)
    closing.start()
    closing.join(10)
    assert not closing.is_alive() and con.lines() == ["ready", "more"]


def test_pty_pair_is_raw_and_closes(tmp_path: Path) -> None:
    p = PtyPair()
    assert p.path.startswith("/dev/pts/")
    with SerialConsole(p.path, tmp_path / "c.log", None) as con:
        os.write(p.device_fd, b"a\r\nb\n")
        con.expect("b\n", timeout=30)
        con.write("cmd\n")
        # Raw mode: no echo back to the bench, and "\n" is not turned into "\r\n" for the device.
        assert os.read(p.device_fd, 16) == b"cmd\n"
    assert con.lines() == ["a", "b"]
    p.close()
    with pytest.raises(OSError):
        os.write(p.device_fd, b"x")

"""Serial console over pyserial (local tty, rfc2217://, socket://).

A reader thread logs every byte and feeds expect(); it survives the port vanishing and reopens it.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import serial

from drivers.errors import EquipmentError, UnitError
from drivers.events import EventSink

DEFAULT_CRASH_PATTERNS = [
    r"Kernel panic",
    r"\bOops\b\s*(:|\[#)",  # "Oops: 0000 [#1]", MIPS "Oops[#1]:"; not "Oops-free"
    r"Unable to handle kernel",
    r"\bBUG: ",  # also "watchdog: BUG: soft lockup"
    # Narrow on purpose: "watchdog: enabled, timeout=60s" is a normal boot line.
    r"(?i)\bwatchdog\b.*\b(bite|bark|barked|expired|timed out|hard lockup)\b",
]

REOPEN_INTERVAL = 0.5
# How long a read waits on a port whose read cannot be cancelled (socket://, rfc2217://): how soon the reader
# sees close().
READ_TIMEOUT = 0.1
# Unconsumed expect() text kept in memory; the log file has everything regardless.
MAX_EXPECT_BUFFER = 1 << 20


@dataclass(frozen=True)
class Crash:
    """A console line that matched a crash pattern; `index` is its position in `lines()`."""

    index: int
    line: str
    pattern: str


class SerialConsole:
    def __init__(
        self,
        url: str,
        log_path: Path,
        events: EventSink | None = None,
        source: str = "console",
        baudrate: int = 115200,
        crash_patterns: list[str] | None = None,
        unit: str | None = None,
        on_data: Callable[[bytes], None] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """`on_data` gets every chunk of bytes as read, before logging (an interactive terminal shows it);
        `settings` are more pyserial port settings (bytesize, parity, stopbits, xonxoff, rtscts)."""
        self.url = url
        self.on_data = on_data
        self.log_path = Path(log_path)
        self.events = events
        self.source = source
        self.baudrate = baudrate
        self.settings = dict(settings or {})
        self.unit = unit
        patterns = DEFAULT_CRASH_PATTERNS if crash_patterns is None else crash_patterns
        self._crash_res = [re.compile(p) for p in patterns]
        self._port: Any = None
        self._log: TextIO | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._partial_t = ""
        self._lines: list[str] = []
        self._crashes: list[Crash] = []
        self._buf = ""

    # -- lifecycle -------------------------------------------------------------------------------

    def open(self) -> None:
        if self._thread is not None:
            return
        self._port = self._open_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._read_loop, name=f"console-{self.unit or self.url}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            port = self._port
        if port is not None and _cancellable(port):
            port.cancel_read()  # the reader blocks in read() on a tty: this wakes it to see the stop
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_port()
        with self._cond:
            self._end_partial_line()
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> SerialConsole:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- test-facing API -------------------------------------------------------------------------

    def write(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        with self._cond:
            port = self._port
        if port is None:
            raise EquipmentError(
                f"console {self.url}{_of(self.unit)} is not open (or was lost and not reopened yet)"
            )
        try:
            port.write(raw)
            port.flush()
        except (OSError, serial.SerialException) as e:
            raise EquipmentError(f"cannot write to console {self.url}{_of(self.unit)}: {e}") from e

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait for `pattern` in the output after the previous match; CRs are dropped, lines end in '\\n'."""
        regex = re.compile(pattern)
        with self._cond:
            found = self._cond.wait_for(lambda: regex.search(self._buf), timeout)
            if found:
                m = regex.search(self._buf)
                assert m is not None
                self._buf = self._buf[m.end() :]
                return m
            last = self._lines[-5:] + ([self._partial] if self._partial else [])
        shown = "\n  ".join(last[-5:]) if last else "(nothing)"
        raise UnitError(
            f"timed out after {timeout:g} s waiting for console pattern {pattern!r} on {self.url}; "
            f"last console lines ({self.log_path}):\n  {shown}"
        )

    def lines(self) -> list[str]:
        with self._cond:
            return list(self._lines)

    @property
    def crashes(self) -> list[Crash]:
        with self._cond:
            return list(self._crashes)

    def around(self, index: int, before: int = 5, after: int = 20) -> list[str]:
        """The lines around `lines()[index]`, e.g. a crash and its backtrace."""
        with self._cond:
            return self._lines[max(0, index - before) : index + after + 1]

    def check_crashes(self) -> None:
        """Raise UnitError with the first crash and the lines around it, if the unit crashed."""
        crashes = self.crashes
        if crashes:
            c = crashes[0]
            context = "\n  ".join(self.around(c.index))
            raise UnitError(
                f"unit crashed: console line {c.index + 1} matches {c.pattern!r} "
                f"({len(crashes)} crash line(s), log {self.log_path}):\n  {context}"
            )

    # -- reader thread ---------------------------------------------------------------------------

    def _open_port(self) -> Any:
        # A short read timeout so the reader notices close() quickly; none on a tty, whose read close() cancels
        # (the reader then sleeps until the unit says something, instead of waking ten times a second).
        port = open_port(self.url, self.baudrate, READ_TIMEOUT, self.unit, **self.settings)
        if _cancellable(port):
            port.timeout = None
        return port

    def _close_port(self) -> None:
        with self._cond:
            port, self._port = self._port, None
        # Outside the lock: pyserial's socket:// close sleeps 0.3 s, expect() and write() need not wait.
        if port is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            port = self._port
            if port is None:
                self._reopen()
                continue
            try:
                data = port.read(max(1, port.in_waiting))
            except (OSError, serial.SerialException) as e:
                self._lost(e)
                continue
            if data:
                if self.on_data is not None:
                    self.on_data(data)
                self._feed(data)

    def _lost(self, error: Exception) -> None:
        self._close_port()
        with self._cond:
            # A line cut short by the port vanishing (unit powered off) is still evidence.
            self._end_partial_line()
            self._log_marker(f"console lost: {error}")
        self._event("console-lost", url=self.url, error=str(error))

    def _reopen(self) -> None:
        if self._stop.wait(REOPEN_INTERVAL):
            return
        try:
            port = self._open_port()
        except EquipmentError:
            return
        with self._cond:
            self._port = port
            self._log_marker("console reopened")
        self._event("console-reopened", url=self.url)

    def _feed(self, data: bytes) -> None:
        text = self._decoder.decode(data).replace("\r", "")
        with self._cond:
            self._buf += text
            if len(self._buf) > MAX_EXPECT_BUFFER:
                self._buf = self._buf[-MAX_EXPECT_BUFFER:]
            *complete, rest = text.split("\n")
            for piece in complete:
                self._add_line(piece)
            if rest:
                if not self._partial:
                    self._partial_t = _now()
                self._partial += rest
            self._cond.notify_all()

    def _add_line(self, piece: str) -> None:
        # Timestamp of the line's first byte: the moment the unit said it.
        t = self._partial_t if self._partial else _now()
        line = self._partial + piece
        self._partial = ""
        self._lines.append(line)
        if self._log is not None:
            self._log.write(f"{t} {line}\n")
            self._log.flush()
        self._event("console-line", line=line)
        for regex in self._crash_res:
            if regex.search(line):
                self._crashes.append(Crash(len(self._lines) - 1, line, regex.pattern))
                self._event("console-crash", line=line, pattern=regex.pattern)
                break

    def _end_partial_line(self) -> None:
        if self._partial:
            self._add_line("")

    def _log_marker(self, text: str) -> None:
        if self._log is not None:
            self._log.write(f"{_now()} [bench] {text}\n")
            self._log.flush()

    def _event(self, kind: str, **data: Any) -> None:
        if self.events is not None:
            self.events.add(self.source, kind, unit=self.unit, **data)


def open_port(
    url: str, baudrate: int = 115200, timeout: float = 0.1, unit: str | None = None, **settings: Any
) -> Any:
    """A pyserial port for a tty path, rfc2217:// or socket:// URL; EquipmentError naming it when it cannot open."""
    try:
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, do_not_open=True, **settings)
        # pyserial's open() ends by flushing the input: bytes a unit sends the moment a socket:// or
        # rfc2217:// console reconnects (a boot banner) would be thrown away. The console never misses a byte.
        port.reset_input_buffer = lambda: None
        try:
            port.open()
        finally:
            del port.reset_input_buffer
        return port
    except (OSError, serial.SerialException, ValueError) as e:
        raise EquipmentError(f"cannot open console {url}{_of(unit)}: {e}") from e


def probe_port(url: str, baudrate: int = 115200, unit: str | None = None) -> str:
    """Open the console port and close it again; EquipmentError when it does not open."""
    open_port(url, baudrate, 0.1, unit).close()
    return "port opens"


def _cancellable(port: Any) -> bool:
    """Whether another thread can cancel a read on `port` (pyserial's tty ports: a pipe beside the device)."""
    return callable(getattr(port, "cancel_read", None))


def _of(unit: str | None) -> str:
    return f" (unit {unit})" if unit else ""


def _now() -> str:
    return datetime.now().isoformat(timespec="milliseconds")

"""A bench power supply simulator speaking SCPI over a TCP socket (like port 5025 of a real one).

It models a supply feeding a resistive load: current = V/R, held at the limit (CC mode) or tripping (OCP).
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

SCPI_PORT_URL = "TCPIP::127.0.0.1::{port}::SOCKET"


class PsuModel:
    """The supply's state; every field may be changed by a test to make the supply misbehave.

    `on_output(on)` is called whenever the output turns on or off (a command, a trip), from the thread that
    handled the command and before the next command is read: a mock unit wired to it is powered by the supply.
    If it raises, the output stays off and the error goes into the error queue, as a real supply reports a fault.
    """

    def __init__(self, load_ohms: float = 12.0, on_output: Callable[[bool], None] | None = None) -> None:
        self.on_output = on_output
        self.idn = "henb-bench,SIM-PSU,0001,1.0"
        self.voltage = 0.0
        self.current_limit = 0.0
        self.output = False
        self.tripped = False
        self.ocp = False
        self.load_ohms = load_ohms
        # A fault that a real supply would report through its error queue only.
        self.errors: deque[str] = deque()
        # Added to the measured current: a meter that reads past the limit (a broken supply).
        self.current_offset = 0.0
        self.commands: list[str] = []
        self.lock = threading.Lock()

    def measure(self) -> tuple[float, float]:
        if not self.output:
            return 0.0, 0.0
        amps = self.voltage / self.load_ohms if self.load_ohms > 0 else float("inf")
        if amps > self.current_limit:
            if self.ocp:
                self.output, self.tripped = False, True
                return 0.0, 0.0
            # Constant-current mode: the voltage sags so that the current stays at the limit.
            return self.current_limit * self.load_ohms, self.current_limit + self.current_offset
        return self.voltage, amps + self.current_offset

    def handle(self, line: str) -> str | None:
        """Execute one SCPI command; return the reply for a query."""
        with self.lock:
            before = self.output
            reply = self._execute(line)
            after = self.output
        if after != before and self.on_output is not None:
            # Outside the lock: starting a mock unit takes a while, and a query meanwhile must not deadlock.
            try:
                self.on_output(after)
            except Exception as e:
                reason = str(e).replace('"', "'")
                with self.lock:
                    self.output = False
                    self.errors.append(
                        f'-300,"Device-specific error;load {"on" if after else "off"}: {reason}"'
                    )
        return reply

    def _execute(self, line: str) -> str | None:
        self.commands.append(line)
        header, _, arg = line.strip().partition(" ")
        h = _short(header)
        if h == "*IDN?":
            return self.idn
        if h in ("*RST",):
            self.voltage = self.current_limit = 0.0
            self.output = self.tripped = False
            return None
        if h == "*CLS":
            self.errors.clear()
            return None
        if h == "*OPC?":
            return "1"
        if h in ("VOLT", "SOUR:VOLT"):
            self._set_float("voltage", arg, 0.0, 60.0)
            return None
        if h in ("VOLT?", "SOUR:VOLT?"):
            return f"{self.voltage:.4f}"
        if h in ("CURR", "SOUR:CURR"):
            self._set_float("current_limit", arg, 0.0, 10.0)
            return None
        if h in ("CURR?", "SOUR:CURR?"):
            return f"{self.current_limit:.4f}"
        if h in ("CURR:PROT:STAT", "SOUR:CURR:PROT:STAT"):
            self.ocp = arg.upper() in ("1", "ON")
            return None
        if h == "OUTP":
            if arg.upper() in ("1", "ON"):
                self.output, self.tripped = True, False
                self.measure()  # an overloaded output with OCP on trips at once
            elif arg.upper() in ("0", "OFF"):
                self.output = False
            else:
                self.errors.append('-224,"Illegal parameter value"')
            return None
        if h == "OUTP?":
            self.measure()
            return "1" if self.output else "0"
        if h == "OUTP:PROT:TRIP?":
            self.measure()
            return "1" if self.tripped else "0"
        if h == "OUTP:PROT:CLE":
            self.tripped = False
            return None
        if h == "MEAS:VOLT?":
            return f"{self.measure()[0]:.4f}"
        if h == "MEAS:CURR?":
            return f"{self.measure()[1]:.4f}"
        if h == "SYST:ERR?":
            return self.errors.popleft() if self.errors else '0,"No error"'
        self.errors.append(f'-113,"Undefined header;{header}"')
        return None

    def _set_float(self, attr: str, arg: str, low: float, high: float) -> None:
        try:
            value = float(arg)
        except ValueError:
            self.errors.append('-104,"Data type error"')
            return
        if not low <= value <= high:
            self.errors.append('-222,"Data out of range"')
            return
        setattr(self, attr, value)


def _short(header: str) -> str:
    """Long SCPI forms to short ones: SOURce:VOLTage:LEVel? -> SOUR:VOLT? (enough for the commands above)."""
    out = []
    query = header.endswith("?")
    for part in header.rstrip("?").lstrip(":").upper().split(":"):
        if part in ("LEV", "LEVEL", "IMM", "IMMEDIATE", "AMPL", "AMPLITUDE"):
            continue
        if part.startswith("*"):
            out.append(part)
        elif part.startswith("PROT"):
            out.append("PROT")
        elif part.startswith("STAT"):
            out.append("STAT")
        else:
            out.append(part[:4] if len(part) > 4 else part)
    return ":".join(out) + ("?" if query else "")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.connections.append(self.connection)
        for raw in self.rfile:
            for command in raw.decode(errors="replace").strip().split(";"):
                if not command.strip():
                    continue
                reply = self.server.model.handle(command.strip())
                if reply is not None:
                    self.wfile.write(reply.encode() + b"\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    timeout = 0  # handle_request() is called once the listening socket is readable: it never waits itself

    def __init__(self, model: PsuModel) -> None:
        self.model = model
        self.connections: list[socket.socket] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class ScpiPsuServer:
    """`with ScpiPsuServer() as psu: psu.resource` is a VISA resource string for the simulated supply."""

    def __init__(self, load_ohms: float = 12.0, on_output: Callable[[bool], None] | None = None) -> None:
        self.model = PsuModel(load_ohms, on_output)
        self._server = _Server(self.model)
        self.port: int = self._server.server_address[1]
        self.resource = SCPI_PORT_URL.format(port=self.port)
        # stop() wakes the accepting thread through this pair: it blocks until a connection or the stop comes,
        # instead of waking 20 times a second (socketserver's serve_forever) for the whole of a run.
        self._wake: tuple[socket.socket, socket.socket] | None = socket.socketpair()
        self._thread = threading.Thread(
            target=self._serve, args=(self._wake[0],), name="scpi-psu-sim", daemon=True
        )

    def start(self) -> ScpiPsuServer:
        self._thread.start()
        return self

    def _serve(self, wake: socket.socket) -> None:
        listener = self._server.socket
        while wake not in select.select([listener, wake], [], [])[0]:
            self._server.handle_request()  # accepts the connection; a thread of its own serves it

    def stop(self) -> None:
        if self._wake is None:
            return
        self._wake[1].send(b"x")
        if self._thread.ident is not None:
            self._thread.join()
        for end in self._wake:
            end.close()
        self._wake = None
        self._server.server_close()
        for conn in self._server.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def __enter__(self) -> ScpiPsuServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""An RFC 2217 (telnet COM port control) server in a thread, serving a local serial port such as a pty.

Like a terminal server in front of a unit's console: the bench reaches it as rfc2217://127.0.0.1:PORT.
"""

from __future__ import annotations

import contextlib
import socket
import termios
import threading
from typing import Any

import serial
import serial.rfc2217


class Rfc2217Server:
    """Serves `device` (a path pyserial opens) to one client at a time on 127.0.0.1:`port`."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"rfc2217://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="rfc2217-sim", daemon=True)

    def _serve(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, serial.serial_for_url(self.device, timeout=0.05) as port:
                self._session(conn, port)

    def _session(self, conn: socket.socket, port: Any) -> None:
        manager = serial.rfc2217.PortManager(NoModemLines(port), _Writer(conn))
        conn.settimeout(0.05)

        def device_to_client() -> None:
            while not self._stop.is_set() and not done.is_set():
                data = port.read(port.in_waiting or 1)
                if data:
                    with contextlib.suppress(OSError):
                        conn.sendall(b"".join(manager.escape(data)))

        done = threading.Event()
        reader = threading.Thread(target=device_to_client, daemon=True)
        reader.start()
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(1024)
                except TimeoutError:
                    continue
                if not data:
                    break
                port.write(b"".join(manager.filter(data)))
        except OSError:
            pass  # the client went away
        finally:
            done.set()
            reader.join()

    def __enter__(self) -> Rfc2217Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


class _Writer:
    """PortManager answers telnet negotiation through `connection.write()`."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.conn.sendall(data)


_PORT_ERRORS = (OSError, termios.error, serial.SerialException, ValueError)


class NoModemLines:
    """A pty has no modem lines (CTS, DSR, RI, CD, RTS, DTR): reading them gives False, setting them nothing."""

    def __init__(self, port: Any) -> None:
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._port, name)
        except _PORT_ERRORS:
            if name in ("cts", "dsr", "ri", "cd"):
                return False
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        with contextlib.suppress(*_PORT_ERRORS):
            setattr(self._port, name, value)

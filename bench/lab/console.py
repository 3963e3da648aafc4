"""The lab's console server: a unit's serial line served on 127.0.0.1 both as a raw TCP port (as ser2net does)
and as RFC 2217. One client per port; a newer client takes over from an older one (ser2net's kickolduser)."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import serial
import serial.rfc2217

from bench.lab.sim.rfc2217 import NoModemLines


class _Client:
    """One TCP client; for RFC 2217 its bytes are telnet-escaped and its settings go through a PortManager."""

    def __init__(self, kind: str, conn: socket.socket, port: Any, port_lock: threading.Lock) -> None:
        self.conn = conn
        self.port = port
        self.port_lock = port_lock
        self.send_lock = threading.Lock()
        self.closed = threading.Event()
        self.manager = serial.rfc2217.PortManager(NoModemLines(port), self) if kind == "rfc2217" else None

    def write(self, data: bytes) -> None:
        """The socket side; PortManager answers telnet negotiation through this too."""
        with self.send_lock, contextlib.suppress(OSError):
            self.conn.sendall(data)

    def send(self, data: bytes) -> None:
        self.write(b"".join(self.manager.escape(data)) if self.manager is not None else data)

    def serve(self) -> None:
        try:
            self.conn.settimeout(0.1)  # inside: a client replaced or stopped at once is closed already
            while not self.closed.is_set():
                try:
                    data = self.conn.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    break
                if self.manager is not None:
                    data = b"".join(self.manager.filter(data))
                if data:
                    with self.port_lock:
                        self.port.write(data)
        except (OSError, serial.SerialException):
            pass  # the client went away, or the server is stopping
        finally:
            self.close()

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)
        self.conn.close()


class ConsoleServer:
    """Serves the serial device `device` (a tty path) on `raw_url` (socket://) and `rfc2217_url`. The line is
    read all the time, as a terminal server does: what the unit prints while nobody is connected is lost."""

    KINDS = ("socket", "rfc2217")

    def __init__(self, device: str) -> None:
        self.port = serial.serial_for_url(device, timeout=0.05)
        self._port_lock = threading.Lock()
        self._listeners = {kind: socket.create_server(("127.0.0.1", 0)) for kind in self.KINDS}
        self.ports = {kind: int(s.getsockname()[1]) for kind, s in self._listeners.items()}
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._pump, name="lab-console", daemon=True)] + [
            threading.Thread(target=self._accept, args=(kind,), name=f"lab-console-{kind}", daemon=True)
            for kind in self.KINDS
        ]

    def url(self, kind: str) -> str:
        return f"{kind}://127.0.0.1:{self.ports[kind]}"

    def start(self) -> ConsoleServer:
        for th in self._threads:
            th.start()
        return self

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.port.read(self.port.in_waiting or 1)
            except (OSError, serial.SerialException):
                if self._stop.wait(0.05):
                    return
                continue
            if data:
                with self._lock:
                    clients = list(self._clients.values())
                for client in clients:
                    client.send(data)

    def _accept(self, kind: str) -> None:
        listener = self._listeners[kind]
        listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client = _Client(kind, conn, self.port, self._port_lock)
            with self._lock:
                old = self._clients.get(kind)
                self._clients[kind] = client
            if old is not None:
                old.close()
            threading.Thread(target=self._serve, args=(kind, client), daemon=True).start()

    def _serve(self, kind: str, client: _Client) -> None:
        client.serve()
        with self._lock:
            if self._clients.get(kind) is client:
                del self._clients[kind]

    def stop(self) -> None:
        self._stop.set()
        for listener in self._listeners.values():
            listener.close()
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            client.close()
        for th in self._threads:
            if th.is_alive():
                th.join(timeout=2)
        self.port.close()

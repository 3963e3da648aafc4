"""USB/serial relay boards switched by fixed byte sequences (e.g. LCUS-1: A0 01 01 A2 on, A0 01 00 A1 off)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import serial

from drivers.errors import EquipmentError
from drivers.events import EventSink
from drivers.power.base import PowerBase

if TYPE_CHECKING:
    from drivers.power.settings import SerialRelayPower


class SerialRelay(PowerBase):
    driver = "relay-serial"

    def __init__(
        self,
        url: str,
        on_bytes: bytes,
        off_bytes: bytes,
        query_bytes: bytes | None = None,
        on_reply: bytes | None = None,
        off_reply: bytes | None = None,
        baudrate: int = 9600,
        timeout: float = 1.0,
        events: EventSink | None = None,
        unit: str | None = None,
    ) -> None:
        super().__init__(events, unit)
        self.url = url
        self.on_bytes = on_bytes
        self.off_bytes = off_bytes
        self.query_bytes = query_bytes
        self.on_reply = on_reply
        self.off_reply = off_reply
        self.baudrate = baudrate
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SerialRelay({self.url})"

    def _error(self, what: str) -> EquipmentError:
        unit = f" (unit {self.unit})" if self.unit else ""
        return EquipmentError(f"power relay {self.url}{unit}: {what}")

    def _open(self) -> Any:
        # Opened per command: a USB relay that was replugged works again on the next call.
        try:
            return serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=self.timeout)
        except (OSError, serial.SerialException, ValueError) as e:
            raise self._error(f"cannot open: {e}") from e

    def probe(self) -> str:
        if self.query_bytes is not None and (self.on_reply is not None or self.off_reply is not None):
            return f"answers; relay is {'on' if self.state() else 'off'}"
        self._open().close()
        return "port opens (the board has no state query)"

    def _send(self, data: bytes, reply: bool = False) -> bytes:
        port = self._open()
        try:
            port.reset_input_buffer()
            port.write(data)
            port.flush()
            if not reply:
                return b""
            # Replies are short and unframed: read until the line goes quiet.
            answer = port.read(1)
            port.timeout = 0.1
            while chunk := port.read(64):
                answer += chunk
            return answer
        except (OSError, serial.SerialException) as e:
            raise self._error(f"cannot talk to it: {e}") from e
        finally:
            port.close()

    def _switch(self, on: bool) -> None:
        self._send(self.on_bytes if on else self.off_bytes)

    def state(self) -> bool | None:
        """The relay's answer to `query_bytes`, or None if the board cannot be asked."""
        if self.query_bytes is None or (self.on_reply is None and self.off_reply is None):
            return None
        answer = self._send(self.query_bytes, reply=True)
        if self.on_reply is not None and self.on_reply in answer:
            return True
        # With only an on_reply configured, any other non-empty answer means off.
        if answer and (self.off_reply is None or self.off_reply in answer):
            return False
        raise self._error(
            f"answered {answer!r} to {self.query_bytes!r}, expected {self.on_reply!r} (on) or "
            f"{self.off_reply!r} (off)"
        )


def build(cfg: SerialRelayPower, events: EventSink | None, unit: str | None) -> SerialRelay:
    return SerialRelay(
        cfg.url, bytes.fromhex(cfg.on_bytes), bytes.fromhex(cfg.off_bytes), events=events, unit=unit
    )

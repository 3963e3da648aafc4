"""Settings models of the consoles: every console is a serial line (a tty, `rfc2217://`, `socket://`, a mock
unit's pty) the bench opens with drivers/console/serial.py; `mock` and `place` stand for lines the bench finds."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from drivers.registry import DriverSettings

BOOT_BANNER = Field(
    None,
    description="a regex matching the line the unit prints when it starts; seen again without the bench "
    "switching or resetting it, it is an unexpected reboot (a unit failure)",
)


class ConsoleSettings(DriverSettings):
    """What every console entry has: the boot banner, and the serial settings it is opened with."""

    boot_banner: str | None = BOOT_BANNER

    @property
    def baud(self) -> int:
        return 115200

    def port_settings(self) -> dict[str, Any]:
        """pyserial settings besides the baud rate (bytesize, parity, ...); none: pyserial's defaults."""
        return {}


class MockConsole(ConsoleSettings):
    driver: Literal["mock"]


class PlaceConsole(ConsoleSettings):
    driver: Literal["place"]
    boot_banner: str | None = None  # the place's console gets labgrid.boot_banner when it is acquired


class SerialConsoleConfig(ConsoleSettings):
    driver: Literal["serial"]
    url: str
    baudrate: int = 115200
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Annotated[float, Field(description="1, 1.5 or 2")] = 1
    xonxoff: bool = False
    rtscts: bool = False

    @field_validator("stopbits")
    @classmethod
    def _stopbits(cls, v: float) -> float:
        if v not in (1, 1.5, 2):
            raise ValueError(f"expected 1, 1.5 or 2, found {v:g}")
        return v

    @property
    def baud(self) -> int:
        return self.baudrate

    def port_settings(self) -> dict[str, Any]:
        return {
            "bytesize": self.bytesize, "parity": self.parity, "stopbits": self.stopbits, "xonxoff": self.xonxoff,
            "rtscts": self.rtscts,
        }  # fmt: skip

    def where(self) -> str:
        return self.url

"""Mock power: switching the mock unit on starts its process, switching it off kills it."""

from __future__ import annotations

from typing import Protocol

from drivers.events import EventSink
from drivers.power.base import PowerBase


class MockDeviceControl(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def running(self) -> bool: ...


class MockPower(PowerBase):
    driver = "mock"

    def __init__(
        self, device: MockDeviceControl, events: EventSink | None = None, unit: str | None = None
    ) -> None:
        super().__init__(events, unit)
        self.device = device

    def _switch(self, on: bool) -> None:
        # Like a real outlet, switching to the state it is already in does nothing.
        if on and not self.device.running():
            self.device.start()
        elif not on and self.device.running():
            self.device.stop()

    def state(self) -> bool | None:
        return self.device.running()

    def check(self, expected: bool | None = None) -> None:
        """No outlet to ask: the mock unit's process is the unit, and its death is the unit's failure."""

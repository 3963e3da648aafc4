"""Mock power: switching the mock unit on starts its process, switching it off kills it."""

from __future__ import annotations

from typing import Protocol

from drivers.events import EventSink
from drivers.power.base import PowerBase


class MockDeviceControl(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def running(self) -> bool: ...

    def leftovers(self) -> list[str]: ...


class MockPower(PowerBase):
    driver = "mock"

    def __init__(
        self, device: MockDeviceControl, events: EventSink | None = None, unit: str | None = None
    ) -> None:
        super().__init__(events, unit)
        self.device = device

    def _switch(self, on: bool) -> None:
        # Like a real outlet, switching on what is on does nothing; switching off always stops the unit (a
        # process just started may not look like it runs yet, and an off that skipped it left the unit on).
        if on and not self.device.running():
            self.device.start()
        elif not on:
            self.device.stop()

    def state(self) -> bool | None:
        return self.device.running()

    def check(self, expected: bool | None = None) -> None:
        """No outlet to ask: the mock unit's process is the unit, and its death is the unit's failure."""

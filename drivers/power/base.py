"""The power interface, and a base class that gives every backend cycle() and power events for free."""

from __future__ import annotations

import time
from typing import Protocol

from drivers.errors import EquipmentError
from drivers.events import EventSink


class PowerDriver(Protocol):
    def on(self) -> None: ...

    def off(self) -> None: ...

    def cycle(self, delay: float = 1.0) -> None: ...

    def state(self) -> bool | None: ...

    def check(self, expected: bool | None = None) -> None: ...


class Probeable(Protocol):
    def probe(self) -> str: ...


def state_word(state: bool | None) -> str:
    return "unknown" if state is None else "on" if state else "off"


class PowerBase:
    """Backends implement `_switch(on)` and `state()`; this reports every switch as an event."""

    driver = "base"

    def __init__(self, events: EventSink | None = None, unit: str | None = None) -> None:
        self.events = events
        self.unit = unit

    def _switch(self, on: bool) -> None:
        raise NotImplementedError

    def state(self) -> bool | None:
        """True on, False off, None when the backend cannot tell."""
        return None

    def probe(self) -> str:
        """Ask the device something harmless (never switch); EquipmentError when it does not answer."""
        return f"answers; output is {state_word(self.state())}"

    def check(self, expected: bool | None = None) -> None:
        """Health between tests: the device answers and its output is where the bench left it (`expected`,
        None when unknown); EquipmentError otherwise. Never switches."""
        state = self.state() if expected is not None else None
        if state is None:
            self.probe()
        elif state != expected:
            who = f" (unit {self.unit})" if self.unit else ""
            raise EquipmentError(
                f"{self!r}{who}: output reads {state_word(state)} but the bench switched it "
                f"{state_word(expected)} (switched by hand, or the device lost its setting)"
            )

    def on(self) -> None:
        self._switch(True)
        self._record("on")

    def off(self) -> None:
        self._switch(False)
        self._record("off")

    def cycle(self, delay: float = 1.0) -> None:
        self.off()
        time.sleep(delay)
        self.on()

    def _record(self, action: str) -> None:
        # Recorded after the switch succeeded, so the event time is when the unit's power actually changed.
        if self.events is not None:
            self.events.add("power", "power", unit=self.unit, action=action, driver=self.driver)

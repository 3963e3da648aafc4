"""Per-device Inform hooks of a HeMS: a plan registers a hook for its unit (its DeviceKey), and the HeMS runs
the hooks registered for a device on each of that device's Informs, in the server thread, before the
InformResponse is sent (so an RPC a hook queues rides in that session). The units of one run share a HeMS:
one unit's hook never replaces or clears another's."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from bench.cwmp import DeviceKey

if TYPE_CHECKING:
    from bench.hems.server import Hems

InformHook = Callable[["Hems", DeviceKey, list[str], dict[str, str]], None]
"""`hook(hems, device, event codes, Inform parameters)`."""
EVERY = "*"
"""Registered under this key, a hook runs on every Inform (a run of one unit: every Inform is its)."""


class InformHooks:
    """The hooks registered per device, or per unit of the run (whose Informs, by any DeviceId, the bench's
    attribution names: bench/attribution.py); thread-safe (plans register from their threads, the HeMS runs
    them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hooks: dict[DeviceKey | str, list[InformHook]] = {}

    def add(self, device: DeviceKey | str, hook: InformHook) -> None:
        """`device`: a DeviceKey, a unit's name in the run, or EVERY."""
        with self._lock:
            self._hooks.setdefault(device, []).append(hook)

    def remove(self, device: DeviceKey | str, hook: InformHook) -> None:
        with self._lock:
            hooks = self._hooks.get(device, [])
            if hook in hooks:
                hooks.remove(hook)
            if not hooks:
                self._hooks.pop(device, None)

    @contextlib.contextmanager
    def registered(self, device: DeviceKey | str, hook: InformHook) -> Iterator[None]:
        """`hook` runs on the Informs of `device` (only) within the block."""
        self.add(device, hook)
        try:
            yield
        finally:
            self.remove(device, hook)

    def of(self, device: DeviceKey, *first: InformHook | None, unit: str | None = None) -> list[InformHook]:
        """What runs on an Inform of `device` that the bench attributed to `unit`: `first` (the HeMS's own hook
        for every device, if any), then the device's hooks in the order they were registered, then the unit's,
        then those for every Inform."""
        with self._lock:
            mine = list(self._hooks.get(unit, ())) if unit is not None else []
            every = list(self._hooks.get(EVERY, ()))
            return [h for h in first if h is not None] + list(self._hooks.get(device, ())) + mine + every

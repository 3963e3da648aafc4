"""The RPCs a HeMS has for its units: one RpcCall per RPC (its result awaited by the test thread that queued it),
queued per unit and taken in order by the unit's sessions. A session holding an empty POST open (`idle_wait`)
is woken by the queueing itself, not by polling."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from bench import cwmp
from bench.cwmp import DeviceKey, RpcResult
from bench.errors import DeviceError
from bench.timeline import bound_note

if TYPE_CHECKING:
    from bench.hems.server import Hems

Unit = DeviceKey | str
"""A unit as the HeMS knows it: its DeviceKey, or a SerialNumber alone (shorthand for any OUI and ProductClass)."""


def matches(unit: Unit, key: DeviceKey) -> bool:
    """Whether `unit` (a DeviceKey, or a serial number alone) names the device `key`."""
    return unit == key if isinstance(unit, DeviceKey) else unit == key.serial_number


def sent_fields(method: str, args: dict[str, Any]) -> dict[str, Any]:
    """What a check needs of an RPC the HeMS sent, on its rpc-sent event: the values and ParameterKey of a
    SetParameterValues (a judge reads them from the timeline, as it reads them from a capture's request); a
    Download's URL, CommandKey, FileType and Username (its password is not kept); a Reboot's CommandKey; the
    names a GetParameterValues asks for; the notifications a SetParameterAttributes changes."""
    if method == "Download":
        return {k: args.get(k) for k in ("url", "command_key", "file_type", "username")}
    if method == "Reboot":
        return {"command_key": args.get("command_key", "")}
    if method == "GetParameterValues":
        return {"names": [str(n) for n in args.get("names", ())]}
    if method == "SetParameterAttributes":
        return {"notifications": {str(a[0]): a[1] for a in args.get("attributes", ()) if a[1] is not None}}
    if method != "SetParameterValues":
        return {}
    return {
        "values": {str(p[0]): str(p[1]) for p in args.get("params", ())},
        "parameter_key": args.get("parameter_key", ""),
    }


class RpcCall:
    """One ACS RPC queued for a unit; `result()` blocks until the unit answers it."""

    def __init__(self, hems: Hems, unit: Unit, method: str, args: dict[str, Any]) -> None:
        self.hems = hems
        self.unit = unit
        self.method = method
        self.args = args
        self.id: str | None = None
        self._done = threading.Event()
        self._result: RpcResult | None = None
        self._error: str | None = None

    def build(self, ns: str, hold_requests: bool | None = None) -> bytes:
        return cwmp.request(ns, self.id, self.method, self.args, hold_requests)

    def resolve(self, result: RpcResult) -> None:
        self._result = result
        self._done.set()

    def fail(self, error: str) -> None:
        """The unit's answer could not be read: `result()` raises DeviceError quoting `error` at once."""
        self._error = error
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float) -> RpcResult:
        """The typed response, or the unit's CwmpFault; DeviceError when nothing came in time."""
        if not self._done.wait(timeout):
            state = f"sent as ID {self.id}, no answer" if self.id else "never sent: no session from the unit"
            raise DeviceError(
                f"HeMS {self.hems.name}: timed out after {timeout:g} s{bound_note(timeout)} waiting for the {self.method} "
                f"response from unit {self.unit} ({state}); {self.hems.last_from(self.unit)}"
            )
        if self._error is not None:
            raise DeviceError(
                f"HeMS {self.hems.name}: unit {self.unit} answered {self.method} (ID {self.id}) with a message "
                f"the HeMS could not read: {self._error}"
            )
        assert self._result is not None
        return self._result


class RpcQueues:
    """The RPCs queued per unit, first queued first sent; thread-safe (test threads queue, sessions take). A
    session waiting for one (`take` with a wait) is woken on its event loop as soon as one is queued for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[Unit, deque[RpcCall]] = {}
        self._waiting: list[tuple[DeviceKey, asyncio.AbstractEventLoop, asyncio.Event]] = []

    def put(self, call: RpcCall) -> None:
        with self._lock:
            self._queues.setdefault(call.unit, deque()).append(call)
            wake = [(loop, ev) for key, loop, ev in self._waiting if matches(call.unit, key)]
        for loop, ev in wake:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the HeMS stopped
                loop.call_soon_threadsafe(ev.set)

    def has(self, device: DeviceKey) -> bool:
        """Whether an RPC is queued for `device` (by its key or its serial alone)."""
        with self._lock:
            return bool(self._queues.get(device) or self._queues.get(device.serial_number))

    def pop(self, device: DeviceKey) -> RpcCall | None:
        with self._lock:
            queue = self._queues.get(device) or self._queues.get(device.serial_number)
            return queue.popleft() if queue else None

    async def take(self, device: DeviceKey, wait: float) -> RpcCall | None:
        """The next RPC for `device`, waiting up to `wait` s for one to be queued (on the running loop)."""
        call = self.pop(device)
        if call is not None or wait <= 0:
            return call
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        waiter = (device, loop, asyncio.Event())
        with self._lock:
            self._waiting.append(waiter)
        try:
            while True:
                waiter[2].clear()  # before looking: a call queued from now on sets it again
                call = self.pop(device)
                left = deadline - loop.time()
                if call is not None or left <= 0:
                    return call
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter[2].wait(), left)
        finally:
            with self._lock:
                self._waiting.remove(waiter)

    def drop(self, unit: Unit) -> int:
        """Forget every RPC queued for `unit`; returns how many."""
        with self._lock:
            return len(self._queues.pop(unit, ()))

    def withdraw(self, unit: Unit, calls: list[RpcCall]) -> None:
        """Take `calls` (queued for `unit`) out of its queue, those not yet sent."""
        with self._lock:
            queue = self._queues.get(unit)
            for call in calls:
                if queue and call in queue:
                    queue.remove(call)

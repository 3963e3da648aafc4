"""Bench power supply over SCPI (pyvisa): set voltage and current limit, switch the output, sample current.

While the unit boots a thread samples volts and amps as events (the bench's timeline); over-current or a trip: EquipmentError.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyvisa

from drivers.errors import EquipmentError
from drivers.events import EventSink
from drivers.power.base import PowerBase
from drivers.power.dialects import ScpiCommands

if TYPE_CHECKING:
    from drivers.power.settings import ScpiPowerConfig

# A supply in constant-current mode reads its limit give or take the meter's error.
CC_TOLERANCE = 0.02
# pyvisa keeps one ResourceManager per VISA library and caches it on the library before it is complete (its
# `_created_resources` is set after `visalib.resource_manager`): two threads making one at once (the supplies of
# several units in one run) could get it half made ("'ResourceManager' object has no attribute
# '_created_resources'"). It is made under this lock.
_RM_LOCK = threading.Lock()


def resource_manager(visa_library: str) -> Any:
    """pyvisa's ResourceManager for `visa_library`, made by one thread at a time."""
    with _RM_LOCK:
        return pyvisa.ResourceManager(visa_library)


@dataclass(frozen=True)
class PsuSample:
    t: float
    volts: float
    amps: float


class ScpiPower(PowerBase):
    driver = "scpi"

    def __init__(
        self,
        resource: str,
        voltage: float,
        current_limit: float,
        sample_rate: float = 10.0,
        sample_seconds: float = 120.0,
        commands: ScpiCommands | None = None,
        timeout: float = 2.0,
        visa_library: str = "@py",
        events: EventSink | None = None,
        unit: str | None = None,
    ) -> None:
        super().__init__(events, unit)
        self.resource = resource
        self.voltage = voltage
        self.current_limit = current_limit
        self.sample_rate = sample_rate
        self.sample_seconds = sample_seconds
        self.commands = commands or ScpiCommands()
        self.timeout = timeout
        self.visa_library = visa_library
        self.samples: list[PsuSample] = []
        self.fault: EquipmentError | None = None
        self._inst: Any = None
        self._rm: Any = None
        self._lock = threading.RLock()
        self._sampler: tuple[threading.Thread, threading.Event] | None = None

    # -- PowerDriver -----------------------------------------------------------------------------

    def _switch(self, on: bool) -> None:
        self._stop_sampling()
        c = self.commands
        if not on:
            self._write(c.output_off)
            self._check_errors("switching the output off")
            return
        self.fault = None
        for command in c.setup:
            self._write(command)
        self._write(c.set_voltage.format(volts=self.voltage))
        self._write(c.set_current.format(amps=self.current_limit))
        self._check_errors(f"setting {self.voltage:g} V and a {self.current_limit:g} A limit")
        if c.trip_clear:
            self._write(c.trip_clear)
        self._write(c.output_on)
        self._check_errors("switching the output on")

    def on(self) -> None:
        super().on()
        # The first sample at once: a short circuit on the unit's input shows before on() returns.
        self._sample_and_check()
        if self.sample_rate > 0 and self.sample_seconds > 0:
            stop = threading.Event()
            thread = threading.Thread(target=self._sample_loop, args=(stop,), name="psu-sampler", daemon=True)
            self._sampler = (thread, stop)
            thread.start()

    def state(self) -> bool | None:
        return _flag(self._query(self.commands.output_query))

    def probe(self) -> str:
        """*IDN?, the error queue (EquipmentError when not empty) and the output state; changes nothing."""
        idn = self._query("*IDN?")
        self._check_errors("*IDN?")
        return f"answers {idn!r}; error queue empty; output is {'on' if self.state() else 'off'}"

    # -- readback --------------------------------------------------------------------------------

    def measure(self) -> PsuSample:
        """Read the output voltage and current now."""
        with self._lock:
            volts = float(self._query(self.commands.measure_voltage))
            amps = float(self._query(self.commands.measure_current))
        return PsuSample(time.time(), volts, amps)

    def check(self, expected: bool | None = None) -> None:
        """Raise the fault the sampler saw since the output went on (over-current, trip, lost link); then ask
        the supply: protection tripped, error queue, output where the bench left it (`expected`)."""
        if self.fault is not None:
            raise self.fault
        if expected is None:
            return
        c = self.commands
        with self._lock:  # the output before the latched trip flag: see _sample_and_check
            output_on = _flag(self._query(c.output_query))
            tripped = c.trip_query is not None and _flag(self._query(c.trip_query))
        if tripped:
            raise self._error("over-current protection tripped")
        self._check_errors("the last command")
        if output_on != expected:
            raise self._error(
                f"output reads {'on' if output_on else 'off'} but the bench switched it "
                f"{'on' if expected else 'off'}"
            )

    def close(self) -> None:
        self._stop_sampling()
        with self._lock:
            self._close_resource()

    def __enter__(self) -> ScpiPower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sampling --------------------------------------------------------------------------------

    def _sample_loop(self, stop: threading.Event) -> None:
        interval = 1.0 / self.sample_rate
        deadline = time.monotonic() + self.sample_seconds
        next_t = time.monotonic() + interval
        while time.monotonic() < deadline and not stop.wait(max(0.0, next_t - time.monotonic())):
            next_t += interval
            try:
                self._sample_and_check()
            except EquipmentError as e:
                self.fault = e
                if self.events is not None:
                    self.events.add(
                        "power", "psu-fault", unit=self.unit, resource=self.resource, error=str(e)
                    )
                return

    def _sample_and_check(self) -> PsuSample:
        with self._lock:
            sample = self.measure()
            # The output first, then the protection's flag, which latches: a trip between the two queries is
            # then read as the trip it is, not as an output that switched itself off.
            output_on = _flag(self._query(self.commands.output_query))
            tripped = self.commands.trip_query is not None and _flag(self._query(self.commands.trip_query))
        self.samples.append(sample)
        if self.events is not None:
            self.events.add(
                "power",
                "psu-sample",
                unit=self.unit,
                volts=sample.volts,
                amps=sample.amps,
                resource=self.resource,
            )
        figures = (
            f"{sample.volts:g} V, {sample.amps:g} A measured, set to {self.voltage:g} V with a "
            f"{self.current_limit:g} A limit"
        )
        if tripped or not output_on:
            what = "over-current protection tripped" if tripped else "output switched itself off"
            raise self._error(f"{what} ({figures})")
        if sample.amps > self.current_limit * (1 + CC_TOLERANCE):
            raise self._error(f"current above the limit ({figures})")
        if sample.amps >= self.current_limit * (1 - CC_TOLERANCE) and sample.volts < self.voltage * 0.95:
            raise self._error(f"output is current-limited, the voltage sags ({figures})")
        return sample

    def _stop_sampling(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler[1].set()
            sampler[0].join()

    # -- SCPI transport --------------------------------------------------------------------------

    def _error(self, what: str) -> EquipmentError:
        unit = f" (unit {self.unit})" if self.unit else ""
        return EquipmentError(f"bench power supply {self.resource}{unit}: {what}")

    def _open(self) -> Any:
        if self._inst is None:
            try:
                self._rm = self._rm or resource_manager(self.visa_library)
                inst = self._rm.open_resource(
                    self.resource,
                    read_termination="\n",
                    write_termination="\n",
                    timeout=int(self.timeout * 1000),
                    open_timeout=int(self.timeout * 1000),
                )
            except Exception as e:  # pyvisa-py raises a bare Exception when a TCP connect fails
                raise self._error(f"cannot open: {_visa_reason(e)}") from e
            self._inst = inst
        return self._inst

    def _close_resource(self) -> None:
        inst, self._inst = self._inst, None
        if inst is not None:
            with contextlib.suppress(pyvisa.Error, OSError):
                inst.close()

    def _io(self, command: str, query: bool) -> str:
        with self._lock:
            inst = self._open()
            try:
                if query:
                    return str(inst.query(command)).strip()
                inst.write(command)
                return ""
            except (pyvisa.Error, OSError, ValueError) as e:
                # Reopened on the next command: a supply power-cycled by hand works again.
                self._close_resource()
                raise self._error(f"no answer to {command!r}: {e}") from e

    def _write(self, command: str) -> None:
        self._io(command, query=False)

    def _query(self, command: str) -> str:
        return self._io(command, query=True)

    def _check_errors(self, what: str) -> None:
        errors = []
        for _ in range(20):  # a queue holds a few entries; bounded in case a supply never answers 0
            answer = self._query(self.commands.error_query)
            code = answer.split(",", 1)[0].strip()
            if code.lstrip("+-").isdigit() and int(code) == 0:
                break
            errors.append(answer)
        if errors:
            raise self._error(f"SCPI error queue not empty after {what}: {'; '.join(errors)}")

    def __repr__(self) -> str:
        return f"ScpiPower({self.resource})"


def _visa_reason(error: Exception) -> str:
    """pyvisa-py says "could not connect: -1073807339": name the VISA status code."""

    def name(m: re.Match[str]) -> str:
        try:
            return f"{pyvisa.constants.StatusCode(int(m.group(0))).name} ({m.group(0)})"
        except ValueError:
            return m.group(0)

    return re.sub(r"-10738\d{5}", name, str(error))


def _flag(answer: str) -> bool:
    return answer.strip().upper() in ("1", "ON", "+1")


def build(cfg: ScpiPowerConfig, events: EventSink | None, unit: str | None) -> ScpiPower:
    return ScpiPower(
        cfg.resource, cfg.voltage, cfg.current_limit, sample_rate=cfg.sample_rate,
        sample_seconds=cfg.sample_seconds, commands=cfg.commands, timeout=cfg.timeout,
        visa_library=cfg.visa_library, events=events, unit=unit,
    )  # fmt: skip

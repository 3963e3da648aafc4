"""The mock unit's power: a simulated SCPI bench supply on 127.0.0.1 (lab hardware, bench/lab/sim) whose output
starts and stops the mock process, switched by the real ScpiPower driver over pyvisa, so the code that talks to
hardware runs in CI too. The driver only talks to the supply, as it would to a real one."""

from __future__ import annotations

from typing import Any

from bench.errors import ConfigError, InfraError
from bench.lab.sim.scpi_psu import ScpiPsuServer
from bench.timeline import Timeline
from drivers.config import MockPsuPowerConfig
from drivers.power.base import PowerDriver
from drivers.power.mock import MockDeviceControl
from drivers.power.scpi import PsuSample, ScpiPower
from drivers.power.settings import MOCK_SAMPLE_RATE

# The simulated supply reads the command after `OUTP OFF` only once the mock unit's processes have stopped
# (the mock says "power lost", its charon ends): seconds on a loaded machine, measured past 2 s with the test
# suite running six ways. A real supply answers at once; ScpiPower's own default timeout stays 2 s.
STOP_TIMEOUT = 15.0


class MockPsuPower:
    """A PowerDriver: `on()` sends SCPI to the simulated supply, whose output turning on starts the mock
    unit (`device.start`) and turning off, or tripping, stops it. Samples land on the timeline as
    `power/psu-sample`, like a physical unit's."""

    driver = "mock-psu"

    def __init__(
        self,
        device: MockDeviceControl,
        timeline: Timeline | None = None,
        unit: str | None = None,
        voltage: float = 12.0,
        current_limit: float = 2.0,
        load_ohms: float = 12.0,
        sample_rate: float = MOCK_SAMPLE_RATE,
        sample_seconds: float = 5.0,
        timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.device = device
        self.unit = unit
        self.server = ScpiPsuServer(load_ohms, on_output=self._output_changed).start()
        self.scpi = ScpiPower(
            self.server.resource, voltage, current_limit, sample_rate=sample_rate,
            sample_seconds=sample_seconds, timeout=timeout, events=timeline, unit=unit,
        )  # fmt: skip
        self.scpi.driver = self.driver

    @property
    def resource(self) -> str:
        return self.server.resource

    def _output_changed(self, on: bool) -> None:
        # Called only when the output changes (the supply switched to the state it is in does nothing). Output
        # off: the unit is off, whatever it was doing, even a process power-on started that has not entered the
        # unit's namespace yet (asking the namespace whether it "runs" missed it: that unit stayed on through
        # the off). Output on: a unit boots; anything still in its namespace then is not the unit (a bench bug
        # the supply reports as a load fault), not a reason to boot nothing.
        if not on:
            self.device.stop()
            return
        if left := self.device.leftovers():
            raise InfraError(f"output on, but the unit's namespace is not empty: {', '.join(left)}")
        self.device.start()

    def on(self) -> None:
        self.scpi.on()

    def off(self) -> None:
        self.scpi.off()

    def cycle(self, delay: float = 1.0) -> None:
        self.scpi.cycle(delay)

    def state(self) -> bool | None:
        return self.scpi.state()

    def measure(self) -> PsuSample:
        return self.scpi.measure()

    def check(self, expected: bool | None = None) -> None:
        """Raise the fault the sampler saw since power-on, or the supply reports now (see ScpiPower.check)."""
        self.scpi.check(expected)

    def trip(self) -> None:
        """Trip the simulated supply's over-current protection, as a short on the unit's input would."""
        model = self.server.model
        with model.lock:
            model.output, model.tripped = False, True
        self._output_changed(False)

    def close(self) -> None:
        """Stop sampling and the simulated supply; the mock unit itself is closed by its owner."""
        try:
            self.scpi.close()
        finally:
            self.server.stop()

    def __enter__(self) -> MockPsuPower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_mock_power(
    cfg: Any, device: MockDeviceControl, timeline: Timeline | None = None, unit: str | None = None
) -> PowerDriver:
    """The power driver of a mock unit: `driver: mock` (start/stop the process) or `driver: mock-psu`."""
    if isinstance(cfg, MockPsuPowerConfig):
        return MockPsuPower(
            device, timeline, unit, voltage=cfg.voltage, current_limit=cfg.current_limit,
            load_ohms=cfg.load_ohms, sample_rate=cfg.sample_rate, sample_seconds=cfg.sample_seconds,
        )  # fmt: skip
    if getattr(cfg, "driver", None) == "mock":
        from drivers.power.mock import MockPower

        return MockPower(device, timeline, unit)
    raise ConfigError(f"power driver {getattr(cfg, 'driver', None)!r} is not a mock unit's")

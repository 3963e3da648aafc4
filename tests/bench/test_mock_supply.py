"""Tests for bench/unit/mock_supply.py and the simulated supply's on_output callback: a mock unit powered by
the real ScpiPower driver over pyvisa-py and TCP."""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any

import pytest

from bench.lab.sim import scpi_psu
from bench.lab.sim.scpi_psu import PsuModel, ScpiPsuServer
from bench.timeline import Timeline
from bench.unit.mock_supply import MockPsuPower, build_mock_power
from drivers.config import MockPsuPowerConfig, build_power
from drivers.errors import EquipmentError, SettingsError
from drivers.power import MockPower
from drivers.retry import poll
from tests.support import FakeDevice, NotInItsNamespaceYet, Straggler


def test_simulator_calls_back_on_output_changes() -> None:
    seen: list[bool] = []
    model = PsuModel(load_ohms=12.0, on_output=seen.append)
    for cmd in ("VOLT 12", "CURR 2", "OUTP ON", "OUTP ON", "OUTP?", "OUTP OFF", "OUTP OFF"):
        model.handle(cmd)
    assert seen == [True, False]  # only changes, not repeats or queries
    model.handle("CURR:PROT:STAT ON")
    model.handle("OUTP ON")
    model.load_ohms = 1.0  # the load shorts: the next reading trips the supply, and the load loses power
    assert model.handle("MEAS:CURR?") == "0.0000"
    assert seen == [True, False, True, False] and model.tripped


def test_simulator_reports_a_failing_load_in_its_error_queue() -> None:
    def refuse(on: bool) -> None:
        raise RuntimeError('mock unit "henb-01" would not start')

    model = PsuModel(on_output=refuse)
    model.handle("OUTP ON")
    assert model.output is False
    assert (
        model.handle("SYST:ERR?")
        == "-300,\"Device-specific error;load on: mock unit 'henb-01' would not start\""
    )


def _sim_threads() -> int:
    return sum(t.name == "scpi-psu-sim" for t in threading.enumerate())


def test_simulated_supply_waits_for_a_connection_without_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[Any] = []

    class Counted:
        @staticmethod
        def select(*args: Any) -> Any:
            waits.append(args)
            return select.select(*args)

    monkeypatch.setattr(scpi_psu, "select", Counted)
    before = _sim_threads()
    with ScpiPsuServer() as psu:
        time.sleep(0.5)
        # One wait since it started, however long it idles (socketserver's serve_forever woke 20 times a second).
        assert len(waits) == 1
        with socket.create_connection(("127.0.0.1", psu.port), timeout=10) as conn:
            conn.sendall(b"*IDN?\n")
            assert conn.makefile().readline() == "henb-bench,SIM-PSU,0001,1.0\n"
        # The connection was accepted, then it waits again (and only that).
        assert poll(lambda: len(waits), lambda n: n >= 2, 10) == 2
        time.sleep(0.3)
        assert len(waits) == 2
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 2 and _sim_threads() == before  # stop() wakes and ends the waiting thread
    psu.stop()  # again: nothing left to stop


def test_mock_supply_samples_twice_a_second_unless_the_inventory_says() -> None:
    # A resistive load reads the same at every sample: two a second by default, not a real supply's ten; the
    # inventory's sample_rate still rules.
    for given, rate in (({}, 2.0), ({"sample_rate": 10}, 10.0)):
        power = build_mock_power(MockPsuPowerConfig(driver="mock-psu", **given), FakeDevice())
        try:
            assert isinstance(power, MockPsuPower) and power.scpi.sample_rate == rate
        finally:
            power.close()


def test_mock_unit_powered_through_scpi() -> None:
    dev, tl = FakeDevice(), Timeline()
    with MockPsuPower(dev, tl, "henb-01", sample_rate=50, sample_seconds=5) as power:
        assert power.resource.startswith("TCPIP::127.0.0.1::") and power.state() is False
        power.on()
        assert dev.calls == ["start"] and power.state() is True
        power.on()  # already on: the unit is not started twice
        assert dev.calls == ["start"]
        tl.wait_for(lambda e: e.kind == "psu-sample", 2.0, "a sample", since=tl.mark())
        power.check()
        power.cycle(delay=0.01)
        assert dev.calls == ["start", "stop", "start"]
        power.off()
        assert dev.calls[-1] == "stop" and power.state() is False
        assert (power.measure().volts, power.measure().amps) == (0.0, 0.0)
    samples = {(e.data["volts"], e.data["amps"]) for e in tl if e.kind == "psu-sample"}
    assert samples == {(12.0, 1.0)}
    actions = [(e.data["action"], e.data["driver"], e.data["unit"]) for e in tl if e.kind == "power"]
    assert actions == [("on", "mock-psu", "henb-01")] * 2 + [
        ("off", "mock-psu", "henb-01"),
        ("on", "mock-psu", "henb-01"),
        ("off", "mock-psu", "henb-01"),
    ]


class SlowStop(FakeDevice):
    """A mock unit whose processes take longer to end than a real supply takes to answer (a loaded machine)."""

    def stop(self) -> None:
        time.sleep(2.5)
        super().stop()


def test_a_mock_unit_slow_to_stop_is_not_a_supply_that_does_not_answer() -> None:
    dev = SlowStop()
    with MockPsuPower(dev, None, "henb-01", sample_seconds=0) as power:
        power.on()
        power.off()  # the supply answers SYST:ERR? once the unit has stopped
        assert dev.calls == ["start", "stop"] and power.state() is False


def test_output_off_stops_a_unit_that_does_not_look_started_yet() -> None:
    dev = NotInItsNamespaceYet()
    with MockPsuPower(dev, None, "henb-01", sample_seconds=0) as power:
        power.on()
        power.off()  # an off that asked whether the unit runs did nothing here: the unit stayed on
        assert dev.calls == ["start", "stop"] and not dev._running


def test_output_on_with_something_left_in_the_units_namespace_names_it() -> None:
    # A supply that skipped the start because something ran there booted no unit, and said nothing.
    dev = Straggler()
    with MockPsuPower(dev, None, "henb-01", sample_seconds=0) as power, pytest.raises(EquipmentError) as exc:
        power.on()
    assert "the unit's namespace is not empty: 4242 charon" in str(exc.value) and dev.calls == []


def test_mock_unit_that_fails_to_start_is_an_infra_error() -> None:
    dev = FakeDevice(fail="cannot start mock unit henb-01: no such file")
    with MockPsuPower(dev, None, "henb-01", sample_seconds=0) as power, pytest.raises(EquipmentError) as exc:
        power.on()
    msg = str(exc.value)
    assert power.resource in msg and "henb-01" in msg
    assert "error queue not empty after switching the output on" in msg and "no such file" in msg


def test_close_stops_the_simulated_supply() -> None:
    power = MockPsuPower(FakeDevice(), sample_seconds=0)
    port = int(power.resource.split("::")[2])
    power.close()
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", port))


def test_built_from_the_inventory() -> None:
    cfg = MockPsuPowerConfig.model_validate({"driver": "mock-psu", "voltage": 12, "current_limit": 1.5})
    dev = FakeDevice()
    power = build_mock_power(cfg, dev, Timeline(), "henb-01")
    try:
        assert isinstance(power, MockPsuPower) and power.scpi.current_limit == 1.5
        power.on()
        assert dev.running()
    finally:
        power.close()  # type: ignore[attr-defined]
    assert isinstance(build_mock_power(type("M", (), {"driver": "mock"})(), dev), MockPower)
    with pytest.raises(SettingsError, match="mock power is made by the mock unit"):
        build_power(cfg)

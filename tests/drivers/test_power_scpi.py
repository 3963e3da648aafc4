"""Tests for drivers/power/scpi.py through pyvisa-py against the SCPI socket simulator in bench/lab/sim."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.lab.sim.scpi_psu import ScpiPsuServer
from bench.timeline import Timeline
from drivers.errors import EquipmentError
from drivers.power.scpi import ScpiCommands, ScpiPower

SIM_LIBRARY = str(Path(__file__).parents[2] / "bench" / "lab" / "sim" / "psu_sim.yaml") + "@sim"


@pytest.fixture
def psu() -> Iterator[ScpiPsuServer]:
    with ScpiPsuServer(load_ohms=12.0) as server:
        yield server


def samples(tl: Timeline) -> list[tuple[float, float]]:
    return [(e.data["volts"], e.data["amps"]) for e in tl if e.kind == "psu-sample"]


def test_on_sets_supply_samples_and_off(psu: ScpiPsuServer) -> None:
    tl = Timeline()
    with ScpiPower(psu.resource, 12.0, 2.0, sample_rate=50, sample_seconds=5, events=tl, unit="u1") as power:
        t0 = time.monotonic()
        power.on()
        assert psu.model.voltage == 12.0 and psu.model.current_limit == 2.0 and psu.model.output
        assert power.state() is True
        deadline = t0 + 30  # a generous bound: the sampler runs for 5 s (sample_seconds)
        while len(samples(tl)) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        power.off()
        elapsed = time.monotonic() - t0
        n = len(samples(tl))
        time.sleep(0.1)
        assert len(samples(tl)) == n  # off() stopped the sampler
        assert power.state() is False
        m = power.measure()
        assert (m.volts, m.amps) == (0.0, 0.0)
    # At most 50 Hz over the time it ran, plus the first sample taken inside on() (a loaded machine stalls the
    # sampler, so only the upper bound is a rate).
    assert 6 <= n <= 50 * elapsed + 2, (n, elapsed)
    assert set(samples(tl)) == {(12.0, 1.0)}
    ev = tl.events()
    assert [e.kind for e in ev if e.source == "power"][0] == "power"  # "power on" precedes the first sample
    assert all(
        e.data["unit"] == "u1" and e.data["resource"] == psu.resource for e in ev if e.kind == "psu-sample"
    )
    assert [e.data["action"] for e in ev if e.kind == "power"] == ["on", "off"]
    assert "VOLT 12.0" in psu.model.commands and "CURR 2.0" in psu.model.commands


def test_ocp_trip_on_switch_on_is_infra_error_with_figures(psu: ScpiPsuServer) -> None:
    psu.model.load_ohms = 2.0  # 12 V / 2 ohm = 6 A, far above the 1.5 A limit
    cmds = ScpiCommands(setup=("CURR:PROT:STAT ON",))
    with (
        ScpiPower(psu.resource, 12.0, 1.5, commands=cmds, sample_seconds=0) as power,
        pytest.raises(EquipmentError) as exc,
    ):
        power.on()
    msg = str(exc.value)
    assert "over-current protection tripped" in msg
    assert psu.resource in msg and "12 V" in msg and "1.5 A limit" in msg


def test_current_limited_output_is_infra_error(psu: ScpiPsuServer) -> None:
    psu.model.load_ohms = 4.0  # wants 3 A, the supply holds 1 A and sags to 4 V
    with ScpiPower(psu.resource, 12.0, 1.0, sample_seconds=0) as power, pytest.raises(EquipmentError) as exc:
        power.on()
    assert "current-limited" in str(exc.value) and "4 V, 1 A measured" in str(exc.value)


def test_trip_while_booting_is_recorded_and_raised_by_check(psu: ScpiPsuServer) -> None:
    tl = Timeline()
    cmds = ScpiCommands(setup=("CURR:PROT:STAT ON",))
    with ScpiPower(psu.resource, 12.0, 1.5, sample_rate=50, commands=cmds, events=tl, unit="u1") as power:
        power.on()
        power.check()  # healthy so far
        psu.model.load_ohms = 1.0  # the unit shorts its input while booting
        fault = tl.wait_for(lambda e: e.kind == "psu-fault", 2.0, "the sampler to see the trip")
        assert "over-current protection tripped" in fault.data["error"]
        with pytest.raises(EquipmentError, match="tripped"):
            power.check()
        assert power.state() is False


def test_reading_above_limit_is_infra_error(psu: ScpiPsuServer) -> None:
    psu.model.current_offset = 0.5  # a meter reading 1.5 A through a 1.2 A limit
    with ScpiPower(psu.resource, 12.0, 1.2, sample_seconds=0) as power, pytest.raises(EquipmentError) as exc:
        power.on()
    assert "current above the limit" in str(exc.value) and "1.5 A measured" in str(exc.value)


def test_error_queue_is_infra_error(psu: ScpiPsuServer) -> None:
    with ScpiPower(psu.resource, 75.0, 1.0) as power, pytest.raises(EquipmentError) as exc:
        power.on()  # 75 V is out of the supply's range
    assert "error queue not empty" in str(exc.value) and "-222" in str(exc.value)
    assert psu.model.output is False  # never switched on after the error
    cmds = ScpiCommands(setup=("INST:NSEL 1",))  # a channel command this supply does not know
    with ScpiPower(psu.resource, 12.0, 2.0, commands=cmds) as power, pytest.raises(EquipmentError) as exc:
        power.on()
    assert "-113" in str(exc.value)


def test_unreachable_supply_is_infra_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    resource = f"TCPIP::127.0.0.1::{port}::SOCKET"
    with (
        ScpiPower(resource, 12.0, 1.0, timeout=0.5, unit="u7") as power,
        pytest.raises(EquipmentError) as exc,
    ):
        power.on()
    assert resource in str(exc.value) and "u7" in str(exc.value)


def test_supply_gone_while_sampling_is_fault() -> None:
    tl = Timeline()
    psu = ScpiPsuServer().start()
    with ScpiPower(psu.resource, 12.0, 2.0, sample_rate=50, timeout=0.5, events=tl) as power:
        power.on()
        psu.stop()
        fault = tl.wait_for(lambda e: e.kind == "psu-fault", 3.0, "the sampler to lose the supply")
        assert psu.resource in fault.data["error"]
        with pytest.raises(EquipmentError):
            power.check()


def test_pyvisa_sim_supply() -> None:
    # The same driver through pyvisa-sim's in-process backend, as a mock unit's PSU can be.
    tl = Timeline()
    resource = "TCPIP::192.0.2.40::5025::SOCKET"  # only a name inside pyvisa-sim: nothing is sent anywhere
    power = ScpiPower(resource, 12.0, 2.0, sample_seconds=0, visa_library=SIM_LIBRARY, events=tl)
    power.on()
    assert power.state() is True
    assert samples(tl) == [(12.0, 0.5)]
    power.off()
    assert power.state() is False
    with pytest.raises(EquipmentError, match="error queue not empty after setting 75 V.*-113"):
        ScpiPower(resource, 75.0, 2.0, sample_seconds=0, visa_library=SIM_LIBRARY).on()


def test_resource_managers_made_at_once_are_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyvisa caches a library's ResourceManager before it is complete; supplies of several units opened at
    once must not see it half made. A stand-in with pyvisa's order and a pause between the two steps."""
    import threading

    import drivers.power.scpi as scpi

    cache: dict[str, object] = {}

    class SlowManager:
        def __new__(cls, library: str) -> SlowManager:
            if library in cache:
                return cache[library]  # type: ignore[return-value]
            obj = super().__new__(cls)
            cache[library] = obj  # cached first, as pyvisa does (visalib.resource_manager = obj)
            time.sleep(0.05)
            obj.created = set()  # type: ignore[attr-defined]  # then completed (_created_resources)
            return obj

    monkeypatch.setattr(scpi.pyvisa, "ResourceManager", SlowManager)
    seen: list[bool] = []
    threads = [
        threading.Thread(target=lambda: seen.append(hasattr(scpi.resource_manager("@py"), "created")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [True] * 8


@pytest.mark.parametrize("asked", ["sample", "check"])
def test_a_trip_between_the_state_queries_is_read_as_the_trip(psu: ScpiPsuServer, asked: str) -> None:
    """The supply trips right after it answers the first of its two state queries (output, protection): the
    latched flag is read last, so the fault is the trip, not an output that switched itself off (CI: a mock
    supply tripped on purpose while the sampler was between the two)."""
    model, handle = psu.model, psu.model.handle

    def trips_after_the_first_state_query(line: str) -> str | None:
        reply = handle(line)
        if line.strip().upper() in ("OUTP?", "OUTP:PROT:TRIP?") and model.output:
            with model.lock:
                model.output, model.tripped = False, True
        return reply

    cmds = ScpiCommands(setup=("CURR:PROT:STAT ON",))
    with ScpiPower(psu.resource, 12.0, 1.5, commands=cmds, sample_seconds=0) as power:
        if asked == "check":
            power.on()
        model.handle = trips_after_the_first_state_query  # type: ignore[method-assign]
        with pytest.raises(EquipmentError) as exc:
            power.check(True) if asked == "check" else power.on()  # on() takes its first sample at once
    assert "over-current protection tripped" in str(exc.value), exc.value

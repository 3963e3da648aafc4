"""Tests for drivers/power: MockPower against a fake mock unit, SerialRelay over a real pty."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.timeline import Timeline
from drivers.console import PtyPair
from drivers.errors import EquipmentError
from drivers.power import MockPower, PowerDriver, SerialRelay
from tests.support import FakeDevice, NotInItsNamespaceYet


@pytest.fixture
def pty() -> Iterator[PtyPair]:
    with PtyPair() as p:
        yield p


def read_device(pty: PtyPair, n: int, timeout: float = 1.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += os.read(pty.device_fd, n - len(got))
    return got


def power_events(tl: Timeline) -> list[tuple[str, str | None, str]]:
    return [(e.data["action"], e.data["unit"], e.data["driver"]) for e in tl if e.source == "power"]


def test_mock_power_on_off_cycle_and_events() -> None:
    dev, tl = FakeDevice(), Timeline()
    power: PowerDriver = MockPower(dev, tl, unit="mock-henb-1")
    assert power.state() is False
    power.on()
    assert power.state() is True
    power.on()  # already on: the mock unit must not be started twice
    power.cycle(delay=0.05)
    power.off()
    assert power.state() is False
    assert dev.calls == ["start", "stop", "start", "stop"]
    assert power_events(tl) == [
        ("on", "mock-henb-1", "mock"),
        ("on", "mock-henb-1", "mock"),
        ("off", "mock-henb-1", "mock"),
        ("on", "mock-henb-1", "mock"),
        ("off", "mock-henb-1", "mock"),
    ]
    ev = tl.events()
    assert all(e.kind == "power" for e in ev)
    assert ev[3].t - ev[2].t >= 0.05  # cycle waited between off and on


def test_mock_power_without_timeline() -> None:
    dev = FakeDevice()
    MockPower(dev).cycle(delay=0)
    assert dev.calls == ["stop", "start"]  # off stops (nothing: the unit was stopped), then on starts it


def test_mock_power_off_stops_a_unit_that_does_not_look_started_yet() -> None:
    dev = NotInItsNamespaceYet()
    power = MockPower(dev)
    power.on()
    power.off()  # an off that asked whether the unit runs did nothing here: the unit stayed on
    assert dev.calls == ["start", "stop"] and not dev._running


def test_failed_switch_records_no_event() -> None:
    class Broken(FakeDevice):
        def start(self) -> None:
            raise EquipmentError("mock unit binary missing")

    tl = Timeline()
    with pytest.raises(EquipmentError):
        MockPower(Broken(), tl).on()
    assert power_events(tl) == []


ON, OFF, QUERY = b"\xa0\x01\x01\xa2", b"\xa0\x01\x00\xa1", b"\xff"


def test_serial_relay_writes_bytes(pty: PtyPair) -> None:
    tl = Timeline()
    relay = SerialRelay(pty.path, ON, OFF, events=tl, unit="lab-henb-07")
    relay.on()
    assert read_device(pty, 4) == ON
    relay.off()
    assert read_device(pty, 4) == OFF
    relay.cycle(delay=0.01)
    assert read_device(pty, 8) == OFF + ON
    assert relay.state() is None  # no query configured: unknown, not a guess
    assert [a for a, _, _ in power_events(tl)] == ["on", "off", "off", "on"]
    assert power_events(tl)[0] == ("on", "lab-henb-07", "relay-serial")


def test_serial_relay_state_query(pty: PtyPair) -> None:
    replies = [b"CH1: ON\r\n", b"CH1: OFF\r\n", b"garbage"]

    def board() -> None:
        for reply in replies:
            assert read_device(pty, 1) == QUERY
            os.write(pty.device_fd, reply)

    t = threading.Thread(target=board)
    t.start()
    relay = SerialRelay(pty.path, ON, OFF, query_bytes=QUERY, on_reply=b"ON", off_reply=b"OFF", timeout=0.5)
    assert relay.state() is True
    assert relay.state() is False
    with pytest.raises(EquipmentError) as exc:
        relay.state()
    assert "garbage" in str(exc.value) and pty.path in str(exc.value)
    t.join()


def test_serial_relay_missing_port(tmp_path: Path) -> None:
    relay = SerialRelay("/dev/hb-no-such-relay", ON, OFF)
    with pytest.raises(EquipmentError) as exc:
        relay.on()
    assert "/dev/hb-no-such-relay" in str(exc.value)
    with pytest.raises(EquipmentError):
        SerialRelay("socket://127.0.0.1:1", ON, OFF).off()

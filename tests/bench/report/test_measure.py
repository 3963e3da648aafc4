"""Tests for bench/report/measure.py: measurements from the timeline and the outer capture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.capture import LINKTYPE_RAW, PcapngWriter
from bench.report.measure import ike_setup_from_capture, measure
from tests.bench.report.fakerun import _ike


def _ev(t: float, source: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"seq": 0, "t": t, "source": source, "kind": kind, "data": data}


def test_measurements_count_from_the_last_power_on() -> None:
    events = [
        _ev(1.0, "power", "power", action="on"),
        _ev(1.5, "hems", "inform"),
        _ev(2.0, "power", "power", action="off"),
        _ev(10.0, "power", "power", action="on"),
        _ev(12.5, "dhcp", "dhcpdiscover"),
        _ev(13.0, "dns", "query"),
        _ev(13.25, "segw", "ike-up"),
        _ev(14.0, "hems", "inform"),
        _ev(15.5, "mme", "sctp-init"),
        _ev(20.0, "fileserver", "upload"),
        _ev(920.0, "fileserver", "upload"),
        _ev(1820.0, "fileserver", "upload"),
    ]
    assert measure(events) == {
        "boot_time": 2.5,
        "first_inform": 4.0,
        "registration": 5.5,
        "ike_setup": 0.25,
        "upload_interval": 900.0,
    }
    assert measure([_ev(1.0, "hems", "inform")]) == {}


def test_ike_setup_from_the_capture(tmp_path: Path) -> None:
    path = tmp_path / "outer.pcapng"
    w = PcapngWriter(path, LINKTYPE_RAW, "hb-in-u0")
    w.write(_ike(35, True), 99.0)  # a response without a request before it: ignored
    w.write(_ike(34, False), 100.0)
    w.write(_ike(34, True), 100.004)
    w.write(_ike(35, False), 100.005)
    w.write(_ike(35, True), 100.0126)
    w.close()
    setup = ike_setup_from_capture(path)
    assert setup is not None and abs(setup - 0.0126) < 1e-5
    assert measure([_ev(1.0, "power", "power", action="on")], path) == {"ike_setup": 0.013}

"""An Inform that names no unit of a run of several (a wrong DeviceId) from an inner address whose IKE SA the
SeGW has not reported yet: the attributor asks the SeGWs which SA holds the address (bench/attribution.py), so
the Inform is its unit's at once, and another unit's wait (bench/unit/signs.py) never takes it for its own."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bench.attribution import Attributor, UnitKey
from bench.errors import DeviceError
from bench.timeline import Timeline, UnitTimeline
from bench.unit import signs

KEYS = [UnitKey(n, "00D0B7", s, f"{s}@henb", f"port-{n}") for n, s in (("a", "A1"), ("b", "B1"))]


def _unit(base: Timeline, name: str) -> Any:
    run = SimpleNamespace(timeline=UnitTimeline(base, name), topology=SimpleNamespace(segw={}, hems={}))
    return SimpleNamespace(name=name, run=run, last_boot=None)


def _timeline(sas: list[dict[str, Any]] | None) -> Timeline:
    tl = Timeline()
    tl.attributor = Attributor(KEYS, macs=dict, sas=None if sas is None else (lambda: sas))
    return tl


def _wrong_inform(tl: Timeline) -> Any:
    return tl.add("hems", "inform", hems="serving-hems", serial="B1X", oui="00D0B7", peer="10.182.0.2")


def test_an_unnamed_inform_is_the_unit_s_whose_sa_holds_its_address() -> None:
    # b's tunnel is up at the SeGW; the SeGW's report of it (IKE_UP) is not read yet.
    tl = _timeline([{"remote_id": "A1@henb", "remote_vips": ["10.182.0.1"]},
                    {"remote_id": "B1@henb", "remote_host": "198.51.100.7", "remote_vips": ["10.182.0.2"]}])  # fmt: skip
    inform = _wrong_inform(tl)
    assert inform.unit == "b"
    assert tl.attributor is not None and tl.attributor.inner_addresses("b") == {"10.182.0.2"}
    assert tl.attributor.addresses("b") == {"10.182.0.2", "198.51.100.7"}
    a, b = _unit(tl, "a"), _unit(tl, "b")
    assert signs.wait_quoting_segws(b, signs.informs, 1.0, "an Inform", 0) is inform
    with pytest.raises(DeviceError):
        signs.wait_quoting_segws(a, signs.informs, 0.3, "an Inform", 0)


@pytest.mark.parametrize(
    "sas",
    [
        None,  # no SeGW to ask
        [],  # no SA holds the address
        [
            {"remote_id": "A1@henb", "remote_vips": ["10.182.0.2"]},
            {"remote_id": "B1@henb", "remote_vips": ["10.182.0.2"]},
        ],  # two claim it: nobody's  # fmt: skip
    ],
)
def test_an_address_no_single_sa_holds_leaves_the_inform_to_no_unit(sas: list[dict[str, Any]] | None) -> None:
    assert _wrong_inform(_timeline(sas)).unit is None


def test_a_segw_that_cannot_answer_leaves_the_inform_to_no_unit() -> None:
    tl = Timeline()

    def broken() -> list[dict[str, Any]]:
        raise OSError("vici: connection refused")

    tl.attributor = Attributor(KEYS, macs=dict, sas=broken)
    assert _wrong_inform(tl).unit is None


def test_with_one_unit_an_unnamed_inform_is_its_own() -> None:
    tl = Timeline()
    tl.attributor = Attributor([KEYS[0]], macs=dict)
    inform = tl.add("hems", "inform", hems="serving-hems", serial="A1X", oui="00D0B7", peer="10.182.0.2")
    assert signs.wait_quoting_segws(_unit(tl, "a"), signs.informs, 1.0, "an Inform", 0) is inform

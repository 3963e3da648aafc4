"""bench/unit/signs.py: an Inform that names no unit of a run of several (a wrong DeviceId, from an inner address
the SeGW reports late) is taken by the unit whose address it turns out to be, and by no other."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from bench.attribution import Attributor, UnitKey
from bench.errors import DeviceError
from bench.timeline import Timeline, UnitTimeline
from bench.unit import signs


def _unit(base: Timeline, name: str) -> Any:
    run = SimpleNamespace(timeline=UnitTimeline(base, name), topology=SimpleNamespace(segw={}, hems={}))
    return SimpleNamespace(name=name, run=run, last_boot=None)


def _timeline() -> Timeline:
    tl = Timeline()
    keys = [UnitKey(n, "00D0B7", s, f"{s}@henb", f"port-{n}") for n, s in (("a", "A1"), ("b", "B1"))]
    tl.attributor = Attributor(keys, macs=dict)
    return tl


def test_an_unnamed_inform_is_the_unit_s_whose_address_it_turns_out_to_be() -> None:
    tl = _timeline()
    a, b = _unit(tl, "a"), _unit(tl, "b")
    inform = tl.add("hems", "inform", hems="serving-hems", serial="B1X", oui="00D0B7", peer="10.182.0.2")
    assert inform.unit is None  # no unit's yet: every unit's view shows it

    def sa_reported() -> None:  # the SeGW's IKE_UP for b's tunnel, heard after the Inform
        time.sleep(0.3)
        tl.add("segw", "ike-up", segw="ssegw", remote_id="B1@henb", remote_host="198.51.100.7",
               remote_vips=["10.182.0.2"])  # fmt: skip

    threading.Thread(target=sa_reported).start()
    found: dict[str, Any] = {}

    def wait(unit: Any) -> None:
        try:
            found[unit.name] = signs.wait_quoting_segws(unit, signs.informs, 1.5, "an Inform", 0)
        except DeviceError as exc:
            found[unit.name] = exc

    threads = [threading.Thread(target=wait, args=(u,)) for u in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found["b"] is inform
    assert isinstance(found["a"], DeviceError), "unit a took unit b's Inform for its own"


def test_with_one_unit_an_unnamed_inform_is_its_own() -> None:
    tl = Timeline()
    tl.attributor = Attributor([UnitKey("a", "00D0B7", "A1", "A1@henb", "port-a")], macs=dict)
    a = _unit(tl, "a")
    inform = tl.add("hems", "inform", hems="serving-hems", serial="A1X", oui="00D0B7", peer="10.182.0.2")
    assert signs.wait_quoting_segws(a, signs.informs, 1.0, "an Inform", 0) is inform


@pytest.mark.parametrize("named", ["A1", None])
def test_an_inform_named_or_placed_is_taken_at_once(named: str | None) -> None:
    tl = _timeline()
    tl.add(
        "segw",
        "ike-up",
        segw="ssegw",
        remote_id="A1@henb",
        remote_host="198.51.100.7",
        remote_vips=["10.182.0.9"],
    )
    inform = tl.add(
        "hems", "inform", hems="serving-hems", serial=named or "ZZ", oui="00D0B7", peer="10.182.0.9"
    )
    start = time.monotonic()
    assert signs.wait_quoting_segws(_unit(tl, "a"), signs.informs, 1.0, "an Inform", 0) is inform
    assert time.monotonic() - start < 0.5

"""A unit whose flash the bench does not know, used as it is where the state allows (bench/unit/lifecycle.py):
configured for this bench, a clause that needs only a registered unit boots it to the Serving HeMS with no
reset and no discovery; a state that needs a fresh unit still resets it; a flash pointing at another operator's
network is reset, not failed. Each path is on the timeline (unit/prepared), in run.json, the report and the
console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.inventory import load_inventory
from bench.run import BenchRun
from bench.timeline import Event
from bench.unit import State
from tests.support import henb_bench, mock_flashes, needs_root, wipe_flash, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]

BOUNDS = {"boot": 20, "step": 8, "factory_reset": 8, "s1_init": 6, "quiet": 1, "alarm_inform": 3}
ELSEWHERE = ["ssegw.other-operator.example", "http://shems.other-operator.example:7547/"]


def _inventory(tmp_path: Path, reset: dict[str, Any] | None = None) -> Path:
    path = write_inventory(tmp_path / "inventory.yaml", BOUNDS)
    if reset is not None:
        data = yaml.safe_load(path.read_text())
        data["units"]["henb-01"]["actions"]["factory_reset"] = reset
        path.write_text(yaml.safe_dump(data))
    return path


def _wipe(inventory: Path) -> None:
    """The unit as it leaves the factory: nothing in its flash."""
    wipe_flash(load_inventory(inventory), "henb-01")


def _point_elsewhere(inventory: Path) -> None:
    """The unit's flash as another operator's network left it: its Serving SeGW/HeMS are none of this bench's."""
    (flash,) = mock_flashes(load_inventory(inventory), "henb-01")
    saved = json.loads(flash.read_text())
    saved["serving"] = ELSEWHERE
    flash.write_text(json.dumps(saved))


def _run(inventory: Path, tmp_path: Path, name: str) -> BenchRun:
    run = BenchRun(load_inventory(inventory), None, tmp_path / "captures", name)
    run.start()
    return run


def _unit_events(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.source == "unit" and e.kind == kind]


def _timeline(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]


def test_a_configured_unit_is_used_as_it_is_and_a_fresh_clause_still_resets(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    _wipe(inventory)
    out = tmp_path / "captures"
    # A factory-fresh unit: it bootstraps, nothing to reset; its flash then points at this bench.
    first = henb_bench("--inventory", str(inventory), "run", "--clause", "5.2.3", "--out", str(out / "1"))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    (run_dir,) = (out / "1").iterdir()
    (prep,) = json.loads((run_dir / "run.json").read_text())["preparation"]
    assert prep["path"] == "factory-fresh" and prep["state"] == "registered", prep

    # The same clause again: booted to the Serving HeMS from flash, no factory reset, no discovery.
    again = henb_bench("--inventory", str(inventory), "run", "--clause", "5.2.3", "--out", str(out / "2"))
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    (run_dir,) = (out / "2").iterdir()
    (prep,) = json.loads((run_dir / "run.json").read_text())["preparation"]
    assert prep["path"] == "configured" and prep["detail"].startswith(
        "used as configured: booted to the Serving HeMS in "
    )
    events = _timeline(run_dir)
    assert not [e for e in events if e["source"] == "unit" and e["kind"] == "factory-reset"], (
        "reset a configured unit"
    )
    informs = [e for e in events if e["source"] == "hems" and e["kind"] == "inform"]
    assert informs and all(e["data"]["hems"] == "serving-hems" for e in informs), "it went through discovery"
    assert "0 BOOTSTRAP" not in informs[0]["data"]["events"], informs[0]
    assert f"prepared henb-01: {prep['detail']}" in again.stdout, again.stdout[-2000:]
    assert "used as configured: booted to the Serving HeMS in " in (run_dir / "report.html").read_text()

    # A state that needs a factory-fresh unit still resets it (from the Serving HeMS its flash points at).
    run = _run(inventory, tmp_path, "fresh")
    try:
        boot = run.unit.transition(State.FACTORY_FRESH)
        assert boot is not None
        tl = run.timeline
        (prepared,) = _unit_events(tl.events(), "prepared")
        assert prepared.data["path"] == "factory-reset", prepared.data
        assert (
            "its flash pointed at the serving-hems; the test needs a factory-fresh unit"
            in prepared.data["detail"]
        )
        assert [e.data["method"] for e in _unit_events(tl.events(), "factory-reset")] == ["hems"]
        run.topology.hems["initial-hems"].wait_inform(run.unit.serial, ["0 BOOTSTRAP"], 20, boot.mark)
    finally:
        run.close()


def test_a_unit_configured_for_another_operator_is_reset_not_failed(tmp_path: Path) -> None:
    inventory = _inventory(
        tmp_path,
        {"method": "console", "command": "factory-reset", "expect": "factory configuration restored"},
    )
    _wipe(inventory)
    run = _run(inventory, tmp_path, "configure")
    try:
        run.unit.transition(State.DISCOVERED)  # its flash now holds this bench's Serving SeGW/HeMS
    finally:
        run.close()
    _point_elsewhere(inventory)

    run = _run(inventory, tmp_path, "elsewhere")
    try:
        boot = run.unit.transition(State.REGISTERED)
        assert boot is not None
        tl = run.timeline
        (prepared,) = _unit_events(tl.events(), "prepared")
        assert prepared.data["path"] == "factory-reset", prepared.data
        detail = prepared.data["detail"]
        assert "came to none of this bench's HeMSs within 20 s (units.henb-01.bounds.boot)" in detail, detail
        assert "ssegw.other-operator.example" in detail, detail
        assert [e.data["method"] for e in _unit_events(tl.events(), "factory-reset")] == ["console"]
        # Registered after a fresh discovery: the Initial HeMS assigned this bench's Serving SeGW/HeMS.
        run.topology.hems["initial-hems"].wait_inform(run.unit.serial, ["0 BOOTSTRAP"], 1, boot.mark)
    finally:
        run.close()

    # Reset by HeMS (the default) cannot reach it: the bench asks the person at the bench, who resets it.
    _point_elsewhere(inventory)
    run = _run(_inventory(tmp_path), tmp_path, "by-hand")
    said: list[str] = []

    def operator(text: str) -> None:  # reads the instructions, and does what they say
        said.append(text)
        run.unit.console.write("factory-reset\n")

    run.unit.say = operator
    try:
        run.unit.transition(State.REGISTERED)
        assert len(said) == 1 and "units.henb-01.actions.factory_reset is hems" in said[0], said
        assert "ssegw.other-operator.example" in said[0], said
        assert [e.data["method"] for e in _unit_events(run.timeline.events(), "factory-reset")] == ["manual"]
    finally:
        run.close()

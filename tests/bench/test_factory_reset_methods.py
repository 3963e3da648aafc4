"""Factory reset the inventory's other ways: a console command confirmed by a pattern, and by hand (the bench
prints the instructions and waits for the unit to turn to its Initial side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.errors import DeviceError
from bench.inventory import load_inventory
from bench.run import BenchRun
from bench.unit import State
from tests.support import needs_root, wipe_flash, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]

BOUNDS = {"boot": 20, "step": 5, "factory_reset": 6}


def _run(tmp_path: Path, reset: dict[str, Any]) -> BenchRun:
    path = write_inventory(tmp_path / "inventory.yaml", BOUNDS)
    data = yaml.safe_load(path.read_text())
    data["units"]["henb-01"]["actions"]["factory_reset"] = reset
    path.write_text(yaml.safe_dump(data))
    inv = load_inventory(path)
    # Each method is tried from a factory-fresh flash: what a test before left in it is not this test's subject
    # (a unit whose flash the bench does not know is tested in test_unit_health.py).
    wipe_flash(inv, "henb-01")
    run = BenchRun(inv, None, tmp_path / "captures", "run")
    run.start()
    return run


def _reset_and_bootstrap(run: BenchRun, method: str) -> None:
    unit, tl = run.unit, run.timeline
    unit.transition(State.REGISTERED)  # configured now, and kept in flash
    unit.transition(State.BOOTING)
    boot = unit.transition(State.FACTORY_FRESH)
    assert boot is not None
    resets = [e for e in tl.events() if e.source == "unit" and e.kind == "factory-reset"]
    assert resets and resets[-1].data["method"] == method, resets
    run.topology.hems["initial-hems"].wait_inform(unit.serial, ["0 BOOTSTRAP"], 20, boot.mark)


def test_console_command_resets_the_unit(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        {"method": "console", "command": "factory-reset", "expect": "factory configuration restored"},
    )
    try:
        _reset_and_bootstrap(run, "console")
    finally:
        run.close()


def test_console_reset_without_its_confirmation_names_the_key(tmp_path: Path) -> None:
    run = _run(tmp_path, {"method": "console", "command": "status", "expect": "no such confirmation"})
    try:
        with pytest.raises(
            DeviceError,
            match=r"units\.henb-01\.actions\.factory_reset.*units\.henb-01\.bounds\.factory_reset",
        ):
            _reset_and_bootstrap(run, "console")
    finally:
        run.close()


def test_console_reset_confirmed_but_not_done_is_power_cycled_then_named(tmp_path: Path) -> None:
    # `alarm list` answers (so the template is confirmed) but resets nothing: the bench waits bounds.factory_reset
    # for the unit to reboot by itself, power-cycles it once, and fails naming both when it is still configured.
    run = _run(tmp_path, {"method": "console", "command": "alarm list", "expect": r"alarm \d+: "})
    try:
        with pytest.raises(
            DeviceError, match=r"confirmed, but the unit did not reset, neither by itself nor "
        ):
            _reset_and_bootstrap(run, "console")
        cycled = [e for e in run.timeline.events() if e.source == "unit" and e.kind == "reboot"]
        assert cycled and "no reboot by itself" in cycled[-1].data["reason"], cycled
        offs = [e for e in run.timeline.events(cycled[-1].seq) if e.source == "power"]
        assert offs, "the unit was not power-cycled after the reset it did not do"
    finally:
        run.close()


def test_manual_reset_waits_for_the_operator(tmp_path: Path) -> None:
    run = _run(tmp_path, {"method": "manual", "instructions": "type factory-reset on the unit's console"})
    said: list[str] = []

    def operator(text: str) -> None:  # reads the instructions, and does what they say
        said.append(text)
        run.unit.console.write("factory-reset\n")

    run.unit.say = operator
    try:
        _reset_and_bootstrap(run, "manual")
        assert "type factory-reset on the unit's console" in said[0] and "bounds.factory_reset" in said[0]
    finally:
        run.close()

"""The plans reach what only the unit can do through its inventory templates: a mock speaking a vendor's CLI
passes 5.3 with that vendor's templates, fails with another CLI's (naming the action and pattern), and no plan
contains a mock command or the mock's wording."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.mock import bench_cli, vendor_cli
from tests.support import ROOT, henb_bench, needs_root

# A unit whose console speaks a vendor's CLI, with the templates a lab would write for it (and alarms named
# by what identifies them, in another order than the unit's table).
VENDOR: dict[str, Any] = {
    "mock": {"console_dialect": "vendor"},
    "actions": {
        "raise_alarm": {"method": "console", "expect": r"FM-OK: alarm \S+ asserted",
                        "command": 'fm alarm set --event-type "{event_type}" --cause "{probable_cause}"'},
        "clear_alarm": {"method": "console", "expect": r"FM-OK: alarm \S+ ceased",
                        "command": 'fm alarm reset --event-type "{event_type}" --cause "{probable_cause}"'},
        "reboot": {"method": "console", "command": "sys reboot", "expect": "going down for reboot"},
        "factory_reset": {"method": "console", "command": "sys restore-defaults",
                          "expect": "restoring factory defaults"},
        "force_pm_period": {"method": "console", "command": "pm rop close", "expect": r"PM-OK: ROP closed"},
    },
    "alarms": [
        {"event_type": "Quality of Service Alarm", "probable_cause": "Threshold crossed"},
        {"event_type": "Equipment Alarm", "probable_cause": "Transmitter failure",
         "specific_problem": "RF transmitter off"},
    ],
}  # fmt: skip


def vendor_inventory(base: Path, out: Path, **unit: Any) -> Path:
    data = yaml.safe_load(base.read_text())
    u = next(iter(data["units"].values()))
    u.update(VENDOR)
    u.update(unit)
    out.write_text(yaml.safe_dump(data))
    return out


def mock_words() -> set[str]:
    """The mock's console commands (both dialects, from their help texts) and its confirmations' words."""
    words = {"FAP-200>", "FM-OK", "alarm: raised", "alarm: cleared", "-alarm-", "MOCK0001", "factory-reset",
             "PM-OK", "pm: flushed", "ROP closed"}  # fmt: skip
    for text in (bench_cli.HELP.removeprefix("commands: "), vendor_cli.HELP):
        for alt in re.split(r"\s*\|\s*", re.sub(r"\(.*?\)", "", text)):
            first = alt.split()[:2]
            if len(first) == 2 and first[1].isalpha() and first[1].islower():
                words.add(" ".join(first))
    return words


def test_no_plan_contains_a_mock_command_or_mock_wording() -> None:
    words = mock_words()
    assert {"alarm raise", "fm alarm", "sys reboot", "pm flush", "pm rop"} <= words, words
    plans = sorted((ROOT / "testplans").rglob("*.py"))
    assert plans
    found = [
        (p.name, w)
        for p in plans
        for w in words
        if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", p.read_text())
    ]
    assert not found, f"plans use the mock's own commands or words: {found}"


@pytest.mark.netns
@needs_root()
def test_vendor_cli_unit_passes_5_3_with_its_own_templates(fast_inventory: Path, tmp_path: Path) -> None:
    inv = vendor_inventory(fast_inventory, tmp_path / "vendor.yaml")
    res = henb_bench("--inventory", str(inv), "run", "--clause", "5.3.1", "--clause", "5.3.2",
                     "--out", str(tmp_path / "captures"))  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert out.count("PASSED  5.3.") == 6, out[-2000:]  # 5.3.1's two tests, 5.3.2's four
    console = next((tmp_path / "captures").glob("*/console-henb-01.log")).read_text()
    assert "FM-OK: alarm 0x1005 asserted" in console  # Quality of Service Alarm, the inventory's first
    assert "alarm: raised" not in console


@pytest.mark.netns
@needs_root()
def test_another_clis_templates_are_not_confirmed(fast_inventory: Path, tmp_path: Path) -> None:
    # The vendor unit with the bench dialect's templates (the default inventory's): its CLI refuses them.
    inv = vendor_inventory(fast_inventory, tmp_path / "vendor.yaml")
    data = yaml.safe_load(inv.read_text())
    data["units"]["henb-01"]["actions"] = yaml.safe_load(fast_inventory.read_text())["units"]["henb-01"][
        "actions"
    ]
    inv.write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(inv), "run", "--clause", "5.3.2", "--exitfirst",
                     "--out", str(tmp_path / "captures"))  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 1, out[-3000:]
    summary = out[out.rfind("henb-bench:") :]
    assert "TS 32.593 5.3.2 step alarm: expected the unit to confirm raise_alarm" in summary, summary
    assert (
        "raise alarm not confirmed (units.henb-01.actions.raise_alarm: console "
        "\"alarm raise 'Quality of Service Alarm' 'Threshold crossed'\")" in summary
    ), summary
    assert "console line matching 'alarm: raised '" in summary and "% Unknown command" in summary, summary


@pytest.mark.netns
@needs_root()
def test_a_unit_without_alarm_templates_skips_5_3_2_naming_the_keys(
    fast_inventory: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load(fast_inventory.read_text())
    for key in ("raise_alarm", "clear_alarm"):
        data["units"]["henb-01"]["actions"].pop(key)
    inv = tmp_path / "bare.yaml"
    inv.write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(inv), "run", "--clause", "5.3.2", "--out", str(tmp_path / "captures"))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert out.count("SKIPPED 5.3.2") == 4 or out.count("SKIPPED  5.3.2") == 4, out[-2000:]
    assert "units.henb-01.actions.raise_alarm and clear_alarm are not given" in out, out[-2000:]


@pytest.mark.netns
@needs_root()
def test_vendor_cli_through_the_simulated_lab(fast_inventory: Path, tmp_path: Path) -> None:
    """The lab attaches the vendor-CLI mock the physical way (a socket:// console): the inventory it writes
    keeps the unit's templates, and 5.3.2 passes through the serial console driver."""
    from bench.inventory import load_inventory
    from bench.network.state import leftovers
    from tests.bench.lab.test_lab import Lab, lab_prefix

    lab = Lab(vendor_inventory(fast_inventory, tmp_path / "vendor.yaml"), tmp_path, lab_prefix("w"))
    res = lab.cli("up", "--write", str(lab.inventory))
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        unit = load_inventory(lab.inventory).units["henb-01"]
        assert unit.console.driver == "serial" and unit.actions.raise_alarm is not None
        assert "fm alarm set" in unit.actions.raise_alarm.model_dump()["command"]
        res = henb_bench("--inventory", str(lab.inventory), "run", "--clause", "5.3.2",
                         "--out", str(tmp_path / "captures"))  # fmt: skip
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
        assert res.stdout.count("PASSED  5.3.2") == 4
    finally:
        down = lab.cli("down")
        assert down.returncode == 0, down.stderr
        assert leftovers(lab.prefix) == {"namespaces": [], "links": []}

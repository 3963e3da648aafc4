"""Whole-plan behaviour: a failed test leaves the unit power-cycled, so one failure never cascades."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]


def test_a_failure_is_followed_by_a_power_cycle_and_does_not_cascade(
    fast_inventory: Path, tmp_path: Path
) -> None:
    # no_bootstrap spoils only the first Inform of a boot: 5.1.2.2 fails, the next tests get a fresh boot.
    out = tmp_path / "captures"
    res = henb_bench(
        "--inventory", str(fast_inventory), "run", "--misbehave", "no_bootstrap", "--out", str(out)
    )
    assert res.returncode == 1, res.stdout[-3000:]
    run_dir = next(out.iterdir())
    results = json.loads((run_dir / "run.json").read_text())["results"]
    assert [(r["clause"], r["outcome"]) for r in results] == [
        ("5.1.2.2", "failed"),
        ("5.1.3", "passed"),
        ("5.2.4", "passed"),
    ]
    events = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    power = [e["data"]["action"] for e in events if e["source"] == "power" and e["kind"] == "power"]
    assert power[:3] == ["on", "off", "on"], power
    second_on = [e["seq"] for e in events if e["kind"] == "power" and e["data"]["action"] == "on"][1]
    failed_at = next(e["seq"] for e in events if e["source"] == "hems" and e["kind"] == "inform")
    assert failed_at < second_on


def test_list_prints_every_clause_and_its_checks() -> None:
    res = henb_bench("list")
    assert res.returncode == 0
    for clause in ("5.1.2.2", "5.1.3", "5.2.4"):
        assert f"\n{clause}  " in "\n" + res.stdout
    assert "step S1" in res.stdout and "s1_wrong_port" in res.stdout

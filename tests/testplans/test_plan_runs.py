"""Whole-plan behaviour: a failed test leaves the unit power-cycled, so one failure never cascades."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import henb_bench, needs_root, run_results

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
    run_dir, results = run_results(out)
    outcomes = {(r["clause"], r["outcome"]) for r in results}
    assert ("5.1.2.2", "failed") in outcomes
    others = [(r["test"], r["outcome"], r["message"]) for r in results if r["clause"] != "5.1.2.2"]
    # 5.1.3's refused Serving HeMS is skipped over http:// (the default: operator.serving_hems_tls false)
    skipped = [t for t, o, _ in others if o == "skipped"]
    assert skipped == ["test_refuses_serving_hems_it_must_not_trust"], others
    assert {o for _, o, _ in others} == {"passed", "not-applicable", "skipped"}, [
        t for t in others if t[1] != "passed"
    ]
    # the private-network deployment: 5.1.2.3 is not run, and the run says so and why
    assert {c for c, o in outcomes if o == "not-applicable"} == {"5.1.2.3"}
    assert "1 skipped, 2 not applicable" in res.stdout, res.stdout[-3000:]
    assert (
        "clause 5.1.2.3 is for units with initial_hems_access: public (units.henb-01.initial_hems_access: private)"
        in res.stdout
    ), res.stdout[-3000:]
    report = (run_dir / "report.html").read_text()
    assert "NOT APPLICABLE" in report and "not run: clause 5.1.2.3 is for units with" in report
    events = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    power = [e["data"]["action"] for e in events if e["source"] == "power" and e["kind"] == "power"]
    power = power[power.index("on") :]  # the run starts by switching off a unit it does not know to be off
    assert power[:3] == ["on", "off", "on"], power
    second_on = [e["seq"] for e in events if e["kind"] == "power" and e["data"]["action"] == "on"][1]
    failed_at = next(e["seq"] for e in events if e["source"] == "hems" and e["kind"] == "inform")
    assert failed_at < second_on


def test_list_prints_every_clause_and_its_checks() -> None:
    res = henb_bench("list")
    assert res.returncode == 0
    for clause in (
        "5.1.2.2",
        "5.1.2.3",
        "5.1.3",
        "5.2.2",
        "5.2.3",
        "5.2.4",
        "5.3.1",
        "5.3.2",
        "5.4.1",
        "5.4.2",
    ):
        assert f"\n{clause}  " in "\n" + res.stdout
    assert "step S1" in res.stdout and "s1_wrong_port" in res.stdout


def test_public_deployment_passes_5_1_2_3(fast_public_inventory: Path, tmp_path: Path) -> None:
    res = henb_bench("--inventory", str(fast_public_inventory), "run", "--clause", "5.1.2.3", "--clause", "5.1.3",
                     "--out", str(tmp_path))  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    assert res.stdout.count("PASSED  5.1.2.3") == 2 and "PASSED  5.1.3" in res.stdout


def test_exitfirst_stops_the_plans_at_the_first_failure(
    inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.cli import main

    seen: list[list[str]] = []
    monkeypatch.setattr(pytest, "main", lambda argv: seen.append(argv) or 5)  # no test ran
    for extra in (["-x"], ["--exitfirst"], []):
        with pytest.raises(SystemExit):
            main(["--inventory", str(inventory), "run", "--clause", "5.1.3", *extra, "--out", str(tmp_path)])
    assert ["--exitfirst" in argv for argv in seen] == [True, True, False]

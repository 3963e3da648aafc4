"""The report says how a unit whose flash the bench did not know was prepared (run.json `preparation`): used
as configured, or factory-reset first; per unit in a run of several."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report.html import render
from bench.report.units import write_index
from bench.run import preparations
from bench.timeline import Timeline

CONFIGURED = "used as configured: booted to the Serving HeMS in 12.3 s"
RESET = "factory reset (its flash pointed at the serving-hems; the test needs a factory-fresh unit): factory-fresh in 40.1 s"


def test_run_json_takes_each_preparation_from_the_timeline() -> None:
    tl = Timeline()
    tl.add("unit", "state", unit="henb-01", state="registered")
    tl.add(
        "unit",
        "prepared",
        unit="henb-01",
        state="registered",
        path="configured",
        seconds=12.3,
        detail=CONFIGURED,
    )
    assert preparations(tl.events()) == [
        {
            "unit": "henb-01",
            "state": "registered",
            "path": "configured",
            "seconds": 12.3,
            "detail": CONFIGURED,
        }
    ]


def test_the_report_says_which_way_the_unit_went(tmp_path: Path) -> None:
    prepared = [
        {
            "unit": "henb-01",
            "state": "registered",
            "path": "configured",
            "seconds": 12.3,
            "detail": CONFIGURED,
        }
    ]
    (tmp_path / "run.json").write_text(
        json.dumps({"run_id": "r", "unit": "henb-01", "results": [], "preparation": prepared})
    )
    assert f"<tr><th>unit prepared</th><td>{CONFIGURED}</td></tr>" in render(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "r", "unit": "henb-01", "results": []}))
    assert "unit prepared" not in render(tmp_path)  # a run that asked for no state: nothing to say


def test_the_index_of_several_units_says_it_per_unit(tmp_path: Path) -> None:
    results = [{"unit": u, "test": "test_x", "outcome": "passed"} for u in ("henb-01", "henb-02")]
    page = write_index(
        tmp_path, "r", ["henb-01", "henb-02"], results, None, {"henb-01": CONFIGURED, "henb-02": RESET}
    )
    text = page.read_text()
    assert f"<td>{CONFIGURED}</td><td>{RESET}</td>" in text, text

"""Run folders as `henb-bench run` leaves them (run.json, junit.xml; `<run>/<unit>/` with several units), made
fast from a few words, for the history's tests and benchmark: tests with outcomes, steps named in the failure
messages as the plans name them, the unit's Inform identity and firmware, measurements."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report.units import write_junit

# The shape of run.json's clause catalogue (bench/clauses.py Clause.to_json), with steps as the plans have them.
CLAUSES: dict[str, Any] = {
    "5.1.2.2": {
        "title": "Discovery, private",
        "checks": [{"step": s, "what": "..."} for s in ("1.1", "2.1", "6.3")],
    },
    "5.3.2": {"title": "Alarm reporting", "checks": [{"step": "2", "what": "..."}]},
    "5.4.2": {"title": "PM upload", "checks": [{"step": "1", "what": "..."}]},
}


@dataclass
class Test:
    __test__ = False  # pytest: not a test class

    name: str
    clause: str
    outcome: str = "passed"  # passed, failed, error, skipped, not-applicable
    step: str | None = None  # the failing step, named in the message
    why: str = "the alarm in an Inform"

    def result(self, run_dir: Path, unit: str | None) -> dict[str, Any]:
        message, kind = "", None
        if self.outcome == "failed":
            where = f"{run_dir}/{self.name}/timeline.jsonl #12"
            message = f"TS 32.593 {self.clause} step {self.step}: expected {self.why}; seen nothing; evidence: {where}"
            kind = "DeviceError"
        elif self.outcome == "error":
            message, kind = "power: the PDU at 192.0.2.21 did not answer (timed out)", "InfraError"
        out = {"test": self.name, "clause": self.clause, "outcome": self.outcome, "message": message,
               "seconds": 1.5, "error_kind": kind, "mark": None}  # fmt: skip
        return out | ({"unit": unit} if unit else {})


@dataclass
class UnitSpec:
    name: str = "henb-01"
    serial: str = "FAP0001"
    product_class: str = "FAP-200"
    oui: str = "00D0B7"
    firmware: str | None = "1.0"
    hardware: str = "hw-B"
    tests: list[Test] = field(default_factory=list)
    measurements: dict[str, float] = field(default_factory=lambda: {"boot_time": 20.0, "first_inform": 41.0})


def _summary(run_id: str, host: str, started: float, unit: UnitSpec, results: list[dict[str, Any]],
             clauses: dict[str, Any], exit_code: int | None) -> dict[str, Any]:  # fmt: skip
    reported = {"oui": unit.oui, "product_class": unit.product_class, "serial": unit.serial}
    if unit.firmware is not None:
        reported |= {"SoftwareVersion": unit.firmware, "HardwareVersion": unit.hardware}
    out = {
        "run_id": run_id, "tool_version": "0.1.0", "git_revision": "abc123", "python": "3.11.2", "host": host,
        "inventory": "inventory.yaml", "inventory_sha256": "0" * 64, "bench": "bench", "unit": unit.name,
        "identity": {"oui": unit.oui, "product_class": unit.product_class, "serial_number": unit.serial},
        "reported": reported, "knobs": [], "t0": started, "started": started, "ended": started + 600,
        "timings": {"up": 3.1}, "measurements": unit.measurements, "clauses": clauses, "interrupted": None,
        "results": results,
    }  # fmt: skip
    return out | ({"exit_code": exit_code} if exit_code is not None else {})


def write_run(
    root: Path,
    run_id: str,
    units: list[UnitSpec],
    host: str = "bench-1",
    started: float = 1_790_000_000.0,
    exit_code: int | None = None,
    clauses: dict[str, Any] | None = None,
) -> Path:
    """`root/run_id/` for one unit, or with several units each unit's `root/run_id/<unit>/` as well."""
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    clauses = CLAUSES if clauses is None else clauses
    several = len(units) > 1
    every: list[dict[str, Any]] = []
    for unit in units:
        mine = [
            t.result(run_dir / unit.name if several else run_dir, unit.name if several else None)
            for t in unit.tests
        ]
        every += mine
        if several:
            (run_dir / unit.name).mkdir()
            summary = _summary(run_id, host, started, unit, mine, clauses, None)
            (run_dir / unit.name / "run.json").write_text(json.dumps(summary, indent=1))
            write_junit(run_dir / unit.name / "junit.xml", unit.name, mine)
    top = _summary(run_id, host, started, units[0], every, clauses, exit_code)
    if several:
        top["units"] = [u.name for u in units]
    else:
        write_junit(run_dir / "junit.xml", units[0].name, every)
    (run_dir / "run.json").write_text(json.dumps(top, indent=1))
    return run_dir

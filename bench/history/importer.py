"""A run folder (`captures/<run>/`, one unit or several in `<run>/<unit>/`) read into a RunRecord: run.json
checked against the shape `henb-bench run` writes, steps taken from the failure message ("TS 32.593 5.3.2 step
2: ...") or, for a passed test, from its clause's checks; anything else is a BadRunFolder with the reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.history.records import RunRecord, StepRecord, TestRecord, UnitRecord

STEP = re.compile(r"TS 32\.593 (?P<clause>[\d.]+) step (?P<step>[^:\s]+):")
WHOLE_TEST = "-"


class BadRunFolder(Exception):
    """Not a henb-bench run folder, or a broken one: the importer says why and goes on with the next."""


Text = Annotated[str, Field(max_length=100)]  # within the store's columns (bench/history/models.py)


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore")
    test: Annotated[str, Field(max_length=300)]
    clause: Annotated[str, Field(max_length=30)] | None = None
    outcome: Literal["passed", "failed", "error", "skipped", "not-applicable"]
    message: str = ""
    error_kind: Text | None = None
    seconds: float | None = None
    unit: str | None = None


class _RunJson(BaseModel):
    """The part of run.json the history reads (bench/run.py BenchRun._summary writes it)."""

    model_config = ConfigDict(extra="ignore")
    run_id: Text
    host: Annotated[str, Field(max_length=200)]
    started: float
    ended: float | None = None
    bench: Text | None = None
    git_revision: Text | None = None
    tool_version: Annotated[str, Field(max_length=50)] | None = None
    inventory_sha256: Annotated[str, Field(max_length=64)] | None = None
    unit: Text
    identity: dict[str, Any] = {}
    reported: dict[str, Any] = {}
    measurements: dict[Text, float] = {}
    clauses: dict[str, Any] = {}
    interrupted: str | None = None
    exit_code: int | None = None
    units: list[str] | None = None
    results: list[_Result]


def read_run_folder(folder: Path, redact: Callable[[str], str] | None = None) -> RunRecord:
    """The run in `folder`; BadRunFolder says what is wrong with it. `redact` masks the inventory's secrets in
    the messages (a run folder is redacted already; an old or foreign one may not be)."""
    top = _load(folder / "run.json")
    run = RunRecord(
        run_id=top.run_id,
        host=top.host,
        started=top.started,
        ended=top.ended,
        bench=top.bench,
        revision=top.git_revision,
        tool_version=top.tool_version,
        inventory_sha256=top.inventory_sha256,
        place=_place(folder),
        exit_code=top.exit_code,
        interrupted=top.interrupted,
        folder=str(folder.resolve()),
    )
    if not top.units:
        run.units.append(_unit(top, top.results, top.clauses))
    for name in top.units or []:
        mine = [r for r in top.results if r.unit == name]
        sub = folder / name / "run.json"
        # Each unit's own run.json has its reported identity and measurements; without it, the top's results.
        unit_json = _load(sub) if sub.is_file() else top.model_copy(update={"unit": name, "reported": {}})
        run.units.append(_unit(unit_json, mine, top.clauses))
    if redact is not None:
        for test in (t for u in run.units for t in u.tests):
            test.message = redact(test.message)
            for step in test.steps:
                step.message = redact(step.message)
    return run


def _load(path: Path) -> _RunJson:
    if not path.is_file():
        raise BadRunFolder(f"no {path.name}: not a henb-bench run folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRunFolder(f"{path.name} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BadRunFolder(f"{path.name} is not whole JSON (truncated?): {exc}") from None
    if not isinstance(data, dict):
        raise BadRunFolder(f"{path.name} is not a henb-bench run.json (not an object)")
    try:
        return _RunJson.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRunFolder(
            f"{path.name} is not a henb-bench run.json: {where}: {first['msg']} ({exc.error_count()} problem(s))"
        ) from None


def _place(folder: Path) -> str | None:
    """The labgrid place the run held (place.json, written by bench/place.py), if any."""
    try:
        data = json.loads((folder / "place.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    place = data.get("place") if isinstance(data, dict) else None
    return str(place) if place else None


def _unit(run: _RunJson, results: list[_Result], clauses: dict[str, Any]) -> UnitRecord:
    reported, ident = run.reported, run.identity
    unit = UnitRecord(
        name=run.unit,
        oui=str(reported.get("oui") or ident.get("oui") or "?"),
        product_class=str(reported.get("product_class") or ident.get("product_class") or "?"),
        serial=str(reported.get("serial") or ident.get("serial_number") or "?"),
        hardware_version=_str(reported.get("HardwareVersion")),
        software_version=_str(reported.get("SoftwareVersion")),
        measurements=dict(run.measurements),
    )
    for field_name in ("oui", "product_class", "serial", "hardware_version", "software_version"):
        value = getattr(unit, field_name)
        if value is not None and len(value) > (20 if field_name == "oui" else 100):
            raise BadRunFolder(
                f"run.json: the unit's {field_name} is {len(value)} characters long: not a unit's"
            )
    for r in results:
        test = TestRecord(r.test, r.clause, r.outcome, r.message, r.error_kind, r.seconds)
        test.steps = _steps(r, clauses)
        unit.tests.append(test)
    return unit


def _steps(r: _Result, clauses: dict[str, Any]) -> list[StepRecord]:
    """The steps a test's verdict speaks for. Passed: its clause's checks. Failed (the unit's fault): the step
    its message names, else the test as a whole. Erred (the bench's): the step it names, else every check of
    the clause, none of which could be judged (so a bench error sits beside the passes of the same step)."""
    checks = (clauses.get(r.clause or "") or {}).get("checks") or []
    steps = list(dict.fromkeys(str(c["step"]) for c in checks if isinstance(c, dict) and c.get("step")))
    if r.outcome == "passed" and r.clause:
        return [StepRecord(r.clause, s, "passed") for s in steps or [WHOLE_TEST]]
    if r.outcome not in ("failed", "error"):
        return []
    m = STEP.search(r.message)
    if m:
        return [StepRecord(m["clause"], m["step"], r.outcome, r.message, r.error_kind)]
    clause = r.clause or "?"
    named = steps if r.outcome == "error" and steps else [WHOLE_TEST]
    return [StepRecord(clause, s, r.outcome, r.message, r.error_kind) for s in named]


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None

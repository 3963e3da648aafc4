"""Several units in one run: each test's body runs once per unit, concurrently, each in a thread with its own
unit, evidence, steps and view of the run; the item ends as its worst unit did, and each unit gets its verdicts,
its JUnit file and its report."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.errors import ConfigError, DeviceError, InfraError, from_driver
from bench.steps import Steps
from bench.unit import BenchUnit, State
from drivers.errors import DriverError

if TYPE_CHECKING:
    from bench.run import BenchRun, UnitRun

# The plugin's per-test unit fixtures and the state each asks for.
UNIT_FIXTURES = {
    "factory_fresh_unit": State.FACTORY_FRESH,
    "discovered_unit": State.DISCOVERED,
    "registered_unit": State.REGISTERED,
}
SKIPPED = pytest.skip.Exception
# Worst first: what an item with several units ends as.
WORST = ("error", "failed", "passed", "skipped")


def outcome_kind(exc: BaseException | None, passed: bool, skipped: bool) -> str:
    """Whose fault: a unit that did not do what the spec says failed (DeviceError, and any assertion);
    anything else is the bench's (InfraError, ConfigError, a bug in the bench): an error."""
    if skipped:
        return "skipped"
    if passed:
        return "passed"
    return "failed" if isinstance(exc, AssertionError) else "error"


class UnitRequest:
    """pytest's `request` as one unit's thread sees it: the unit fixtures resolve for this unit."""

    def __init__(self, request: pytest.FixtureRequest, resolve: Callable[[str], Any]) -> None:
        self._request = request
        self._resolve = resolve

    def getfixturevalue(self, name: str) -> Any:
        return self._resolve(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def health(unit: BenchUnit, error: BaseException | None) -> BaseException | None:
    """The unit's health check after its part of a test (bench/plugin.py does the same for one unit): a bench
    fault replaces a unit failure, a crash on the console a timeout."""
    if error is not None and not isinstance(error, DeviceError):
        return error
    try:
        unit.check()
    except (InfraError, DeviceError) as found:
        if error is not None:
            found.__context__ = error
        return found
    return error


def call_per_unit(item: pytest.Function, run: BenchRun) -> None:
    """Run the test's body once per unit, concurrently; record each unit's verdict; raise the worst one."""
    from bench.run import Evidence

    marker = item.get_closest_marker("clause")
    clause = marker.args[0] if marker else None
    args = {name: item.funcargs[name] for name in item._fixtureinfo.argnames}
    verdicts: dict[str, BaseException | None] = {}

    def one(name: str, view: UnitRun) -> None:
        unit = view.unit
        t0 = time.monotonic()
        evidence = Evidence(view, item.name)
        error: BaseException | None = None

        def resolve(fixture: str) -> Any:
            if fixture in UNIT_FIXTURES:
                unit.transition(UNIT_FIXTURES[fixture])
                return unit
            return mine[fixture] if fixture in mine else item._request.getfixturevalue(fixture)

        mine: dict[str, Any] = {"bench_run": view, "evidence": evidence}
        try:
            try:
                evidence.start()
                if "steps" in args:
                    if clause is None:
                        raise ConfigError(f"{item.nodeid} uses the steps fixture but has no clause marker")
                    mine["steps"] = Steps(clause, view.timeline, evidence.dir)
                call = {k: mine.get(k, v) for k, v in args.items()}
                if "request" in call:
                    call["request"] = UnitRequest(item._request, resolve)
                for fixture in UNIT_FIXTURES:
                    if fixture in call:
                        call[fixture] = resolve(fixture)
                item.obj(**call)
            except DriverError as exc:
                raise from_driver(exc) from exc
        except BaseException as exc:  # noqa: BLE001  # every kind is this unit's verdict, raised below
            error = exc
        finally:
            try:
                evidence.finish()
            except Exception as exc:  # noqa: BLE001
                error = error or InfraError(f"evidence of unit {name}: {exc}")
        if not isinstance(error, SKIPPED):
            error = health(unit, error)
        kind = outcome_kind(error, error is None, isinstance(error, SKIPPED))
        if kind in ("failed", "error"):
            unit.mark_broken(f"{item.name}: {type(error).__name__}")
        run.results.append(
            {
                "test": item.name,
                "unit": name,
                "clause": clause,
                "outcome": kind,
                "message": run.redactor.text(str(error)) if error is not None else "",
                "seconds": round(time.monotonic() - t0, 3),
                "error_kind": type(error).__name__ if error is not None else None,
                "mark": evidence.mark,
            }
        )
        verdicts[name] = error

    threads = [threading.Thread(target=one, args=(n, v), name=f"unit-{n}") for n, v in run.views.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    raise_worst(verdicts)


def raise_worst(verdicts: dict[str, BaseException | None]) -> None:
    """The item's outcome is its worst unit's; the message names each unit that did not pass."""
    kinds = {n: outcome_kind(e, e is None, isinstance(e, SKIPPED)) for n, e in verdicts.items()}
    worst = min(kinds.values(), key=WORST.index, default="passed")
    if worst == "passed":
        return
    if worst == "skipped":
        raise next(e for e in verdicts.values() if e is not None)
    bad = [n for n, k in kinds.items() if k in ("failed", "error")]
    text = "; ".join(f"unit {n}: {type(verdicts[n]).__name__}: {verdicts[n]}" for n in bad)
    text = f"{len(bad)} of {len(verdicts)} unit(s) did not pass: {text}"
    if worst == "failed":
        raise DeviceError(text)
    kind = next(type(e) for n, e in verdicts.items() if kinds[n] == "error")
    raise (ConfigError if issubclass(kind, ConfigError) else InfraError)(text)


def write_junit(path: Path, unit: str, results: list[dict[str, Any]]) -> None:
    """One unit's JUnit XML (xunit2), so a nightly job sees each unit's testcases."""
    count = {k: sum(1 for r in results if r["outcome"] == k) for k in ("failed", "error", "skipped")}
    suite = ET.Element(
        "testsuite",
        name=f"henb-bench {unit}",
        tests=str(len(results)),
        failures=str(count["failed"]),
        errors=str(count["error"]),
        skipped=str(count["skipped"]),
        time=f"{sum(r.get('seconds', 0) for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{unit}.{r.get('clause') or '-'}",
            name=r["test"],
            time=str(r["seconds"]),
        )
        props = ET.SubElement(case, "properties")
        for key, value in (
            ("unit", unit),
            ("clause", r.get("clause") or ""),
            ("evidence", str(path.parent / r["test"])),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(r["outcome"])
        if tag:
            ET.SubElement(
                case, tag, message=r["message"][:2000], type=str(r.get("error_kind") or "")
            ).text = r["message"]
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def write_index(run: BenchRun) -> Path:
    """report.html of a run with several units: each unit's verdicts per test, linking its own report."""
    tests = list(dict.fromkeys(r["test"] for r in run.results))
    verdict = {(r["unit"], r["test"]): r["outcome"] for r in run.results if r.get("unit")}
    head = "".join(f"<th><a href='{escape(n)}/report.html'>{escape(n)}</a></th>" for n in run.unit_names)
    rows = "".join(
        f"<tr><td>{escape(t)}</td>"
        + "".join(f"<td class='{v}'>{v}</td>" for n in run.unit_names for v in [verdict.get((n, t), "-")])
        + "</tr>"
        for t in tests
    )
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>henb-bench run {escape(run.run_id)}"
        "</title><style>td.passed{color:green}td.failed{color:#b00}td.error{color:#b60}td,th{padding:2px 8px}"
        f"</style></head><body><h1>henb-bench run {escape(run.run_id)}: {len(run.unit_names)} units</h1>"
        f"<table><tr><th>test</th>{head}</tr>{rows}</table></body></html>"
    )
    path = run.dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

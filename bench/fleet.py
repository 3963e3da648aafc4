"""Several units in one run: each test's body runs once per unit, concurrently, each in a thread with its own
unit, evidence, steps and view of the run; the item ends as its worst unit did, each unit's verdict recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
    """The unit's health check after its part of a test (or, with one unit, after a test phase): a bench fault
    replaces a unit failure (the unit is not blamed for a tripped supply), a crash on the console a timeout.
    Returns the exception the test should end with."""
    if error is not None and not isinstance(error, DeviceError):
        return error  # already a bench fault, a skip or an interrupt
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

    # Daemons: an interrupted run (Ctrl-C, SIGTERM) tears the bench down and exits without them.
    threads = [
        threading.Thread(target=one, args=(n, v), name=f"unit-{n}", daemon=True) for n, v in run.views.items()
    ]
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

"""The runner of every bench run, of one unit or of twenty: each test's body runs once per unit, concurrently,
each in a thread with its own unit, evidence, steps and view of the run; the item ends as its worst unit did
(with one unit, as that unit did), each unit's verdict recorded. Inside pytest's public API: the plugin's
`pytest_pyfunc_call` hands the item here, the test's arguments are its function's parameters, and a fixture a
unit's thread cannot give itself comes from the item's `funcargs` once pytest has set the test up."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from bench.clauses import NOT_APPLICABLE, Clause
from bench.errors import ConfigError, DeviceError, InfraError, Interrupts, from_driver
from bench.steps import Steps
from bench.unit import BenchUnit, State
from bench.waivers import WAIVED, waived_failure, waived_message
from drivers.errors import DriverError

if TYPE_CHECKING:
    from bench.run import BenchRun, UnitRun

    Lane = BenchRun | UnitRun  # what one unit's thread sees as `bench_run`

# The plugin's per-test unit fixtures and the state each asks for.
UNIT_FIXTURES = {
    "factory_fresh_unit": State.FACTORY_FRESH,
    "discovered_unit": State.DISCOVERED,
    "registered_unit": State.REGISTERED,
}
SKIPPED = pytest.skip.Exception


class Waived(SKIPPED):  # type: ignore[misc,valid-type]
    """A unit's failure at a step its waivers cover: pytest sees it skipped, run.json says waived."""


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
    """pytest's `request` as one unit's thread sees it: the unit fixtures resolve for this unit; anything else
    is the item's own request, once pytest has set the test up (`pytest_request()` waits for that)."""

    def __init__(self, request: Callable[[], pytest.FixtureRequest], resolve: Callable[[str], Any]) -> None:
        self.pytest_request = request
        self.resolve = resolve

    def getfixturevalue(self, name: str) -> Any:
        return self.resolve(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pytest_request(), name)


def argnames(item: pytest.Function) -> list[str]:
    """The test function's arguments, as pytest gives them: its parameters without a default."""
    params = inspect.signature(item.obj).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in kinds and p.default is inspect.Parameter.empty]


def params_of(item: pytest.Function) -> dict[str, Any]:
    """The item's parametrize values by argument name (none for a test without)."""
    return dict(getattr(getattr(item, "callspec", None), "params", {}))


def clause_of(item: pytest.Item) -> Clause | None:
    """The clause declaration (CLAUSE or CLAUSES of the test's module) of the item's clause marker."""
    marker = item.get_closest_marker("clause")
    module = getattr(item, "module", None)
    if marker is None or module is None:
        return None
    declared = getattr(module, "CLAUSES", None) or [getattr(module, "CLAUSE", None)]
    return next((c for c in declared if isinstance(c, Clause) and c.id == marker.args[0]), None)


def not_applicable(item: pytest.Item, unit: str, settings: Any) -> str | None:
    """Why the item's clause does not apply to `unit` (its inventory entry), or None when it does."""
    clause = clause_of(item)
    return clause.not_applicable(unit, settings) if clause is not None else None


def not_applicable_result(item: pytest.Item, unit: str | None, reason: str) -> dict[str, Any]:
    """run.json's entry for a test not run on `unit` (None: the run's one unit) because it does not apply."""
    marker = item.get_closest_marker("clause")
    entry: dict[str, Any] = {"test": item.name} | ({"unit": unit} if unit else {})
    return entry | {
        "clause": marker.args[0] if marker else None,
        "outcome": NOT_APPLICABLE,
        "message": reason,
        "seconds": 0.0,
        "error_kind": None,
        "mark": None,
    }


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


# What a unit's thread gives each test without pytest's setup of it (with parametrize's values): a test that
# asks for any other fixture waits for pytest to reach it (Fleet.release).
OWN_FIXTURES = {"bench_run", "evidence", "steps", "request", *UNIT_FIXTURES}


def run_one(
    item: pytest.Function, run: BenchRun, name: str, view: Lane, released: Callable[[], None]
) -> tuple[BaseException | None, dict[str, Any]]:
    """The test's body for one unit, in its own thread, with its own evidence and steps; its verdict (the
    exception it ended with, None when it passed) and its run.json entry (naming the unit in a run with
    several). `released()` waits until pytest has set the test up, for a fixture the unit's thread cannot
    give itself."""
    from bench.run import Evidence

    marker = item.get_closest_marker("clause")
    clause = marker.args[0] if marker else None
    params = params_of(item)
    unit = view.unit
    t0 = time.monotonic()
    evidence = Evidence(view, item.name)
    error: BaseException | None = None

    def resolve(fixture: str) -> Any:
        if fixture in UNIT_FIXTURES:
            unit.transition(UNIT_FIXTURES[fixture])
            return unit
        if fixture in mine:
            return mine[fixture]
        return pytest_request().getfixturevalue(fixture)

    def pytest_request() -> pytest.FixtureRequest:
        released()
        request: pytest.FixtureRequest = item.funcargs["request"]  # type: ignore[assignment]
        return request

    def arg(fixture: str) -> Any:
        if fixture in mine or fixture in params:
            return mine.get(fixture, params.get(fixture))
        released()
        return item.funcargs[fixture]

    mine: dict[str, Any] = {"bench_run": view, "evidence": evidence}
    try:
        try:
            evidence.start()
            names = argnames(item)
            if "steps" in names:
                if clause is None:
                    raise ConfigError(f"{item.nodeid} uses the steps fixture but has no clause marker")
                mine["steps"] = Steps(clause, view.timeline, evidence.dir)
            if "request" in names:
                mine["request"] = UnitRequest(pytest_request, resolve)
            call = {k: resolve(k) if k in UNIT_FIXTURES else arg(k) for k in names}
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
    # A failure at a step the lab waived for this unit: not counted, reported as waived (never as passed).
    waiver = waived_failure(error, clause_of(item), unit.cfg)
    if waiver is not None and error is not None:
        error = Waived(waived_message(waiver, name, error))
    kind = (
        WAIVED
        if isinstance(error, Waived)
        else outcome_kind(error, error is None, isinstance(error, SKIPPED))
    )
    if kind in ("failed", "error"):
        unit.mark_broken(f"{item.name}: {type(error).__name__}")
    result = {
        "test": item.name,
        **({"unit": name} if run.several else {}),
        "clause": clause,
        "outcome": kind,
        "message": run.redactor.text(str(error)) if error is not None else "",
        "seconds": round(time.monotonic() - t0, 3),
        "error_kind": type(error).__name__ if error is not None else None,
        "mark": evidence.mark,
    }
    return error, result


class Fleet:
    """Each unit (one, or several) goes through the run's tests in order in a thread of its own, not waiting
    for the other units nor for pytest between tests: pytest reports test i once every unit has done it
    (`call`), by then the faster units may be further on. A unit waits for pytest only at a test that needs a
    fixture its thread cannot give (OWN_FIXTURES), and at every test when `ahead` is off (-x: nothing runs past
    the first failure). A test marked `together` (it changes what the bench presents to every unit it applies
    to) is started by those units only once all of them have reached it, and left once all have done it."""

    def __init__(self, run: BenchRun, items: list[pytest.Function], ahead: bool) -> None:
        self.run = run
        # Each unit's view of the run; a run of one unit is its own view (its evidence as it always was).
        self.views: Mapping[str, Lane] = run.views or {run.unit_name: run}
        self.items = items
        self.index = {item.nodeid: i for i, item in enumerate(items)}
        self.ahead = ahead
        self.cond = threading.Condition()
        self.released = [False] * len(items)
        self.cancelled = [False] * len(items)  # pytest did not call it (skipped at setup, or the run ended)
        self.done: list[dict[str, tuple[BaseException | None, dict[str, Any]]]] = [{} for _ in items]
        self.at = dict.fromkeys(self.views, -1)  # the test each unit is at
        self.stopped = False
        # Daemons: an interrupted run (Ctrl-C, SIGTERM) tears the bench down and exits without them.
        self.threads = [
            threading.Thread(target=self._unit, args=(n, v), name=f"unit-{n}", daemon=True)
            for n, v in self.views.items()
        ]
        for t in self.threads:
            t.start()

    def _wait_release(self, i: int) -> bool:
        with self.cond:
            self.cond.wait_for(lambda: self.released[i] or self.stopped)
            return not self.cancelled[i] and not self.stopped

    def _applies(self, item: pytest.Function) -> dict[str, str | None]:
        return {n: not_applicable(item, n, v.unit_cfg) for n, v in self.views.items()}

    def _unit(self, name: str, view: Lane) -> None:
        for i, item in enumerate(self.items):
            try:
                if not self._test(i, item, name, view):
                    return
            except BaseException as exc:  # noqa: BLE001  # a bug of the bench: the unit's remaining tests error
                for k in range(i, len(self.items)):
                    if name not in self.done[k]:
                        error = InfraError(f"unit {name}'s thread ended: {type(exc).__name__}: {exc}")
                        unit = {"unit": name} if self.run.several else {}
                        result = {"test": self.items[k].name, **unit, "clause": None, "outcome": "error",
                                  "message": str(error), "seconds": 0.0, "error_kind": "InfraError", "mark": None}  # fmt: skip
                        self._record(k, name, (error, result))
                return

    def _test(self, i: int, item: pytest.Function, name: str, view: Lane) -> bool:
        """Unit `name`'s part of test `i`; False once the run has ended."""
        with self.cond:
            self.at[name] = i
            self.cond.notify_all()
        own = set(argnames(item)) - set(params_of(item))
        if (not self.ahead or not own <= OWN_FIXTURES or _skip_marked(item)) and not self._wait_release(i):
            return not self.stopped
        reasons = self._applies(item)
        if reasons[name] is not None:
            unit = name if self.run.several else None
            self._record(i, name, (None, not_applicable_result(item, unit, str(reasons[name]))))
            return True
        together = [n for n, r in reasons.items() if r is None] if item.get_closest_marker("together") else []
        with self.cond:  # every unit the test applies to has reached it
            self.cond.wait_for(lambda: self.stopped or all(self.at[n] >= i for n in together))
            if self.stopped:
                return False
        self._record(i, name, run_one(item, self.run, name, view, lambda: self._released_or_stop(i)))
        with self.cond:  # ... and has done it
            self.cond.wait_for(lambda: self.stopped or all(n in self.done[i] for n in together))
        return not self.stopped

    def _released_or_stop(self, i: int) -> None:
        if not self._wait_release(i):
            raise KeyboardInterrupt("the run ended before this test was set up")

    def _record(self, i: int, name: str, entry: tuple[BaseException | None, dict[str, Any]]) -> None:
        with self.cond:
            self.done[i][name] = entry
            self.cond.notify_all()

    def call(self, item: pytest.Function) -> None:
        """pytest's call of `item`: its fixtures are set up; wait for every unit's part, record each unit's
        verdict in the run's results (in the units' order), raise the worst."""
        i = self.index[item.nodeid]
        with self.cond:
            for k in range(i):  # tests pytest passed over without calling them (skipped at setup)
                if not self.released[k]:
                    self.cancelled[k] = self.released[k] = True
            self.released[i] = True
            self.cond.notify_all()
            while len(self.done[i]) != len(self.views):
                Interrupts.raise_pending()  # a SIGTERM, raised here and nowhere else (bench.errors.Interrupts)
                self.cond.wait(Interrupts.POLL)
        verdicts: dict[str, BaseException | None] = {}
        for name in self.views:
            error, result = self.done[i][name]
            self.run.results.append(result)
            if result["outcome"] != NOT_APPLICABLE:
                verdicts[name] = error
        raise_worst(verdicts)

    def close(self) -> None:
        """The run ends: units stop before their next test."""
        with self.cond:
            self.stopped = True
            self.cond.notify_all()


def _skip_marked(item: pytest.Item) -> bool:
    """pytest may skip the test at its setup: a unit must not run it ahead."""
    return (
        any(item.iter_markers(name="skip"))
        or any(item.iter_markers(name="skipif"))
        or any(item.iter_markers(name="xfail"))
    )


def raise_worst(verdicts: dict[str, BaseException | None]) -> None:
    """The item's outcome is its worst unit's; the message names each unit that did not pass (one unit: its
    own exception, as it ended)."""
    if len(verdicts) == 1 and (only := next(iter(verdicts.values()))) is not None:
        raise only
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

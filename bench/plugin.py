"""The bench's pytest plugin: command-line options, the `bench` fixtures, the `clause` marker, per-test
evidence (JUnit properties, bundles), live progress, and the error kinds mapped onto pytest outcomes.
Inert unless a test asks for the bench."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.errors import ConfigError, Interrupts, from_driver
from bench.fleet import Fleet, Waived, clause_of, not_applicable, not_applicable_result, outcome_kind
from bench.inventory import load_inventory
from bench.progress import Progress
from bench.report.redact import Redactor
from bench.run import BenchRun
from bench.waivers import WAIVED
from drivers.errors import DriverError


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("henb-bench")
    g.addoption("--inventory", default="inventory.yaml", help="inventory file (default inventory.yaml)")
    g.addoption(
        "--unit",
        action="append",
        default=[],
        help="unit name from the inventory (repeatable; default: every unit, several run concurrently)",
    )
    g.addoption("--out", default="captures", help="evidence folder (default captures/)")
    g.addoption("--run-id", default=None, help="name of this run's folder under --out")
    g.addoption("--clause", action="append", default=[], help="run only this TS 32.593 clause (repeatable)")
    g.addoption(
        "--misbehave",
        action="append",
        default=[],
        help="mock unit misbehaviour knob, KNOB for every unit or UNIT:KNOB (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    _Holder.not_applicable, _Holder.recorded, _Holder.interrupted = [], False, None
    config.addinivalue_line("markers", "clause(id): the TS 32.593 clause a test plan verifies")
    config.addinivalue_line("markers", "netns: needs root and network namespaces")
    config.addinivalue_line(
        "markers",
        "together: with several units, those the test applies to start it together and leave it together "
        "(it changes what the bench presents to all of them)",
    )
    # pytest captures fd 1 while a test runs; the live progress writes to the terminal through a copy of it
    # taken now, while capturing is suspended.
    with contextlib.suppress(OSError):
        _Holder.terminal_fd = os.dup(1)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _Holder.progress is not None:
        _Holder.progress.close()
        _Holder.progress = None
    xml = getattr(config.option, "xmlpath", None)
    if xml and _Holder.redactor:
        # JUnit XML carries failure messages; pytest wrote it at session finish, before this hook.
        _Holder.redactor.file(Path(xml))
    if _Holder.terminal_fd is not None:
        with contextlib.suppress(OSError):
            os.close(_Holder.terminal_fd)
        _Holder.terminal_fd = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--clause")
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        m = item.get_closest_marker("clause")
        (keep if not wanted or (m is not None and m.args[0] in wanted) else drop).append(item)
    keep, inapplicable = _applicable(config, keep)
    drop += inapplicable
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def _applicable(
    config: pytest.Config, items: list[pytest.Item]
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """A test whose clause applies to none of the run's units (Clause.applies) is not run at all: it is
    deselected and recorded as not applicable to each unit, with the reason. (One that applies to some of
    them runs for those: bench/fleet.py.)"""
    limited = [item for item in items if (c := clause_of(item)) is not None and c.applies]
    if not limited:
        return items, []
    try:
        inv = load_inventory(Path(config.getoption("--inventory")))
        units = [inv.unit(u)[0] for u in config.getoption("--unit")] or list(inv.units)
    except ConfigError:
        return items, []  # the run says what is wrong with the inventory as it starts
    drop: list[pytest.Item] = []
    for item in limited:
        reasons = {u: not_applicable(item, u, inv.units[u]) for u in units}
        if all(reasons.values()):
            drop.append(item)
            for u, reason in reasons.items():
                _Holder.not_applicable.append(
                    not_applicable_result(item, u if len(units) > 1 else None, str(reason))
                )
    return [item for item in items if item not in drop], drop


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Tests not applicable to the run's units, when no bench run recorded them (nothing else ran)."""
    if _Holder.not_applicable and not _Holder.recorded:
        for r in _Holder.not_applicable:
            unit = f"{r['unit']} " if r.get("unit") else ""
            terminalreporter.write_line(f"NOT APPLICABLE {unit}{r['clause']} {r['test']}: {r['message']}")


class _Holder:
    run: BenchRun | None = None
    fleet: Fleet | None = None
    not_applicable: list[dict[str, Any]] = []  # noqa: RUF012  # tests deselected as not applicable
    recorded = False  # ... and put into a run's results
    progress: Progress | None = None
    redactor: Redactor | None = None
    terminal_fd: int | None = None
    interrupted: str | None = None  # Ctrl-C or SIGTERM: why the run stopped before its end


def _progress() -> Progress | None:
    if _Holder.progress is None and _Holder.terminal_fd is not None:
        try:
            out = os.fdopen(os.dup(_Holder.terminal_fd), "w", encoding="utf-8", errors="replace", buffering=1)
        except OSError:
            return None
        _Holder.progress = Progress(out)
    return _Holder.progress


def _phase(item: pytest.Item, phase: str) -> None:
    if "bench_run" not in getattr(item, "fixturenames", ()):
        return
    progress = _progress()
    if progress is not None:
        m = item.get_closest_marker("clause")
        progress.phase_started(item.name, m.args[0] if m else "", phase)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    _phase(item, "teardown")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _Holder.progress is not None:
        _Holder.progress.pause()


@pytest.fixture(scope="session")
def bench_run(request: pytest.FixtureRequest) -> Iterator[BenchRun]:
    """The bench run: topology up, the unit on its port. Torn down at the end, also on SIGTERM."""
    opt = request.config.getoption
    inv_path = Path(opt("--inventory"))
    inv = load_inventory(inv_path)
    run_id = opt("--run-id") or time.strftime("%Y%m%d-%H%M%S")
    units = list(opt("--unit")) or list(inv.units)
    run = BenchRun(inv, units, Path(opt("--out")), run_id, list(opt("--misbehave")), inv_path)
    run.results.extend(_Holder.not_applicable)
    _Holder.recorded = True
    _Holder.run = run
    _Holder.redactor = run.redactor
    progress = _progress()
    if progress is not None:
        run.timeline.wait_observers.append(progress.on_wait)

    # Noted, then raised where the main thread waits for the units (bench.fleet): see Interrupts.
    Interrupts.pending = None
    previous = signal.signal(signal.SIGTERM, Interrupts.note)
    try:
        run.start()
        Interrupts.raise_pending()
        for unit in run.units.values():
            unit.say = unit.note = _say
        yield run
    finally:
        if _Holder.fleet is not None:
            _Holder.fleet.close()
            _Holder.fleet = None
        # Torn down now; the summary waits for the session's end, so a run that could not start still
        # records every test it could not run, and why.
        stop_whole(run, previous)


def stop_whole(run: BenchRun, previous: Any) -> None:
    """The bench torn down whole: a SIGTERM meanwhile is recorded (run.json's `interrupted`), not raised nor
    left to kill the process halfway (namespaces and daemons behind); then SIGTERM's handler as it was."""

    def noted(signum: int, frame: object) -> None:
        _Holder.interrupted = _Holder.interrupted or signal.Signals(signum).name

    signal.signal(signal.SIGTERM, noted)
    try:
        run.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Ctrl-C, or SIGTERM (raised as KeyboardInterrupt above): run.json, the report and the summary say the run
    is incomplete. pytest's own exit code for it (2) is also its code for a collection error."""
    _Holder.interrupted = str(excinfo.value) or "Ctrl-C"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    run, _Holder.run = _Holder.run, None
    if run is not None:
        run.interrupted = _Holder.interrupted
        run.close()


def _say(text: str) -> None:
    """To the person at the bench, past pytest's capture (the manual factory reset's instructions)."""
    progress = _progress()
    if progress is not None:
        progress.pause()
    fd = _Holder.terminal_fd
    if fd is None:
        print(text, flush=True)
        return
    with contextlib.suppress(OSError):
        os.write(fd, text.encode())


# The per-unit fixtures. pytest sets them up for each test (so --setup-plan and --fixtures show them, and a
# misspelt one is an error before the run); their values are each unit's own, made in its thread by
# bench/fleet.py, where the unit reaches the state the fixture names (UNIT_FIXTURES).


@pytest.fixture
def factory_fresh_unit(bench_run: BenchRun) -> None:
    """The unit booting with its factory configuration (reset first if it had another): it will bootstrap."""


@pytest.fixture
def discovered_unit(bench_run: BenchRun) -> None:
    """The unit with its Serving SeGW and HeMS, IPsec to the Serving SeGW up."""


@pytest.fixture
def registered_unit(bench_run: BenchRun) -> None:
    """The unit registered with the Serving HeMS (the pre-condition of the CM, FM and PM clauses)."""


@pytest.fixture
def evidence(bench_run: BenchRun) -> None:
    """The test's evidence for the unit (captures, timeline slice, transcripts: bench.run.Evidence)."""


@pytest.fixture
def steps(bench_run: BenchRun) -> None:
    """The test's steps for the unit, of the clause its marker names (bench.steps.Steps)."""


def _checked(item: pytest.Item, phase: str) -> Generator[None, None, None]:
    """A phase of a test, a driver's error as the bench's kind (each unit's health is checked after its part
    of the test, in its thread: bench/fleet.py)."""
    _phase(item, phase)
    try:
        yield
    except DriverError as exc:  # a plan called a driver itself (unit.console.write): the bench's kind
        raise from_driver(exc) from exc


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield from _checked(item, "setup")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield from _checked(item, "test")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A bench test's body once per unit of the run (one or several), each in its thread (bench/fleet.py)."""
    run = _Holder.run
    if run is None or "bench_run" not in pyfuncitem.fixturenames:
        return None
    if _Holder.fleet is None:  # the units' threads start with the first test (bench/fleet.py)
        items = [
            i
            for i in pyfuncitem.session.items
            if isinstance(i, pytest.Function) and "bench_run" in i.fixturenames
        ]
        _Holder.fleet = Fleet(run, items, ahead=not pyfuncitem.config.getoption("maxfail"))
    _Holder.fleet.call(pyfuncitem)
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    run = _Holder.run
    if run is None or report.when not in ("setup", "call"):
        return
    m = item.get_closest_marker("clause")
    exc = call.excinfo.value if call.excinfo else None
    evidence_dir = run.dir / item.name
    if report.when == "setup":
        # JUnit properties, so a CI server links each testcase to its evidence.
        props = [
            ("clause", m.args[0] if m else ""),
            ("evidence", str(evidence_dir)),
            ("outer_capture", str(evidence_dir / "outer.pcapng")),
            ("inner_capture", str(evidence_dir / "inner.pcapng")),
            ("inner_initial_capture", str(evidence_dir / "inner-initial.pcapng")),
            ("timeline", str(evidence_dir / "timeline.jsonl")),
            ("report", str(run.dir / "report.html")),
        ]
        if run.several:  # each unit's evidence is in its own folder (its junit.xml has its testcases)
            props = [props[0], *(("evidence", str(run.dir / u / item.name)) for u in run.unit_names)]
        item.user_properties.extend(props)
    if report.failed and not any(k == "bundle" for k, _ in item.user_properties):
        item.user_properties.append(("bundle", str(run.dir / f"{item.name}.tar.gz")))
    kind = outcome_kind(exc, report.passed, report.skipped)
    if isinstance(exc, Waived):  # a failure at a step the lab waived for the unit (bench/fleet.py)
        kind = WAIVED
    if report.failed:
        # pytest (and its JUnit XML) calls a failed call phase a failure and any other phase an error;
        # here the kind decides: a unit failure in a fixture's transition is a <failure>, a bench fault
        # in the test body an <error>.
        report.when = "call" if kind == "failed" else "setup"
    # A bench test's call: each unit's verdict is in the results already (bench/fleet.py).
    per_unit = call.when == "call" and "bench_run" in getattr(item, "fixturenames", ())
    if kind == "failed" and per_unit and not run.several:
        report.sections.append(("henb-bench", f"evidence: {run.dir / item.name}"))
    if (call.when == "call" or report.failed or report.skipped) and not per_unit:
        run.results.append(
            {
                "test": item.name,
                "clause": m.args[0] if m else None,
                "outcome": kind,
                "message": run.redactor.text(str(exc)) if exc is not None and not report.passed else "",
                "seconds": round(report.duration, 3),
                "error_kind": type(exc).__name__ if exc is not None else None,
                # where the test's own timeline starts (the report's ladder collapses what came before)
                "mark": getattr(getattr(item, "funcargs", {}).get("evidence"), "mark", None),
            }
        )
        if kind == "failed":
            report.sections.append(("henb-bench", f"evidence: {run.dir / item.name}"))

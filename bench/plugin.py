"""The bench's pytest plugin: command-line options, the `bench` fixtures, the `clause` marker, per-test
evidence, and the error kinds mapped onto pytest outcomes. Inert unless a test asks for the bench."""

from __future__ import annotations

import signal
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.errors import ConfigError, DeviceError, InfraError
from bench.inventory import load_inventory
from bench.run import BenchRun, Evidence
from bench.steps import Steps


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("henb-bench")
    g.addoption("--inventory", default="inventory.yaml", help="inventory file (default inventory.yaml)")
    g.addoption("--unit", default=None, help="unit name from the inventory (default: the first)")
    g.addoption("--out", default="captures", help="evidence folder (default captures/)")
    g.addoption("--run-id", default=None, help="name of this run's folder under --out")
    g.addoption("--clause", action="append", default=[], help="run only this TS 32.593 clause (repeatable)")
    g.addoption("--misbehave", action="append", default=[], help="mock unit misbehaviour knob (repeatable)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the TS 32.593 clause a test plan verifies")
    config.addinivalue_line("markers", "netns: needs root and network namespaces")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--clause")
    if not wanted:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        m = item.get_closest_marker("clause")
        (keep if m is not None and m.args[0] in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


class _Holder:
    run: BenchRun | None = None


@pytest.fixture(scope="session")
def bench_run(request: pytest.FixtureRequest) -> Iterator[BenchRun]:
    """The bench run: topology up, the unit on its port. Torn down at the end, also on SIGTERM."""
    opt = request.config.getoption
    inv = load_inventory(Path(opt("--inventory")))
    run_id = opt("--run-id") or time.strftime("%Y%m%d-%H%M%S")
    run = BenchRun(inv, opt("--unit"), Path(opt("--out")), run_id, list(opt("--misbehave")))
    _Holder.run = run

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        run.start()
        yield run
    finally:
        signal.signal(signal.SIGTERM, previous)
        run.close()
        _Holder.run = None


@pytest.fixture
def evidence(bench_run: BenchRun, request: pytest.FixtureRequest) -> Iterator[Evidence]:
    ev = Evidence(bench_run, request.node.name)
    ev.start()
    try:
        yield ev
    finally:
        ev.finish()


@pytest.fixture
def steps(request: pytest.FixtureRequest, bench_run: BenchRun, evidence: Evidence) -> Steps:
    m = request.node.get_closest_marker("clause")
    if m is None:
        raise ConfigError(f"{request.node.nodeid} uses the steps fixture but has no clause marker")
    return Steps(m.args[0], bench_run.timeline, evidence.dir)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    run = _Holder.run
    if run is None or report.when not in ("setup", "call"):
        return
    m = item.get_closest_marker("clause")
    exc = call.excinfo.value if call.excinfo else None
    if report.failed:
        # Whatever happened, the unit's state is in doubt: power-cycle it before the next test.
        if run._unit is not None:
            run._unit.dirty = True
        if isinstance(exc, (InfraError, ConfigError)):
            report.outcome = "failed"
    if report.when == "call" or report.failed:
        kind = (
            "passed"
            if report.passed
            else "error"
            if isinstance(exc, (InfraError, ConfigError)) or (report.when == "setup")
            else "failed"
        )
        run.results.append(
            {
                "test": item.name,
                "clause": m.args[0] if m else None,
                "outcome": kind,
                "message": str(exc) if exc is not None and not report.passed else "",
                "seconds": round(report.duration, 3),
                "error_kind": type(exc).__name__ if exc is not None else None,
            }
        )
        if isinstance(exc, DeviceError):
            report.sections.append(("henb-bench", f"evidence: {run.dir / item.name}"))

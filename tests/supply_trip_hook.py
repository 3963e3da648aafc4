"""A pytest plugin the health tests load into a run (PYTEST_ADDOPTS=-p tests.supply_trip_hook): as each test
body starts, the simulated bench supply trips, as a short on the unit's input would trip a real one."""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    run = getattr(item, "funcargs", {}).get("bench_run")
    if run is not None:
        run.unit.power.trip()

"""A pytest plugin the health tests load into a run (PYTEST_ADDOPTS=-p tests.supply_trip_hook): as each test
body starts (its unit has reached the state the test asks for, in the unit's thread: bench/fleet.py), the
simulated bench supply trips, as a short on the unit's input would trip a real one."""

from __future__ import annotations

from typing import Any

import pytest

from bench.unit import BenchUnit, State


def pytest_configure(config: pytest.Config) -> None:
    reach = BenchUnit.transition

    def then_trip(unit: BenchUnit, to: State) -> Any:
        boot = reach(unit, to)
        unit.power.trip()
        return boot

    BenchUnit.transition = then_trip  # type: ignore[method-assign]  # this run's process only

"""The bench finds its plans through the `henb_bench.plans` entry point, and says how to fix a missing one."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from bench import plans
from bench.cli import check_clauses
from bench.errors import ConfigError


def test_the_installed_entry_point_gives_the_ts32593_plans() -> None:
    found = plans.plan_set()
    assert found.name == "ts32593"
    assert (found.folder / "test_5_2_4_ipsec_address_change.py").is_file()
    assert "5.2.4" in found.clauses and any(cid == "5.2.4" for cid, _ in found.checks)
    assert "5.2.4" in found.table()
    assert check_clauses(["5.2.4"]).folder == found.folder


def test_no_entry_point_is_a_config_error_saying_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plans, "plan_entry_points", lambda: [])
    with pytest.raises(
        ConfigError, match="no test plans installed: no 'henb_bench.plans' entry point.*make venv"
    ):
        plans.plan_set()


def test_a_plan_set_that_does_not_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = EntryPoint("gone", "testplans.nowhere", plans.GROUP)
    monkeypatch.setattr(plans, "plan_entry_points", lambda: [gone])
    with pytest.raises(ConfigError, match=r"plan set gone \(testplans.nowhere, .*cannot be imported"):
        plans.plan_set()
    with pytest.raises(ConfigError, match="no plan set 'other'; installed: gone"):
        plans.plan_set("other")

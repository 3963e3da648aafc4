"""The bench finds its plans through the `henb_bench.plans` entry point, and says how to fix a missing one."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from bench import plans
from bench.cli import check_clauses
from bench.errors import ConfigError
from tests.testplans.test_negative_twins import twins


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


ROOT = Path(__file__).resolve().parents[2]


def documented_clause() -> str:
    """The hypothetical clause module docs/architecture.md shows under "A clause is one module", as it shows it."""
    doc = (ROOT / "docs/architecture.md").read_text()
    section = doc[doc.index("## A clause is one module") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_a_new_clause_module_is_all_list_coverage_ladder_and_twins_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.cli import cmd_list
    from bench.report.html import _coverage, figure_for
    from bench.report.ladder import first_deviation, match, messages
    from bench.run import clause_catalogue

    package = tmp_path / f"fakeplans_{tmp_path.name}"  # a fake plan set: one package, one clause module
    package.mkdir()
    (package / "__init__.py").write_text('"""A plan set with one clause."""\n')
    module = package / "test_5_5_1_reboot.py"
    module.write_text(documented_clause())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plans, "plan_entry_points", lambda: [EntryPoint("fake", package.name, plans.GROUP)])

    found = plans.plan_set()
    assert list(found.clauses) == ["5.5.1"] and found.folder == package
    assert check_clauses(["5.5.1"]).name == "fake"  # --clause accepts it
    cmd_list(None)  # type: ignore[arg-type]
    assert "5.5.1  Reboot on request (Figure 5-13)" in capsys.readouterr().out
    assert (
        "step 2        RebootResponse, then an Inform with M Reboot  [knobs: ignore_reboot]" in found.table()
    )
    # The report: the coverage table and the expected ladder, from run.json's catalogue.
    catalogue = clause_catalogue()
    result = {"test": "test_reboot_on_request", "clause": "5.5.1", "outcome": "passed"}
    assert "RebootResponse, then an Inform with M Reboot" in _coverage(
        {"clauses": catalogue, "results": [result]}
    )
    figure = figure_for(catalogue, "5.5.1", "test_reboot_on_request")
    assert figure is not None and [s.label for s in figure.steps][-1] == "Inform (M Reboot)"
    seen = [
        {"seq": i, "t": float(i), "source": "hems", "kind": kind, "data": {"hems": "serving-hems", **data}}
        for i, (kind, data) in enumerate(
            [("connection-request", {"status": 200}), ("inform", {"events": ["6 CONNECTION REQUEST"]}),
             ("rpc-sent", {"method": "Reboot"}), ("rpc-response", {"method": "Reboot"}),
             ("session-end", {}), ("inform", {"events": ["1 BOOT", "M Reboot"]})]
        )
    ]  # fmt: skip
    assert first_deviation(match(figure, messages(seen))) is None
    missing = first_deviation(match(figure, messages(seen[:-1])))
    assert missing is not None and missing.step.label == "Inform (M Reboot)"
    # The twins: parametrised from the declarations.
    assert [(c.id, step, t.knob) for c, step, t in twins(found)] == [("5.5.1", "2", "ignore_reboot")]
    # The plan itself: pytest finds it under the bench's plugin, with every fixture it asks for.
    plan = subprocess.run(
        [sys.executable, "-m", "pytest", "--setup-plan", "-q", "-p", "no:cacheprovider", str(module)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert "SETUP    F registered_unit" in plan.stdout and " error" not in plan.stdout, plan.stdout[-2000:]
    assert "test_5_5_1_reboot.py::test_reboot_on_request" in plan.stdout

"""The bench finds its plans through the `henb_bench.plans` entry point, and says how to fix a missing one."""

from __future__ import annotations

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


HYPOTHETICAL = '''
"""A hypothetical clause: the HeMS reboots the unit (one module: its plan and its declarations)."""

import pytest

from bench import clauses as cl


@pytest.mark.clause("9.9.9")
def test_reboot_on_request() -> None:
    pass


CLAUSE = cl.Clause(
    id="9.9.9",
    title="Reboot on request (hypothetical Figure 9-9)",
    figure=cl.Figure("Figure 9-9: Reboot on request", (cl.connection_request(), *cl.rpc("Reboot"))),
    checks=(cl.Check("2", "RebootResponse to the Reboot", (cl.Twin("spv_not_applied", ("a RebootResponse",)),)),),
)
'''


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
    (package / "test_9_9_9_reboot.py").write_text(HYPOTHETICAL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plans, "plan_entry_points", lambda: [EntryPoint("fake", package.name, plans.GROUP)])

    found = plans.plan_set()
    assert list(found.clauses) == ["9.9.9"] and found.folder == package
    assert check_clauses(["9.9.9"]).name == "fake"  # --clause accepts it
    cmd_list(None)  # type: ignore[arg-type]
    assert "9.9.9  Reboot on request" in capsys.readouterr().out
    assert "step 2        RebootResponse to the Reboot  [knobs: spv_not_applied]" in found.table()
    # The report: the coverage table and the expected ladder, from run.json's catalogue.
    catalogue = clause_catalogue()
    result = {"test": "test_reboot_on_request", "clause": "9.9.9", "outcome": "passed"}
    assert "RebootResponse to the Reboot" in _coverage({"clauses": catalogue, "results": [result]})
    figure = figure_for(catalogue, "9.9.9", "test_reboot_on_request")
    assert figure is not None and [s.label for s in figure.steps][-1] == "RebootResponse"
    seen = [
        {"seq": i, "t": float(i), "source": "hems", "kind": kind, "data": {"hems": "serving-hems", **data}}
        for i, (kind, data) in enumerate(
            [("connection-request", {"status": 200}), ("rpc-sent", {"method": "Reboot"}),
             ("rpc-response", {"method": "Reboot"})]
        )
    ]  # fmt: skip
    assert first_deviation(match(figure, messages(seen))) is None
    # The twins: parametrised from the declarations.
    assert [(c.id, step, t.knob) for c, step, t in twins(found)] == [("9.9.9", "2", "spv_not_applied")]

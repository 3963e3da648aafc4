"""The command line's parsing and validation: global options before or after any subcommand; --clause and
--unit refused before anything starts (exit 2, the known ones named, no run folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.cli import build_parser
from bench.plans import plan_set
from tests.support import ROOT, henb_bench, write_inventory

# The positional arguments a subcommand needs to parse; the rest need none.
POSITIONALS = {
    "power": ["henb-01", "status"],
    "console": ["henb-01"],
    "action": ["henb-01", "reboot"],
    "report": ["RUN"],
    "bundle": ["RUN", "T"],
    "lab": ["status"],
    "diff": ["RUN_A", "RUN_B"],
    "judge": ["outer.pcapng"],
    "rejudge": ["RUN"],
}


def _subcommands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sub.choices
    return list(sub.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_takes_inventory_before_and_after(command: str) -> None:
    args = POSITIONALS.get(command, [])
    parse = build_parser().parse_args
    assert parse([command, *args]).inventory == "inventory.yaml"
    assert parse(["--inventory", "before.yaml", command, *args]).inventory == "before.yaml"
    assert parse([command, *args, "--inventory", "after.yaml"]).inventory == "after.yaml"
    assert parse([command, "--inventory=after.yaml", *args]).inventory == "after.yaml"
    # Given twice, the one after the subcommand is nearer the command and wins.
    assert parse(["--inventory", "before.yaml", command, *args, "--inventory", "after.yaml"]).inventory == (
        "after.yaml"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["run"],
        ["clean"],
        ["up"],
        ["power", "henb-01", "status"],
        ["console", "henb-01"],
        ["check", "--probe"],
    ],
)
def test_the_real_cli_reads_the_inventory_given_after_the_subcommand(argv: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-inventory.yaml"
    res = henb_bench(*argv, "--inventory", str(missing), timeout=60)
    assert res.returncode == 2, res.stderr
    assert "unrecognized arguments" not in res.stderr
    assert f"ConfigError: {missing}: cannot read inventory" in res.stderr


def test_check_after_the_subcommand_uses_that_inventory(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path / "inv.yaml")
    res = henb_bench("--inventory", str(tmp_path / "not-this.yaml"), "check", "--inventory", str(inv))
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip().endswith(f"{inv}: OK")


def test_report_takes_the_inventory_after_the_subcommand(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("units: [")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{}")  # the inventory is read before the run's evidence
    res = henb_bench("report", str(tmp_path / "run"), "--inventory", str(broken), timeout=60)
    assert res.returncode == 2, res.stderr
    assert str(broken) in res.stderr


def test_an_unknown_clause_is_refused_before_anything_starts(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path / "inv.yaml")
    out = tmp_path / "captures"
    res = henb_bench(
        "run",
        "--inventory",
        str(inv),
        "--clause",
        "5.2.4",
        "--clause",
        "9.9.9",
        "--out",
        str(out),
        timeout=60,
    )
    assert res.returncode == 2, res.stdout + res.stderr
    assert "ConfigError: --clause 9.9.9: not a clause the plans verify" in res.stderr
    assert "--clause 5.2.4" not in res.stderr  # only the unknown one is named as such
    known = res.stderr.split("known clauses:", 1)[1]
    assert all(clause in known for clause in plan_set().clauses)
    assert not out.exists(), "a run folder was made for a refused run"
    assert "test(s)" not in res.stdout  # pytest never ran


def test_an_unknown_unit_is_refused_naming_the_inventorys_units(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path / "inv.yaml")
    out = tmp_path / "captures"
    for argv in (["run", "--unit", "henb-99", "--out", str(out)], ["check", "--unit", "henb-99"]):
        res = henb_bench(*argv, "--inventory", str(inv), timeout=60)
        assert res.returncode == 2, res.stdout + res.stderr
        assert "ConfigError: unit 'henb-99' is not in the inventory; units: henb-01" in res.stderr
    assert not out.exists(), "a run folder was made for a refused run"


def test_an_unknown_knob_is_refused_before_anything_starts(tmp_path: Path) -> None:
    out = tmp_path / "captures"
    res = henb_bench("run", "--misbehave", "no_such_knob", "--out", str(out), timeout=60)
    assert res.returncode == 2
    assert "--misbehave no_such_knob: expected one of" in res.stderr
    assert not out.exists()


def test_every_clause_a_plan_marks_is_one_the_cli_accepts() -> None:
    marked = {
        m
        for plan in (ROOT / "testplans" / "ts32593").glob("test_*.py")
        for m in re.findall(r'@pytest\.mark\.clause\("([^"]+)"\)', plan.read_text())
    }
    assert marked, "no clause markers found in the plans"
    declared = set(plan_set().clauses)
    assert marked == declared, (
        f"marked but not declared, or declared but not marked: {sorted(marked ^ declared)}"
    )


def test_a_clause_that_applies_to_no_unit_of_the_run_says_so_and_why(tmp_path: Path) -> None:
    """A private unit alone with --clause 5.1.2.3: nothing runs (no bench is built), and the run says that
    5.1.2.3 was not covered and why, not merely that no test ran."""
    inv = write_inventory(tmp_path / "inv.yaml")  # the first unit only: henb-01, private
    res = henb_bench(
        "--inventory", str(inv), "run", "--clause", "5.1.2.3", "--out", str(tmp_path / "c"), timeout=120
    )
    assert res.returncode == 2, res.stdout + res.stderr
    why = "clause 5.1.2.3 is for units with initial_hems_access: public (units.henb-01.initial_hems_access: private)"
    assert res.stdout.count("NOT APPLICABLE 5.1.2.3 ") == 2 and why in res.stdout, res.stdout[-3000:]
    assert "no test ran" in res.stderr and "not applicable to the units is listed above" in res.stderr

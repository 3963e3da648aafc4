"""Run folders into records: the folder a real run leaves (one unit, several units), and hostile or broken
folders refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bench.history.importer import BadRunFolder, read_run_folder
from tests.bench.history.factory import Test, UnitSpec, write_run
from tests.bench.report.fakerun import SHELL_PASSWORD, inventory_data, make_fake_run


def test_the_folder_a_run_leaves_reads_with_the_units_inform_identity(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(inventory_data()))
    folder = make_fake_run(tmp_path / "captures", inv, failing=True)  # BenchRun's own run.json
    record = read_run_folder(folder)
    assert (record.run_id, record.exit_code, record.interrupted) == ("20260101-000000", None, None)
    assert record.inventory_sha256 and record.host and record.started > 0
    [unit] = record.units
    assert (unit.name, unit.oui, unit.product_class, unit.serial) == (
        "henb-01",
        "00D0B7",
        "MockHeNB",
        "MOCK0001",
    )
    assert (unit.software_version, unit.hardware_version) == ("fw-9.8.7", "hw-B")  # from the Inform
    assert {"boot_time", "first_inform"} <= set(unit.measurements)
    [test] = unit.tests
    assert (test.clause, test.outcome, test.error_kind) == ("5.1.2.2", "failed", "DeviceError")
    [step] = test.steps
    assert (step.clause, step.step, step.verdict) == ("5.1.2.2", "6.3", "failed")
    assert SHELL_PASSWORD not in step.message  # the run redacted it


def test_a_passed_test_speaks_for_its_clauses_checks_and_a_bench_error_for_none_of_them(
    tmp_path: Path,
) -> None:
    tests = [
        Test("test_discovery_via_initial_hems_in_private_network", "5.1.2.2"),
        Test("test_expedited_alarm_is_reported_at_once", "5.3.2", "error"),
        Test("test_pm_files_uploaded_at_the_interval[ftp]", "5.4.2", "skipped"),
    ]
    unit = read_run_folder(write_run(tmp_path, "r1", [UnitSpec(tests=tests)])).units[0]
    assert [(s.step, s.verdict) for s in unit.tests[0].steps] == [
        ("1.1", "passed"),
        ("2.1", "passed"),
        ("6.3", "passed"),
    ]
    assert [(s.step, s.verdict, s.error_kind) for s in unit.tests[1].steps] == [("2", "error", "InfraError")]
    assert unit.tests[2].steps == []


def test_several_units_each_with_its_own_identity_and_firmware(tmp_path: Path) -> None:
    specs = [
        UnitSpec("henb-01", "S1", firmware="2.0", tests=[Test("test_expedited_alarm_is_reported_at_once", "5.3.2")]),
        UnitSpec("henb-02", "S2", firmware="2.1", tests=[Test("test_expedited_alarm_is_reported_at_once", "5.3.2", "failed", "2")]),
    ]  # fmt: skip
    folder = write_run(tmp_path, "r2", specs, exit_code=1)
    assert (folder / "henb-02" / "run.json").is_file()
    record = read_run_folder(folder)
    assert record.exit_code == 1
    assert [(u.name, u.serial, u.software_version) for u in record.units] == [
        ("henb-01", "S1", "2.0"),
        ("henb-02", "S2", "2.1"),
    ]
    assert [t.outcome for u in record.units for t in u.tests] == ["passed", "failed"]
    # Without a unit's own run.json (a run killed before it was written): the top one's results for it.
    (folder / "henb-02" / "run.json").unlink()
    assert [t.outcome for t in read_run_folder(folder).units[1].tests] == ["failed"]


OTHER_JUNIT = (
    """<?xml version="1.0"?><testsuite name="other-tool" tests="1"><testcase name="t"/></testsuite>"""
)


def _broken(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Folders another tool, a crash or a person left, with the reason the importer gives."""
    good = write_run(
        tmp_path / "src", "r", [UnitSpec(tests=[Test("test_expedited_alarm_is_reported_at_once", "5.3.2")])]
    )
    text = (good / "run.json").read_text()
    cases: dict[str, tuple[str | None, str]] = {
        "truncated": (text[: len(text) // 2], "run.json is not whole JSON (truncated?)"),
        "junit-only": (None, "no run.json: not a henb-bench run folder"),
        "a-list": ("[1, 2]", "run.json is not a henb-bench run.json (not an object)"),
        "other-json": ('{"name": "x", "version": 3}', "run.json is not a henb-bench run.json: run_id: Field required"),
        "bad-outcome": (text.replace('"outcome": "passed"', '"outcome": "green"'), "results.0.outcome: Input should be"),
        "no-start": (text.replace('"started": ', '"started": "yesterday", "x": '), "started: Input should be a valid number"),
        "long-clause": (text.replace('"clause": "5.3.2"', '"clause": "' + "5." * 40 + '"'), "results.0.clause: String should have at most 30"),
        "binary": ("\udcff\udcfe", "run.json cannot be read"),
    }  # fmt: skip
    out = {}
    for name, (content, why) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "junit.xml").write_text(OTHER_JUNIT)
        if content is not None:
            (folder / "run.json").write_bytes(content.encode("utf-8", errors="surrogateescape"))
        out[name] = (folder, why)
    return out


def test_hostile_and_broken_folders_are_refused_with_the_reason(tmp_path: Path) -> None:
    for name, (folder, why) in _broken(tmp_path).items():
        with pytest.raises(BadRunFolder) as exc:
            read_run_folder(folder)
        assert why in str(exc.value), f"{name}: {exc.value}"


def test_a_secret_left_in_an_old_run_folder_is_masked_on_the_way_in(tmp_path: Path) -> None:
    from bench.inventory import parse_inventory
    from bench.report.redact import redactor_for

    folder = write_run(
        tmp_path, "r3", [UnitSpec(tests=[Test("t", "5.3.2", "failed", "2", why=f"login {SHELL_PASSWORD}")])]
    )
    assert SHELL_PASSWORD in (folder / "run.json").read_text()  # an old bench, or another tool, left it
    inv = parse_inventory(inventory_data(), tmp_path / "inv.yaml")
    unit = read_run_folder(folder, redactor_for(inv).text).units[0]
    assert SHELL_PASSWORD not in json.dumps([unit.tests[0].message, unit.tests[0].steps[0].message])
    assert "login [redacted]" in unit.tests[0].message

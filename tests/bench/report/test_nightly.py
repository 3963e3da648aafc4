"""Tests for bench/report/nightly.py (the nightly summary) and the recipe in docs/nightly.md: its CI YAML loads and
its `henb-bench run` line is one the command line takes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from bench.cli import build_parser
from bench.report.nightly import main
from tests.support import ROOT

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="{n}">{cases}</testsuite>
</testsuites>"""


def run_folder(
    root: Path,
    name: str,
    outcomes: list[str],
    place: dict[str, object] | None = None,
    interrupted: str | None = None,
) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    body = {
        "passed": "",
        "failed": "<failure message='x'/>",
        "error": "<error message='y'/>",
        "skipped": "<skipped/>",
    }
    cases = "".join(f"<testcase name='t{i}'>{body[o]}</testcase>" for i, o in enumerate(outcomes))
    (folder / "junit.xml").write_text(JUNIT.format(n=len(outcomes), cases=cases))
    ident = {"oui": "00D0B7", "product_class": "FAP-200", "serial_number": "MOCK0001"}
    (folder / "run.json").write_text(
        json.dumps({"unit": "fap200", "identity": ident, "interrupted": interrupted})
    )
    if place is not None:
        (folder / "place.json").write_text(json.dumps(place))
    return folder


def test_unit_failures_and_bench_errors_are_counted_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ident = {"oui": "00D0B7", "product_class": "FAP-200", "serial_number": "ACME0042"}
    run_folder(
        tmp_path / "a",
        "r1",
        ["passed", "failed", "skipped"],
        {"place": "fap200-a", "holder": "h/n1", "identity": ident},
    )
    run_folder(tmp_path / "b", "r2", ["error", "error"])
    assert main([str(tmp_path)]) == 1  # a unit failed somewhere
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "FAP-200    fap200-a held as h/n1 (00D0B7-ACME0042)  3 tests: 1 passed, 1 FAILED (unit), 0 errors"
    )
    assert "unit fap200 (00D0B7-MOCK0001)  2 tests: 0 passed, 0 FAILED (unit), 2 errors (bench)" in out[1]
    assert main([str(tmp_path / "b")]) == 3  # only the bench erred
    run_folder(tmp_path / "c", "r3", ["passed"])
    assert main([str(tmp_path / "c")]) == 0
    assert main([str(tmp_path / "none")]) == 3  # no run at all is no pass


def test_an_interrupted_run_is_no_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_folder(tmp_path / "a", "r1", ["passed", "passed"], interrupted="SIGTERM")
    run_folder(tmp_path / "b", "r2", ["passed"])
    assert main([str(tmp_path)]) == 130
    out = capsys.readouterr().out.splitlines()
    assert "2 tests: 2 passed, 0 FAILED (unit), 0 errors (bench)  INTERRUPTED (SIGTERM): incomplete" in out[0]
    assert "INTERRUPTED" not in out[1]
    run_folder(tmp_path / "c", "r3", ["failed"], interrupted="Ctrl-C")
    assert main([str(tmp_path)]) == 1  # a unit failure says more than the interruption


def test_the_recipe_in_the_docs_is_one_the_bench_takes() -> None:
    text = (ROOT / "docs" / "nightly.md").read_text()
    ci = yaml.safe_load(re.search(r"`.gitlab-ci.yml`:\n\n```yaml\n(.*?)```", text, re.S).group(1))  # type: ignore[union-attr]
    job = ci["nightly"]
    assert job["allow_failure"] == {"exit_codes": [3]} and job["retry"]["exit_codes"] == [3]
    assert job["artifacts"]["reports"]["junit"] == "captures/*/junit.xml"
    [run] = [line for line in job["script"] if " run " in line]
    argv = shlex.split(run.replace('"$UNIT"', "fap200").replace("$PRODUCT_CLASS", "FAP-200"))[1:]
    args = build_parser().parse_args(argv)
    assert (args.command, args.unit, args.place_tag, args.out) == (
        "run",
        ["fap200"],
        ["product_class=FAP-200"],
        "captures",
    )
    assert any(".venv/bin/henb-bench --inventory lab.yaml clean" in line for line in job["after_script"])
    assert "python -m bench.report.nightly" in " ".join(ci["summary"]["script"])

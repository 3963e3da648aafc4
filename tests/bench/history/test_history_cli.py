"""`henb-bench history`, `history import` and `diff` as a lab lead types them; the record at the end of
`henb-bench run` (a database that cannot be reached changes no verdict); the page in headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from bench import cli
from tests.bench.history.factory import Test, UnitSpec, write_run
from tests.bench.history.nightly import write_nights
from tests.bench.report.test_html import CHROMIUM, FLAGS
from tests.support import write_inventory

UNREACHABLE = "postgresql+psycopg://bench:db-Pa55word@/henb?host=/nonexistent-henb-bench&port=5"


def henb_bench(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "220")  # rich's tables at a lab lead's terminal width
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    monkeypatch.setenv("HENB_BENCH_HISTORY_URL", url)
    monkeypatch.chdir(tmp_path)  # no inventory.yaml here: the defaults
    return url


def test_import_loads_good_folders_and_skips_broken_ones_keeping_what_was_stored(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_run(tmp_path / "c", "20260101-020000", [UnitSpec(tests=[Test("t1", "5.3.2")])])
    assert henb_bench(capsys, "history", "import", str(first))[0] == 0
    second = write_run(
        tmp_path / "c", "20260102-020000", [UnitSpec(tests=[Test("t1", "5.3.2")])], started=1.8e9
    )
    truncated = write_run(tmp_path / "c", "20260103-020000", [UnitSpec()], started=1.9e9)
    (truncated / "run.json").write_text((truncated / "run.json").read_text()[:100])
    other = tmp_path / "c" / "other-tool"
    other.mkdir()
    (other / "junit.xml").write_text("<testsuite name='pytest'/>")
    code, out, err = henb_bench(
        capsys, "history", "import", str(truncated), str(second), str(other), str(tmp_path / "gone")
    )
    assert code == 0, err
    assert f"skipped {truncated}: run.json is not whole JSON (truncated?)" in err
    assert f"skipped {other}: no run.json: not a henb-bench run folder" in err
    assert "Traceback" not in err
    assert "1 run(s) in sqlite:///" in out and "3 skipped" in out
    code, out, _ = henb_bench(capsys, "history", "--runs")
    assert "20260101-020000" in out and "20260102-020000" in out and "20260103" not in out


def test_the_morning_questions(tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    folders = [str(f) for f in write_nights(tmp_path / "captures")]
    assert henb_bench(capsys, "history", "import", *folders)[0] == 0
    # Which firmware first broke 5.3.2 step 2 on the FAP-200s?
    code, out, _ = henb_bench(
        capsys, "history", "--first-failure", "--product-class", "FAP-200", "--clause", "5.3.2"
    )
    assert code == 0
    assert re.search(r"FAP-200\s+│\s+5\.3\.2\s+│\s+2\s+│\s+1\.2\s+│\s+1\.1\s+│\s+2", out), out
    # Is 5.4.2 flaky on bench-2 or on that unit?
    code, out, _ = henb_bench(capsys, "history", "--flaky", "--clause", "5.4.2")
    assert re.search(r"unit flaky.*5\.4\.2.*FAP0001.*1\.1.*2✓ 1✗.*bench-1 2✓, bench-2 1✗", out), out
    # Did boot time creep up over the last builds?
    code, out, _ = henb_bench(capsys, "history", "--trend", "boot_time", "--unit", "henb-01", "--last", "30")
    assert "median of the newest 3 runs less that of the oldest 3: +2.000 s" in out, out
    code, out, _ = henb_bench(capsys, "history", "--unit", "henb-01")
    assert re.search(r"5\.3\.2\s+│\s+2\s+│\s+2✓\s+│\s+3✓\s+│\s+1✗\s+│\s+1✗", out), out
    code, out, _ = henb_bench(capsys, "diff", "20260105-02001", "20260106-02001")
    assert re.search(r"test\s+│\s+test_expedited_alarm_is_reported_at_once\s+│\s+passed\s+│\s+failed", out), (
        out
    )
    code, _, err = henb_bench(capsys, "history", "--trend", "boot")
    assert code == 2 and "no such measurement stored; stored: boot_time, first_inform" in err


def test_no_history_yet_says_how_to_make_one(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = henb_bench(capsys, "history", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert code == 2 and "no results history at" in err and "history import RUN_DIR" in err


def test_the_page_draws_the_matrix_and_trends_in_chromium(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Path(CHROMIUM).exists(), "Debian package chromium is needed (the Makefile installs it)"
    henb_bench(capsys, "history", "import", *map(str, write_nights(tmp_path / "captures")))
    page = tmp_path / "morning.html"
    code, out, _ = henb_bench(capsys, "history", "--html", str(page))
    assert code == 0 and out.strip() == str(page)
    html = page.read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert len(re.findall(r"<table class=\"matrix\"", dom)) == 2  # FAP-100, FAP-200
    assert dom.count("<svg") == 4  # boot_time and first_inform, of each product class
    assert "<h3>boot_time (s), FAP-200</h3>" in dom
    assert len(re.findall(r"<circle ", dom)) == 2 * 18  # one point per unit run
    assert re.search(r'<td class="error">5✓ 1!</td>', dom), "a bench error among passes is marked"
    assert re.search(r'<td class="failed">[^<]*1\.2</td>', dom), "the first failure is marked"


def test_a_run_records_itself_and_an_unreachable_database_changes_no_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`henb-bench run` as far as its end (the plans' pytest run stood in for): the exit code goes into run.json
    and the history, or, the database gone, one line says so and the exit code stays the run's."""
    monkeypatch.delenv("HENB_BENCH_HISTORY_URL", raising=False)
    inv_path = write_inventory(tmp_path / "inventory.yaml")
    data = yaml.safe_load(inv_path.read_text())
    data["bench"]["state_dir"] = str(tmp_path / "state")
    inv_path.write_text(yaml.safe_dump(data))

    def plans(args: object, inv: Path, out: Path, run_id: str, plan_set: object) -> int:
        write_run(out, run_id, [UnitSpec(tests=[Test("t", "5.3.2", "failed", "2")])])
        return 1

    monkeypatch.setattr(cli, "_run_plans", plans)
    code, _, err = henb_bench(
        capsys, "--inventory", str(inv_path), "run", "--out", str(tmp_path / "captures")
    )
    assert code == 1
    assert f"results history: run recorded in sqlite:///{tmp_path}/state/history.sqlite" in err
    [run_dir] = (tmp_path / "captures").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["exit_code"] == 1

    data["history"] = {"url": UNREACHABLE}
    inv_path.write_text(yaml.safe_dump(data))
    monkeypatch.setattr("time.strftime", lambda *a: "20260102-000000")  # another run id
    code, _, err = henb_bench(
        capsys, "--inventory", str(inv_path), "run", "--out", str(tmp_path / "captures")
    )
    assert code == 1, err
    [line] = [line for line in err.splitlines() if "results history" in line]
    assert "run not recorded (history database postgresql+psycopg://bench:***@/henb" in line
    assert line.endswith(
        f"`henb-bench history import {tmp_path / 'captures' / '20260102-000000'}` loads it later"
    )
    assert "db-Pa55word" not in err


def test_history_import_takes_the_inventory_before_and_after() -> None:
    parse = cli.build_parser().parse_args
    assert parse(["history", "import", "D", "--inventory", "after.yaml"]).inventory == "after.yaml"
    assert parse(["--inventory", "before.yaml", "history", "import", "D"]).inventory == "before.yaml"
    assert parse(["history", "import", "D"]).inventory == "inventory.yaml"


def test_last_is_a_number_of_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = henb_bench(capsys, "history", "--last", "-3")
    assert code == 2 and "argument --last: expected a number of runs, 1 or more, not '-3'" in err

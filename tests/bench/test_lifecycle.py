"""A run cleans up after itself on every exit path; a run killed with SIGKILL is cleaned by `henb-bench clean`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from bench.inventory import load_inventory
from bench.network.state import leftovers, state_path
from bench.services.process import comm_of
from tests.support import PREFIX, ROOT, henb_bench, needs_root, without_http_skip

pytestmark = [pytest.mark.netns, needs_root()]


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed run's children are reaped by init, whenever it gets to them)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def assert_nothing_left(pids: list[int]) -> None:
    left = leftovers(PREFIX)
    assert left == {"namespaces": [], "links": []}, left
    alive = [(p, comm_of(p)) for p in pids if running(p)]
    assert not alive, f"processes still running: {alive}"


def recorded_pids(inventory: Path) -> list[int]:
    return [int(str(r["pid"])) for r in _records(inventory)]


def test_bad_inventory_exits_2_and_starts_nothing(tmp_path: Path, inventory: Path) -> None:
    bad = tmp_path / "inv.yaml"
    data = yaml.safe_load(inventory.read_text())
    data["units"]["henb-01"]["power"]["driver"] = "pdux"
    bad.write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(bad), "run")
    assert res.returncode == 2, res.stderr
    assert "units.henb-01.power.driver: found 'pdux'" in res.stderr
    assert leftovers(PREFIX)["namespaces"] == []


def test_full_plan_passes_and_leaves_nothing(tmp_path: Path, inventory: Path) -> None:
    res = henb_bench("--inventory", str(inventory), "run", "--out", str(tmp_path / "captures"))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    for clause in ("5.1.2.2", "5.1.3", "5.2.2", "5.2.3", "5.2.4", "5.3.1", "5.3.2", "5.4.1", "5.4.2"):
        assert f"PASSED  {clause}" in res.stdout
    run_dir = next((tmp_path / "captures").iterdir())
    summary = json.loads((run_dir / "run.json").read_text())
    outcomes = {r["clause"]: r["outcome"] for r in without_http_skip(summary["results"])}
    assert set(outcomes.values()) == {"passed", "not-applicable"}, outcomes
    assert outcomes["5.1.2.3"] == "not-applicable", outcomes  # a private unit: 5.1.2.3 is not for it
    test_dir = run_dir / "test_inform_after_ipsec_address_change"
    for name in ("outer.pcapng", "inner.pcapng", "timeline.jsonl", "serving-hems-transcript.txt"):
        assert (test_dir / name).stat().st_size > 0, name
    assert "VALUE CHANGE" in (test_dir / "serving-hems-transcript.txt").read_text()
    assert_nothing_left([])


def _start_run(tmp_path: Path, inventory: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "--inventory", str(inventory), "run", "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    # Wait until the run has daemons and a powered mock unit (its pid is recorded last).
    while time.monotonic() < deadline:
        if any("mock unit" in str(r) for r in _records(inventory)):
            return proc
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run never started its mock unit")


def _records(inventory: Path) -> list[dict[str, object]]:
    inv = load_inventory(inventory)
    path = state_path(inv.bench.state_dir, inv.bench.prefix)
    try:
        return list(json.loads(path.read_text())["pids"])
    except (FileNotFoundError, json.JSONDecodeError):
        return []


def test_sigterm_tears_everything_down(tmp_path: Path, inventory: Path) -> None:
    proc = _start_run(tmp_path, inventory)
    pids = recorded_pids(inventory)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 130
    assert_nothing_left(pids)


def test_a_run_interrupted_after_a_passed_test_has_not_passed(tmp_path: Path, inventory: Path) -> None:
    """SIGTERM (a nightly job cancelled) once a test has passed: exit 130, not 0; run.json and the report say
    the run is incomplete; what ran is kept; the bench is torn down."""
    out_dir = tmp_path / "out"
    proc = _start_run(out_dir, inventory)
    pids = recorded_pids(inventory)
    assert proc.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(180, proc.kill)  # a run that never gets to its second test
    timer.start()
    try:
        for line in proc.stdout:  # the progress lines: stop as the second test is set up
            lines.append(line)
            if ": setup" in line and any(": teardown" in seen for seen in lines):
                break
        proc.send_signal(signal.SIGTERM)
        lines.append(proc.stdout.read())
        proc.wait(timeout=60)
    finally:
        timer.cancel()
    out = "".join(lines)
    assert proc.returncode == 130, out[-3000:]
    assert "henb-bench: interrupted (SIGTERM): the run is incomplete" in out
    (run_dir,) = out_dir.iterdir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["interrupted"] == "SIGTERM"
    outcomes = [(r["test"], r["outcome"]) for r in record["results"]]
    assert "passed" in {o for _, o in outcomes}, (outcomes, out[-3000:])  # what ran before it is kept
    report = (run_dir / "report.html").read_text()
    assert "badge interrupted" in report and "SIGTERM: the run is incomplete" in report, outcomes
    assert_nothing_left(pids)


def test_clean_after_sigkill_leaves_nothing(tmp_path: Path, inventory: Path) -> None:
    proc = _start_run(tmp_path, inventory)
    pids = recorded_pids(inventory)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert leftovers(PREFIX)["namespaces"], "a killed run should have left its namespaces behind"
    res = henb_bench("--inventory", str(inventory), "clean")
    assert res.returncode == 0, res.stderr
    assert f"removed namespace {PREFIX}core" in res.stdout
    assert_nothing_left(pids)
    again = henb_bench("--inventory", str(inventory), "clean")
    assert "nothing left" in again.stdout

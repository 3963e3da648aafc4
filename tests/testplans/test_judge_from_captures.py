"""`henb-bench judge` on a real run's captures: the verdicts of the live run where the captures show the steps,
"not observable" (never failed) where they do not, and a failed verdict naming the step when the capture lacks
the unit's answer; `henb-bench rejudge` finds nothing that differs. One bench run (5.2.3, the inventory's two
units at once) for the module."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.inventory import load_inventory
from bench.report.redact import inventory_secrets
from tests.support import FAST_BOUNDS, ROOT, henb_bench, needs_root, run_results, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]
# The tests of the module's live run on one pytest-xdist worker (--dist loadgroup), so the run is made once:
# a module-scoped fixture is made again on every worker that runs one of its tests.
SHARED = pytest.mark.xdist_group("judge-from-captures-live")
TEST = "test_configuration_by_set_parameter_values"
UNIT = "henb-01"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A live run of 5.2.3 on the mock's two units: its folder and results (each unit's evidence in its folder)."""
    tmp = tmp_path_factory.mktemp("live")
    inventory = write_inventory(tmp / "inventory.yaml", FAST_BOUNDS, all_units=True)
    res = henb_bench(
        "--inventory", str(inventory), "run", "--clause", "5.2.3", "--out", str(tmp / "captures")
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return run_results(tmp / "captures")


def judged(out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    res = henb_bench("judge", *args, "--out", str(out))
    assert res.returncode in (0, 1), res.stdout[-3000:] + res.stderr[-3000:]
    run_dir = next(out.iterdir())
    return res, json.loads((run_dir / "run.json").read_text())


def by_test(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["test"]: r for r in summary["results"]}


@SHARED
def test_judged_from_captures_gives_the_live_verdicts(
    live: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    run_dir, results = live
    folder = run_dir / UNIT / TEST
    keylogs = sorted(folder.glob("*tls-keys.log"))
    args = [str(folder / "outer.pcapng"), str(folder / "inner.pcapng")]
    res, summary = judged(tmp_path, *args, *(["--keylog", str(keylogs[0])] if keylogs else []))
    assert summary["judged_from_evidence"] is True
    live_outcome = next(r["outcome"] for r in results if r["test"] == TEST and r["unit"] == UNIT)
    spv = by_test(summary)[TEST]
    assert spv["outcome"] == live_outcome == "passed", spv
    steps = {v["step"]: v for v in spv["verdicts"]}
    for step in ("ParameterKey", "S1"):
        assert steps[step]["outcome"] == "passed", steps[step]
        assert "wireshark -r " in steps[step]["hint"] and "frame.number==" in steps[step]["hint"]
    # the other clauses' judges on this test's captures: nothing they cannot see is a failure
    assert all(r["outcome"] != "failed" for r in summary["results"]), summary["results"]
    assert res.returncode == 0, res.stdout
    folder = next(tmp_path.iterdir())
    assert (folder / "junit.xml").is_file() and (folder / "report.html").is_file()
    # the captures carry the inventory's secrets (the connection-request password set at registration): the
    # judged folder does not
    secrets = inventory_secrets(load_inventory(ROOT / "inventory.yaml"))
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not [s for s in secrets if s in text], path


@SHARED
def test_the_outer_link_alone_shows_no_cwmp_step(
    live: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    run_dir, _ = live
    res, summary = judged(tmp_path, str(run_dir / UNIT / TEST / "outer.pcapng"), "--clause", "5.2.3")
    spv = by_test(summary)[TEST]
    assert spv["outcome"] == "not-observable", spv
    assert any(
        "ESP without SAs: only the outer link is visible" in note for note in summary["not_observable"]
    )
    assert {v["outcome"] for v in spv["verdicts"]} == {"not-observable"}
    assert "ESP without SAs: only the outer link is visible" in spv["message"]
    assert res.returncode == 0


@SHARED
def test_a_capture_without_the_spv_response_fails_step_2(
    live: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    run_dir, _ = live
    inner = run_dir / UNIT / TEST / "inner.pcapng"
    found = subprocess.run(
        ["tshark", "-r", str(inner), "-Y", 'http.file_data contains "SetParameterValuesResponse"', "-T", "fields",
         "-e", "frame.number"], capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert found, "the live capture has no SetParameterValuesResponse"
    edited = tmp_path / "inner-edited.pcapng"
    subprocess.run(["editcap", str(inner), str(edited), *found], check=True, capture_output=True)
    out = tmp_path / "judged"
    res, summary = judged(out, str(edited), "--clause", "5.2.3")
    spv = by_test(summary)[TEST]
    assert spv["outcome"] == "failed" and res.returncode == 1
    assert spv["message"].startswith("TS 32.593 5.2.3 step 2: expected SetParameterValuesResponse to ["), spv
    assert f"wireshark -r {edited} -Y frame.number==" in spv["message"]


@SHARED
def test_rejudge_finds_the_run_s_verdicts(live: tuple[Path, list[dict[str, Any]]]) -> None:
    run_dir, _ = live
    res = henb_bench("rejudge", str(run_dir))
    assert res.returncode == 0, res.stdout + res.stderr
    for unit in ("henb-01", "henb-02"):
        for test in (TEST, "test_invalid_set_is_refused_as_a_whole"):
            assert f"same     {unit} {test}: run passed, today passed" in res.stdout, res.stdout
    assert "4 test(s) judged again, 0 differ" in res.stdout


def test_cwmp_over_tls_is_read_with_the_key_log_only(tmp_path: Path) -> None:
    """The public Initial HeMS (5.1.2.3) speaks HTTPS on the outer link: the key log the HeMS wrote opens it."""
    inventory = write_inventory(tmp_path / "public.yaml", FAST_BOUNDS, {"initial_hems_access": "public"})
    res = henb_bench(
        "--inventory", str(inventory), "run", "--clause", "5.1.2.3", "--out", str(tmp_path / "run")
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    folder = run_results(tmp_path / "run")[0] / "test_discovery_via_initial_hems_on_public_internet"
    outer, keylog = folder / "outer.pcapng", folder / "initial-hems-tls-keys.log"
    judged(tmp_path / "with", str(outer), "--keylog", str(keylog), "--clause", "5.2.3")
    timeline = next((tmp_path / "with").iterdir()) / "timeline.jsonl"
    events = [json.loads(line) for line in timeline.read_text().splitlines()]
    informs = [e for e in events if e["kind"] == "inform" and e["data"]["hems"] == "initial-hems"]
    assert informs and "0 BOOTSTRAP" in informs[0]["data"]["events"], [e["kind"] for e in events]
    assert informs[0]["data"]["frames"] and informs[0]["data"]["capture"] == str(outer)
    _, closed = judged(tmp_path / "without", str(outer), "--clause", "5.2.3")
    timeline = next((tmp_path / "without").iterdir()) / "timeline.jsonl"
    assert not [line for line in timeline.read_text().splitlines() if '"source": "hems"' in line]
    assert any("is TLS without a key log: not observable" in note for note in closed["not_observable"])
    assert all(r["outcome"] != "failed" for r in closed["results"])

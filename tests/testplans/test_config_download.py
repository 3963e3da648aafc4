"""5.2.2 and 5.4.2 as a lab sets them up per unit: the unit's own configuration file, the FaultCodes of its TR-069
amendment, DownloadResponse Status 0, a reboot before TransferComplete, and the transfer protocols it lists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.mock import vendorfile
from tests.support import henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]

TAC = "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"
INTERVAL = "Device.ManagementServer.PeriodicInformInterval"


def unit_inventory(base: Path, out: Path, **unit: Any) -> Path:
    """`base` with these keys set on its (only) unit."""
    data = yaml.safe_load(base.read_text())
    next(iter(data["units"].values())).update(unit)
    out.write_text(yaml.safe_dump(data))
    return out


def run_5_2_2(
    inventory: Path, out: Path, *knobs: str, clauses: tuple[str, ...] = ("5.2.2",), first: bool = False
) -> tuple[int, str, dict[str, Any]]:
    """`henb-bench run` of the clauses: exit code, the summary and run.json."""
    args = [a for k in knobs for a in ("--misbehave", k)] + [a for c in clauses for a in ("--clause", c)]
    res = henb_bench("--inventory", str(inventory), "run", *args, *(["--exitfirst"] if first else []),
                     "--out", str(out))  # fmt: skip
    # the summary is the last "henb-bench:" paragraph but for the results history's line after it
    text = "".join(
        line
        for line in (res.stdout + res.stderr).splitlines(True)
        if not line.startswith("henb-bench: results history")
    )
    runs = sorted(out.iterdir()) if out.is_dir() else []
    run = json.loads((runs[-1] / "run.json").read_text()) if runs else {}
    # The run's summary: from its counts line on (a results-history line may follow it, "henb-bench: results ...").
    found = [m.start() for m in re.finditer(r"henb-bench: \d+ test\(s\)", text)]
    return res.returncode, text[found[-1] :] if found else text[-3000:], run


def outcomes(run: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["test"]: (r["outcome"], r.get("message") or "") for r in run["results"]}


def timeline(out: Path) -> list[dict[str, Any]]:
    run_dir = sorted(out.iterdir())[-1]
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("knob", ["download_status_0", "reboot_on_config_download"])
def test_a_unit_that_applies_at_once_or_reboots_passes(
    knob: str, fast_inventory: Path, tmp_path: Path
) -> None:
    # A boot banner the console shows at every boot (the mock's reboot prints "boot: up again"): the reboot
    # that applies the file is the plan's doing, not a crash.
    console = {"driver": "mock", "boot_banner": r"mock HeNB \S+ booting|boot: up again"}
    inventory = unit_inventory(fast_inventory, tmp_path / "banner.yaml", console=console)
    rc, summary, run = run_5_2_2(inventory, tmp_path / "out", knob)
    assert rc == 0, summary
    assert {o for o, _ in outcomes(run).values()} == {"passed"}, summary
    tc = [e for e in timeline(tmp_path / "out") if e["data"].get("method") == "TransferComplete"]
    informs = [e["data"]["events"] for e in timeline(tmp_path / "out") if e["kind"] == "inform"]
    if knob == "download_status_0":
        assert not tc, "a Status 0 unit sent TransferComplete: the knob did not take"
    else:  # the TransferComplete came in the session of the Inform after the reboot
        assert ["1 BOOT", "M Download", "7 TRANSFER COMPLETE"] in informs, informs
        reboots = [e for e in timeline(tmp_path / "out") if e["source"] == "unit" and e["kind"] == "reboot"]
        assert len(reboots) == 4, reboots  # one per protocol
        assert all(e["data"]["fault_code"] == 0 for e in tc if e["data"]["command_key"].startswith("dl-http"))


def test_status_0_before_the_file_is_applied_fails(fast_inventory: Path, tmp_path: Path) -> None:
    rc, summary, _ = run_5_2_2(
        fast_inventory, tmp_path / "out", "download_status_0", "transfer_complete_before_apply", first=True
    )
    assert rc == 1, summary
    assert (
        "TS 32.593 5.2.2 step 3: expected the downloaded configuration applied when the unit said so"
        in summary
    )
    assert "(DownloadResponse Status 0 (applied))" in summary and "read back" in summary


def test_an_amendment_1_unit_reports_9010(fast_inventory: Path, tmp_path: Path) -> None:
    cwmp_1_0 = {"cwmp_ns": "urn:dslforum-org:cwmp-1-0"}
    inventory = unit_inventory(fast_inventory, tmp_path / "amd1.yaml", cwmp_amendment=1, mock=cwmp_1_0)
    rc, summary, run = run_5_2_2(inventory, tmp_path / "good")
    assert rc == 0, summary
    faults = {e["data"]["command_key"]: e["data"]["fault_code"] for e in timeline(tmp_path / "good")
              if e["data"].get("method") == "TransferComplete"}  # fmt: skip
    assert faults["dl-fail-missing"] == faults["dl-fail-corrupt"] == faults["dl-fail-invalid"] == 9010, faults
    assert faults["dl-fail-wrong-password"] == 9012, faults
    # The twin: the same unit reporting the Amendment 2 codes fails, naming the code its amendment has.
    rc, summary, _ = run_5_2_2(inventory, tmp_path / "bad", "download_wrong_fault", first=True)
    assert rc == 1, summary
    for words in ("FaultCode 9010 for a missing file", "TR-069 Amendment 1 (CWMP 1.0)", "units.henb-01.cwmp_amendment",
                  "seen FaultCode 9016"):  # fmt: skip
        assert words in summary, summary


def test_the_units_own_file_is_served_as_it_is_and_read_back(fast_inventory: Path, tmp_path: Path) -> None:
    own = tmp_path / "henb 01.cfg"  # a name the file server cannot serve as it is
    own.write_bytes(vendorfile.build({TAC: "4321", INTERVAL: "77"}))
    cfg = {"path": str(own), "read_back": {TAC: "4321", INTERVAL: "77"}}
    inventory = unit_inventory(fast_inventory, tmp_path / "own.yaml", config_file=cfg)
    rc, summary, run = run_5_2_2(inventory, tmp_path / "out")
    assert rc == 0, summary
    results = outcomes(run)
    assert results["test_failing_download_reports_the_fault_and_changes_nothing[invalid]"][0] == "skipped"
    assert (
        "config_file.invalid"
        in results["test_failing_download_reports_the_fault_and_changes_nothing[invalid]"][1]
    )
    # 4 protocols, 3 failures (not the invalid file it names none of) and the untrusted file server's refusal.
    assert sum(o == "passed" for o, _ in results.values()) == 8, results
    events = timeline(tmp_path / "out")
    sizes = {
        e["data"].get("bytes") for e in events if e["source"] == "fileserver" and e["kind"] == "download"
    }
    assert len(own.read_bytes()) in sizes, sizes  # served as it is (HTTP; FTP and SFTP log no size)
    corrupted = [e for e in events if e["source"] == "bench" and e["kind"] == "corrupted-file"]
    assert corrupted and corrupted[0]["data"]["path"] == str(own), corrupted
    # The twin: a unit that says it is done before applying its own file fails on the inventory's read_back.
    rc, summary, _ = run_5_2_2(inventory, tmp_path / "bad", "transfer_complete_before_apply", first=True)
    assert rc == 1, summary
    assert "applied when TransferComplete is sent" in summary and "'77'" in summary, summary


def test_a_missing_config_file_is_a_config_error(fast_inventory: Path, tmp_path: Path) -> None:
    cfg = {"path": str(tmp_path / "nowhere.cfg"), "read_back": {TAC: "1"}}
    inventory = unit_inventory(fast_inventory, tmp_path / "missing.yaml", config_file=cfg)
    res = henb_bench("--inventory", str(inventory), "check")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "units.henb-01.config_file.path" in res.stderr and "expected a readable file" in res.stderr


def test_protocols_the_unit_does_not_list_are_skipped(fast_inventory: Path, tmp_path: Path) -> None:
    inventory = unit_inventory(fast_inventory, tmp_path / "https.yaml", transfer_protocols=["https"])
    rc, summary, run = run_5_2_2(inventory, tmp_path / "out", clauses=("5.2.2", "5.4.2"))
    assert rc == 0, summary
    results = outcomes(run)
    for test, (outcome, message) in results.items():
        if "[https]" in test or "failing" in test or "untrusted" in test:  # the refusals are over HTTPS
            assert outcome == "passed", (test, message)
        else:
            assert outcome == "skipped", (test, outcome)
            assert "is not in units.henb-01.transfer_protocols (https)" in message, message
    assert sum("[https]" in t for t in results) == 2


def test_a_unit_applying_the_valid_lines_of_its_refused_own_file_fails(
    fast_inventory: Path, tmp_path: Path
) -> None:
    # The unit's own file sets TAC and the interval; its invalid variant carries a TAC out of range beside the same
    # interval. After the successful downloads the unit already has the file's interval: the plan sets every
    # parameter of the file to another value before each failing download, so applying the interval shows.
    own, invalid = tmp_path / "own.cfg", tmp_path / "invalid.cfg"
    own.write_bytes(vendorfile.build({TAC: "4321", INTERVAL: "77"}))
    invalid.write_bytes(vendorfile.build({TAC: "70000", INTERVAL: "77"}))
    cfg = {"path": str(own), "invalid": str(invalid), "read_back": {TAC: "4321", INTERVAL: "77"}}
    inventory = unit_inventory(fast_inventory, tmp_path / "own.yaml", config_file=cfg)
    rc, summary, run = run_5_2_2(inventory, tmp_path / "out", "partial_download")
    assert rc == 1, summary
    results = outcomes(run)
    outcome, message = results["test_failing_download_reports_the_fault_and_changes_nothing[invalid]"]
    assert outcome == "failed", results
    assert "TS 32.593 5.2.2 step 3: expected nothing applied after a failed download" in message, message
    assert f"'{INTERVAL}': '76'" in message and f"'{INTERVAL}': '77'" in message, message
    # Every other failing download moved the file's parameters away first too, and a unit that applied nothing
    # of those passes them (the file server's refusal included).
    for how in ("wrong-password", "missing", "corrupt"):
        assert (
            results[f"test_failing_download_reports_the_fault_and_changes_nothing[{how}]"][0] == "passed"
        ), results
    assert results["test_download_from_untrusted_file_server_is_refused"][0] == "passed", results

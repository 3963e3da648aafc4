"""Correct units the plans must pass (issue 21, items 4 and 5; docs/s1-and-delayed-apply.md): one that waits to
be unlocked (TR-196 AdminState) before S1, one that respects the MME's TimeToWait, and one that answers
SetParameterValues with Status 1 (applied at the next boot), which the HeMS then reboots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import henb_bench, needs_root, without_http_skip

pytestmark = [pytest.mark.netns, needs_root()]

ADMIN_STATE = "FAPControl.LTE.AdminState"
# The mock's reboot prints this at every boot: the reboot the plan asked for is not a crash.
CONSOLE = {"driver": "mock", "boot_banner": r"mock HeNB \S+ booting|boot: up again"}


def inventory(base: Path, out: Path, operator: dict[str, Any] | None = None, **unit: Any) -> Path:
    data = yaml.safe_load(base.read_text())
    next(iter(data["units"].values())).update(unit)
    data["operator"].update(operator or {})
    out.write_text(yaml.safe_dump(data))
    return out


def run(inv: Path, out: Path, *args: str) -> tuple[int, str, list[dict[str, Any]], list[dict[str, Any]]]:
    """`henb-bench run ARGS`: exit code, output, the results and the timeline."""
    res = henb_bench("--inventory", str(inv), "run", *args, "--out", str(out))
    text = (res.stdout + res.stderr)[-4000:]
    (run_dir,) = out.iterdir()
    results = json.loads((run_dir / "run.json").read_text())["results"]
    events = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    return res.returncode, text, results, events


def s1ap(events: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    return [
        e for e in events if e["source"] == "mme" and e["kind"] == "s1ap" and e["data"]["message"] == message
    ]


def test_a_unit_that_waits_to_be_unlocked_passes_5_1_3(fast_inventory: Path, tmp_path: Path) -> None:
    rc, text, results, events = run(fast_inventory, tmp_path / "out", "--clause", "5.1.3",
                                    "--misbehave", "wait_for_admin_state")  # fmt: skip
    assert rc == 0 and {r["outcome"] for r in without_http_skip(results)} == {"passed"}, text
    # The registration values unlock the cell, and S1 setup came after them (the unit held it until then).
    # From the fresh unit's boot on (its 0 BOOTSTRAP Inform): before it, a unit configured by an earlier run (its
    # flash) starts S1 at boot. Ordered by time, each event stamped by its source where it happened (the HeMS
    # as it sends, the MME stand-in with the kernel's receive time), never by sequence: the console and the
    # SCTP reader report late, each at its own pace, and the unit's "AdminState = true" line came 11 ms before
    # its INIT on a quiet host, so a console reader that lagged more put the INIT first on the timeline.
    reset = max(
        (e["seq"] for e in events if e["source"] == "unit" and e["kind"] == "factory-reset"), default=0
    )
    fresh = next((e for e in events if e["seq"] > reset and e["kind"] == "inform"
                  and "0 BOOTSTRAP" in e["data"]["events"]), None)  # fmt: skip
    assert fresh is not None, "no 0 BOOTSTRAP Inform: the unit was not factory-fresh"
    unlocks = [
        e for e in events if e["kind"] == "rpc-sent" and e["data"].get("hems") == "serving-hems"
        and e["t"] > fresh["t"] and any(n.endswith(ADMIN_STATE) and v == "true"
                                        for n, v in (e["data"].get("values") or {}).items())
    ]  # fmt: skip
    assert unlocks, "the Serving HeMS did not set AdminState at registration"
    lines = [e for e in events if e["seq"] > reset and e["kind"] == "console-line"]
    assert not any("S1 setup waits to be unlocked" in e["data"]["line"] for e in lines)  # unlocked in time
    inits = [e for e in events if e["source"] == "mme" and e["kind"] == "sctp-init" and e["t"] > fresh["t"]]
    assert inits and all(i["t"] > unlocks[0]["t"] for i in inits), (unlocks[0], inits)


def test_a_unit_that_respects_time_to_wait_passes_5_1_3(fast_inventory: Path, tmp_path: Path) -> None:
    inv = inventory(fast_inventory, tmp_path / "ttw.yaml", {"s1_setup_failure": "misc:om-intervention"})
    rc, text, results, events = run(inv, tmp_path / "out", "--clause", "5.1.3")
    assert rc == 0 and {r["outcome"] for r in without_http_skip(results)} == {"passed"}, text
    failures = s1ap(events, "S1SetupFailure")
    assert failures and all(f["data"]["time_to_wait"] == "v1s" for f in failures)  # the IE by default
    # Over one association, the unit asked again only after the wait (TS 36.413 8.7.3.3); the plan waited
    # for it once (a retry follows a failure 1 s later).
    mme = [e for e in events if e["source"] == "mme"]
    waits = [
        b["t"] - a["t"]
        for a, b in zip(mme, mme[1:], strict=False)
        if a["kind"] == "s1ap" and a["data"]["message"] == "S1SetupFailure" and b["kind"] == "s1ap"
        and b["data"]["message"] == "S1SetupRequest"
    ]  # fmt: skip
    assert waits and all(w >= 1.0 for w in waits), waits


def test_a_unit_answering_status_1_is_rebooted_and_passes_5_2_2_and_5_2_3(
    fast_inventory: Path, tmp_path: Path
) -> None:
    inv = inventory(fast_inventory, tmp_path / "status1.yaml", console=CONSOLE)
    rc, text, results, events = run(inv, tmp_path / "out", "--clause", "5.2.2", "--clause", "5.2.3",
                                    "--misbehave", "spv_status_1")  # fmt: skip
    assert rc == 0 and {r["outcome"] for r in results} <= {"passed", "skipped"}, text
    reboots = [e for e in events if e["kind"] == "rpc-sent" and e["data"].get("method") == "Reboot"]
    assert len(reboots) == 1, reboots  # 5.2.3's set; 5.2.2 sets nothing with SetParameterValues
    informs = [e["data"] for e in events if e["kind"] == "inform" and e["seq"] > reboots[0]["seq"]]
    first = list(zip(informs[0]["events"], informs[0]["command_keys"], strict=True))
    assert ("1 BOOT", "") in first and any(
        n == "M Reboot" and k.startswith("reboot-cm-5.2.3-") for n, k in first
    )
    # S1 carried the new TAC only from the boot on: an S1 Setup Request, no eNB Configuration Update before it.
    setups = [e for e in s1ap(events, "S1SetupRequest") if e["seq"] > reboots[0]["seq"]]
    assert setups, "no S1 setup after the reboot"


def test_a_unit_applying_a_download_at_its_next_boot_is_rebooted_and_passes_5_2_2(
    fast_inventory: Path, tmp_path: Path
) -> None:
    inv = inventory(
        fast_inventory, tmp_path / "dl-at-boot.yaml", console=CONSOLE, download_applied_at_reboot=True
    )
    rc, text, results, events = run(inv, tmp_path / "out", "--clause", "5.2.2",
                                    "--misbehave", "download_applied_at_reboot")  # fmt: skip
    assert rc == 0 and {r["outcome"] for r in results} <= {"passed", "skipped"}, text
    # The first test's Download (over http) is the first Status 1, the first Reboot its.
    reboot = next(e for e in events if e["kind"] == "rpc-sent" and e["data"].get("method") == "Reboot")
    after = [e["data"] for e in events if e["kind"] == "inform" and e["seq"] > reboot["seq"]]
    first = list(zip(after[0]["events"], after[0]["command_keys"], strict=True))
    assert ("1 BOOT", "") in first and ("M Reboot", "reboot-dl-http-") in [(n, k[:15]) for n, k in first]
    assert [(n, k[:7]) for n, k in first if n == "M Download"] == [("M Download", "dl-http")]
    done = [e for e in events if e["kind"] == "cpe-rpc" and e["data"].get("method") == "TransferComplete"]
    assert done and done[0]["seq"] > reboot["seq"]  # reported only after the boot


def test_without_the_setting_a_unit_waiting_for_a_reboot_fails_saying_so(
    fast_inventory: Path, tmp_path: Path
) -> None:
    inv = inventory(fast_inventory, tmp_path / "dl-no-setting.yaml", console=CONSOLE)
    rc, text, results, _ = run(inv, tmp_path / "out", "--clause", "5.2.2", "-x",
                               "--misbehave", "download_applied_at_reboot")  # fmt: skip
    assert rc == 1, text
    (failed,) = [r for r in results if r["outcome"] == "failed"]
    assert "download_applied_at_reboot is false" in failed["message"], failed["message"]

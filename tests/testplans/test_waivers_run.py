"""Waivers through a real run (bench/waivers.py, units.NAME.waivers): a waived impostor is not presented, a
failure at a waived step is `waived`, never passed, and run.json, the summary and the report say so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]


def _run(
    inventory: Path, tmp_path: Path, waivers: list[dict[str, str]], knob: str
) -> tuple[int, str, dict[str, Any]]:
    data = yaml.safe_load(inventory.read_text())
    next(iter(data["units"].values()))["waivers"] = waivers
    path = tmp_path / "waived.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "captures"
    res = henb_bench(
        "--inventory", str(path), "run", "--clause", "5.1.2.2", "--misbehave", knob, "--out", str(out)
    )
    (run,) = out.glob("*/run.json")
    return res.returncode, res.stdout + res.stderr, json.loads(run.read_text())


def test_a_waived_impostor_is_not_presented_and_never_shown_passed(
    fast_inventory: Path, tmp_path: Path
) -> None:
    # The unit accepts an expired SeGW certificate; the lab waived that check: the impostor is not presented.
    reason = "no RTC before NTP (vendor ticket 1234)"
    code, out, run = _run(fast_inventory, tmp_path, [{"check": "5.1.2.2/1.3/expired", "reason": reason}],
                          "accept_expired_segw_cert")  # fmt: skip
    assert code == 0, out[-3000:]
    assert run["waivers"] == [
        {"unit": "henb-01", "check": "5.1.2.2/1.3/expired", "clause": "5.1.2.2", "step": "1.3",
         "what": "refuses an impostor Initial SeGW with an expired certificate from the operator CA",
         "reason": reason, "waiver": "5.1.2.2/1.3/expired"},
    ]  # fmt: skip
    assert "WAIVED  henb-01    5.1.2.2/1.3/expired: refuses an impostor" in out and reason in out
    (folder,) = (tmp_path / "captures").glob("*/")
    timeline = (folder / "timeline.jsonl").read_text()
    presented = [json.loads(line)["data"]["impostor"] for line in timeline.splitlines()
                 if '"impostor"' in line and '"presented"' in line]  # fmt: skip
    assert presented == ["untrusted_ca", "wrong_name", "weak_proposal"]
    report = (folder / "report.html").read_text()
    assert "Waived checks" in report and "<span class='waived'>waived</span> step 1.3" in report


def test_a_failure_at_a_waived_step_is_waived(fast_inventory: Path, tmp_path: Path) -> None:
    # 2.1 (the Inform's DeviceId, BOOTSTRAP, authentication) waived: the unit's missing 0 BOOTSTRAP is not counted.
    code, out, run = _run(fast_inventory, tmp_path, [{"check": "5.1.2.2/2.1", "reason": "vendor limitation"}],
                          "no_bootstrap")  # fmt: skip
    assert code == 0, out[-3000:]
    (result,) = run["results"]
    assert result["outcome"] == "waived"
    assert result["message"].startswith(
        "waived (5.1.2.2/2.1, units.henb-01.waivers: vendor limitation); the failure:"
    )
    assert "0 BOOTSTRAP" in result["message"] and "1 waived" in out

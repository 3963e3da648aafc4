"""The plans read every path from the unit's data-model profile (units.NAME.data_model): none names a root
itself; an InternetGatewayDevice unit with the tr098 profile passes the whole plan; the wrong profile fails
naming the path the unit does not have."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT, henb_bench, needs_root

PLANS = ROOT / "testplans"


def test_no_plan_names_a_data_model_root() -> None:
    found = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in sorted(PLANS.rglob("*.py"))
        for n, line in enumerate(f.read_text().splitlines(), 1)
        if re.search(r"\b(Device|InternetGatewayDevice)\.[A-Z]", line)
    ]
    assert found == [], "paths belong in bench/profiles, read through unit.paths:\n" + "\n".join(found)


def _igd(inventory: Path, profile: str | None) -> Path:
    """The inventory's unit as an InternetGatewayDevice mock, with `profile` (None: the default, tr181)."""
    data = yaml.safe_load(inventory.read_text())
    unit = next(iter(data["units"].values()))
    unit["mock"] = {"data_model": "igd"}
    if profile:
        unit["data_model"] = {"profile": profile}
    out = inventory.with_name(f"igd-{profile or 'default'}.yaml")
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.netns
@needs_root()
def test_igd_unit_with_the_tr098_profile_passes_the_whole_plan(inventory: Path, tmp_path: Path) -> None:
    out = tmp_path / "captures"
    res = henb_bench("--inventory", str(_igd(inventory, "tr098")), "run", "--out", str(out), timeout=900)
    summary = res.stdout[res.stdout.rfind("henb-bench:") :]
    assert res.returncode == 0, summary[-4000:] or res.stderr[-3000:]
    assert "FAILED" not in summary and "ERROR" not in summary, summary
    run = json.loads((next(out.iterdir()) / "run.json").read_text())
    assert run["data_model"]["name"] == "tr098" and run["data_model"]["root"] == "InternetGatewayDevice."
    results = run["results"]
    assert {r["clause"] for r in results if r["outcome"] == "passed"} == {
        "5.1.2.2", "5.1.3", "5.2.2", "5.2.3", "5.2.4", "5.3.1", "5.3.2", "5.4.1", "5.4.2",
    }  # fmt: skip
    assert {r["clause"] for r in results if r["outcome"] == "not-applicable"} == {"5.1.2.3"}  # a private one
    # What crossed the HeMSs is the IGD unit's own names, never Device:2's.
    timeline = (next(out.iterdir()) / "timeline.jsonl").read_text()
    assert "InternetGatewayDevice.FAP.Tunnel.CryptoProfile.1.Enable" in timeline
    assert "InternetGatewayDevice.FAP.Tunnel.IKESA.1.IPAddress" in timeline
    assert not re.search(r'"Device\.[A-Z]', timeline)


@pytest.mark.netns
@needs_root()
def test_tr181_profile_on_an_igd_unit_fails_naming_the_unknown_path(
    fast_inventory: Path, tmp_path: Path
) -> None:
    res = henb_bench("--inventory", str(_igd(fast_inventory, None)), "run", "--clause", "5.1.2.2",
                     "--clause", "5.3.1", "--out", str(tmp_path / "captures"))  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 1, f"expected exit 1 (unit failed), got {res.returncode}:\n{out[-3000:]}"
    summary = out[out.rfind("henb-bench:") :]
    gw = "Device.Services.FAPService.1.FAPControl.LTE.Gateway.SecGWServer1"
    # The discovery plan at the step of the assignment, the others at their pre-condition.
    assert "FAILED  5.1.2.2" in summary and "TS 32.593 5.1.2.2 step 3.2: expected" in summary, summary
    assert f"ParamFault(name='{gw}', code=9005" in summary, summary
    assert "FAILED  5.3.1" in summary, summary
    assert f"the unit refused the Serving SeGW/HeMS assignment: fault 9003 ({gw} 9005" in summary, summary
    assert "(paths from units.henb-01.data_model, profile tr181)" in summary, summary


@pytest.mark.netns
@needs_root()
def test_an_override_the_unit_lacks_fails_at_registration_naming_it(
    fast_inventory: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load(fast_inventory.read_text())
    tac = "Device.Services.FAPService.1.CellConfig.LTE.EPC.X_ACME_TAC"
    next(iter(data["units"].values()))["data_model"] = {"overrides": {"tac": tac}}
    inventory = tmp_path / "override.yaml"
    inventory.write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(inventory), "run", "--clause", "5.2.3", "--exitfirst",
                     "--out", str(tmp_path / "captures"))  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 1, f"expected exit 1 (unit failed), got {res.returncode}:\n{out[-3000:]}"
    summary = out[out.rfind("henb-bench:") :]
    assert "FAILED  5.2.3" in summary and "registered with the Serving HeMS (pre-condition)" in summary, (
        summary
    )
    assert f"the unit refused the registration: fault 9003 ({tac} 9005 Invalid parameter name)" in summary, (
        summary
    )

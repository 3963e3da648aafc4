"""The mock in its "real unit" profile, attached through the simulated lab the physical way (PDU outlet, serial
console over a socket, its own NIC): a device certificate from a vendor CA apart from the operator's, its
configuration kept in flash, NTP at boot, a TR-098 InternetGatewayDevice data model, a vendor console dialect
reached only through the inventory's action templates, and connection-request credentials it learns only from the
Serving HeMS. The whole plan must pass so, and the evidence must show each of these was really in play."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bench.inventory import load_inventory
from bench.network.state import leftovers
from tests.bench.lab.test_lab import Lab, lab_prefix, outer_ports
from tests.support import PREFIX, henb_bench, needs_root, run_results, without_http_skip
from tests.testplans.test_unit_action_templates import VENDOR

pytestmark = [pytest.mark.netns, needs_root()]


def real_unit_inventory(base: Path, out: Path) -> Path:
    data = yaml.safe_load(base.read_text())
    unit = next(iter(data["units"].values()))
    unit.update(VENDOR)  # the vendor CLI and the templates a lab writes for it
    unit["mock"] = {
        **VENDOR["mock"],
        "vendor_ca": True,  # device certificate from the vendor's CA; the lab hands its root to the inventory
        "data_model": "igd",  # the unit's firmware speaks TR-098 + TR-196 + TR-262
        "flash": True,  # what the HeMSs configured survives power-off
    }
    unit["data_model"] = "tr098"  # the lab's profile for it
    unit["identity"]["ike_id"] = "*-MOCK0001.henb"  # the identity as its certificate names it, as a pattern
    unit["connection_request"] = {"set": {"username": "acs-lab", "password": "lab-cr-secret"}}
    out.write_text(yaml.safe_dump(data))
    return out


def test_whole_plan_with_a_real_unit_profile_through_the_lab(fast_inventory: Path, tmp_path: Path) -> None:
    lab = Lab(real_unit_inventory(fast_inventory, tmp_path / "real.yaml"), tmp_path, lab_prefix("r"))
    res = lab.cli("up", "--write", str(lab.inventory))
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        inv = load_inventory(lab.inventory)
        unit = inv.units["henb-01"]
        assert unit.kind == "physical" and unit.console.driver == "serial" and unit.wan.driver == "nic"
        assert [str(p) for p in inv.operator.pki.unit_trust] == [lab.spec()["vendor_ca_cert"]]

        out = tmp_path / "captures"
        res = henb_bench("--inventory", str(lab.inventory), "run", "--out", str(out), timeout=1200)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
        run_dir, results = run_results(out)
        assert {r["outcome"] for r in without_http_skip(results)} == {"passed", "not-applicable"}, results
        passed = {r["clause"] for r in results if r["outcome"] == "passed"}
        # Every clause of the private deployment (5.1.2.3 needs a public Initial HeMS).
        assert passed == {
            "5.1.2.2",
            "5.1.3",
            "5.2.2",
            "5.2.3",
            "5.2.4",
            "5.3.1",
            "5.3.2",
            "5.4.1",
            "5.4.2",
        }, results
        assert sum(r["outcome"] == "passed" and r["clause"] == "5.3.2" for r in results) == 4, results

        events = [json.loads(line) for line in (run_dir / "timeline.jsonl").open()]
        # The SeGWs trusted the unit through the vendor root only the lab's inventory names.
        logs = "".join(p.read_text(errors="replace") for p in (run_dir / "logs").glob("*charon.log"))
        assert "lab vendor root" in logs
        # TR-098 names in what the unit reported; no Device: 2 name at all.
        informs = [e for e in events if e["source"] == "hems" and e["kind"] == "inform"]
        names = {n for e in informs for n in e["data"].get("params", {})}
        assert names and all(n.startswith("InternetGatewayDevice.") for n in names), sorted(names)[:5]
        # The vendor CLI through the templates: the alarm actions were confirmed in its own words.
        confirmed = [e for e in events if e["kind"] == "action-confirmed"]
        assert any("FM-OK: alarm" in e["data"].get("line", "") for e in confirmed), confirmed[:3]
        # ... and 5.4.2's first PM file over each protocol came from a forced period (`pm rop close`), the one
        # to the file server it must refuse too.
        forced = [e for e in confirmed if "PM-OK: ROP closed" in e["data"].get("line", "")]
        first = [e["data"]["how"] for e in events if e["kind"] == "pm-first-file"]
        assert first and set(first) == {"forced"} and len(forced) == len(first), (first, confirmed)
        # Connection requests with the credentials the HeMS set: accepted, never refused for credentials.
        # (The two 5.2.3 sends to be refused, with no credentials and a wrong password, were: HTTP 401.)
        probes = [e for e in events if e["kind"] == "connection-request" and e["data"].get("probe")]
        assert [e["data"]["status"] for e in probes] == [401, 401], probes
        crs = [e for e in events if e["kind"] == "connection-request" and not e["data"].get("probe")]
        assert crs and all(e["data"].get("status") != 401 for e in crs), crs[:3]
        assert any(e["data"].get("status") in (200, 204) for e in crs), crs[:3]
        # NTP at boot, on the unit's cable (the outer capture), allowed by the outer-link policy.
        ports = outer_ports(run_dir / "test_discovery_via_initial_hems_in_private_network" / "outer.pcapng")
        assert {67, 68, 123, 500, 4500} <= ports, sorted(ports)
        # The configuration it was given is in its flash: a second run must reset it to bootstrap again.
        assert "serving" in json.loads((lab.dir / "unit" / "flash.json").read_text())
        assert leftovers(PREFIX) == {"namespaces": [], "links": []}
    finally:
        down = lab.cli("down")
        assert down.returncode == 0, down.stderr
        assert leftovers(lab.prefix) == {"namespaces": [], "links": []}

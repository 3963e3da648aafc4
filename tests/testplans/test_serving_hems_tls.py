"""The Serving HeMS over HTTPS (operator.serving_hems_tls): the Initial HeMS hands out https://, the Serving HeMS
listens with its certificate from the operator CA and a key log, and 5.1.3 shows the unit its bad certificates
(untrusted CA, expired, another name, again on the retry), each refused in the handshake, before the good one;
over http:// (the default) that test is skipped saying why. Judged again from the evidence: the same verdict."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from bench.inventory import parse_inventory
from testplans.ts32593 import test_5_1_3_registration as plan
from tests.support import FAST_BOUNDS, henb_bench, needs_root, run_results, write_inventory

TEST = "test_refuses_serving_hems_it_must_not_trust"


def test_the_setting_makes_the_url_the_initial_hems_hands_out_https(tmp_path: Path) -> None:
    data = yaml.safe_load(write_inventory(tmp_path / "inventory.yaml").read_text())
    assert (
        parse_inventory(data, Path("i.yaml")).operator.serving_hems_url
        == "http://shems.operator.example:7547/"
    )
    data["operator"]["serving_hems_tls"] = True
    op = parse_inventory(data, Path("i.yaml")).operator
    assert op.serving_hems_url == "https://shems.operator.example:7547/"


def test_over_http_the_refusal_test_is_skipped_saying_why() -> None:
    run = SimpleNamespace(inv=SimpleNamespace(operator=SimpleNamespace(serving_hems_tls=False)))
    with pytest.raises(
        pytest.skip.Exception, match=r"http:// inside the tunnel \(operator.serving_hems_tls is"
    ):
        plan.test_refuses_serving_hems_it_must_not_trust(run, None, None, None)  # type: ignore[arg-type]


@pytest.mark.netns
@needs_root()
def test_5_1_3_over_https_refuses_each_bad_certificate_then_registers(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path / "inventory.yaml", FAST_BOUNDS, operator={"serving_hems_tls": True})
    res = henb_bench("--inventory", str(inventory), "run", "--clause", "5.1.3", "--out", str(tmp_path / "out"),
                     timeout=600)  # fmt: skip
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    run_dir, results = run_results(tmp_path / "out")
    assert {r["test"]: r["outcome"] for r in results}[TEST] == "passed", results
    assert (run_dir / "logs" / "serving-hems-tls-keys.log").stat().st_size > 0
    # Each bad certificate was refused with the unit's alert, seen by the Serving HeMS; the wrong name twice.
    events = [json.loads(line) for line in (run_dir / TEST / "timeline.jsonl").read_text().splitlines()]
    refused = [e["data"] for e in events if e["kind"] == "tls-handshake-failed"]
    assert [d["cert"] for d in refused] == ["untrusted-ca", "expired", "wrong-name", "wrong-name"], refused
    assert all(d["hems"] == "serving-hems" and d["alert"] for d in refused), refused
    informs = [e for e in events if e["kind"] == "inform" and e["data"]["hems"] == "serving-hems"]
    shown = [e for e in events if e["kind"] == "hems-cert"]
    assert shown[-1]["data"]["cert"] == "right" and informs and informs[-1]["seq"] > shown[-1]["seq"]
    # The evidence alone (the inner capture opened with the key log) gives the same verdicts.
    again = henb_bench("--inventory", str(inventory), "rejudge", str(run_dir))
    assert again.returncode == 0 and "0 differ" in again.stdout, again.stdout + again.stderr
    assert f"same     {TEST}: run passed, today passed" in again.stdout, again.stdout

"""Whose fault: a tripped supply or a PDU that does not answer is the bench's (JUnit error, exit 3), a crash on
the console is the unit's (JUnit failure naming the crash, exit 1); and the factory-reset transition."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pyroute2 import IPRoute

from bench.inventory import load_inventory
from bench.run import BenchRun
from bench.timeline import Event
from bench.unit import State
from tests.support import FAST_BOUNDS, HTTP_SERVING_HEMS_SKIP, PREFIX, ROOT, needs_root, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]


def _run(
    inventory: Path, out: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "--inventory", str(inventory), "run", "--out", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )  # fmt: skip


def _junit(out: Path) -> ET.Element:
    run_dir = next(out.iterdir())
    return ET.parse(run_dir / "junit.xml").getroot()


def _results(out: Path) -> list[dict[str, object]]:
    return list(json.loads((next(out.iterdir()) / "run.json").read_text())["results"])


def test_supply_trip_during_a_test_is_a_bench_error_not_the_units(
    fast_inventory: Path, tmp_path: Path
) -> None:
    out = tmp_path / "captures"
    res = _run(fast_inventory, out, "--clause", "5.2.3", env={"PYTEST_ADDOPTS": "-p tests.supply_trip_hook"})
    text = res.stdout + res.stderr
    assert res.returncode == 3, text[-3000:]
    cases = _junit(out).findall(".//testcase")
    assert cases and all(c.find("error") is not None and c.find("failure") is None for c in cases), text[
        -3000:
    ]
    results = _results(out)
    assert {r["outcome"] for r in results} == {"error"}, results
    assert all("over-current protection tripped" in str(r["message"]) for r in results), results
    assert all(r["error_kind"] == "InfraError" for r in results), results
    assert "ERROR   5.2.3" in res.stdout and "FAILED" not in res.stdout.split("henb-bench:")[-1]
    events = [json.loads(line) for line in (next(out.iterdir()) / "timeline.jsonl").read_text().splitlines()]
    assert any(
        e["source"] == "unit" and e["kind"] == "health" and e["data"]["verdict"] == "infra" for e in events
    )


def test_panic_on_the_console_is_a_unit_failure_naming_the_crash(tmp_path: Path) -> None:
    # A boot bound that a loaded machine cannot overrun: the crash must be what ends the test, not a slow boot.
    inventory = write_inventory(tmp_path / "inventory.yaml", {**FAST_BOUNDS, "boot": 60})
    out = tmp_path / "captures"
    # One test is enough to see whose fault a crash is (--exitfirst): the unit answers nothing once it has
    # panicked, so each further test only waits out its bounds (a factory reset it never does: bounds.boot).
    res = _run(inventory, out, "--clause", "5.2.3", "--misbehave", "kernel_panic", "--exitfirst")
    text = res.stdout + res.stderr
    assert res.returncode == 1, text[-3000:]
    cases = _junit(out).findall(".//testcase")
    assert len(cases) == 1 and cases[0].find("failure") is not None, text[-3000:]
    first = _results(out)[0]
    assert first["outcome"] == "failed" and first["error_kind"] == "DeviceError", first
    message = str(first["message"])
    assert "henb-01 crashed" in message and "Kernel panic - not syncing" in message, message
    assert "'Kernel panic'" in message  # the signature it matched


@pytest.fixture
def nic() -> Iterator[str]:
    """A veth standing in for the bench NIC a physical unit's WAN cable is plugged into."""
    # The test prefix's letters without its dash: not a name the run's own leftover check claims.
    name = f"{PREFIX.rstrip('-')}n{os.getpid() % 10000}"
    with IPRoute() as ipr:
        ipr.link("add", ifname=name, kind="veth", peer=name + "p")  # no dummy module here
    try:
        yield name
    finally:
        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=name)
            if found:
                ipr.link("del", index=found[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_pdu_that_does_not_answer_is_exit_3(tmp_path: Path, nic: str) -> None:
    # The console answers (a ser2net-like TCP port); the HTTP PDU's port is closed.
    console = socket.socket()
    console.bind(("127.0.0.1", 0))
    console.listen(4)
    data = yaml.safe_load(write_inventory(tmp_path / "base.yaml").read_text())
    unit = data["units"]["henb-01"]
    unit["power"] = {
        "driver": "http-pdu", "url": f"http://127.0.0.1:{_free_port()}", "outlet": 1, "timeout": 1,
        "on_request": {"method": "POST", "path": "/outlets/{outlet}/on"},
        "off_request": {"method": "POST", "path": "/outlets/{outlet}/off"},
    }  # fmt: skip
    unit["console"] = {"driver": "serial", "url": f"socket://127.0.0.1:{console.getsockname()[1]}"}
    unit["wan"] = {"driver": "nic", "ifname": nic}
    inventory = tmp_path / "physical.yaml"
    inventory.write_text(yaml.safe_dump(data))
    out = tmp_path / "captures"
    try:
        res = _run(inventory, out, "--clause", "5.1.3")
    finally:
        console.close()
    assert res.returncode == 3, (res.stdout + res.stderr)[-3000:]
    # Every test of the clause is the bench's error, none the unit's failure.
    assert "0 passed, 0 failed" in res.stdout and "ERROR   5.1.3" in res.stdout, res.stdout[-2000:]
    assert "HTTP PDU http://127.0.0.1" in res.stdout, res.stdout[-2000:]
    cases = [c for c in _junit(out).findall(".//testcase") if c.get("name") != HTTP_SERVING_HEMS_SKIP]
    assert cases and all(c.find("error") is not None for c in cases)


def test_factory_reset_transition_with_flash(tmp_path: Path) -> None:
    inv = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"boot": 20, "step": 5}))
    run = BenchRun(inv, None, tmp_path / "captures", "run")
    run.start()
    try:
        unit, tl = run.unit, run.timeline

        def informs(hems: str, since: int) -> list[Event]:
            return [
                e
                for e in tl.events(since)
                if e.source == "hems" and e.kind == "inform" and e.data["hems"] == hems
            ]

        unit.transition(State.REGISTERED)
        # Registered, then switched off and on: from flash straight to the Serving HeMS, no bootstrap.
        boot = unit.transition(State.BOOTING)
        assert boot is not None
        unit.transition(State.REGISTERED)
        serving = informs("serving-hems", boot.mark)
        assert serving and "0 BOOTSTRAP" not in serving[0].data["events"], serving
        assert informs("initial-hems", boot.mark) == []
        # Factory-reset (the inventory's default: FactoryReset from the HeMS): it bootstraps again.
        fresh = unit.transition(State.FACTORY_FRESH)
        assert fresh is not None
        assert any(e.source == "unit" and e.kind == "factory-reset" for e in tl.events(boot.mark))
        inf = run.topology.hems["initial-hems"].wait_inform(unit.serial, ["0 BOOTSTRAP"], 20, fresh.mark)
        assert inf.seq > fresh.mark
    finally:
        run.close()

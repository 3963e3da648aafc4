"""The simulated lab as a labgrid place: a real labgrid-coordinator and labgrid-exporter on 127.0.0.1 export the
lab's PDU outlet (through labgrid's `rest` power backend), its RFC 2217 console port and its NIC; `henb-bench run`
acquires the place, powers and boots the mock unit through it and releases it; a second bench waits for it and
exits 3 naming the holder; a bench killed with -9 while it holds the place leaves it to `henb-bench clean`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pyroute2 import IPRoute

from bench.inventory import load_inventory
from bench.lab.lab import MOCK_BANNER
from bench.network.state import leftovers
from bench.place import record_path
from tests.labgrid_support import Lab, until
from tests.support import FAST_BOUNDS, PREFIX, ROOT, needs_root, write_inventory

pytest.importorskip("labgrid")
pytestmark = [pytest.mark.netns, needs_root(), pytest.mark.xdist_group("lab-labgrid")]
# The lab's own prefix, apart from the bench's, one per xdist worker (each builds this module's lab if it runs
# one of its tests) and per base prefix (two suites run side by side with hb- and hc- must not share a lab):
# "hb0-" gives "bq0-".
LAB_PREFIX = f"{PREFIX[1]}q{PREFIX.rstrip('-')[-1]}-"
PLACE = f"{PREFIX}bench"


def bench(
    inventory: Path, *args: str, user: str = "bench", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The real command line, as this bench host's user `user` to the coordinator (LG_USERNAME)."""
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "--inventory", str(inventory), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "LG_USERNAME": user},
    )


def on_host(ifname: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=ifname))


def forget_places(inventory: Path, coordinator: str) -> None:
    """Drop this lab's coordinator, now gone, from the record `clean` reads: a run of a failed test killed while
    it held the place left its entry, and every later `clean` with this prefix said it could not release it
    (the state directory outlives the suite: CI's next run on this host failed test_lifecycle's clean)."""
    record = record_path(load_inventory(inventory).bench.state_dir, PREFIX)
    if record.is_file():
        kept = [h for h in json.loads(record.read_text()) if h.get("coordinator") != coordinator]
        if kept:
            record.write_text(json.dumps(kept))
        else:
            record.unlink()


class Setup:
    def __init__(self, lab: Lab, inventory: Path, nic: str, out: Path) -> None:
        self.lab, self.inventory, self.nic, self.out = lab, inventory, nic, out


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("lab-labgrid")
    source = write_inventory(tmp / "inventory.yaml", FAST_BOUNDS)
    labdir, physical = tmp / "lab", tmp / "physical.yaml"

    def lab_cli(action: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return bench(source, "lab", action, "--prefix", LAB_PREFIX, "--state-dir", str(labdir), *extra)

    up = lab_cli("up", "--write", str(physical), "--console", "rfc2217")
    assert up.returncode == 0, up.stdout + up.stderr
    lab: Lab | None = None
    try:
        spec = json.loads((labdir / "lab.json").read_text())
        ready = json.loads((labdir / "ready.json").read_text())
        lab = Lab(tmp / "labgrid")
        port = ready["power_port"]
        lab.export(
            {
                "unit": {
                    "NetworkPowerPort": {
                        "model": "rest",
                        "host": f"http://admin:{spec['secret']}@127.0.0.1:{port}/api/outlets/{{index}}/value",
                        "index": 1,
                    },
                    "NetworkSerialPort": {
                        "host": "127.0.0.1",
                        "port": ready["console_ports"]["rfc2217"],
                        "protocol": "rfc2217",
                    },
                    "NetworkInterface": {"ifname": spec["bench_ifname"]},
                }
            }
        )
        lab.place(PLACE, "unit", product_class="MockHeNB")
        # The lab's physical inventory, its unit in the place instead of its PDU, console server and NIC.
        data = yaml.safe_load(physical.read_text())
        unit = next(iter(data["units"].values()))
        for key in ("power", "console", "wan"):
            del unit[key]
        unit["labgrid"] = {"coordinator": lab.address, "place": PLACE, "wait": 2, "boot_banner": MOCK_BANNER}
        inventory = tmp / "labgrid.yaml"
        inventory.write_text(yaml.safe_dump(data))
        yield Setup(lab, inventory, spec["bench_ifname"], tmp / "captures")
    finally:
        if lab is not None:
            lab.close()
            forget_places(physical, lab.address)
        down = lab_cli("down")
        assert down.returncode == 0, down.stderr
        assert leftovers(LAB_PREFIX) == {"namespaces": [], "links": []}


def test_a_second_bench_waits_then_names_the_holder_and_clean_releases_a_killed_one(setup: Setup) -> None:
    env = {**os.environ, "LG_USERNAME": "bench-a"}
    first = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "--inventory", str(setup.inventory), "run", "--clause", "5.1.2.2",
         "--out", str(setup.out / "a")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        until(lambda: (setup.lab.holder(PLACE) or "").endswith("/bench-a"))
        os.kill(first.pid, signal.SIGSTOP)  # it holds the place for as long as the second bench looks
        second = bench(
            setup.inventory, "run", "--clause", "5.1.2.2", "--out", str(setup.out / "b"), user="bench-b"
        )
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"place {PLACE} on coordinator {setup.lab.address} is held: {PLACE} by " in second.stderr
        assert "/bench-a since 20" in second.stderr and "units.henb-01.labgrid.wait" in second.stderr
        assert not (setup.out / "b").exists(), "the waiting bench started a run"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert setup.lab.holder(PLACE), "the killed bench's place is free before clean"
    clean = bench(setup.inventory, "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"released labgrid place {PLACE} on {setup.lab.address} (held as " in clean.stdout, clean.stdout
    assert setup.lab.holder(PLACE) is None
    assert leftovers(PREFIX) == {"namespaces": [], "links": []}
    assert on_host(setup.nic), "the place's NIC is not back on the host"


def test_a_run_in_the_place_powers_boots_and_checks_the_unit(setup: Setup) -> None:
    res = bench(
        setup.inventory, "run", "--place-tag", "product_class=MockHeNB", "--clause", "5.1.2.2", "--clause", "5.1.3",
        "--out", str(setup.out / "c"),
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"acquired labgrid place {PLACE} on {setup.lab.address}" in res.stderr
    assert "PASSED  5.1.2.2" in res.stdout and "PASSED  5.1.3" in res.stdout, res.stdout
    [run] = (setup.out / "c").iterdir()
    place = json.loads((run / "place.json").read_text())
    assert place["place"] == PLACE and place["power"]["driver"] == "labgrid"
    assert place["console"]["url"].startswith("rfc2217://127.0.0.1:") and place["wan"]["ifname"] == setup.nic
    events = [json.loads(line) for line in (run / "timeline.jsonl").read_text().splitlines()]
    switched = [e["data"] for e in events if e["source"] == "power" and e["kind"] == "power"]
    # off (power_off_time), on (the boot the plans watch), off at the end: all through labgrid's driver
    assert [(e["action"], e["driver"]) for e in switched][:2] == [("off", "labgrid"), ("on", "labgrid")], (
        switched
    )
    assert any(e["source"] == "console" and "booting" in e["data"].get("line", "") for e in events)
    assert setup.lab.holder(PLACE) is None, "the place was not released"
    assert on_host(setup.nic) and leftovers(PREFIX) == {"namespaces": [], "links": []}


def test_a_bench_stopped_by_sigterm_releases_the_place(setup: Setup) -> None:
    out = setup.out / "d"
    run = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "--inventory", str(setup.inventory), "run", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "LG_USERNAME": "bench-t"},
    )  # fmt: skip
    try:
        until(lambda: any(out.glob("*/timeline.jsonl")))  # the run is under way in the place
        assert (setup.lab.holder(PLACE) or "").endswith("/bench-t")
        os.kill(run.pid, signal.SIGTERM)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.kill(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
    assert setup.lab.holder(PLACE) is None, err
    assert on_host(setup.nic) and leftovers(PREFIX) == {"namespaces": [], "links": []}

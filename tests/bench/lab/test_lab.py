"""Tests for `henb-bench lab`: the simulated lab in real namespaces (names from the test prefix), its outlet
switching the mock unit, its console through the real SerialConsole driver, its NIC moved by NicWanPort, the
physical inventory it writes, a whole run through it, and `clean` after a killed run leaving the lab alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from pyroute2 import IPRoute, netns

from bench.capture import iter_ipv4
from bench.inventory import load_inventory
from bench.network.netns import netns_inode, pids_in_netns
from bench.network.state import leftovers
from drivers.config import build_power
from drivers.console import SerialConsole
from drivers.retry import poll
from drivers.wan import NicWanPort, find_nic
from tests.support import (
    FAST_BOUNDS,
    PREFIX,
    ROOT,
    henb_bench,
    needs_root,
    run_results,
    without_http_skip,
    write_inventory,
)

pytestmark = [pytest.mark.netns, needs_root()]


def lab_prefix(tag: str) -> str:
    """A lab prefix of its own per test (tests may run in parallel), apart from the bench's test prefix."""
    return f"{PREFIX.rstrip('-')[:2]}{tag}-"


def until(what: Callable[[], object], timeout: float = 30.0) -> bool:
    return bool(poll(what, bool, timeout, every=0.05))


def powered(namespace: str) -> bool:
    inode = netns_inode(namespace)
    return inode is not None and bool(pids_in_netns(inode))


def on_host(ifname: str) -> bool:
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=ifname))


class Lab:
    def __init__(self, inventory: Path, tmp: Path, prefix: str) -> None:
        self.source = inventory
        self.prefix = prefix
        self.dir = tmp / "lab"
        self.inventory = tmp / "physical.yaml"

    def cli(self, action: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return henb_bench("--inventory", str(self.source), "lab", action, "--prefix", self.prefix,
                          "--state-dir", str(self.dir), *extra)  # fmt: skip

    def spec(self) -> dict[str, str]:
        return dict(json.loads((self.dir / "lab.json").read_text()))


def lab_up(source: Path, tmp: Path, tag: str, *options: str) -> Lab:
    lab = Lab(source, tmp, lab_prefix(tag))
    res = lab.cli("up", "--write", str(lab.inventory), *options)
    assert res.returncode == 0, res.stdout + res.stderr
    return lab


def lab_down(lab: Lab) -> None:
    res = lab.cli("down")
    assert res.returncode == 0, res.stderr
    assert leftovers(lab.prefix) == {"namespaces": [], "links": []}


@pytest.fixture
def make_lab(fast_inventory: Path, tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    labs: list[Lab] = []

    def up(tag: str, *options: str) -> Lab:
        labs.append(lab_up(fast_inventory, tmp_path, tag, *options))
        return labs[-1]

    yield up
    for lab in labs:
        lab_down(lab)


# One lab as `lab up` makes it (an HTTP PDU, a socket console) for the tests that need no other: it is brought
# up and down once (about 2.5 s of CPU each, besides the lab hardware's own), its tests run on one pytest-xdist
# worker in the file's order (--dist loadgroup). The last of them kills the lab hardware; `lab down` still
# removes everything.
SHARED = pytest.mark.xdist_group("lab-default")


@pytest.fixture(scope="module")
def default_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("lab-default")
    lab = lab_up(write_inventory(tmp / "inventory.yaml", FAST_BOUNDS), tmp, "s")
    yield lab
    lab_down(lab)


@pytest.mark.parametrize(
    ("tag", "power", "console"),
    [pytest.param("a", "http", "socket", marks=SHARED), ("b", "snmp", "rfc2217"), ("h", "scpi", "socket")],
)
def test_lab_attaches_the_mock_the_physical_way(
    make_lab: Callable[..., Lab],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tag: str,
    power: str,
    console: str,
) -> None:
    if (power, console) == ("http", "socket"):  # lab up's defaults
        lab: Lab = request.getfixturevalue("default_lab")
    else:
        lab = make_lab(tag, "--power", power, "--console", console)
    spec = lab.spec()
    inv = load_inventory(lab.inventory)
    name, unit = inv.unit(None)
    assert unit.kind == "physical" and unit.wan.driver == "nic" and unit.console.driver == "serial"
    assert unit.power.driver == {"http": "http-pdu", "snmp": "snmp-pdu", "scpi": "scpi"}[power]
    assert unit.console.url.startswith(f"{console}://127.0.0.1:")
    assert inv.operator.pki.ca_cert is not None and inv.operator.pki.ca_key is not None
    for check in (("check",), ("check", "--probe")):
        res = henb_bench("--inventory", str(lab.inventory), *check)
        assert res.returncode == 0, res.stdout + res.stderr
    status = lab.cli("status")
    assert status.returncode == 0 and f"{spec['namespace']}: off" in status.stdout, status.stdout

    power = build_power(unit.power, unit=name)
    with SerialConsole(unit.console.url, tmp_path / "console.log", unit=name) as con:
        power.on()  # the real driver switches the simulated PDU's outlet: the mock unit boots
        assert until(lambda: powered(spec["namespace"])), "the outlet did not start the mock unit"
        con.expect(r"booting", timeout=30)
        con.write("hello-from-the-bench\n")  # and the other way: the unit reads its serial line
        con.expect(r"unknown command: hello-from-the-bench", timeout=30)
        assert "powered" in lab.cli("status").stdout
        power.off()
        assert until(lambda: not powered(spec["namespace"])), "the outlet did not stop the mock unit"
    assert power.state() is False

    home = f"{PREFIX}lab{tag}"  # stands in for the bench's home namespace
    netns.create(home)
    try:
        port = NicWanPort(spec["bench_ifname"], home)
        port.attach()
        assert not on_host(spec["bench_ifname"]) and find_nic(spec["bench_ifname"], PREFIX) == home
        port.detach()
        assert on_host(spec["bench_ifname"])
    finally:
        netns.remove(home)


def test_lab_refuses_the_bench_prefix(fast_inventory: Path, tmp_path: Path) -> None:
    res = henb_bench("--inventory", str(fast_inventory), "lab", "up", "--prefix", PREFIX, "--state-dir",
                     str(tmp_path))  # fmt: skip
    assert res.returncode == 2 and "--prefix" in res.stderr and "bench.prefix" in res.stderr
    assert leftovers(PREFIX + "u") == {"namespaces": [], "links": []}


def outer_ports(pcap: Path) -> set[int]:
    return {p for pkt in iter_ipv4(pcap) for p in (pkt.sport, pkt.dport) if p is not None}


@SHARED
def test_whole_plan_through_the_simulated_lab(default_lab: Lab, tmp_path: Path) -> None:
    lab = default_lab
    out = tmp_path / "captures"
    res = henb_bench("--inventory", str(lab.inventory), "run", "--out", str(out), timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    run_dir, results = run_results(out)
    assert {r["outcome"] for r in without_http_skip(results)} == {"passed", "not-applicable"}, (
        results
    )  # 5.1.2.3
    passed = {r["clause"] for r in results if r["outcome"] == "passed"}
    assert passed >= {"5.1.2.2", "5.1.3", "5.2.4", "5.4.2"}, results
    # The outer capture is the unit's cable: its DHCP (67/68) and IKE (500, 4500) cross it.
    ports = outer_ports(run_dir / "test_discovery_via_initial_hems_in_private_network" / "outer.pcapng")
    assert {67, 68, 500, 4500} <= ports, sorted(ports)
    assert leftovers(PREFIX) == {"namespaces": [], "links": []}
    assert on_host(lab.spec()["bench_ifname"])  # the NIC is given back

    # The unit kept its Serving SeGW/HeMS in flash: bootstrap again needs a factory reset (the HeMS's RPC).
    assert "serving" in json.loads((lab.dir / "unit" / "flash.json").read_text())
    again = tmp_path / "again"
    res = henb_bench("--inventory", str(lab.inventory), "run", "--clause", "5.1.2.2", "--out", str(again))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    events = [json.loads(line) for line in next(again.iterdir()).joinpath("timeline.jsonl").open()]
    assert any(e["kind"] == "rpc-sent" and e["data"].get("method") == "FactoryReset" for e in events)


@SHARED
def test_clean_after_a_killed_run_leaves_the_lab_alone(default_lab: Lab, tmp_path: Path) -> None:
    lab = default_lab
    spec = lab.spec()
    run = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "--inventory", str(lab.inventory), "run", "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert until(lambda: find_nic(spec["bench_ifname"], PREFIX) and powered(spec["namespace"]), 120), (
            "the run did not take the NIC and power the unit"
        )
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    assert leftovers(PREFIX)["namespaces"], "the killed run should have left its namespaces"
    res = henb_bench("--inventory", str(lab.inventory), "clean")
    assert res.returncode == 0, res.stderr
    assert f"moved {spec['bench_ifname']}" in res.stdout
    assert leftovers(PREFIX) == {"namespaces": [], "links": []}
    status = lab.cli("status")
    assert status.returncode == 0, status.stdout  # hardware running, namespace and cable whole
    assert on_host(spec["bench_ifname"]) and spec["namespace"] in netns.listnetns()
    assert yaml.safe_load(lab.inventory.read_text())["units"]  # the lab's inventory still describes it


def hardware_pid(lab: Lab) -> int:
    """The lab hardware daemon's PID, as `lab up` recorded it (the process this test started)."""
    state = json.loads((lab.dir / f"{lab.prefix}state.json").read_text())
    return int(next(p["pid"] for p in state["pids"] if p["what"] == "lab hardware"))


@SHARED
def test_a_pdu_that_does_not_answer_is_a_bench_error(default_lab: Lab, tmp_path: Path) -> None:
    lab = default_lab
    pid = hardware_pid(lab)
    out = tmp_path / "captures"
    os.kill(pid, signal.SIGSTOP)  # the PDU (and the console server) stop answering; TCP still connects
    try:
        res = henb_bench("--inventory", str(lab.inventory), "run", "--clause", "5.1.3", "--out", str(out))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert res.returncode == 3, res.stdout[-3000:]  # the bench's fault, not the unit's
    results = without_http_skip(json.loads(next(out.iterdir()).joinpath("run.json").read_text())["results"])
    # Each of the clause's tests (registration, impostor Serving SeGWs) meets the PDU that does not answer.
    assert [r["outcome"] for r in results] == ["error"] * len(results) and results, results
    assert "HTTP PDU" in results[0]["message"] and "timed out" in results[0]["message"], results
    assert leftovers(PREFIX) == {"namespaces": [], "links": []}


@SHARED
def test_status_says_when_the_lab_hardware_is_gone(default_lab: Lab) -> None:
    """The shared lab's last test (in the file's order): its hardware is gone after it."""
    lab = default_lab
    os.kill(hardware_pid(lab), signal.SIGKILL)
    assert until(lambda: lab.cli("status").returncode == 3), "status still says the lab is whole"
    assert "GONE" in lab.cli("status").stdout  # `lab down` (the fixture) still removes everything


def test_lab_refuses_a_physical_unit(tmp_path: Path) -> None:
    physical = tmp_path / "physical.yaml"
    physical.write_text((ROOT / "docs" / "inventory-physical.yaml").read_text())
    res = henb_bench("--inventory", str(physical), "lab", "up", "--prefix", lab_prefix("g"), "--state-dir",
                     str(tmp_path / "lab"))  # fmt: skip
    assert res.returncode == 2 and "lab-henb-07" in res.stderr and "physical" in res.stderr, res.stderr
    assert leftovers(lab_prefix("g")) == {"namespaces": [], "links": []}


def test_a_vendor_issued_device_certificate_through_the_lab(
    make_lab: Callable[..., Lab], fast_inventory: Path, tmp_path: Path
) -> None:
    """With mock.vendor_ca the lab provisions the unit from a vendor CA and hands its root to the inventory it
    writes (operator.pki.unit_trust), as a lab is given a vendor's root; the SeGWs trust it and the plan passes."""
    data = yaml.safe_load(fast_inventory.read_text())
    unit = next(iter(data["units"].values()))
    unit.setdefault("mock", {})["vendor_ca"] = True
    unit["identity"]["ike_id"] = "*-MOCK0001.henb"
    fast_inventory.write_text(yaml.safe_dump(data))
    lab = make_lab("v")
    inv = load_inventory(lab.inventory)
    assert [str(p) for p in inv.operator.pki.unit_trust] == [lab.spec()["vendor_ca_cert"]]
    out = tmp_path / "captures"
    res = henb_bench("--inventory", str(lab.inventory), "run", "--clause", "5.1.2.2", "--out", str(out))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    logs = next(out.iterdir()) / "logs"
    assert "lab vendor root" in "".join(p.read_text(errors="replace") for p in logs.glob("*charon.log"))

"""`henb-bench lab up/down/status`: a mock unit cabled to the bench the physical way (a PDU outlet, a console
server, a NIC) in a namespace of the lab's own, and the physical inventory that describes it."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pyroute2 import IPRoute, netns

from bench.errors import ConfigError, InfraError
from bench.inventory import Inventory, load_inventory, parse_inventory
from bench.lab.hardware import READY, SPEC
from bench.network.netns import in_netns, netns_inode, pids_in_netns, run_in_netns
from bench.network.state import RunState, clean, leftovers, state_path
from bench.pki import CertificateAuthority
from bench.services.process import comm_of, kill_pid
from drivers.retry import poll
from drivers.wan import find_nic

PREFIX_PATTERN = r"^[a-z][a-z0-9]{0,3}-$"
OUTLET = 1
POWER_NAMES = {
    "http": f"HTTP PDU outlet {OUTLET}",
    "snmp": f"SNMP PDU outlet {OUTLET}",
    "scpi": "SCPI supply",
}
# The first line the mock unit prints when it starts (bench/mock/henb.py).
MOCK_BANNER = r"mock HeNB \S+ booting"


@dataclass(frozen=True)
class LabPlace:
    """Where a lab lives: its prefix (every namespace and link it makes) and its state folder."""

    prefix: str
    labdir: Path

    @property
    def namespace(self) -> str:
        return f"{self.prefix}unit"

    @property
    def lab_ifname(self) -> str:
        return f"{self.prefix}u0"  # the unit's WAN port, inside the lab's namespace

    @property
    def bench_ifname(self) -> str:
        return f"{self.prefix}wan"  # the bench NIC it is cabled to, on the host

    @property
    def state(self) -> Path:
        return state_path(self.labdir, self.prefix)


def place(inv: Inventory, prefix: str, state_dir: str | None) -> LabPlace:
    if not re.match(PREFIX_PATTERN, prefix):
        raise ConfigError(
            f"--prefix {prefix!r}: expected 1-4 lower-case letters or digits and a dash, e.g. hbl-"
        )
    bench = inv.bench.prefix
    if prefix.startswith(bench) or bench.startswith(prefix):
        raise ConfigError(
            f"--prefix {prefix!r}: the lab needs a prefix of its own, apart from bench.prefix {bench!r} "
            "(`henb-bench clean` removes everything named with the bench's)"
        )
    labdir = Path(state_dir) if state_dir else inv.bench.state_dir / f"lab-{prefix.rstrip('-')}"
    return LabPlace(prefix, labdir)


def _sysctl(path: str, value: str) -> None:
    Path(path).write_text(value)


def _cable(where: LabPlace, st: RunState) -> None:
    """The lab's namespace, and a veth pair: the unit's end inside it, the bench's end on the host."""
    netns.create(where.namespace)
    st.add_namespace(where.namespace)
    for key in ("all", "default"):  # no MLD or router solicitations in the captures
        run_in_netns(where.namespace, _sysctl, f"/proc/sys/net/ipv6/conf/{key}/disable_ipv6", "1")
    with IPRoute() as ipr:
        ipr.link("add", ifname=where.bench_ifname, kind="veth", peer=where.lab_ifname)
        ipr.link("set", index=ipr.link_lookup(ifname=where.lab_ifname)[0], net_ns_fd=where.namespace)
        _sysctl(f"/proc/sys/net/ipv6/conf/{where.bench_ifname}/disable_ipv6", "1")
        ipr.link("set", index=ipr.link_lookup(ifname=where.bench_ifname)[0], state="up")

    def wake(ipr: IPRoute) -> None:
        for name in ("lo", where.lab_ifname):
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")

    in_netns(where.namespace, wake)


def _start_hardware(where: LabPlace, st: RunState, timeout: float = 30.0) -> dict[str, Any]:
    log = (where.labdir / "hardware.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.lab.hardware", str(where.labdir)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # outlives `lab up`, until `lab down`
    )
    log.close()
    # Not comm_of(pid): right after Popen the child may not have exec'd yet and still carry our name.
    st.add_pid(proc.pid, Path(sys.executable).name, "lab hardware")
    # Until the daemon says it is ready, or has exited.
    poll(lambda: (where.labdir / READY).exists() or proc.poll() is not None, bool, timeout, every=0.05)
    if (where.labdir / READY).exists():
        return dict(json.loads((where.labdir / READY).read_text()))
    tail = (where.labdir / "hardware.log").read_text(errors="replace").splitlines()[-15:]
    raise InfraError(
        f"lab hardware did not come up within {timeout:.0f} s; {where.labdir / 'hardware.log'} ends:\n  "
        + "\n  ".join(tail)
    )


def physical_inventory(
    source: dict[str, Any],
    unit: str,
    where: LabPlace,
    spec: dict[str, Any],
    ready: dict[str, Any],
    console: str,
) -> dict[str, Any]:
    """The source inventory with its mock unit described as lab hardware: the PDU, the console server, the NIC,
    and the operator CA the unit was provisioned with."""
    data = json.loads(json.dumps(source))  # a deep copy
    src = data["units"][unit]
    port, secret = ready["power_port"], spec["secret"]
    power: dict[str, Any]
    if spec["power"] == "scpi":
        power = {"driver": "scpi", "resource": f"TCPIP::127.0.0.1::{port}::SOCKET", "voltage": 12.0,
                 "current_limit": 2.0, "sample_seconds": 5.0}  # fmt: skip
    elif spec["power"] == "snmp":
        power = {"driver": "snmp-pdu", "host": "127.0.0.1", "port": port, "model": "apc", "outlet": OUTLET,
                 "community": secret}  # fmt: skip
    else:
        call = {"method": "PUT", "path": "/api/outlets/{outlet}"}
        power = {
            "driver": "http-pdu", "url": f"http://127.0.0.1:{port}", "outlet": OUTLET, "username": "admin",
            "password": secret, "on_request": {**call, "body": {"state": "on"}},
            "off_request": {**call, "body": {"state": "off"}},
            "state_request": {"method": "GET", "path": "/api/outlets/{outlet}"}, "state_path": "data.state",
            "state_on": "on", "state_off": "off",
        }  # fmt: skip
    unit_out = {k: v for k, v in src.items() if k not in ("power", "console", "wan", "mock")}
    unit_out["power"] = power
    unit_out["console"] = {
        "driver": "serial",
        "url": f"{console}://127.0.0.1:{ready['console_ports'][console]}",
        "boot_banner": MOCK_BANNER,  # seen again without the bench switching or resetting it: a reboot
    }
    unit_out["wan"] = {"driver": "nic", "ifname": where.bench_ifname}
    data["units"] = {unit: unit_out}
    pki = {"ca_cert": spec["ca_cert"], "ca_key": spec["ca_key"]}
    if spec.get("vendor_ca_cert"):  # the vendor root the lab was given with the unit
        pki["unit_trust"] = [spec["vendor_ca_cert"]]
    data.setdefault("operator", {})["pki"] = pki
    return data


def lab_up(
    inventory: Path,
    unit: str | None,
    prefix: str,
    state_dir: str | None,
    write: str | None,
    power: str = "http",
    console: str = "socket",
) -> tuple[Path, list[str]]:
    """Bring the lab up; return the inventory it wrote and what it made, one line each."""
    inv = load_inventory(inventory)
    name, cfg = inv.unit(unit)
    if cfg.kind != "mock":
        raise ConfigError(f"units.{name}: the simulated lab cables a mock unit; this one is physical")
    where = place(inv, prefix, state_dir)
    left = leftovers(prefix)
    if left["namespaces"] or left["links"] or (where.labdir / SPEC).exists():
        raise InfraError(
            f"a lab with prefix {prefix!r} is already up ({', '.join(left['namespaces'] + left['links'])}); "
            f"`henb-bench lab down --prefix {prefix}` first"
        )
    where.labdir.mkdir(parents=True, exist_ok=True)
    source = yaml.safe_load(inventory.read_text())
    (where.labdir / "source.yaml").write_text(yaml.safe_dump(source))
    ca = CertificateAuthority(where.labdir / "pki", name="lab operator CA").files
    spec = {
        "prefix": prefix,
        "unit": name,
        "namespace": where.namespace,
        "lab_ifname": where.lab_ifname,
        "bench_ifname": where.bench_ifname,
        "power": power,
        "console": console,
        "outlet": OUTLET,
        "secret": secrets.token_hex(8),
        "ca_cert": str(ca.cert),
        "ca_key": str(ca.key),
    }
    if cfg.mock.vendor_ca:  # the unit's device certificate comes from its vendor's CA, not the operator's
        vendor = CertificateAuthority(where.labdir / "vendor-pki", name="lab vendor root").files
        spec |= {"vendor_ca_cert": str(vendor.cert), "vendor_ca_key": str(vendor.key)}
    st = RunState(where.state, prefix)
    st.save()
    try:
        _cable(where, st)
        (where.labdir / SPEC).write_text(json.dumps(spec, indent=1))
        ready = _start_hardware(where, st)
        out = Path(write) if write else where.labdir / "inventory.yaml"
        data = physical_inventory(source, name, where, spec, ready, console)
        parse_inventory(data, out)  # what the lab writes must load
        out.write_text(
            "# Written by `henb-bench lab up`: the mock unit attached the physical way (simulated lab).\n"
            + yaml.safe_dump(data, sort_keys=False)
        )
        out.chmod(0o600)
    except BaseException:
        lab_down(where)
        raise
    u = data["units"][name]
    return out, [
        f"unit {name}: mock process in namespace {where.namespace}, powered by the lab's "
        f"{POWER_NAMES[power]} on 127.0.0.1:{ready['power_port']}",
        f"console: {u['console']['url']} (also {', '.join(_other_consoles(ready, console))})",
        f"WAN: {where.lab_ifname} in {where.namespace} cabled to {where.bench_ifname} on the host",
        f"operator CA (the unit's device certificate is issued from it): {spec['ca_cert']}",
    ]


def _other_consoles(ready: dict[str, Any], chosen: str) -> list[str]:
    return [f"{k}://127.0.0.1:{p}" for k, p in ready["console_ports"].items() if k != chosen]


def lab_down(where: LabPlace) -> list[str]:
    """Stop the lab's hardware and its unit by their recorded PIDs; remove its namespace and links."""
    done: list[str] = []
    if where.state.exists():
        st = RunState.load(where.state)
        for rec in st.pids:  # the hardware first: it powers the unit off on SIGTERM
            pid, comm = int(str(rec["pid"])), str(rec["comm"])
            if kill_pid(pid, comm, grace=10):
                done.append(f"stopped {rec['what']} (pid {pid})")
        st.pids = []  # stopped: `clean` below must not count them again
        st.save()
    unit_pids = where.labdir / "unit-pids.json"
    if unit_pids.exists():
        for rec in RunState.load(unit_pids).pids:
            if kill_pid(int(str(rec["pid"])), str(rec["comm"])):
                done.append(f"killed {rec['what']} (pid {rec['pid']})")
        unit_pids.unlink()
    done += clean(where.labdir, where.prefix)
    for name in (SPEC, READY):
        (where.labdir / name).unlink(missing_ok=True)
    return done


def lab_status(where: LabPlace) -> tuple[bool, list[str]]:
    """Whether the lab is up and whole, and what is there."""
    if not (where.labdir / SPEC).exists():
        return False, [f"no lab with prefix {where.prefix!r} in {where.labdir}"]
    spec = json.loads((where.labdir / SPEC).read_text())
    lines, whole = [], True
    st = RunState.load(where.state) if where.state.exists() else None
    for rec in st.pids if st else []:
        alive = comm_of(int(str(rec["pid"]))) == str(rec["comm"])[:15]
        whole &= alive
        lines.append(f"{rec['what']}: pid {rec['pid']} {'running' if alive else 'GONE'}")
    ready = (where.labdir / READY).exists()
    whole &= ready
    if ready:
        r = json.loads((where.labdir / READY).read_text())
        lines.append(f"power: {POWER_NAMES[spec['power']]} on 127.0.0.1:{r['power_port']}")
        lines.append("console: " + ", ".join(f"{k}://127.0.0.1:{p}" for k, p in r["console_ports"].items()))
    inode = netns_inode(spec["namespace"])
    whole &= inode is not None
    powered = inode is not None and bool(pids_in_netns(inode))
    lines.append(
        f"unit {spec['unit']} in namespace {spec['namespace']}: "
        + ("namespace MISSING" if inode is None else "powered" if powered else "off")
    )
    with IPRoute() as ipr:
        on_host = bool(ipr.link_lookup(ifname=spec["bench_ifname"]))
    if on_host:
        lines.append(f"NIC {spec['bench_ifname']}: on the host (free for a run)")
    else:
        holder = find_nic(spec["bench_ifname"])
        whole &= holder is not None
        lines.append(
            f"NIC {spec['bench_ifname']}: "
            + (f"in namespace {holder} (a run has it)" if holder else "MISSING")
        )
    return whole, lines

"""One operator network for units on both Initial HeMS deployments (TS 32.593 5.1.2.2 and 5.1.2.3): one Initial
HeMS listening in the core and on the internet, split-horizon DNS, and a private and a public mock unit attached
to one topology side by side, each discovering its Serving HeMS its own way."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from scapy.layers.inet import IP, TCP
from scapy.utils import PcapWriter

from bench.capture import LINKTYPE_RAW
from bench.errors import DeviceError
from bench.events import DnsKind, HemsKind, SegwKind, Source
from bench.inventory import load_inventory, parse_inventory
from bench.network.topology import Topology
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Event, Timeline
from bench.unit import BenchUnit, State
from tests.support import FAST_BOUNDS, henb_bench, needs_root, write_inventory

IHEMS = "ihems.operator.example"
CORE_ADDR, PUBLIC_ADDR = "10.180.0.10", "203.0.113.100"


def inventory(tmp_path: Path, first: str, second: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        write_inventory(tmp_path / "inventory.yaml", FAST_BOUNDS, all_units=True).read_text()
    )
    data["units"]["henb-01"]["initial_hems_access"] = first
    data["units"]["henb-02"]["initial_hems_access"] = second
    return data


@pytest.mark.parametrize(
    ("first", "second", "public_dns", "private_dns"),
    [
        ("private", "private", None, CORE_ADDR),
        ("public", "public", PUBLIC_ADDR, None),
        ("private", "public", PUBLIC_ADDR, CORE_ADDR),
    ],
)
def test_split_horizon_dns_answers_the_initial_hems_as_each_side_needs(
    tmp_path: Path, first: str, second: str, public_dns: str | None, private_dns: str | None
) -> None:
    inv = parse_inventory(inventory(tmp_path, first, second), Path("inv.yaml"))
    topo = Topology(inv, tmp_path / "work", Timeline())
    assert topo.public_records().get(IHEMS) == public_dns
    assert topo.private_records().get(IHEMS) == private_dns
    # A unit that skips DNS (knob hems_by_ip) has the address of its own deployment cached.
    assert topo.cached_ips("private")[IHEMS] == CORE_ADDR
    assert topo.cached_ips("public")[IHEMS] == PUBLIC_ADDR


def _first(events: list[Event], what: str, **data: Any) -> Event:
    found = [e for e in events if all(e.data.get(k) == v for k, v in data.items())]
    assert found, f"no {what} in {[(e.source, e.kind, e.data) for e in events][-40:]}"
    return found[0]


@pytest.mark.netns
@needs_root()
def test_a_private_and_a_public_unit_discover_on_one_topology(tmp_path: Path) -> None:
    inv = load_inventory(write_inventory(tmp_path / "inventory.yaml", FAST_BOUNDS, all_units=True))
    assert {n: u.initial_hems_access for n, u in inv.units.items()} == {
        "henb-01": "private",
        "henb-02": "public",
    }
    net = inv.network
    run = BenchRun(inv, "henb-01", tmp_path / "captures", "run")
    run.start()
    second: BenchUnit | None = None
    try:
        second = BenchUnit("henb-02", inv.units["henb-02"], run, 1)
        private, public = run.unit, second
        topo, tl = run.topology, run.timeline
        # Each unit on its own namespace and WAN link, both on the one home link.
        assert private.wan != public.wan and private.wan[0] == public.wan[0] == topo.names.ns("inet")
        assert list(topo.hems) == ["initial-hems", "serving-hems"]  # one Initial HeMS serves both
        mark = tl.mark()
        for unit in (private, public):  # by discovery, also when a run before left a unit configured
            unit.transition(State.DISCOVERED)
            unit.transition(State.REGISTERED)
        events = tl.events(mark)
        dns = [e for e in events if e.source == Source.DNS and e.kind == DnsKind.QUERY]
        informs = [e for e in events if e.source == Source.HEMS and e.kind == HemsKind.INFORM]
        ike = [e for e in events if e.source == Source.SEGW and e.kind == SegwKind.IKE_UP]

        # The private unit: IPsec to the Initial SeGW, the Initial HeMS's name from the private DNS, its
        # Inform from its inner address at the Initial HeMS's address in the core.
        inner = _first(ike, "IKE SA at the Initial SeGW", segw="isegw", remote_id=private.ike_id)
        vip = inner.data["remote_vips"][0]
        assert ipaddress.IPv4Address(vip) in net.initial_pool
        _first(dns, "private unit's query at the private DNS", name=IHEMS, dns="private-dns", client=vip)
        inf = _first(informs, "private unit's Inform", hems="initial-hems", serial=private.serial)
        assert inf.data["peer"] == vip
        segw_query = _first(dns, "private unit's public query", name=inv.operator.initial_segw)
        home_private = segw_query.data["client"]
        assert not [e for e in dns if e.data["name"] == IHEMS and e.data["client"] == home_private]

        # The public unit: the Initial HeMS's name from the public DNS, TLS to its address on the internet
        # from the unit's home address, no Initial SeGW at all.
        query = _first(dns, "public unit's query at the public DNS", name=IHEMS, dns="public-dns")
        home_public = query.data["client"]
        assert ipaddress.IPv4Address(home_public) in net.home and home_public != home_private
        inf = _first(informs, "public unit's Inform", hems="initial-hems", serial=public.serial)
        assert inf.data["peer"] == home_public
        assert not [e for e in ike if e.data["segw"] == "isegw" and e.data["remote_id"] == public.ike_id]
        assert topo.hems_keylog.stat().st_size > 0

        # Both registered with the one Serving HeMS through the one Serving SeGW.
        for unit in (private, public):
            _first(ike, f"{unit.name}'s IKE SA at the Serving SeGW", segw="ssegw", remote_id=unit.ike_id)
            _first(
                informs, f"{unit.name}'s Inform at the Serving HeMS", hems="serving-hems", serial=unit.serial
            )
    finally:
        if second is not None:
            second.close()
        run.close()


@pytest.mark.parametrize(("access", "fails"), [("public", False), ("private", True)])
def test_only_a_public_units_tls_to_the_initial_hems_may_cross_its_outer_link(
    tmp_path: Path, access: str, fails: bool
) -> None:
    inv = parse_inventory(inventory(tmp_path, access, "public"), Path("inv.yaml"))
    pcap = tmp_path / "outer.pcap"
    syn = IP(src="198.51.100.75", dst=PUBLIC_ADDR) / TCP(sport=40000, dport=inv.operator.hems_port, flags="S")
    with PcapWriter(str(pcap), linktype=LINKTYPE_RAW) as w:
        w.write(syn)
    tl = Timeline()
    unit = SimpleNamespace(cfg=inv.units["henb-01"])
    evidence = Evidence.__new__(Evidence)  # only what the check reads: the run's inventory, unit, timeline
    evidence.run = SimpleNamespace(inv=inv, unit=unit, timeline=tl)
    evidence.outer = SimpleNamespace(path=pcap, stop=lambda: None)
    steps = Steps("5.1.2.3", tl, tmp_path)
    if fails:
        with pytest.raises(DeviceError, match=rf"1 cleartext operator packet\(s\): .*{PUBLIC_ADDR}"):
            evidence.assert_no_cleartext(steps)
    else:
        evidence.assert_no_cleartext(steps)
        (judged,) = tl.find(lambda e: e.source == Source.SECURITY)
        assert judged.data["allowed"] == {"public Initial HeMS": 1}


@pytest.mark.netns
@needs_root()
@pytest.mark.parametrize(
    ("knob", "step", "words"),
    [
        (None, "", ""),
        ("hems_by_ip", "1.1", f"query for {IHEMS} at the public DNS before the TLS session"),
        ("accept_any_cert", "1.3", "refuse the Initial HeMS presenting a certificate from an untrusted CA"),
    ],
)
def test_5_1_2_3_on_the_public_unit_beside_a_private_one(
    tmp_path: Path, knob: str | None, step: str, words: str
) -> None:
    # The default inventory as it is: henb-01 private, henb-02 public, so the Initial HeMS listens on both sides
    # and the DNS is split; the public unit's plan passes, and fails where it misbehaves.
    inv = write_inventory(tmp_path / "inventory.yaml", FAST_BOUNDS, all_units=True)
    args = ["--misbehave", knob, "--exitfirst"] if knob else []
    res = henb_bench(
        "--inventory", str(inv), "run", "--unit", "henb-02", "--clause", "5.1.2.3", *args,
        "--out", str(tmp_path / "captures"),
    )  # fmt: skip
    out = res.stdout + res.stderr
    summary = res.stdout[res.stdout.rfind("henb-bench:") :]  # (stderr ends with the results history line)
    if knob is None:
        assert res.returncode == 0, out[-3000:]
        assert summary.count("PASSED  5.1.2.3") == 2, summary
    else:
        assert res.returncode == 1, out[-3000:]
        assert f"TS 32.593 5.1.2.3 step {step}: expected" in summary and words in summary, summary

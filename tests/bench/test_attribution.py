"""Tests for bench/attribution.py and the per-unit timeline view (bench/timeline.py UnitTimeline): whose event
is it, when several units share one operator network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.attribution import Attributor, UnitKey
from bench.errors import DeviceError
from bench.timeline import Timeline, UnitTimeline

A = UnitKey("henb-a", "00D0B7", "SA", "00D0B7-SA.henb", "in-u0")
B = UnitKey("henb-b", "00D0B7", "SB", "00D0B7-SB.henb", "in-u1")
MACS = {"02:00:00:00:00:0a": "in-u0", "02:00:00:00:00:0b": "in-u1"}


def fleet() -> tuple[Timeline, Attributor]:
    tl = Timeline()
    att = Attributor([A, B], lambda: MACS)
    tl.attributor = att
    return tl, att


def boot(tl: Timeline, mac: str, wan: str, ike_id: str, vip: str) -> None:
    """What the shared services report of one unit's boot: its lease, then its tunnel."""
    tl.add("dhcp", "dhcpdiscover", server="public-dns", detail=mac)
    tl.add("dhcp", "dhcpack", server="public-dns", detail=f"{wan} {mac}")
    tl.add(
        "segw", "ike-up", segw="ssegw", remote_id=ike_id, remote_host=wan, remote_vips=[vip], unique_id="1"
    )


def test_events_are_attributed_by_mac_identity_and_address() -> None:
    tl, att = fleet()
    boot(tl, "02:00:00:00:00:0a", "198.51.100.10", A.ike_id, "10.182.0.1")
    boot(tl, "02:00:00:00:00:0b", "198.51.100.11", B.ike_id, "10.182.0.2")
    assert [e.unit for e in tl.events()] == ["henb-a"] * 3 + ["henb-b"] * 3
    assert att.addresses("henb-b") == {"198.51.100.11", "10.182.0.2"}
    assert att.inner_addresses("henb-a") == {"10.182.0.1"}
    cases = [
        (("dns", "query", {"dns": "public-dns", "client": "198.51.100.11"}), "henb-b"),
        (("ntp", "query", {"peer": "198.51.100.10"}), "henb-a"),
        (("hems", "inform", {"hems": "serving-hems", "peer": "10.182.0.1", "serial": "SB", "oui": "00D0B7"}),
         "henb-b"),  # the DeviceId decides first
        (("hems", "auth-challenge", {"hems": "serving-hems", "peer": "10.182.0.2"}), "henb-b"),
        (("hems", "connection-request", {"peer": "http://10.182.0.1:7547/cr", "serial": "nobody"}), "henb-a"),
        (("mme", "sctp-init", {"src": "10.182.0.2", "dst": "10.180.0.30"}), "henb-b"),
        (("fileserver", "upload", {"peer": "10.182.0.1"}), "henb-a"),
        (("power", "power", {"unit": "henb-b", "action": "on"}), "henb-b"),
        (("bench", "topology-up", {"seconds": 0.5}), None),  # the bench's own: every unit sees it
        (("dns", "query", {"client": "198.51.100.1"}), None),  # the bench's readiness check
    ]  # fmt: skip
    for (source, kind, data), owner in cases:
        assert tl.add(source, kind, **data).unit == owner, (source, kind, data)


def test_a_peer_that_connects_before_its_lease_is_read_is_found_on_the_wire() -> None:
    """unit_at: a known address at once; an unknown one by the MAC the neighbour table has for it and the bridge
    port behind that MAC (then known: its later events are the unit's); an address nobody has, no unit's."""
    tl = Timeline()
    neighbours = {"198.51.100.11": "02:00:00:00:00:0b", "198.51.100.99": "02:00:00:00:00:99"}
    att = Attributor([A, B], lambda: MACS, lambda: neighbours)
    tl.attributor = att
    boot(tl, "02:00:00:00:00:0a", "198.51.100.10", A.ike_id, "10.182.0.1")
    assert att.unit_at("198.51.100.10") == "henb-a"
    assert att.unit_at("198.51.100.11") == "henb-b"  # its lease's log line not read yet
    assert tl.add("hems", "tls-handshake-failed", peer="198.51.100.11").unit == "henb-b"
    assert att.unit_at("198.51.100.99") is None  # on the wire, behind no unit's port
    assert att.unit_at("198.51.100.77") is None  # not even on the wire
    assert Attributor([A], lambda: MACS).unit_at("198.51.100.11") is None  # no neighbour table: lease only


def test_a_wrong_device_id_or_ike_identity_is_still_attributed_by_address() -> None:
    tl, _ = fleet()
    boot(tl, "02:00:00:00:00:0a", "198.51.100.10", A.ike_id, "10.182.0.1")
    boot(tl, "02:00:00:00:00:0b", "198.51.100.11", B.ike_id, "10.182.0.2")
    wrong = tl.add("hems", "inform", hems="serving-hems", peer="10.182.0.2", serial="SBX", oui="00D0B7")
    assert wrong.unit == "henb-b"
    ike = tl.add("segw", "ike-up", segw="ssegw", remote_id="evil.henb", remote_host="198.51.100.10",
                 remote_vips=["10.182.1.9"])  # fmt: skip
    assert ike.unit == "henb-a"
    assert tl.add("hems", "inform", peer="10.182.1.9", serial="??").unit == "henb-a"  # learnt from that SA


def test_unknown_mac_and_failing_lookup_leave_the_event_to_no_unit() -> None:
    tl = Timeline()

    def broken() -> dict[str, str]:
        raise OSError("no bridge")

    tl.attributor = Attributor([A, B], broken)
    assert tl.add("dhcp", "dhcpdiscover", detail="02:00:00:00:00:0a").unit is None
    tl.attributor = Attributor([A, B], lambda: MACS)
    assert tl.add("dhcp", "dhcpdiscover", detail="02:00:00:00:00:ff").unit is None


def test_a_unit_view_shows_its_own_events_and_those_of_no_unit(tmp_path: Path) -> None:
    tl, _ = fleet()
    a, b = UnitTimeline(tl, "henb-a"), UnitTimeline(tl, "henb-b")
    tl.add("bench", "topology-up")
    boot(tl, "02:00:00:00:00:0a", "198.51.100.10", A.ike_id, "10.182.0.1")
    mark = b.mark()
    boot(tl, "02:00:00:00:00:0b", "198.51.100.11", B.ike_id, "10.182.0.2")
    mine = a.add("unit", "state", state="registered")  # what a view adds is its unit's
    assert mine.unit == "henb-a" and mark == a.mark() - 4
    assert [e.kind for e in a.events()] == ["topology-up", "dhcpdiscover", "dhcpack", "ike-up", "state"]
    assert [e.unit for e in b.events(mark)] == ["henb-b"] * 3
    # B waits for an IKE SA: A's is not the one it sees, and its timeout quotes only what it may see.
    assert b.wait_for(lambda e: e.kind == "ike-up", 5, "B's tunnel").data["remote_id"] == B.ike_id
    with pytest.raises(DeviceError) as exc:
        b.wait_for(lambda e: e.kind == "state", 0.2, "a state of B")
    assert "henb-a" not in str(exc.value) and "ike-up" in str(exc.value)
    b.dump(tmp_path / "b.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert {line.get("unit") for line in lines} == {None, "henb-b"}
    assert "unit" not in lines[0]  # an event of no unit is written as before


def test_a_timeline_without_attributor_writes_lines_as_before(tmp_path: Path) -> None:
    tl = Timeline()
    tl.add("hems", "inform", serial="S")
    tl.dump(tmp_path / "t.jsonl")
    assert set(json.loads((tmp_path / "t.jsonl").read_text())) == {"seq", "t", "source", "kind", "data"}


def test_an_inner_address_stays_with_its_unit_after_its_sa_until_another_unit_gets_it() -> None:
    tl, att = fleet()
    boot(tl, "02:00:00:00:00:0a", "198.51.100.10", A.ike_id, "10.181.0.1")
    boot(tl, "02:00:00:00:00:0b", "198.51.100.11", B.ike_id, "10.181.0.2")
    tl.add("segw", "ike-down", segw="ssegw", remote_id=A.ike_id, remote_host="198.51.100.10",
           remote_vips=["10.181.0.1"], unique_id="1")  # fmt: skip
    # An SCTP INIT sent through the SA just before it went down, reported after.
    assert tl.add("mme", "sctp-init", src="10.181.0.1", dst="10.180.0.30").unit == "henb-a"
    tl.add("segw", "ike-up", segw="ssegw", remote_id=B.ike_id, remote_host="198.51.100.11",
           remote_vips=["10.181.0.1"], unique_id="3")  # fmt: skip
    assert tl.add("dns", "query", dns="private-dns", client="10.181.0.1").unit == "henb-b"
    assert "10.181.0.1" in att.inner_addresses("henb-a")  # still A's in A's inner capture


def test_an_address_given_anew_is_its_new_unit_s_before_the_segw_reports_the_sa() -> None:
    """A's SA went down, the pool gave its inner address to B, and B's SCTP INIT reached the MME before the
    SeGW's report of B's SA was read: the SeGW is asked which SA holds the address now (three 5.1.3 twins of
    one run once failed on an INIT taken for the unit that had the address before)."""
    holding: list[dict[str, object]] = []
    tl = Timeline()
    att = Attributor([A, B], lambda: MACS, sas=lambda: holding)
    tl.attributor = att
    boot(tl, "02:00:00:00:00:0a", "198.51.100.10", A.ike_id, "10.181.0.1")
    boot(tl, "02:00:00:00:00:0b", "198.51.100.11", B.ike_id, "10.181.0.2")
    tl.add("segw", "ike-down", segw="ssegw", remote_id=A.ike_id, remote_host="198.51.100.10",
           remote_vips=["10.181.0.1"], unique_id="1")  # fmt: skip
    # No SA holds it: a packet A sent just before its SA went down, reported late.
    assert tl.add("mme", "sctp-init", src="10.181.0.1", dst="10.180.0.30").unit == "henb-a"
    holding.append({"remote_id": B.ike_id, "remote_host": "198.51.100.11", "remote_vips": ["10.181.0.1"]})
    assert tl.add("mme", "sctp-init", src="10.181.0.1", dst="10.180.0.30").unit == "henb-b"
    assert tl.add("hems", "inform", hems="serving-hems", peer="10.181.0.1", serial="SBX").unit == "henb-b"
    assert "10.181.0.1" in att.inner_addresses("henb-b")


def test_an_impostors_events_are_its_units_and_teach_its_inner_address() -> None:
    # The events of an impostor SeGW's connection name its unit (bench/services/segw.py); its IKE SA's inner
    # address is still learned, so the unit's traffic through the impostor's tunnel is its own, not everyone's.
    tl, att = fleet()
    up = tl.add("segw", "ike-up", segw="isegw", remote_id="someone-else", remote_host="198.51.100.10",
                remote_vips=["10.181.0.4"], unique_id="9", unit="henb-b", impostor="untrusted_ca")  # fmt: skip
    assert up.unit == "henb-b"
    assert att.inner_addresses("henb-b") == {"10.181.0.4"}
    query = tl.add("dns", "query", dns="private-dns", name="ihems.operator.example", client="10.181.0.4")
    assert query.unit == "henb-b"
    assert [e.seq for e in UnitTimeline(tl, "henb-a").events()] == []


def test_an_address_never_seen_is_asked_of_the_segws_for_every_service() -> None:
    """A configured unit boots straight into its Serving SeGW's tunnel and sends its SCTP INIT (and DNS query)
    before the SeGW's report of its first SA is read: the address is nobody's yet, and was shown to every unit,
    so another unit of the run failed 5.1.3 on it while the unit that sent it passed (CI, stop 26)."""
    holding: list[dict[str, object]] = []
    tl = Timeline()
    tl.attributor = Attributor([A, B], lambda: MACS, sas=lambda: holding)
    boot(tl, "02:00:00:00:00:0a", "198.51.100.10", A.ike_id, "10.182.0.1")
    assert tl.add("mme", "sctp-init", src="10.182.0.3", dst="10.180.0.31").unit is None  # no SA holds it
    holding.append({"remote_id": B.ike_id, "remote_host": "198.51.100.11", "remote_vips": ["10.182.0.3"]})
    assert tl.add("mme", "sctp-init", src="10.182.0.3", dst="10.180.0.31").unit == "henb-b"
    assert tl.add("dns", "query", dns="private-dns", client="10.182.0.3").unit == "henb-b"

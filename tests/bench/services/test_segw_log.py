"""Tests for bench/services/segw.py without a charon: charon's log lines (VICI `log` events) as timeline events
(the unit's DELETE or AUTHENTICATION_FAILED, the SeGW's refusal with its reason and the unit's proposals), and
the address ranges the real SeGW keeps while an impostor offers proposals to one unit."""

from __future__ import annotations

from pathlib import Path

from bench.events import SegwKind
from bench.services.segw import SeGW, refusals_on
from bench.timeline import Timeline


def segw(tmp_path: Path) -> tuple[SeGW, Timeline]:
    tl = Timeline()
    gw = SeGW("isegw", "x-isegw", "203.0.113.2", "isegw.operator.example", ["10.180.0.0/24"],
              ["10.181.0.0/24"], "10.180.0.53", tmp_path, tl, clients="198.51.100.0/24")  # fmt: skip
    return gw, tl


def log(gw: SeGW, sa: str, msg: str, name: str = "impostor-henb-01-expired") -> None:
    gw._log({"msg": msg.encode(), "ikesa-uniqueid": sa.encode(), "ikesa-name": name.encode()})


def test_charon_log_lines_become_events(tmp_path: Path) -> None:
    gw, tl = segw(tmp_path)
    gw._impostors["impostor-henb-01-expired"] = ("henb-01", "expired")
    log(gw, "3", "198.51.100.10 is initiating an IKE_SA", "(unnamed)")
    log(gw, "3", "looking for peer configs matching 203.0.113.2[%any]...198.51.100.10[00D0B7-MOCK0001.henb]")
    log(gw, "3", "received DELETE for IKE_SA impostor-henb-01-expired[3]")
    log(gw, "4", "198.51.100.10 is initiating an IKE_SA", "(unnamed)")
    log(
        gw,
        "4",
        "received proposals: IKE:AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_4096",
        "(unnamed)",
    )
    log(gw, "4", "received proposals unacceptable", "(unnamed)")
    log(gw, "5", "no trusted ECDSA public key found for '00D0B7-MOCK0001.henb'", "henb")
    log(gw, "5", "no trusted ECDSA public key found for '00D0B7-MOCK0001.henb'", "henb")  # said once
    events = tl.events()
    assert [(e.kind, e.data.get("impostor"), e.data.get("remote_host")) for e in events] == [
        (SegwKind.PEER_DELETE, "expired", "198.51.100.10"),
        (SegwKind.REFUSED, None, "198.51.100.10"),
        (SegwKind.REFUSED, None, None),
    ]
    assert events[0].data["remote_id"] == "00D0B7-MOCK0001.henb"
    assert (
        events[0].data["unit"] == "henb-01"
    )  # an impostor's connection is its unit's, whatever the peer said
    assert events[1].data["proposals"].endswith("MODP_4096")
    assert refusals_on(events) == {
        "isegw": [
            "received proposals unacceptable (received proposals: "
            "IKE:AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_4096)",
            "no trusted ECDSA public key found for '00D0B7-MOCK0001.henb'",
        ]
    }


def test_the_real_segw_leaves_an_impostors_unit_address_alone(tmp_path: Path) -> None:
    gw, _ = segw(tmp_path)
    assert gw._others() == ["%any"]
    gw._excluded["impostor-henb-01-weak_proposal"] = "198.51.100.10"
    assert gw._others() == ["198.51.100.0-198.51.100.9", "198.51.100.11-198.51.100.255"]
    gw._excluded["impostor-henb-02-weak_proposal"] = "198.51.100.11"
    assert gw._others() == ["198.51.100.0-198.51.100.9", "198.51.100.12-198.51.100.255"]


def test_a_child_sas_close_says_what_came_in_through_it(tmp_path: Path) -> None:
    # What tells a unit that used an impostor's tunnel, then released it, from one that refused it.
    gw, tl = segw(tmp_path)
    gw._impostors["impostor-henb-01-untrusted_ca"] = ("henb-01", "untrusted_ca")
    # as vici gives them: the SA's name in bytes, the keys inside as str, the values bytes
    sa = {"uniqueid": b"9", "remote-id": b"00D0B7-MOCK0001.henb", "remote-vips": [b"10.181.0.4"]}
    child = {"packets-in": b"12", "bytes-in": b"1800"}
    gw._record("child-updown", {b"impostor-henb-01-untrusted_ca": {**sa, "child-sas": {"henb-3": child}}})
    gw._record("child-updown", {b"henb": {**sa, "child-sas": {"henb-4": {"packets-in": b"0"}}}})
    used, unused = tl.events()
    assert (used.kind, used.data["packets_in"], used.data["unit"], used.data["impostor"]) == (
        SegwKind.CHILD_DOWN,
        12,
        "henb-01",
        "untrusted_ca",
    )
    assert unused.data["packets_in"] == 0 and "unit" not in unused.data

"""The outer capture's account of a unit's IKEv2 exchanges with an impostor SeGW (bench/ike_capture.py), on files
written by hand: what each verdict quotes, with frame numbers, and what counts as ESP."""

from __future__ import annotations

import struct
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import ESP
from scapy.packet import Packet
from scapy.utils import PcapWriter

from bench.capture import LINKTYPE_RAW, Pkt
from bench.ike_capture import account, ike_message, is_esp

UNIT, SEGW, OTHER = "192.168.1.10", "198.51.100.1", "198.51.100.9"
SPI = bytes.fromhex("0102030405060708")
T0 = 1000.0


def ike(
    exchange: int, response: bool, spi: bytes = SPI, notify: int | None = None, port: int = 4500
) -> bytes:
    """An IKEv2 message (header, and for IKE_SA_INIT a notify payload), with the non-ESP marker on port 4500."""
    body = b""
    first = 0
    if notify is not None:
        first = 41
        body = struct.pack("!BBHBBH", 0, 0, 8, 0, 0, notify)
    flags = 0x20 if response else 0x08
    header = struct.pack("!8s8sBBBBII", spi, b"\0" * 8 if notify else b"\x11" * 8, first, 0x20, exchange, flags, 0,
                         28 + len(body))  # fmt: skip
    return (b"\0\0\0\0" if port == 4500 else b"") + header + body


def up(data: bytes, port: int = 4500, src: str = UNIT, dst: str = SEGW) -> Packet:
    return IP(src=src, dst=dst) / UDP(sport=port, dport=port) / data


def down(data: bytes, port: int = 4500) -> Packet:
    return up(data, port, SEGW, UNIT)


def write(path: Path, pkts: list[Packet]) -> Path:
    with PcapWriter(str(path), linktype=LINKTYPE_RAW) as w:
        for i, p in enumerate(pkts):
            p.time = T0 + i
            w.write(p)
    return path


def handshake(port: int = 500) -> list[Packet]:
    return [up(ike(34, False, port=port), port), down(ike(34, True, port=port), port),
            up(ike(35, False)), down(ike(35, True))]  # fmt: skip


def test_a_refusal_quotes_the_ike_auth_and_the_informational_after_it(tmp_path: Path) -> None:
    path = write(tmp_path / "outer.pcapng", [*handshake(), up(ike(37, False)), down(ike(37, True))])
    seen = account(path, SEGW, T0, {SPI.hex()}, t0=T0)
    assert seen.found and not seen.used and not seen.esp
    assert seen.text.startswith("IKE_SA_INIT request at frame 1, IKE_SA_INIT response at frame 2; ")
    assert (
        "the unit's IKE_AUTH request at frame 3 (+2.000s 192.168.1.10:4500 -> 198.51.100.1:4500" in seen.text
    )
    assert "the SeGW's IKE_AUTH response at frame 4, then its INFORMATIONAL request at frame 5" in seen.text
    assert seen.text.endswith("no ESP from the unit to 198.51.100.1 after it")


def test_esp_after_the_ike_auth_is_use_quoted_with_its_frame(tmp_path: Path) -> None:
    esp_in_udp = up(struct.pack("!II", 0xC0DE, 1) + b"x" * 40)
    esp = IP(src=UNIT, dst=SEGW) / ESP(spi=0xC0DE, seq=2, data=b"y" * 20)
    keepalive = up(b"\xff")
    path = write(tmp_path / "outer.pcapng", [*handshake(), keepalive, esp_in_udp, esp])
    seen = account(path, SEGW, T0, {SPI.hex()}, t0=T0)
    assert seen.used and [p.frame for p in seen.esp] == [6, 7]
    assert "then no further IKE from the unit on that IKE SA" in seen.text
    assert (
        "2 ESP packet(s) from the unit to 198.51.100.1 after its IKE_SA_INIT, the first at frame 6"
        in seen.text
    )


def test_esp_before_the_rounds_first_ike_sa_init_is_not_counted(tmp_path: Path) -> None:
    old_tunnel = up(struct.pack("!II", 0xBEEF, 9) + b"z" * 40)
    elsewhere = up(struct.pack("!II", 0xBEEF, 10) + b"z" * 40, dst=OTHER)
    path = write(tmp_path / "outer.pcapng", [old_tunnel, *handshake(), elsewhere, up(ike(37, False))])
    seen = account(path, SEGW, T0, {SPI.hex()})
    assert not seen.used and seen.found


def test_esp_after_the_ike_auth_of_an_attempt_begun_before_the_impostor_was_presented_is_use(
    tmp_path: Path,
) -> None:
    esp = up(struct.pack("!II", 0xC0DE, 1) + b"x" * 40)
    path = write(tmp_path / "outer.pcapng", [*handshake(), esp])
    seen = account(path, SEGW, T0 + 2, {SPI.hex()})  # presented after the IKE_SA_INIT, before the IKE_AUTH
    assert seen.found and seen.used and [p.frame for p in seen.esp] == [5]


def test_a_create_child_sa_on_the_judged_sa_is_use(tmp_path: Path) -> None:
    path = write(tmp_path / "outer.pcapng", [*handshake(), up(ike(36, False))])
    seen = account(path, SEGW, T0, {SPI.hex()})
    assert seen.used and "then its CREATE_CHILD_SA request at frame 5" in seen.text


def test_an_ike_sa_the_capture_does_not_show_is_not_found(tmp_path: Path) -> None:
    other = bytes.fromhex("ffffffffffffffff")
    path = write(tmp_path / "outer.pcapng", [up(ike(34, False, other), 500), up(ike(35, False, other))])
    seen = account(path, SEGW, T0, {SPI.hex()})
    assert not seen.found and not seen.used
    assert f"no IKE_AUTH request from the unit to {SEGW} with initiator SPI {SPI.hex()}" in seen.text
    assert account(path, SEGW, T0 + 5, set()).text.endswith(f"no IKE_AUTH request from the unit to {SEGW}")


def test_a_refused_offer_shows_the_segws_no_proposal_chosen(tmp_path: Path) -> None:
    path = write(
        tmp_path / "outer.pcapng",
        [up(ike(34, False, port=500), 500), down(ike(34, True, notify=14, port=500), 500)],
    )
    seen = account(path, SEGW, T0, set(), offer=True, t0=T0)
    assert seen.found and not seen.used
    assert "the SeGW's response at frame 2 (NO_PROPOSAL_CHOSEN)" in seen.text
    accepted = write(tmp_path / "weak.pcapng", handshake())
    seen = account(accepted, SEGW, T0, set(), offer=True)
    assert "the SeGW's response at frame 2 (no notify); its IKE_AUTH request at frame 3" in seen.text


def _pkt(p: Packet) -> Pkt:
    raw = bytes(p)
    return Pkt(T0, p[IP].src, p[IP].dst, 17, p[UDP].sport, p[UDP].dport, None, len(raw), raw[28:])


def test_what_is_not_ike_or_esp() -> None:
    assert ike_message(_pkt(up(b"\xff"))) is None  # NAT keepalive
    assert ike_message(_pkt(up(b"\0\0\0\0" + b"\0" * 10))) is None  # too short for a header
    assert ike_message(_pkt(up(ike(35, False)))) is not None
    assert not is_esp(_pkt(up(b"\xff")))
    assert not is_esp(_pkt(up(ike(35, False))))
    assert is_esp(_pkt(up(struct.pack("!II", 1, 1) + b"e")))

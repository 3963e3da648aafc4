"""The outer-link policy (bench/outer_link.py) on hand-made captures: what TS 33.320 forbids fails, NTP and
ICMP pass by default, other traffic is counted."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.ipsec import ESP
from scapy.layers.sctp import SCTP
from scapy.utils import PcapWriter

from bench.capture import LINKTYPE_RAW, iter_ipv4
from bench.outer_link import judge, quoted

UNIT, SEGW, GW, HEMS = "198.51.100.75", "203.0.113.2", "198.51.100.1", "192.0.2.50"
OPERATOR = [ipaddress.IPv4Network("10.180.0.0/16"), ipaddress.IPv4Network("10.181.0.0/16")]
NTP_REQUEST = bytes([0x23]) + bytes(47)
NTP_ANSWER = bytes([0x24, 8]) + bytes(46)


def _write(path: Path, pkts: list) -> Path:
    with PcapWriter(str(path), linktype=LINKTYPE_RAW) as w:
        for i, p in enumerate(pkts):
            p.time = 1000.0 + i
            w.write(p)
    return path


def _late_esp_unreachable() -> IP:
    """After a power cycle the unit answers the SeGW's late ESP-in-UDP with a port unreachable (seen in CI)."""
    late = IP(src=SEGW, dst=UNIT) / UDP(sport=4500, dport=4500) / (b"\x00\x00\x00\x01" + b"e" * 40)
    return IP(src=UNIT, dst=SEGW) / ICMP(type=3, code=3) / bytes(late)[:28]


def test_ntp_icmp_dhcp_dns_ike_esp_pass_by_default(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "ok.pcap",
        [
            IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) / b"dhcp",
            IP(src=UNIT, dst=GW) / UDP(sport=40000, dport=53) / b"dns",
            IP(src=UNIT, dst=GW) / UDP(sport=40001, dport=123) / NTP_REQUEST,
            IP(src=GW, dst=UNIT) / UDP(sport=123, dport=40001) / NTP_ANSWER,
            IP(src=UNIT, dst=SEGW) / UDP(sport=500, dport=500) / b"ike",
            IP(src=UNIT, dst=SEGW, proto=50) / ESP(spi=1, seq=1, data=b"e" * 10),
            _late_esp_unreachable(),
            IP(src=UNIT, dst=GW) / ICMP(type=8) / b"ping",
            IP(src="198.51.100.1", dst="224.0.0.1", proto=2) / b"igmp",  # the bridge's own: not counted
        ],
    )
    verdict = judge(path, OPERATOR, {7547})
    assert verdict.operator == [] and verdict.other == {}
    assert verdict.allowed == {"DHCP": 1, "DNS": 1, "NTP": 2, "IKE": 1, "ESP": 1, "ICMP error": 1, "ICMP": 1}
    assert [(p.src, p.dst) for p in verdict.ntp_queries] == [(UNIT, GW)]  # the request, not the answer


def test_an_icmp_error_quoting_an_operator_packet_is_not_operator_traffic(tmp_path: Path) -> None:
    """It carries no operator data, only the header of a packet that could not be delivered; had that packet
    crossed the outer link in clear, it would be on the capture itself (and fail there)."""
    inner = IP(src="10.180.0.20", dst="10.181.0.9") / TCP(sport=7547, dport=50000)
    error = IP(src=UNIT, dst="10.180.0.20") / ICMP(type=3, code=1) / bytes(inner)[:28]
    echo = IP(src=UNIT, dst="10.180.0.20") / ICMP(type=8) / b"ping"
    verdict = judge(_write(tmp_path / "icmp.pcap", [error, echo]), OPERATOR, {7547})
    assert verdict.allowed == {"ICMP error": 1}
    # a ping into the core in clear is operator traffic
    assert [(f.key.icmp_type, f.frames) for f in verdict.operator] == [(8, [2])]
    first = next(iter_ipv4(tmp_path / "icmp.pcap"))
    assert quoted(first) == ("10.180.0.20", "10.181.0.9", 6)


def test_operator_traffic_fails_whatever_the_port_and_other_traffic_is_counted(tmp_path: Path) -> None:
    big_ike = IP(src=UNIT, dst=SEGW, id=77) / UDP(sport=500, dport=500) / (b"i" * 1600)
    big_other = IP(src=UNIT, dst=SEGW, id=78) / UDP(sport=9, dport=9) / (b"o" * 1600)
    path = _write(
        tmp_path / "bad.pcap",
        [
            IP(src=UNIT, dst="10.180.0.20") / UDP(sport=4500, dport=4500) / b"core-dst",  # allowed port, core
            IP(src=UNIT, dst=SEGW) / TCP(sport=1, dport=7547, flags="S"),  # CWMP in clear, any address
            IP(src=UNIT, dst=SEGW) / SCTP(sport=36412, dport=36412),  # S1 in clear
            IP(src=UNIT, dst=GW) / UDP(sport=40000, dport=514) / b"<14>syslog",
            IP(src=UNIT, dst=GW) / UDP(sport=40000, dport=514) / b"<14>syslog",
            *big_ike.fragment(800),
            *big_other.fragment(800),
        ],
    )
    verdict = judge(path, OPERATOR, {7547})
    assert [(f.key.dst, f.key.proto, f.key.dport) for f in verdict.operator] == [
        ("10.180.0.20", 17, 4500),
        (SEGW, 6, 7547),
        (SEGW, 132, None),
    ]
    assert verdict.allowed == {"IKE": 3}  # the first fragment and the two that follow it
    assert verdict.other == {"UDP port 514": 2, "UDP port 9": 3}
    assert "UDP port 514: 2 packet(s), first frame 4: +3.000s 198.51.100.75:40000 ->" in verdict.other_text(
        1000.0
    )


def test_the_public_initial_hems_is_exempt_only_when_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "tls.pcap", [IP(src=UNIT, dst=HEMS) / TCP(sport=40000, dport=7547, flags="S")])
    assert judge(path, OPERATOR, {7547}, {HEMS}).allowed == {"public Initial HeMS": 1}
    assert len(judge(path, OPERATOR, {7547}).operator) == 1

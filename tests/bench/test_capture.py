"""Tests for bench/capture.py: live captures in namespaces, and the pcap analysis on files built by hand."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import re
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroute2 import NetNS, netns
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Padding
from scapy.utils import PcapWriter, RawPcapReader

from bench.capture import (
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW,
    Capture,
    describe,
    iter_ipv4,
    tcp_syns,
)
from bench.errors import InfraError
from bench.network.netns import run_in_netns, socket_in_netns
from bench.outer_link import judge
from tests.support import PREFIX

CORE = ipaddress.IPv4Network("192.0.2.128/25")
A_IP, A_CORE_IP, B_IP = "192.0.2.1", "192.0.2.129", "192.0.2.2"


def _no_ipv6() -> None:
    # Else router solicitations and MLD reports show up in the captures.
    for conf in ("all", "default"):
        Path(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6").write_text("1")


def _remove(name: str) -> None:
    if name in netns.listnetns():
        netns.remove(name)


@pytest.fixture
def ns_pair() -> Iterator[tuple[str, str]]:
    """Namespaces A and B joined by veth hb-t-a (192.0.2.1/24 and .129/32) <-> hb-t-b (192.0.2.2/24)."""
    a, b = f"{PREFIX}t-cap-a-{os.getpid()}", f"{PREFIX}t-cap-b-{os.getpid()}"
    try:
        for name in (a, b):
            _remove(name)
            netns.create(name)
            run_in_netns(name, _no_ipv6)
        with NetNS(a, flags=0) as ns:
            ns.link("add", ifname="hb-t-a", kind="veth", peer={"ifname": "hb-t-b", "net_ns_fd": b})
            idx = ns.link_lookup(ifname="hb-t-a")[0]
            ns.addr("add", index=idx, address=A_IP, prefixlen=24)
            ns.addr("add", index=idx, address=A_CORE_IP, prefixlen=32)
            ns.link("set", index=idx, state="up")
        with NetNS(b, flags=0) as ns:
            idx = ns.link_lookup(ifname="hb-t-b")[0]
            ns.addr("add", index=idx, address=B_IP, prefixlen=24)
            ns.link("set", index=idx, state="up")
        yield a, b
    finally:
        _remove(a)
        _remove(b)


def _udp(ns: str, port: int) -> socket.socket:
    s = socket_in_netns(ns, socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.bind(("0.0.0.0", port))
    return s


@pytest.mark.netns
def test_capture_veth_udp_and_tcp(ns_pair: tuple[str, str], tmp_path: Path) -> None:
    a, b = ns_pair
    sent_udp = [
        (A_IP, 53, b"dns-query"),
        (A_IP, 4500, b"\x00\x00\x00\x00ike"),
        (A_IP, 7777, b"not-allowed"),
        (A_CORE_IP, 4500, b"to-the-core"),
    ]
    receivers = {port: _udp(a, port) for port in (53, 4500, 7777)}
    listener = socket_in_netns(a, socket.AF_INET, socket.SOCK_STREAM)
    sender = _udp(b, 40000)
    client = socket_in_netns(b, socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind((A_IP, 8080))
        listener.listen()
        with (
            Capture(b, "hb-t-b", tmp_path / "idle.pcap", "idle") as idle,
            Capture(a, "hb-t-a", tmp_path / "a.pcap", "outer-a") as cap_a,
            Capture(b, "hb-t-b", tmp_path / "b.pcap", "outer-b") as cap_b,
        ):
            assert idle.stop() == 0  # stopped before any traffic; __exit__ stops it again
            for dst, port, data in sent_udp:
                sender.sendto(data, (dst, port))
                assert receivers[port].recv(100) == data
            # Read while capturing: whole blocks only, what was sent so far in order (the sniffer may lag).
            so_far = cap_b.read(lambda path: [p.payload for p in iter_ipv4(path) if p.proto == 17])
            assert so_far == [data for _, _, data in sent_udp][: len(so_far)]
            client.settimeout(5)
            client.bind((B_IP, 40001))
            client.connect((A_IP, 8080))
            conn, _ = listener.accept()
            client.sendall(b"hello-tcp")
            conn.settimeout(5)
            assert conn.recv(100) == b"hello-tcp"
            conn.close()
        assert cap_a.linktype == LINKTYPE_ETHERNET
        assert list(iter_ipv4(idle.path)) == []
    finally:
        for s in (*receivers.values(), listener, sender, client):
            s.close()

    for cap in (cap_a, cap_b):
        frames = sum(1 for _ in RawPcapReader(str(cap.path)))
        assert cap.count == frames > 0, cap.path
        pkts = list(iter_ipv4(cap.path))
        assert {(p.src, p.dst) for p in pkts} <= {(B_IP, A_IP), (A_IP, B_IP), (B_IP, A_CORE_IP)}
        udp = [(p.src, p.dst, p.sport, p.dport, p.payload, p.length) for p in pkts if p.proto == 17]
        assert udp == [(B_IP, dst, 40000, port, data, 28 + len(data)) for dst, port, data in sent_udp]

        tcp = [p for p in pkts if p.proto == 6]
        assert [(p.src, p.sport, p.dport, p.tcp_flags) for p in tcp[:3]] == [
            (B_IP, 40001, 8080, 0x02),
            (A_IP, 8080, 40001, 0x12),
            (B_IP, 40001, 8080, 0x10),
        ]
        assert [p.payload for p in tcp if p.payload] == [b"hello-tcp"]

        syns = tcp_syns(cap.path)
        assert [(p.src, p.dst, p.dport) for p in syns] == [(B_IP, A_IP, 8080)]
        assert tcp_syns(cap.path, dst=A_IP, dport=8080) == syns
        assert tcp_syns(cap.path, dport=9999) == []

        verdict = judge(cap.path, [CORE], set())
        assert [(f.key.dst, f.key.dport, f.packets) for f in verdict.operator] == [(A_CORE_IP, 4500, 1)]
        assert verdict.other == {"UDP port 7777": 1, "TCP port 8080": len(tcp)}
        assert verdict.allowed == {"DNS": 1, "IKE": 1}

        first = udp_pkt = next(p for p in pkts if p.proto == 17)
        assert re.fullmatch(
            r"\+0\.\d{3}s 192\.0\.2\.2:40000 -> 192\.0\.2\.1:53 UDP len 37", describe(udp_pkt, t0=first.t)
        )


@pytest.mark.netns
def test_caught_up_waits_for_every_packet_that_crossed_the_link(
    ns_pair: tuple[str, str], tmp_path: Path
) -> None:
    """The impostor check reads the unit's outer capture while it runs ("no ESP to the impostor", "its IKE_AUTH
    there"): a sniffer thread late on a busy bench had not written what already crossed the link, and the check
    waited a guessed 3 s for it. A writer held back 0.2 s per packet forces the lateness; caught_up() waits."""
    a, b = ns_pair
    receiver, sender = _udp(a, 4500), _udp(b, 40000)
    cap = Capture(b, "hb-t-b", tmp_path / "late.pcap", "outer")
    write = cap._write

    def slow(frame: bytes, t: float) -> None:
        time.sleep(0.2)
        write(frame, t)

    cap._write = slow  # type: ignore[method-assign]
    try:
        with cap:
            sent = [f"esp-{i}".encode() for i in range(5)]
            for data in sent:
                sender.sendto(data, (A_IP, 4500))
                assert receiver.recv(100) == data
            assert cap.caught_up(20)
            got = cap.read(lambda path: [p.payload for p in iter_ipv4(path) if p.proto == 17])
            assert got == sent
    finally:
        receiver.close()
        sender.close()


@pytest.mark.netns
def test_start_on_missing_interface_names_namespace_and_interface(
    ns_pair: tuple[str, str], tmp_path: Path
) -> None:
    a, _ = ns_pair
    with pytest.raises(InfraError, match=f"hb-t-nope.*{a}"):
        Capture(a, "hb-t-nope", tmp_path / "x.pcap", "outer").start()
    with pytest.raises(InfraError, match="hb-t-a.*hb-t-no-such-ns"):
        Capture("hb-t-no-such-ns", "hb-t-a", tmp_path / "y.pcap", "outer").start()


TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


@pytest.mark.netns
def test_capture_on_tun_is_raw_ip(tmp_path: Path) -> None:
    name = f"{PREFIX}t-cap-tun-{os.getpid()}"
    tun_fd = -1
    try:
        _remove(name)
        netns.create(name)
        run_in_netns(name, _no_ipv6)

        def open_tun() -> int:
            fd = os.open("/dev/net/tun", os.O_RDWR)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"hb-t-tun0", IFF_TUN | IFF_NO_PI))
            return fd

        tun_fd = run_in_netns(name, open_tun)
        with NetNS(name, flags=0) as ns:
            idx = ns.link_lookup(ifname="hb-t-tun0")[0]
            ns.addr("add", index=idx, address="192.0.2.1", prefixlen=24)
            ns.link("set", index=idx, state="up")
        sock = socket_in_netns(name, socket.AF_INET, socket.SOCK_DGRAM)
        try:
            with Capture(name, "hb-t-tun0", tmp_path / "tun.pcap", "inner") as cap:
                sock.sendto(b"esp-in-udp", ("192.0.2.50", 4500))
                # Reading the packet off the TUN proves it went out before the capture stops.
                assert os.read(tun_fd, 2000)[-10:] == b"esp-in-udp"
        finally:
            sock.close()
        assert cap.linktype == LINKTYPE_RAW
        pkts = [p for p in iter_ipv4(cap.path)]
        assert [(p.src, p.dst, p.proto, p.dport, p.payload) for p in pkts] == [
            ("192.0.2.1", "192.0.2.50", 17, 4500, b"esp-in-udp")
        ]
    finally:
        if tun_fd >= 0:
            os.close(tun_fd)
        _remove(name)


# Analysis on files written by hand: every linktype and corner case, no namespaces needed.

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def _write(path: Path, linktype: int, pkts: list, t0: float = 1000.0) -> Path:
    with PcapWriter(str(path), linktype=linktype) as w:
        for i, p in enumerate(pkts):
            p.time = t0 + i
            w.write(p)
    return path


def test_iter_ipv4_ethernet_skips_arp_ipv6_and_strips_padding(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "e.pcap",
        LINKTYPE_ETHERNET,
        [
            ETH / ARP(psrc="192.0.2.1", pdst="192.0.2.2"),
            ETH / IPv6() / UDP(sport=1, dport=2),
            ETH
            / IP(src="198.51.100.10", dst="203.0.113.2")
            / UDP(sport=4500, dport=4500)
            / b"x"
            / Padding(b"\0" * 17),
            ETH / Dot1Q(vlan=7) / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S"),
            ETH / IP(src="10.0.0.1", dst="10.0.0.2", proto=50) / ESP(spi=1, seq=1, data=b"e" * 10),
        ],
    )
    pkts = list(iter_ipv4(path))
    assert [
        (p.t, p.src, p.dst, p.proto, p.sport, p.dport, p.tcp_flags, p.length, p.payload) for p in pkts
    ] == [
        (1002.0, "198.51.100.10", "203.0.113.2", 17, 4500, 4500, None, 29, b"x"),
        (1003.0, "10.0.0.1", "10.0.0.2", 6, 1234, 80, 0x02, 40, b""),
        (1004.0, "10.0.0.1", "10.0.0.2", 50, None, None, None, 38, b""),
    ]
    assert [p.frame for p in pkts] == [3, 4, 5]  # numbered in the file, as Wireshark does: ARP is frame 1
    assert describe(pkts[0], t0=1000.766) == "+1.234s 198.51.100.10:4500 -> 203.0.113.2:4500 UDP len 29"
    assert describe(pkts[1], t0=1000.0) == "+3.000s 10.0.0.1:1234 -> 10.0.0.2:80 TCP [S] len 40"
    assert describe(pkts[2], t0=1000.0) == "+4.000s 10.0.0.1 -> 10.0.0.2 ESP len 38"


# pcapng: what the captures write, with interface names; read back by iter_ipv4 and by scapy.


def test_pcapng_writer_names_the_interface_and_iter_ipv4_reads_it(tmp_path: Path) -> None:
    from scapy.utils import RawPcapNgReader

    from bench.capture import PcapngWriter

    path = tmp_path / "outer.pcapng"
    w = PcapngWriter(path, LINKTYPE_ETHERNET, "hb-in-u0", "outer: hb-in-u0 in namespace hb-inet")
    pkt = ETH / IP(src="198.51.100.10", dst="203.0.113.2") / UDP(sport=4500, dport=4500) / b"abc"
    w.write(bytes(pkt), 1000.123456)
    w.write(bytes(ETH / ARP()), 1001.0)
    w.close()
    pkts = list(iter_ipv4(path))
    assert [(round(p.t, 6), p.src, p.dport, p.payload) for p in pkts] == [
        (1000.123456, "198.51.100.10", 4500, b"abc")
    ]
    reader = RawPcapNgReader(str(path))
    assert sum(1 for _ in reader) == 2
    assert reader.interfaces[0][2]["name"] == b"hb-in-u0"
    empty = tmp_path / "empty.pcapng"
    PcapngWriter(empty, LINKTYPE_RAW, "ipsec0").close()
    assert list(iter_ipv4(empty)) == []


def test_iter_ipv4_reads_big_endian_pcapng_with_nanoseconds_and_two_interfaces(tmp_path: Path) -> None:
    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack(">II", kind, 12 + len(body)) + body + struct.pack(">I", 12 + len(body))

    raw = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=53, dport=5353) / b"x")
    eth = bytes(ETH / IP(src="10.0.0.3", dst="10.0.0.4") / TCP(sport=1, dport=2, flags="S"))
    tsresol = struct.pack(">HH", 9, 1) + b"\x09\0\0\0" + struct.pack(">HH", 0, 0)
    ns = 2_000_000_000_500
    data = (
        block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1))
        + block(1, struct.pack(">HHI", LINKTYPE_RAW, 0, 0) + tsresol)
        + block(1, struct.pack(">HHI", LINKTYPE_ETHERNET, 0, 0))
        + block(6, struct.pack(">IIIII", 0, ns >> 32, ns & 0xFFFFFFFF, len(raw), len(raw)) + raw)
        + block(6, struct.pack(">IIIII", 1, 0, 3_000_000, len(eth), len(eth)) + eth)
    )
    path = tmp_path / "be.pcapng"
    path.write_bytes(data)
    pkts = list(iter_ipv4(path))
    assert [(p.src, p.proto, p.tcp_flags) for p in pkts] == [("10.0.0.1", 17, None), ("10.0.0.3", 6, 0x02)]
    assert abs(pkts[0].t - 2000.0000005) < 1e-9 and pkts[1].t == 3.0
    path.write_bytes(data[:-8])
    with pytest.raises(ValueError, match="truncated"):
        list(iter_ipv4(path))

"""The outer-link policy of TS 33.320: no operator traffic outside the tunnel. A unit's outer link may carry
DHCP, DNS, NTP, ICMP and IKE/ESP; anything else is listed, and fails only where the inventory says strict."""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.capture import Pkt, describe, iter_ipv4

ALLOWED_UDP = {53: "DNS", 67: "DHCP", 68: "DHCP", 123: "NTP", 500: "IKE", 4500: "IKE"}  # 4500: and ESP in UDP
# ICMP errors (destination unreachable, source quench, redirect, time exceeded, parameter problem): they
# carry no data of their own, only the header and first 8 bytes of a packet that could not be delivered.
ICMP_ERRORS = {3, 4, 5, 11, 12}
S1_SCTP = 132
NTP_CLIENT_MODE = 3


@dataclass
class OuterLinkVerdict:
    """What crossed the unit's outer link, by the policy: operator packets (always a failure), allowed
    packets counted by kind, other traffic counted by what it was, NTP client requests for the timeline."""

    operator: list[Pkt] = field(default_factory=list)
    allowed: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    other_first: dict[str, Pkt] = field(default_factory=dict)
    ntp_queries: list[Pkt] = field(default_factory=list)

    def other_text(self, t0: float = 0.0) -> str:
        """e.g. "UDP port 514: 2 packet(s), first +1.2s 192.0.2.10:40000 -> 192.0.2.1:514 UDP len 37"."""
        return "; ".join(
            f"{what}: {n} packet(s), first {describe(self.other_first[what], t0)}"
            for what, n in self.other.most_common()
        )


def _label(p: Pkt) -> str:
    name = {6: "TCP", 17: "UDP", 1: "ICMP"}.get(p.proto)
    if name in ("TCP", "UDP") and p.dport is not None and p.sport is not None:
        return f"{name} port {min(p.sport, p.dport)}"
    return name or f"IP protocol {p.proto}"


def quoted(p: Pkt) -> tuple[str, str, int] | None:
    """The (source, destination, protocol) of the packet an ICMP error quotes, if it quotes one."""
    inner = p.payload[8:]
    if len(inner) < 20 or inner[0] >> 4 != 4:
        return None
    proto, src, dst = struct.unpack_from("!9xB2x4s4s", inner)
    return socket.inet_ntoa(src), socket.inet_ntoa(dst), proto


def judge(
    path: Path | str,
    operator_nets: list[ipaddress.IPv4Network],
    operator_ports: set[int],
    exempt: set[str] | None = None,
) -> OuterLinkVerdict:
    """Sort every packet on the outer capture at `path` by the policy.

    Operator traffic: anything to or from `operator_nets` (core, transit, inner pools), SCTP (S1), TCP or UDP
    to/from `operator_ports` (CWMP) - except to or from an `exempt` address (the public Initial HeMS, whose
    TLS session crosses the internet by design). ICMP errors are allowed whatever their addresses: they carry
    no operator data, and a packet they quote that crossed the link in clear is on the capture itself.
    Link-local multicast (IGMP on the home bridge) never leaves the link and is not counted. Non-first IP
    fragments take the verdict of their first fragment (big IKE_AUTH messages are fragmented by IP).
    """
    nets = [ipaddress.IPv4Network(n) for n in operator_nets]
    exempt = exempt or set()
    memo: dict[str, bool] = {}
    frags: dict[tuple[str, str, int, int], str] = {}
    verdict = OuterLinkVerdict()

    def in_operator(addr: str) -> bool:
        hit = memo.get(addr)
        if hit is None:
            ip = ipaddress.IPv4Address(addr)
            hit = memo[addr] = any(ip in n for n in nets)
        return hit

    def sort(p: Pkt) -> str:
        if p.proto == 1 and p.payload[:1] and p.payload[0] in ICMP_ERRORS:
            return "allowed:ICMP error"
        if p.src in exempt or p.dst in exempt:
            return "allowed:public Initial HeMS"
        if in_operator(p.src) or in_operator(p.dst) or p.proto == S1_SCTP:
            return "operator"
        if p.proto in (6, 17) and (p.sport in operator_ports or p.dport in operator_ports):
            return "operator"
        if p.proto == 50:
            return "allowed:ESP"
        if p.proto == 1:
            return "allowed:ICMP"
        if p.proto == 17:
            for port in (p.dport, p.sport):
                if port in ALLOWED_UDP:
                    return f"allowed:{ALLOWED_UDP[port]}"
        return "other:" + _label(p)

    for p in iter_ipv4(path):
        if ipaddress.IPv4Address(p.dst).is_multicast:
            continue
        key = (p.src, p.dst, p.ip_id, p.proto)
        if p.frag_offset:
            kind = frags.get(key, "other:" + _label(p) + " fragment")
        else:
            kind = frags[key] = sort(p)
        group, _, what = kind.partition(":")
        if group == "operator":
            verdict.operator.append(p)
        elif group == "allowed":
            verdict.allowed[what] += 1
            if what == "NTP" and p.dport == 123 and p.payload[:1] and p.payload[0] & 0x07 == NTP_CLIENT_MODE:
                verdict.ntp_queries.append(p)
        else:
            verdict.other[what] += 1
            verdict.other_first.setdefault(what, p)
    return verdict

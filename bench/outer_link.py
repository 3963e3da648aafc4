"""The outer-link policy of TS 33.320: no operator traffic outside the tunnel. A unit's outer link may carry
DHCP, DNS, NTP, ICMP and IKE/ESP; anything else is listed, and fails only where the inventory says strict.

One rule for two sources: the live check (bench.run.Evidence.assert_no_cleartext) reads the outer capture's
packets into flows (`read`), the evidence judge (bench.evidence.judge_outer) reads the same flows back from the
timeline's `security/outer-flow` events; both sort each flow by `sort` and word a failure by `failures`."""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.capture import Pkt, describe, iter_ipv4

ALLOWED_UDP = {53: "DNS", 67: "DHCP", 68: "DHCP", 123: "NTP", 500: "IKE", 4500: "IKE"}  # 4500: and ESP in UDP
# ICMP errors (destination unreachable, source quench, redirect, time exceeded, parameter problem): they
# carry no data of their own, only the header and first 8 bytes of a packet that could not be delivered.
ICMP_ERRORS = {3, 4, 5, 11, 12}
S1_SCTP = 132
NTP_CLIENT_MODE = 3
FRAMES_KEPT = 20  # a flow's first frame numbers kept for the evidence (its packet count is whole)
SHOWN = 3  # operator flows a failure message quotes


@dataclass(frozen=True)
class Policy:
    """What the policy needs of the inventory: the operator's ranges (core, transit, inner pools), its HeMS port
    (CWMP), the addresses exempt (the public Initial HeMS for a unit whose initial_hems_access is public) and
    whether other traffic fails (operator.outer_link.strict)."""

    operator_nets: tuple[ipaddress.IPv4Network, ...]
    operator_ports: frozenset[int]
    exempt: frozenset[str] = frozenset()
    strict: bool = False

    @classmethod
    def of(cls, network: Any, operator: Any, public: bool = False) -> Policy:
        """From an inventory's `network` and `operator` (bench.inventory.operator's Network and Operator)."""
        nets = [network.core, network.transit, network.initial_pool, *network.serving_pools]
        return cls(
            tuple(ipaddress.IPv4Network(n) for n in nets),
            frozenset({int(operator.hems_port)}),
            frozenset({str(network.public_hems)}) if public else frozenset(),
            bool(operator.outer_link.strict),
        )


@dataclass(frozen=True)
class Key:
    """What the policy reads of a packet: its addresses, IP protocol, ports (UDP/TCP), ICMP type, and whether it
    is a fragment after the first whose first fragment the capture did not show. Of the ports, the lower one
    (`low`, what other traffic is counted by) and any the rule names (ALLOWED_UDP's, the operator's: `keep` of
    `keyed`) are kept; another (a client's ephemeral port) is None, so a unit's DNS queries are one flow."""

    src: str
    dst: str
    proto: int
    sport: int | None = None
    dport: int | None = None
    icmp_type: int | None = None
    fragment: bool = False
    low: int | None = None

    def label(self) -> str:
        """What other traffic is counted as, e.g. "UDP port 514"."""
        name = {6: "TCP", 17: "UDP", 1: "ICMP"}.get(self.proto)
        text = f"{name} port {self.low}" if name in ("TCP", "UDP") and self.low is not None else None
        return (text or name or f"IP protocol {self.proto}") + (" fragment" if self.fragment else "")


@dataclass
class Flow:
    """The packets of one Key on the outer capture: how many, and the first one's time, length, TCP flags,
    fragment offset and frame number (to quote it as the live check does), and the first FRAMES_KEPT frames."""

    key: Key
    packets: int = 0
    t: float = 0.0
    length: int = 0
    tcp_flags: int | None = None
    frag_offset: int = 0
    ports: tuple[int | None, int | None] = (None, None)  # the first packet's own
    frames: list[int] = field(default_factory=list)

    def describe(self, t0: float = 0.0) -> str:
        """The first packet as capture.describe words it, with its frame number: "frame 7: +1.2s a:1 -> b:2 UDP
        len 37"."""
        k = self.key
        first = Pkt(self.t, k.src, k.dst, k.proto, *self.ports, self.tcp_flags, self.length, b"", 0,
                    self.frag_offset)  # fmt: skip
        return f"frame {self.frames[0] if self.frames else '?'}: {describe(first, t0)}"

    def data(self) -> dict[str, Any]:
        """The flow as a `security/outer-flow` event's data (without its capture)."""
        k = self.key
        return {"src": k.src, "dst": k.dst, "proto": k.proto, "sport": k.sport, "dport": k.dport, "low": k.low,
                "icmp_type": k.icmp_type, "fragment": k.fragment, "packets": self.packets,
                "length": self.length, "tcp_flags": self.tcp_flags, "frag_offset": self.frag_offset,
                "ports": list(self.ports), "frames": list(self.frames)}  # fmt: skip

    @classmethod
    def of_data(cls, t: float, d: dict[str, Any]) -> Flow:
        key = Key(str(d["src"]), str(d["dst"]), int(d["proto"]), d.get("sport"), d.get("dport"),
                  d.get("icmp_type"), bool(d.get("fragment")), d.get("low"))  # fmt: skip
        sport, dport = (list(d.get("ports") or []) + [None, None])[:2]
        return cls(key, int(d.get("packets", 1)), t, int(d.get("length", 0)), d.get("tcp_flags"),
                   int(d.get("frag_offset", 0)), (sport, dport), [int(n) for n in d.get("frames", [])])  # fmt: skip


@dataclass
class Link:
    """An outer capture read: its flows in the order of their first packets, its NTP client requests (for the
    live timeline), and where the capture was cut (a CaptureFormatError's text), if it was."""

    flows: list[Flow] = field(default_factory=list)
    ntp_queries: list[Pkt] = field(default_factory=list)
    cut: str | None = None
    overflow: int | None = None  # the frame from which new flows were no longer kept (read's max_flows)
    span: tuple[int, int] = (0, 0)  # the first and last frame numbers of the packets read


@dataclass
class OuterLinkVerdict:
    """What crossed the unit's outer link, by the policy: operator flows (always a failure), allowed packets
    counted by kind, other traffic counted by what it was (with its first flow), NTP client requests."""

    operator: list[Flow] = field(default_factory=list)
    allowed: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    other_first: dict[str, Flow] = field(default_factory=dict)
    ntp_queries: list[Pkt] = field(default_factory=list)

    @property
    def operator_packets(self) -> int:
        return sum(f.packets for f in self.operator)

    def other_text(self, t0: float = 0.0) -> str:
        """e.g. "UDP port 514: 2 packet(s), first frame 9: +1.2s 192.0.2.10:40000 -> 192.0.2.1:514 UDP len 37"."""
        return "; ".join(
            f"{what}: {n} packet(s), first {self.other_first[what].describe(t0)}"
            for what, n in self.other.most_common()
        )


def quoted(p: Pkt) -> tuple[str, str, int] | None:
    """The (source, destination, protocol) of the packet an ICMP error quotes, if it quotes one."""
    inner = p.payload[8:]
    if len(inner) < 20 or inner[0] >> 4 != 4:
        return None
    proto, src, dst = struct.unpack_from("!9xB2x4s4s", inner)
    return socket.inet_ntoa(src), socket.inet_ntoa(dst), proto


def keyed(packets: Iterable[Pkt], keep: frozenset[int] = frozenset()) -> Iterator[tuple[Pkt, Key]]:
    """Each packet the policy counts with its Key (ports: the lower one, ALLOWED_UDP's and `keep`, the operator's
    ports): multicast (IGMP on the home bridge) never leaves the link and is left out; a non-first IP fragment
    takes its first fragment's Key (big IKE_AUTH messages are fragmented by IP), or one marked `fragment` when
    the capture has no first fragment."""
    frags: dict[tuple[str, str, int, int], Key] = {}
    made: dict[tuple[Any, ...], Key] = {}  # a Key made once per flow (most packets are of a few flows)
    named = keep | ALLOWED_UDP.keys()
    for p in packets:
        if 224 <= int(p.dst[: p.dst.index(".")]) <= 239:  # 224.0.0.0/4
            continue
        ident = (p.src, p.dst, p.ip_id, p.proto)
        if p.frag_offset:
            key = frags.get(ident) or Key(p.src, p.dst, p.proto, fragment=True)
        else:
            icmp = p.payload[0] if p.proto == 1 and p.payload[:1] else None
            low = min(p.sport, p.dport) if p.sport is not None and p.dport is not None else None
            sport = p.sport if p.sport == low or p.sport in named else None
            dport = p.dport if p.dport == low or p.dport in named else None
            raw = (p.src, p.dst, p.proto, sport, dport, icmp, low)
            key = made.get(raw) or made.setdefault(
                raw, Key(p.src, p.dst, p.proto, sport, dport, icmp, low=low)
            )
            if p.more_fragments:  # a first fragment: those after it are looked up by its ID
                frags[ident] = key
        yield p, key


def read(path: Path | str, keep: frozenset[int] = frozenset(), max_flows: int | None = None) -> Link:
    """The outer capture at `path` as flows (`keep`: the operator's ports, see Key). A capture cut short or
    corrupt gives the flows before the cut and `cut` saying where (CaptureFormatError); a wrong link type gives
    no flows and `cut` saying so. With `max_flows`, a packet of a flow past that many is not kept (a hostile
    capture's million flows are not a million events): `overflow` says from which frame."""
    from bench.capture import CaptureFormatError

    link = Link()
    flows: dict[Key, Flow] = {}

    def packets() -> Iterator[Pkt]:
        try:
            yield from iter_ipv4(path)
        except CaptureFormatError as exc:
            link.cut = str(exc)

    first = last = 0
    for p, key in keyed(packets(), keep):
        flow = flows.get(key)
        if flow is None:
            if max_flows is not None and len(flows) >= max_flows:
                link.overflow = link.overflow or p.frame
                continue
            flow = flows[key] = Flow(key, 0, p.t, p.length, p.tcp_flags, p.frag_offset, (p.sport, p.dport))
            link.flows.append(flow)
        flow.packets += 1
        first, last = first or p.frame, p.frame
        if len(flow.frames) < FRAMES_KEPT:
            flow.frames.append(p.frame)
        if key.proto == 17 and p.dport == 123 and p.payload[:1] and p.payload[0] & 0x07 == NTP_CLIENT_MODE:
            link.ntp_queries.append(p)
    link.span = (first, last)
    return link


def sort(key: Key, policy: Policy, in_operator: Callable[[str], bool] | None = None) -> str:
    """The policy's rule for one Key: "operator", "allowed:<kind>" or "other:<label>".

    Operator traffic: anything to or from the operator's ranges, SCTP (S1), TCP or UDP to/from its HeMS port
    (CWMP) - except to or from an exempt address (the public Initial HeMS, whose TLS session crosses the
    internet by design). ICMP errors are allowed whatever their addresses: they carry no operator data, and a
    packet they quote that crossed the link in clear is on the capture itself. A non-first fragment without
    its first is other traffic."""
    inside = in_operator or (lambda a: any(ipaddress.IPv4Address(a) in n for n in policy.operator_nets))
    if key.fragment:
        return "other:" + key.label()
    if key.proto == 1 and key.icmp_type in ICMP_ERRORS:
        return "allowed:ICMP error"
    if key.src in policy.exempt or key.dst in policy.exempt:
        return "allowed:public Initial HeMS"
    if inside(key.src) or inside(key.dst) or key.proto == S1_SCTP:
        return "operator"
    if key.proto in (6, 17) and (key.sport in policy.operator_ports or key.dport in policy.operator_ports):
        return "operator"
    if key.proto == 50:
        return "allowed:ESP"
    if key.proto == 1:
        return "allowed:ICMP"
    if key.proto == 17:
        for port in (key.dport, key.sport):
            if port in ALLOWED_UDP:
                return f"allowed:{ALLOWED_UDP[port]}"
    return "other:" + key.label()


def verdict(flows: Iterable[Flow], policy: Policy) -> OuterLinkVerdict:
    """Every flow sorted by the policy, its packets counted."""
    memo: dict[str, bool] = {}

    def inside(addr: str) -> bool:
        hit = memo.get(addr)
        if hit is None:
            ip = ipaddress.IPv4Address(addr)
            hit = memo[addr] = any(ip in n for n in policy.operator_nets)
        return hit

    out = OuterLinkVerdict()
    for flow in flows:
        group, _, what = sort(flow.key, policy, inside).partition(":")
        if group == "operator":
            out.operator.append(flow)
        elif group == "allowed":
            out.allowed[what] += flow.packets
        else:
            out.other[what] += flow.packets
            out.other_first.setdefault(what, flow)
    return out


def failures(
    v: OuterLinkVerdict, policy: Policy, where: str, t0: float = 0.0
) -> list[tuple[str, str, list[Flow]]]:
    """The "security" step's failures as (expected, seen, the flows it names), worded once for the live check
    and the evidence judge: operator traffic, then other traffic where the policy is strict."""
    out = []
    if v.operator:
        shown = "; ".join(f.describe(t0) for f in v.operator[:SHOWN])
        more = f" (in {len(v.operator)} flows)" if len(v.operator) > SHOWN else ""
        out.append((f"no operator traffic outside the tunnel on the unit's outer link ({where})",
                    f"{v.operator_packets} cleartext operator packet(s){more}: {shown}", v.operator[:SHOWN]))  # fmt: skip
    if v.other and policy.strict:
        out.append((
            "only DHCP, DNS, NTP, ICMP and IKE/ESP on the unit's outer link (operator.outer_link.strict) "
            f"({where})", f"other traffic: {v.other_text(t0)}",
            [v.other_first[what] for what, _ in v.other.most_common()],
        ))  # fmt: skip
    return out


def judge(
    path: Path | str,
    operator_nets: list[ipaddress.IPv4Network],
    operator_ports: set[int],
    exempt: set[str] | None = None,
) -> OuterLinkVerdict:
    """Sort every packet on the outer capture at `path` by the policy (`sort`), with its NTP client requests."""
    link = read(path, frozenset(operator_ports))
    if link.cut is not None:  # a live capture is the bench's own: cut, it is the bench's error
        from bench.capture import CaptureFormatError

        raise CaptureFormatError(link.cut)
    policy = Policy(tuple(ipaddress.IPv4Network(n) for n in operator_nets), frozenset(operator_ports),
                    frozenset(exempt or ()))  # fmt: skip
    out = verdict(link.flows, policy)
    out.ntp_queries = link.ntp_queries
    return out

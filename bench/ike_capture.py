"""What the unit's outer capture shows of its IKEv2 exchanges with one SeGW address, for the impostor checks
(TS 33.320): the IKE headers (cleartext: exchange, initiator/response, SPIs), IKE_SA_INIT's notifies (its
payloads are cleartext, so a NO_PROPOSAL_CHOSEN is seen), and ESP from the unit (IP protocol 50, or UDP 4500
without the non-ESP marker). What IKE_AUTH and INFORMATIONAL carry is encrypted: an INFORMATIONAL from the
unit right after the SeGW's IKE_AUTH response is its AUTHENTICATION_FAILED notify or its DELETE. Frames are
numbered as Wireshark numbers them in the file."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from bench.capture import Pkt, describe, iter_ipv4

IKE_PORTS = (500, 4500)
EXCHANGES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"}
IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL = 34, 35, 36, 37
NOTIFIES = {
    7: "INVALID_SYNTAX",
    14: "NO_PROPOSAL_CHOSEN",
    17: "INVALID_KE_PAYLOAD",
    24: "AUTHENTICATION_FAILED",
}
NO_PROPOSAL_CHOSEN = 14
_NOTIFY_PAYLOAD = 41
_FLAG_RESPONSE = 0x20
_HEADER = struct.Struct("!8s8sBBBBII")


@dataclass(frozen=True, slots=True)
class Ike:
    """One IKEv2 message on the capture: its frame, exchange, whether a response, the initiator's SPI (hex)
    and the notifies it carries in clear (IKE_SA_INIT only)."""

    pkt: Pkt
    exchange: int
    response: bool
    spi_i: str
    notifies: tuple[int, ...] = ()

    def name(self) -> str:
        what = EXCHANGES.get(self.exchange, f"exchange {self.exchange}")
        return f"{what} {'response' if self.response else 'request'}"


def _notifies(msg: bytes, first: int) -> tuple[int, ...]:
    """The notify types of the payload chain that starts after the header (unencrypted payloads only)."""
    found: list[int] = []
    kind, off = first, _HEADER.size
    while kind and off + 4 <= len(msg):
        nxt, _, length = struct.unpack_from("!BBH", msg, off)
        if length < 4:
            break
        if kind == _NOTIFY_PAYLOAD and off + 8 <= len(msg):
            found.append(struct.unpack_from("!H", msg, off + 6)[0])
        kind, off = nxt, off + length
    return tuple(found)


def ike_message(p: Pkt) -> Ike | None:
    """The IKEv2 message `p` carries (UDP 500, or UDP 4500 after the non-ESP marker), else None."""
    if p.proto != 17 or not ({p.sport, p.dport} & set(IKE_PORTS)):
        return None
    msg = p.payload
    if 4500 in (p.sport, p.dport):
        if msg[:4] != b"\0\0\0\0":
            return None
        msg = msg[4:]
    if len(msg) < _HEADER.size:
        return None
    spi_i, _, first, version, exchange, flags, _, _ = _HEADER.unpack_from(msg)
    if version >> 4 != 2:
        return None
    notifies = _notifies(msg, first) if exchange == IKE_SA_INIT else ()
    return Ike(p, exchange, bool(flags & _FLAG_RESPONSE), spi_i.hex(), notifies)


def is_esp(p: Pkt) -> bool:
    """ESP: IP protocol 50, or ESP in UDP 4500 (a non-zero SPI, not the one-byte NAT keepalive)."""
    if p.proto == 50:
        return True
    return (
        p.proto == 17 and 4500 in (p.sport, p.dport) and len(p.payload) > 4 and p.payload[:4] != b"\0\0\0\0"
    )


@dataclass
class Account:
    """What the capture shows between the unit and the SeGW address since a moment: `text` for a message, the
    ESP packets from the unit after its first IKE_SA_INIT, and whether the IKE SAs judged were seen at all."""

    text: str
    esp: list[Pkt] = field(default_factory=list)
    found: bool = True
    used: bool = False  # ESP from the unit, or a CREATE_CHILD_SA it sent on an IKE SA judged


def _at(p: Pkt, t0: float) -> str:
    return f"frame {p.frame} ({describe(p, t0)})"


def account(
    path: Path | str, segw: str, since: float, spis: set[str], offer: bool = False, t0: float = 0.0
) -> Account:
    """The unit's exchanges with `segw` on the outer capture at `path` from `since` (epoch seconds): its first
    IKE_AUTH on an IKE SA whose initiator SPI is in `spis` (the ones the SeGW had up; empty: any) and what it
    sent after it, or with `offer`, the IKE_SA_INITs it sent (a refused offer: the SeGW's NO_PROPOSAL_CHOSEN);
    and ESP from the unit after its first IKE_SA_INIT or that IKE_AUTH (an attempt begun before `since`), not
    before (a tunnel from before a reboot)."""
    msgs: list[Ike] = []
    esp_sent: list[Pkt] = []  # ESP from the unit to `segw`
    for p in iter_ipv4(path):
        if p.t < since or segw not in (p.src, p.dst) or p.frag_offset:
            continue
        m = ike_message(p)
        if m is not None:
            msgs.append(m)
        elif p.dst == segw and is_esp(p):
            esp_sent.append(p)
    first = [m.pkt.t for m in msgs if m.pkt.dst == segw and m.exchange == IKE_SA_INIT and not m.response]
    start: float | None = min(first, default=None)  # the unit's first IKE_SA_INIT request since `since`
    parts: list[str] = []
    used = False
    found = True
    if not offer:
        mine = [m for m in msgs if m.spi_i in spis or not spis]
        auth = next(
            (m for m in mine if m.exchange == IKE_AUTH and not m.response and m.pkt.dst == segw), None
        )
        if auth is None:
            found = False
            which = f" with initiator SPI {', '.join(sorted(spis))}" if spis else ""
            parts.append(f"no IKE_AUTH request from the unit to {segw}{which}")
        else:
            start = min(start or auth.pkt.t, auth.pkt.t)
            sa = [m for m in mine if m.spi_i == auth.spi_i]
            init = [f"{m.name()} at frame {m.pkt.frame}" for m in sa if m.exchange == IKE_SA_INIT]
            answer = next(
                (m for m in sa if m.exchange == IKE_AUTH and m.response and m.pkt.t >= auth.pkt.t), None
            )
            text = f"the unit's IKE_AUTH request at {_at(auth.pkt, t0)}"
            if answer is not None:
                text += f", the SeGW's IKE_AUTH response at frame {answer.pkt.frame}"
            after = answer or auth
            nxt = next(
                (
                    m
                    for m in sa
                    if m.pkt.dst == segw and m.pkt.frame > after.pkt.frame and m.exchange != IKE_AUTH
                ),
                None,
            )
            if nxt is None:
                text += ", then no further IKE from the unit on that IKE SA"
            elif nxt.exchange == INFORMATIONAL:
                text += f", then its INFORMATIONAL {'response' if nxt.response else 'request'} at frame "
                text += f"{nxt.pkt.frame} (encrypted: its AUTHENTICATION_FAILED notify or DELETE)"
            else:
                used = nxt.exchange == CREATE_CHILD_SA
                text += f", then its {nxt.name()} at frame {nxt.pkt.frame}"
            parts.append((f"{', '.join(init)}; " if init else "") + text + f" (SPI {auth.spi_i})")
    else:
        offers = [m for m in msgs if m.exchange == IKE_SA_INIT and not m.response and m.pkt.dst == segw]
        if not offers:
            found = False
            parts.append(f"no IKE_SA_INIT request from the unit to {segw}")
        for sent in offers[:2]:
            reply = next(
                (m for m in msgs if m.spi_i == sent.spi_i and m.response and m.exchange == IKE_SA_INIT), None
            )
            text = f"the unit's IKE_SA_INIT request at {_at(sent.pkt, t0)}"
            if reply is not None:
                said = ", ".join(NOTIFIES.get(n, str(n)) for n in reply.notifies) or "no notify"
                text += f", the SeGW's response at frame {reply.pkt.frame} ({said})"
            parts.append(text)
        auths = [m for m in msgs if m.exchange == IKE_AUTH and not m.response and m.pkt.dst == segw]
        if auths:
            parts.append(f"its IKE_AUTH request at frame {auths[0].pkt.frame}")
    esp = [p for p in esp_sent if start is not None and p.t >= start]
    if esp:
        used = True
        parts.append(f"{len(esp)} ESP packet(s) from the unit to {segw} after its IKE_SA_INIT, the first at "
                     f"{_at(esp[0], t0)}")  # fmt: skip
    elif start is not None:
        parts.append(f"no ESP from the unit to {segw} after it")
    return Account("; ".join(parts), esp, found, used)

"""Measurements with units, computed from a timeline slice (and the outer capture for IKE): time to first
Inform after power-on, IKE setup time, boot time, time to S1 setup, upload interval observed."""

from __future__ import annotations

import statistics
from enum import StrEnum
from pathlib import Path
from typing import Any

from bench.capture import iter_ipv4
from bench.events import DhcpKind, DnsKind, FileserverKind, HemsKind, MmeKind, SegwKind, Source

# name -> (title, unit, how it is measured); the report prints these.
MEASUREMENTS = {
    "boot_time": ("Boot time", "s", "power-on to the unit's first DHCP DISCOVER"),
    "first_inform": ("Time to first Inform", "s", "power-on to the first Inform at a HeMS"),
    "ike_setup": (
        "IKE setup time",
        "s",
        "first IKE_SA_INIT request to the IKE_AUTH response on the outer link (or DNS answer to SA up)",
    ),
    "registration": ("Time to S1 setup", "s", "power-on to the first SCTP INIT at the MME"),
    "upload_interval": ("Upload interval observed", "s", "median time between file uploads"),
}
IKE_SA_INIT, IKE_AUTH = 34, 35
IKE_RESPONSE = 0x20


def _first(
    events: list[dict[str, Any]], source: Source, kind: StrEnum, after: float
) -> dict[str, Any] | None:
    return next((e for e in events if e["source"] == source and e["kind"] == kind and e["t"] >= after), None)


def _ike_header(payload: bytes, port: int) -> bytes | None:
    if port == 4500:
        if payload[:4] != b"\0\0\0\0":  # ESP, or a NAT keepalive
            return None
        payload = payload[4:]
    return payload if len(payload) >= 28 else None


def ike_setup_from_capture(path: Path) -> float | None:
    """Seconds from the first IKE_SA_INIT request to the first IKE_AUTH response after it."""
    start: float | None = None
    for p in iter_ipv4(path):
        if p.proto != 17 or p.sport is None or p.dport is None or not ({p.sport, p.dport} & {500, 4500}):
            continue
        head = _ike_header(p.payload, p.dport if p.dport in (500, 4500) else p.sport)
        if head is None:
            continue
        exchange, flags = head[18], head[19]
        if start is None and exchange == IKE_SA_INIT and not flags & IKE_RESPONSE:
            start = p.t
        elif start is not None and exchange == IKE_AUTH and flags & IKE_RESPONSE:
            return p.t - start
    return None


def measure(events: list[dict[str, Any]], outer_pcap: Path | None = None) -> dict[str, float]:
    """Every measurement the events (and capture) allow; those that cannot be told are left out."""
    out: dict[str, float] = {}
    on = next(
        (
            e
            for e in reversed(events)
            if e["source"] == Source.POWER and e["data"].get("action") in ("on", "cycle")
        ),
        None,
    )
    if on is not None:
        t_on = on["t"]
        for name, source, kind in (
            ("boot_time", Source.DHCP, DhcpKind.DISCOVER),
            ("first_inform", Source.HEMS, HemsKind.INFORM),
            ("registration", Source.MME, MmeKind.SCTP_INIT),
        ):
            ev = _first(events, source, kind, t_on)
            if ev is not None:
                out[name] = round(ev["t"] - t_on, 3)
    ike = ike_setup_from_capture(outer_pcap) if outer_pcap is not None and outer_pcap.is_file() else None
    if ike is None:
        up = next((e for e in events if e["source"] == Source.SEGW and e["kind"] == SegwKind.IKE_UP), None)
        query = up and next(
            (
                e
                for e in reversed(events)
                if e["source"] == Source.DNS and e["kind"] == DnsKind.QUERY and e["t"] <= up["t"]
            ),
            None,
        )
        if up is not None and query is not None:
            ike = up["t"] - query["t"]
    if ike is not None:
        out["ike_setup"] = round(ike, 3)
    uploads = [
        e["t"] for e in events if e["source"] == Source.FILESERVER and e["kind"] == FileserverKind.UPLOAD
    ]
    if len(uploads) >= 2:
        out["upload_interval"] = round(
            statistics.median(b - a for a, b in zip(uploads, uploads[1:], strict=False)), 3
        )
    return out

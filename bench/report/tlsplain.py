"""TLS sessions written out as plain TCP: tshark decrypts each TLS stream of a capture with the run's key logs
(`-z follow,tls,yaml`, which names the packet each piece of application data completed in), and every packet
of that stream is rewritten with that plaintext as its TCP payload (same addresses and ports, sequence and
acknowledgement numbers renumbered to the plaintext, checksums recomputed). Wireshark then shows the CWMP
XML with no key at all. A TLS stream tshark cannot decrypt (no key for it, a refused handshake) is left as
it was: without the key log it stays as unreadable as it was on the wire."""

from __future__ import annotations

import socket
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.errors import InfraError
from bench.report.pcaprw import Capture, fix_checksums, parse_l4
from bench.wireshark import profile_settings, tshark_path

TSHARK_TIMEOUT = 300.0
_SACK = 5


@dataclass
class TlsStream:
    """One TCP connection of a capture: its number in the capture, its packets (the first is where Wireshark
    finds it), and the plaintext per packet once decrypted."""

    number: int
    packets: list[int]  # 0-based packet indexes
    plaintext: dict[int, bytes] = field(default_factory=dict)  # packet index -> application data
    client: str = ""
    server: str = ""
    tls: bool = False

    @property
    def decrypted(self) -> bool:
        return bool(self.plaintext)

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.plaintext.values())


def _tshark(args: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="henb-tshark-") as profile:  # as the evidence reads captures
        env = profile_settings(Path(profile))  # an InfraError naming the package when tshark is missing
        res = subprocess.run([tshark_path(), *args], capture_output=True, text=True, timeout=TSHARK_TIMEOUT,
                             check=False, env=env)  # fmt: skip
    if res.returncode != 0:
        raise InfraError(f"tshark {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return res.stdout


def _endpoint(addr: bytes, port: int) -> str:
    return f"{socket.inet_ntoa(addr)}:{port}"


def find_tls(cap: Capture) -> list[TlsStream]:
    """The TCP connections of `cap` that open with a TLS ClientHello (a SYN starts a new connection on the
    same addresses and ports), numbered in order of their first packet."""
    conns: dict[tuple[tuple[bytes, int], tuple[bytes, int]], TlsStream] = {}
    syns: dict[tuple[tuple[bytes, int], tuple[bytes, int]], int] = {}  # the SYN's sequence number
    found: list[TlsStream] = []
    number = 0
    for pkt in cap.packets:
        lay = parse_l4(pkt)
        if lay is None or lay.proto != 6:
            continue
        a, b = (lay.src, lay.sport), (lay.dst, lay.dport)
        key = (min(a, b), max(a, b))
        syn = lay.flags & 0x12 == 0x02  # a SYN without ACK: a new connection, unless it is sent again
        if key not in conns or (syn and syns.get(key) != lay.seq):
            conns[key] = TlsStream(number, [], client=_endpoint(*a), server=_endpoint(*b))
            number += 1
        if syn:
            syns[key] = lay.seq
        conn = conns[key]
        conn.packets.append(pkt.index)
        body = pkt.frame[lay.start : lay.end]
        if not conn.tls and body[:2] == b"\x16\x03" and body[5:6] == b"\x01":
            conn.tls, conn.client, conn.server = True, _endpoint(*a), _endpoint(*b)
            found.append(conn)
    return found


def decrypt(path: Path, streams: list[TlsStream], keylog: Path | None) -> None:
    """Fill each stream's plaintext from tshark with `keylog` (one tshark for all of them)."""
    if not streams or keylog is None:
        return
    owner = {i: s for s in streams for i in s.packets}
    follow: list[str] = []
    for s in {(s.client, s.server) for s in streams}:
        follow += ["-z", f"follow,tls,yaml,{s[0]},{s[1]}"]
    out = _tshark(["-r", str(path), "-o", f"tls.keylog_file:{keylog}", "-q", *follow])
    for doc in _documents(out):
        for p in doc.get("packets") or []:
            index, data = int(p["packet"]) - 1, p.get("data") or b""
            conn = owner.get(index)
            if conn is not None and isinstance(data, bytes):
                conn.plaintext[index] = conn.plaintext.get(index, b"") + data


def _documents(text: str) -> list[dict]:  # type: ignore[type-arg]
    """tshark's follow output: one YAML document per stream, each starting with 'peers:'."""
    docs: list[str] = []
    cur: list[str] = []
    for line in text.splitlines():
        if line.startswith("peers:") and cur:
            docs.append("\n".join(cur))
            cur = []
        if line.strip() and not line.startswith("="):
            cur.append(line)
    if cur:
        docs.append("\n".join(cur))
    parsed = []
    for d in docs:
        try:
            value = yaml.safe_load(d)
        except yaml.YAMLError as exc:
            raise InfraError(f"tshark's TLS follow output could not be read: {exc}") from None
        if isinstance(value, dict):
            parsed.append(value)
    return parsed


def _strip_sack(frame: bytearray, l4: int, start: int) -> None:
    """SACK blocks name the old sequence numbers: they become NOPs."""
    i = l4 + 20
    while i < start:
        kind = frame[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        size = frame[i + 1] if i + 1 < start else 0
        if size < 2:
            break
        if kind == _SACK:
            frame[i : i + size] = b"\x01" * size
        i += size


def write_plain(cap: Capture, stream: TlsStream) -> None:
    """Rewrite every packet of a decrypted TLS stream in `cap` with its plaintext as payload."""
    isn: dict[tuple[bytes, int], int] = {}  # direction -> first sequence number
    sent: dict[tuple[bytes, int], int] = {}  # direction -> bytes (and SYN/FIN) sent so far
    for index in stream.packets:
        pkt = cap.packets[index]
        lay = parse_l4(pkt)
        if lay is None or lay.proto != 6:
            continue
        me, peer = (lay.src, lay.sport), (lay.dst, lay.dport)
        if me not in isn:
            isn[me], sent[me] = lay.seq, 0
        payload = stream.plaintext.get(index, b"")
        frame = bytearray(pkt.frame[: lay.start]) + payload
        seq = (isn[me] + sent[me]) % (1 << 32)
        ack = (isn[peer] + sent[peer]) % (1 << 32) if peer in isn else lay.ack
        struct.pack_into("!II", frame, lay.l4 + 4, seq, ack)
        if payload:
            frame[lay.l4 + 13] |= 0x08  # PSH
        else:
            frame[lay.l4 + 13] &= ~0x08 & 0xFF  # a TLS handshake's packet is now a bare ACK
        struct.pack_into("!H", frame, lay.ip + 2, len(frame) - lay.ip)
        _strip_sack(frame, lay.l4, lay.start)
        sent[me] += len(payload) + (1 if lay.flags & 0x02 else 0) + (1 if lay.flags & 0x01 else 0)
        lay.end = len(frame)
        fix_checksums(frame, lay)
        pkt.frame = bytes(frame)

"""TLS sessions written out as plain TCP: tshark decrypts each TLS stream of a capture with the run's key logs
(`-z follow,tls,yaml`, which names the packet each piece of application data completed in), and every packet
of that stream is rewritten with that plaintext as its TCP payload (same addresses and ports, sequence and
acknowledgement numbers renumbered to the plaintext, checksums recomputed). Wireshark then shows the CWMP
XML with no key at all. A TLS stream tshark cannot decrypt (no key for it, a refused handshake) is left as
it was: without the key log it stays as unreadable as it was on the wire."""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.errors import InfraError
from bench.report.pcaprw import Capture, fix_checksums, parse_l4

TSHARK_TIMEOUT = 300.0
_SACK = 5


@dataclass
class TlsStream:
    """One TLS connection of a capture: tshark's stream number, its packets and the plaintext per packet."""

    number: int
    packets: list[int]  # 0-based packet indexes
    plaintext: dict[int, bytes] = field(default_factory=dict)  # packet index -> application data
    client: str = ""
    server: str = ""

    @property
    def decrypted(self) -> bool:
        return bool(self.plaintext)

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.plaintext.values())


def _tshark(args: list[str]) -> str:
    try:
        res = subprocess.run(
            ["tshark", *args], capture_output=True, text=True, timeout=TSHARK_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise InfraError(
            "tshark is not installed: it decrypts TLS for a shareable bundle (henb-bench doctor)"
        ) from None
    if res.returncode != 0:
        raise InfraError(f"tshark {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return res.stdout


def tls_streams(path: Path, keylog: Path | None) -> list[TlsStream]:
    """The TLS streams of `path` (a ClientHello seen), each with its plaintext where `keylog` opens it."""
    opts = ["-o", f"tls.keylog_file:{keylog}"] if keylog else []
    table = _tshark(["-r", str(path), *opts, "-T", "fields", "-E", "separator=\t", "-e", "frame.number",
                     "-e", "tcp.stream", "-e", "tls.handshake.type", "-e", "ip.src", "-e", "tcp.srcport",
                     "-e", "ip.dst", "-e", "tcp.dstport"])  # fmt: skip
    by_stream: dict[int, TlsStream] = {}
    frame_stream: dict[int, int] = {}
    tls: set[int] = set()
    for line in table.splitlines():
        cols = line.split("\t")
        if len(cols) < 7 or not cols[1]:
            continue
        frame, stream = int(cols[0]), int(cols[1])
        frame_stream[frame] = stream
        s = by_stream.setdefault(stream, TlsStream(stream, []))
        s.packets.append(frame - 1)
        if "1" in cols[2].split(","):
            tls.add(stream)
            s.client, s.server = f"{cols[3]}:{cols[4]}", f"{cols[5]}:{cols[6]}"
    streams = [by_stream[n] for n in sorted(tls)]
    if not streams or keylog is None:
        return streams
    follow: list[str] = []
    for s in streams:
        follow += ["-z", f"follow,tls,yaml,{s.number}"]
    out = _tshark(["-r", str(path), *opts, "-q", *follow])
    for doc in _documents(out):
        for p in doc.get("packets") or []:
            frame, data = int(p["packet"]), p.get("data") or b""
            owner = by_stream.get(frame_stream.get(frame, -1))
            if owner is not None and owner.number in tls and isinstance(data, bytes):
                owner.plaintext[frame - 1] = owner.plaintext.get(frame - 1, b"") + data
    return streams


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

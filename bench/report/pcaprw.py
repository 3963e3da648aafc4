"""Rewriting a capture packet by packet: read every packet of a pcap or pcapng file with the blocks around it,
change packets' bytes, write the file again with everything else as it was (section and interface blocks,
timestamps, packet options). Plus what a rewrite of IPv4 needs: headers, checksums, TCP streams reassembled
by sequence number so a secret split over two segments is still one string."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.capture import CaptureFormatError, _ip_offset

PCAPNG_SHB, PCAPNG_IDB, PCAPNG_EPB, PCAPNG_SPB, PCAPNG_DSB = 0x0A0D0D0A, 1, 6, 3, 0x0000000A
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<",
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",
    b"\xa1\xb2\x3c\x4d": ">",
}
# How far a stream's bytes may run from its first sequence number before a segment is taken as unrelated.
MAX_STREAM = 256 * 1024 * 1024


@dataclass
class Packet:
    """One packet: its link-layer frame (to change in place), its link type, and where it came from."""

    frame: bytes
    linktype: int
    index: int  # 0-based; tshark's frame.number is index + 1


@dataclass
class Capture:
    """A whole capture: the packets, and the blocks or records to write around them again."""

    path: Path
    fmt: str  # "pcapng" or "pcap"
    packets: list[Packet]
    _parts: list[tuple[str, bytes, int]] = field(default_factory=list)  # (part, raw, packet index or -1)
    _endian: str = "<"
    dropped_blocks: int = 0  # decryption secrets blocks left out

    def write(self, out: Path) -> None:
        with open(out, "wb") as fh:
            for part, raw, i in self._parts:
                if part == "raw":
                    fh.write(raw)
                elif self.fmt == "pcapng":
                    fh.write(_epb(raw, self.packets[i].frame, self._endian))
                else:
                    fh.write(_pcap_record(raw, self.packets[i].frame, self._endian))


def read_capture(path: Path) -> Capture:
    """Every packet of `path` and the blocks around them; CaptureFormatError for what this cannot rewrite."""
    data = path.read_bytes()
    if data[:4] == struct.pack("<I", PCAPNG_SHB):
        return _read_pcapng(path, data)
    if data[:4] in PCAP_MAGICS:
        return _read_pcap(path, data)
    raise CaptureFormatError(f"{path}: not a pcap or pcapng file")


def _read_pcapng(path: Path, data: bytes) -> Capture:
    cap = Capture(path, "pcapng", [])
    off, endian = 0, "<"
    linktypes: list[int] = []
    while off < len(data):
        if len(data) - off < 12:
            raise CaptureFormatError(f"{path}: truncated block at byte {off}")
        raw_kind = data[off : off + 4]
        if raw_kind == b"\x0a\x0d\x0d\x0a":
            endian = "<" if data[off + 8 : off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            cap._endian, linktypes = endian, []
        kind, total = struct.unpack_from(endian + "II", data, off)
        if total < 12 or total % 4 or off + total > len(data):
            raise CaptureFormatError(f"{path}: block at byte {off} has a bad length {total}")
        raw = data[off : off + total]
        if kind == PCAPNG_IDB:
            linktypes.append(struct.unpack_from(endian + "H", raw, 8)[0])
        if kind == PCAPNG_EPB:
            iface, caplen = (
                struct.unpack_from(endian + "I", raw, 8)[0],
                struct.unpack_from(endian + "I", raw, 20)[0],
            )
            if iface >= len(linktypes) or 28 + caplen > total - 4:
                raise CaptureFormatError(f"{path}: packet block at byte {off} is malformed")
            cap._parts.append(("epb", raw, len(cap.packets)))
            cap.packets.append(Packet(bytes(raw[28 : 28 + caplen]), linktypes[iface], len(cap.packets)))
        elif kind in (PCAPNG_SPB, 2):  # simple and obsolete packet blocks: tshark would number them too
            raise CaptureFormatError(f"{path}: block type {kind} at byte {off}: only enhanced packet blocks")
        elif kind == PCAPNG_DSB:
            cap.dropped_blocks += 1  # TLS keys inside the capture: never in a shareable one
        else:
            cap._parts.append(("raw", raw, -1))
        off += total
    return cap


def _epb(raw: bytes, frame: bytes, endian: str) -> bytes:
    """The enhanced packet block `raw` with `frame` as its data (same interface, time, options)."""
    caplen = struct.unpack_from(endian + "I", raw, 20)[0]
    orig_len = struct.unpack_from(endian + "I", raw, 24)[0]
    opts = raw[28 + caplen + (-caplen % 4) : -4]
    head = raw[8:20] + struct.pack(endian + "II", len(frame), max(orig_len - caplen, 0) + len(frame))
    body = head + frame + b"\0" * (-len(frame) % 4) + opts
    total = 12 + len(body)
    return struct.pack(endian + "II", PCAPNG_EPB, total) + body + struct.pack(endian + "I", total)


def _read_pcap(path: Path, data: bytes) -> Capture:
    endian = PCAP_MAGICS[data[:4]]
    if len(data) < 24:
        raise CaptureFormatError(f"{path}: truncated pcap header")
    cap = Capture(path, "pcap", [], _endian=endian)
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    cap._parts.append(("raw", data[:24], -1))
    off = 24
    while off < len(data):
        if len(data) - off < 16:
            raise CaptureFormatError(f"{path}: truncated record at byte {off}")
        caplen = struct.unpack_from(endian + "I", data, off + 8)[0]
        if off + 16 + caplen > len(data):
            raise CaptureFormatError(f"{path}: record at byte {off} runs past the end")
        cap._parts.append(("rec", data[off : off + 16], len(cap.packets)))
        cap.packets.append(Packet(data[off + 16 : off + 16 + caplen], linktype, len(cap.packets)))
        off += 16 + caplen
    return cap


def _pcap_record(head: bytes, frame: bytes, endian: str) -> bytes:
    caplen, orig = struct.unpack_from(endian + "II", head, 8)
    return head[:8] + struct.pack(endian + "II", len(frame), max(orig - caplen, 0) + len(frame)) + frame


# --- IPv4, TCP and UDP ---


@dataclass
class L4:
    """Where a packet's IPv4 header and TCP/UDP payload are in its frame."""

    ip: int  # offset of the IPv4 header
    l4: int  # offset of the TCP/UDP header
    start: int  # offset of the payload
    end: int  # end of the payload (the IP total length, not Ethernet padding)
    proto: int
    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int = 0
    ack: int = 0
    flags: int = 0


def parse_l4(pkt: Packet) -> L4 | None:
    """The TCP or UDP layout of an unfragmented IPv4 packet, or None."""
    f = pkt.frame
    try:
        ip = _ip_offset(pkt.linktype, f)
    except ValueError:
        return None
    if ip < 0 or len(f) < ip + 20 or f[ip] >> 4 != 4:
        return None
    ihl = (f[ip] & 0x0F) * 4
    total = struct.unpack_from("!H", f, ip + 2)[0]
    frag = struct.unpack_from("!H", f, ip + 6)[0]
    proto, l4 = f[ip + 9], ip + ihl
    end = min(ip + total, len(f))
    if frag & 0x3FFF or proto not in (6, 17):
        return None
    if proto == 17 and end >= l4 + 8:
        sport, dport = struct.unpack_from("!HH", f, l4)
        return L4(ip, l4, l4 + 8, end, 17, f[ip + 12 : ip + 16], f[ip + 16 : ip + 20], sport, dport)
    if proto == 6 and end >= l4 + 20:
        sport, dport, seq, ack = struct.unpack_from("!HHII", f, l4)
        start = l4 + (f[l4 + 12] >> 4) * 4
        if start > end:
            return None
        return L4(ip, l4, start, end, 6, f[ip + 12 : ip + 16], f[ip + 16 : ip + 20], sport, dport, seq, ack,
                  f[l4 + 13])  # fmt: skip
    return None


def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def checksum(data: bytes) -> int:
    return ~_sum16(data) & 0xFFFF


def fix_checksums(frame: bytearray, lay: L4) -> None:
    """Recompute the IPv4 header checksum and the TCP or UDP checksum of the packet in `frame`."""
    ip, l4, end = lay.ip, lay.l4, lay.end
    frame[ip + 10 : ip + 12] = b"\0\0"
    frame[ip + 10 : ip + 12] = struct.pack("!H", checksum(bytes(frame[ip:l4])))
    pos = l4 + (16 if lay.proto == 6 else 6)
    frame[pos : pos + 2] = b"\0\0"
    seg = bytes(frame[l4:end])
    pseudo = lay.src + lay.dst + struct.pack("!BBH", 0, lay.proto, len(seg))
    value = checksum(pseudo + seg)
    if lay.proto == 17 and value == 0:
        value = 0xFFFF
    frame[pos : pos + 2] = struct.pack("!H", value)


# --- TCP streams ---


@dataclass
class Stream:
    """One direction of one TCP connection (or one UDP datagram): its bytes in sequence order and which
    packet carries which of them."""

    key: tuple[bytes, int, bytes, int, int]  # src, sport, dst, dport, generation
    base: int  # sequence number of its first byte
    data: bytearray = field(default_factory=bytearray)
    segments: list[tuple[int, int, int]] = field(
        default_factory=list
    )  # (packet index, stream offset, length)

    def add(self, index: int, seq: int, payload: bytes) -> None:
        rel = (seq - self.base) % (1 << 32)
        if rel > MAX_STREAM or not payload:
            return
        if len(self.data) < rel + len(payload):
            self.data.extend(b"\0" * (rel + len(payload) - len(self.data)))
        self.data[rel : rel + len(payload)] = payload
        self.segments.append((index, rel, len(payload)))


def streams(packets: list[Packet]) -> Iterator[Stream]:
    """Every TCP direction reassembled (a SYN starts a new one on the same addresses and ports), then every
    UDP datagram as a stream of its own."""
    tcp: dict[tuple[bytes, int, bytes, int], Stream] = {}
    done: list[Stream] = []
    gen = 0
    for pkt in packets:
        lay = parse_l4(pkt)
        if lay is None:
            continue
        payload = pkt.frame[lay.start : lay.end]
        if lay.proto == 17:
            if payload:
                s = Stream((lay.src, lay.sport, lay.dst, lay.dport, -1), 0)
                s.add(pkt.index, 0, payload)
                done.append(s)
            continue
        k = (lay.src, lay.sport, lay.dst, lay.dport)
        syn = bool(lay.flags & 0x02)
        if syn or k not in tcp:
            if k in tcp:
                done.append(tcp.pop(k))
            gen += 1
            tcp[k] = Stream((*k, gen), (lay.seq + 1) % (1 << 32) if syn else lay.seq)
        tcp[k].add(pkt.index, lay.seq, payload)
    yield from done
    yield from tcp.values()

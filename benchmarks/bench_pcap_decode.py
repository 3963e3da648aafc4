"""Time bench.capture.iter_ipv4 over a synthetic capture of small UDP (IKE/ESP-in-UDP, DNS) and ESP packets,
as classic pcap and as pcapng (what the bench's captures write).

Usage: .venv/bin/python benchmarks/bench_pcap_decode.py [--packets N] [--format pcap|pcapng|both]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import tempfile
import time
from pathlib import Path

from bench.capture import LINKTYPE_ETHERNET, PcapngWriter, iter_ipv4

ETH = bytes.fromhex("0200000000020200000000010800")
SRC, DST = bytes([198, 51, 100, 10]), bytes([203, 0, 113, 2])


def _ipv4(proto: int, l4: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, SRC, DST) + l4


def _templates() -> list[bytes]:
    esp = struct.pack("!II", 0x1000, 1) + b"\xaa" * 64
    return [
        ETH + _ipv4(17, struct.pack("!HHHH", 4500, 4500, 8 + len(esp), 0) + esp),
        ETH + _ipv4(50, esp),
        ETH + _ipv4(17, struct.pack("!HHHH", 33000, 53, 8 + 30, 0) + b"\x12" * 30),
        ETH + _ipv4(17, struct.pack("!HHHH", 4500, 4500, 9, 0) + b"\xff"),  # NAT keepalive
    ]


def write_synthetic(path: Path, packets: int) -> None:
    """Write `packets` records by cycling through a few prebuilt frames; no per-packet scapy."""
    frames = _templates()
    records = [struct.pack("<IIII", 0, 0, len(f), len(f)) + f for f in frames]
    t0 = 1_700_000_000
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        chunk = []
        for i in range(packets):
            rec = records[i % len(records)]
            # Stamp the time in place: one packet every 100 us.
            chunk.append(struct.pack("<II", t0 + i // 10_000, (i % 10_000) * 100) + rec[8:])
            if len(chunk) == 10_000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))


def write_synthetic_pcapng(path: Path, packets: int) -> None:
    """The same packets as pcapng: section and interface headers by PcapngWriter, then packet blocks."""
    PcapngWriter(path, LINKTYPE_ETHERNET, "hb-in-u0", "synthetic").close()
    frames = _templates()
    t0_us = 1_700_000_000 * 1_000_000
    with path.open("ab") as f:
        chunk = []
        for i in range(packets):
            frame = frames[i % len(frames)]
            n = len(frame)
            us = t0_us + i * 100
            pad = -n % 4
            total = 32 + n + pad
            chunk.append(
                struct.pack("<IIIIIII", 6, total, 0, us >> 32, us & 0xFFFFFFFF, n, n)
                + frame
                + b"\0" * pad
                + struct.pack("<I", total)
            )
            if len(chunk) == 10_000:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=["pcap", "pcapng", "both"], default="both")
    args = parser.parse_args()
    formats = ["pcap", "pcapng"] if args.format == "both" else [args.format]
    for fmt in formats:
        run_format(fmt, args.packets, args.runs)


def run_format(fmt: str, packets: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp:
        path = Path(tmp) / f"synthetic.{fmt}"
        t = time.perf_counter()
        (write_synthetic if fmt == "pcap" else write_synthetic_pcapng)(path, packets)
        mb = path.stat().st_size / 1e6
        print(f"{fmt}: wrote {packets} packets, {mb:.1f} MB in {time.perf_counter() - t:.2f} s")
        rates = []
        for run in range(runs):
            t = time.perf_counter()
            n = sum(1 for _ in iter_ipv4(path))
            elapsed = time.perf_counter() - t
            if n != packets:
                raise SystemExit(f"{fmt}: decoded {n} packets, wrote {packets}")
            rates.append(n / elapsed)
            print(f"{fmt} run {run + 1}: {n} packets in {elapsed:.2f} s, {n / elapsed:,.0f} pkt/s")
        print(f"iter_ipv4 {fmt}: median {statistics.median(rates):,.0f} pkt/s over {runs} runs")


if __name__ == "__main__":
    main()

"""Time `henb-bench judge`'s reading of captures (tshark, the decoders, the judge functions) in packets per
second, over a synthetic outer-link capture (ESP-in-UDP, ESP, DNS, NAT keepalives: a night of a registered
unit is mostly these) or over the captures given.

Usage: .venv/bin/python benchmarks/bench_judge.py [--packets N] [CAPTURE ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pcap_decode import write_synthetic_pcapng  # noqa: E402

from bench.evidence.cli import Known, judge, timeline_of  # noqa: E402
from bench.evidence.decode import Names  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000, help="synthetic packets (default 200000)")
    parser.add_argument("captures", nargs="*", type=Path, help="captures to judge instead of a synthetic one")
    args = parser.parse_args()
    known = Known(Names.of_operator("isegw.operator.example", "ssegw.operator.example", "ihems.operator.example",
                                    "shems.operator.example"))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        captures = args.captures
        if not captures:
            captures = [Path(tmp) / "outer.pcapng"]
            write_synthetic_pcapng(captures[0], args.packets)
        start, cpu = time.perf_counter(), os.times()
        notes: list[str] = []
        tl, span = timeline_of(captures, None, known, notes)
        judged = judge(tl, span, None, None, known)
        seconds, after = time.perf_counter() - start, os.times()
        used = sum(after[:4]) - sum(
            cpu[:4]
        )  # this process and tshark: the figure a loaded host does not skew
    from bench.evidence.tshark import read_frames

    packets = sum(len(read_frames(c)) for c in captures) if args.captures else args.packets
    print(
        f"judged {packets} packets in {seconds:.2f} s: {packets / seconds:,.0f} packets/s; CPU {used:.2f} s: "
        f"{packets / used:,.0f} packets per CPU second ({len(tl.events())} events, {len(judged)} tests, "
        f"{len(notes)} not-observable notes; load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()

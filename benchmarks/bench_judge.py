"""Time `henb-bench judge`'s reading of captures (tshark, the decoders, the judge functions) in packets per
second, and its peak memory (this process and tshark's), over a synthetic outer-link capture (ESP-in-UDP, ESP,
DNS, NAT keepalives: a night of a registered unit is mostly these) or over the captures given.

Usage: .venv/bin/python benchmarks/bench_judge.py [--packets N] [CAPTURE ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pcap_decode import write_synthetic_pcapng  # noqa: E402

from bench.evidence import cli  # noqa: E402
from bench.evidence.decode import Names  # noqa: E402
from bench.evidence.tshark import read_frames  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000, help="synthetic packets (default 200000)")
    parser.add_argument("captures", nargs="*", type=Path, help="captures to judge instead of a synthetic one")
    args = parser.parse_args()
    known = cli.Known(Names.of_operator("isegw.operator.example", "ssegw.operator.example",
                                        "ihems.operator.example", "shems.operator.example"))  # fmt: skip
    packets = 0

    def counted(*a: object, **k: object):  # type: ignore[no-untyped-def]
        nonlocal packets
        for frame in read_frames(*a, **k):  # type: ignore[arg-type]
            packets += 1
            yield frame

    cli.read_frames = counted  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        captures = args.captures
        if not captures:
            captures = [Path(tmp) / "outer.pcapng"]
            write_synthetic_pcapng(captures[0], args.packets)
        size = sum(c.stat().st_size for c in captures)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start, cpu = time.perf_counter(), os.times()
        notes: list[str] = []
        tl, span = cli.timeline_of(captures, None, known, notes)
        judged = cli.judge(tl, span, None, None, known)
        seconds, after = time.perf_counter() - start, os.times()
    used = sum(after[:4]) - sum(cpu[:4])  # this process and tshark: the figure a loaded host does not skew
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tshark = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"judged {packets} packets ({size / 1e6:,.0f} MB) in {seconds:.2f} s: {packets / seconds:,.0f} packets/s; "
        f"CPU {used:.2f} s: {packets / used:,.0f} packets per CPU second ({len(tl.events())} events, "
        f"{len(judged)} tests, {len(notes)} not-observable notes)\n"
        f"peak RSS: this process {own:,.0f} MB (before judging {before / 1024:,.0f} MB), tshark {tshark:,.0f} MB; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()

"""Long fuzz run of the CWMP codec (bench/cwmp.py): mutated messages of every kind and raw bytes, each parsed
and read as the HeMS and the mock unit read it. A parsed result or CwmpParseError is right; anything else is a
crash, an input over the time bound a hang. Prints inputs, crashes, hangs, peak RSS and inputs/s.

    nice .venv/bin/python benchmarks/fuzz_cwmp.py --inputs 1000000 --out fuzz-out/cwmp
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cwmp import CwmpParseError  # noqa: E402
from benchmarks.fuzz_tally import Tally  # noqa: E402
from tests.hostile import message, read_all  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hang", type=float, default=1.0, help="seconds one input may take")
    parser.add_argument("--out", type=Path, default=Path("fuzz-out/cwmp"), help="where reproducers go")
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    tally = Tally("cwmp", args.out, args.hang)
    tally.watchdog(max(30.0, 30 * args.hang))
    step = max(1, args.inputs // 10)
    clock = time.perf_counter
    for i in range(args.inputs):
        data = message(rnd)
        tally.current, tally.current_since = data, clock()
        try:
            read_all(data)
            tally.accepted += 1
        except CwmpParseError:
            tally.rejected += 1
        except Exception as exc:  # noqa: BLE001 - counted and saved: that is the point
            tally.crash(data, exc)
        tally.timed(data, clock() - tally.current_since, functools.partial(read_all, data))
        tally.current = None
        tally.inputs = i + 1
        if tally.inputs % step == 0:
            tally.progress(args.inputs)
    sys.exit(0 if tally.report() else 1)


if __name__ == "__main__":
    main()

"""`make demo` timed: `henb-bench run --doctor` (what `make demo` runs once installed) on an inventory (default:
inventory.yaml, every unit) N times; prints each run's time (its summary line's) and the whole command's, their
medians, and where the time of the last run went: per test and unit (run.json's seconds), each unit's sum, and
each test's slowest unit. `--no-doctor`: `henb-bench run` alone.

    sudo .venv/bin/python benchmarks/bench_demo.py --inventory /tmp/inv.yaml --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(inventory: Path, out: Path, doctor: bool) -> tuple[float, float, Path, int]:
    """One `henb-bench run [--doctor]`: the run's wall time (from its summary line), the whole command's, its
    folder, its exit code."""
    cmd = [str(ROOT / ".venv/bin/henb-bench"), "--inventory", str(inventory), "run", "--out", str(out)]
    began = time.monotonic()
    done = subprocess.run(cmd + ["--doctor"] * doctor, capture_output=True, text=True, cwd=ROOT, check=False)
    whole = time.monotonic() - began
    m = re.search(r"henb-bench: .* in ([\d.]+) s[:;].*evidence in (\S+)/", done.stdout)
    if m is None:
        sys.exit(f"no summary line from {' '.join(cmd)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return float(m.group(1)), whole, Path(m.group(2)), done.returncode


def breakdown(run_dir: Path) -> str:
    results = json.loads((run_dir / "run.json").read_text())["results"]
    per: dict[str, dict[str, float]] = defaultdict(dict)
    outcomes: dict[str, int] = defaultdict(int)
    for r in results:
        per[r["test"]][r.get("unit") or "-"] = r["seconds"]
        outcomes[r["outcome"]] += 1
    units = sorted({u for t in per.values() for u in t})
    lines = [f"{'test':72} " + " ".join(f"{u:>9}" for u in units)]
    for test, secs in per.items():
        lines.append(f"{test[:72]:72} " + " ".join(f"{secs.get(u, 0):9.2f}" for u in units))
    sums = {u: sum(t.get(u, 0) for t in per.values()) for u in units}
    lines.append(f"{'sum per unit':72} " + " ".join(f"{sums[u]:9.2f}" for u in units))
    lines.append(f"sum of each test's slowest unit: {sum(max(t.values()) for t in per.values()):.2f} s")
    lines.append("outcomes: " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inventory", type=Path, default=ROOT / "inventory.yaml")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", type=Path, default=None, help="evidence folder (default: a temporary one)")
    p.add_argument("--no-doctor", action="store_true", help="`henb-bench run` alone, without its host check")
    args = p.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-demo-"))
    walls, wholes = [], []
    run_dir = out
    for i in range(args.runs):
        before = os.getloadavg()[0]
        wall, whole, run_dir, code = one_run(args.inventory, out, not args.no_doctor)
        walls.append(wall)
        wholes.append(whole)
        load = f"{before:.1f}-{os.getloadavg()[0]:.1f}"
        print(f"run {i + 1}: {wall:.1f} s, the whole command {whole:.1f} s, exit {code}, load average {load}, "
              f"{run_dir}", flush=True)  # fmt: skip
    print(
        f"median of {len(walls)}: {statistics.median(walls):.1f} s, the whole command {statistics.median(wholes):.1f} s"
    )
    print(breakdown(run_dir))


if __name__ == "__main__":
    main()

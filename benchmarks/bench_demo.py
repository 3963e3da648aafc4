"""`make demo`'s run part timed: `henb-bench run` on an inventory (default: inventory.yaml, every unit) N times;
prints each run's wall time and the median, and where the time of the last run went: per test and unit (run.json's
seconds), each unit's sum, and each test's slowest unit.

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
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(inventory: Path, out: Path) -> tuple[float, Path, int]:
    """One `henb-bench run`: its own wall time (from its summary line), its folder, its exit code."""
    cmd = [str(ROOT / ".venv/bin/henb-bench"), "--inventory", str(inventory), "run", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    m = re.search(r"henb-bench: .* in ([\d.]+) s[:;].*evidence in (\S+)/", done.stdout)
    if m is None:
        sys.exit(f"no summary line from {' '.join(cmd)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return float(m.group(1)), Path(m.group(2)), done.returncode


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
    args = p.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-demo-"))
    walls = []
    run_dir = out
    for i in range(args.runs):
        wall, run_dir, code = one_run(args.inventory, out)
        walls.append(wall)
        load = os.getloadavg()[0]
        print(f"run {i + 1}: {wall:.1f} s, exit {code}, load average {load:.1f}, {run_dir}", flush=True)
    print(f"median of {len(walls)}: {statistics.median(walls):.1f} s")
    print(breakdown(run_dir))


if __name__ == "__main__":
    main()

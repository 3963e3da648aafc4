"""Several mock units running the full TS 32.593 plan concurrently in one `henb-bench run`: the run's wall time,
the tests that did not pass, and memory per unit (peak RSS of the processes in the unit's namespace: the mock
process and its charon, sampled every second while the run goes).

    sudo .venv/bin/python benchmarks/bench_fleet.py [--inventory F] [--prefix fl-] [--units 1,5,10,20]

Each N runs the plan against N copies of the inventory's first unit (serials FLEET0001...); exits 1 when a test
of any unit failed or errored. The default inventory's mock bounds are tuned for one unit on a quiet machine
(a PM file every 1 s +- 0.6 s); N units share two cores and one file server, so each copy gets the slack of
FLEET_BOUNDS (printed; `--bounds KEY=VALUE` overrides one, `--inventory-bounds` keeps the inventory's).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.network.netns import netns_inode, pids_in_netns  # noqa: E402
from bench.network.topology import Names  # noqa: E402


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# What a unit may take under a fleet's load: only paid where the plan waits on them (PM windows, a transfer's
# TransferComplete, a step that times out), so a passing run is not slowed by them except for the PM interval.
# `quiet` (how long the bench watches for what must not happen) stays the inventory's: it is paid in every
# passing run, and a longer watch would only make those checks stricter, not the run pass more often.
FLEET_BOUNDS: dict[str, float] = {
    "boot": 90,
    "step": 20,
    "address_change_inform": 20,
    "s1_init": 20,
    "alarm_inform": 15,
    "factory_reset": 30,
    "pm_interval": 2,
    "pm_tolerance": 1.5,
    "transfer_complete": 30,
}


def fleet_inventory(
    src: Path, prefix: str | None, n: int, path: Path, bounds: dict[str, float] | None = None
) -> Path:
    data = yaml.safe_load(src.read_text())
    if prefix:
        data["bench"]["prefix"] = prefix
    first = next(iter(data["units"].values()))
    if bounds:
        first["bounds"] = {**first.get("bounds", {}), **bounds}
    units = {}
    for i in range(1, n + 1):
        unit = copy.deepcopy(first)
        serial = f"FLEET{i:04d}"
        unit["identity"]["serial_number"] = serial
        unit["hems_credentials"] = {
            "username": f"{unit['identity']['oui']}-{serial}",
            "password": f"pw-{serial}",
        }
        units[f"fleet-{i:02d}"] = unit
    data["units"] = units
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(inv: Path, prefix: str, n: int, out: Path) -> dict[str, float]:
    names = Names(prefix)
    peak = [0] * n
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            for i in range(n):
                inode = netns_inode(names.unit_ns(i))
                if inode is not None:
                    peak[i] = max(peak[i], sum(rss_kib(pid) for pid in pids_in_netns(inode)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "bench.cli", "--inventory", str(inv), "run", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t0
    done.set()
    sampler.join()
    summaries = list(out.glob("*/run.json"))
    results = json.loads(summaries[0].read_text())["results"] if summaries else []
    bad = [r for r in results if r["outcome"] in ("failed", "error")]
    for r in bad[:10]:
        print(f"  {r['outcome'].upper()} {r.get('unit')} {r['test']}: {r['message'][:200]}")
    if not results:
        print(res.stdout[-2000:], res.stderr[-2000:])
    mib = [p / 1024 for p in peak if p]
    return {
        "units": n,
        "exit": res.returncode,
        "wall_s": wall,
        "tests": len(results),
        "not_passed": len(bad),
        "rss_mean_mib": statistics.mean(mib) if mib else 0.0,
        "rss_max_mib": max(mib) if mib else 0.0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inventory", type=Path, default=ROOT / "inventory.yaml")
    ap.add_argument("--prefix", default=None, help="bench prefix (default: the inventory's)")
    ap.add_argument("--units", default="1,5,10,20", help="comma-separated unit counts (default 1,5,10,20)")
    ap.add_argument(
        "--bounds", action="append", default=[], metavar="KEY=VALUE", help="one unit bound, seconds"
    )
    ap.add_argument("--inventory-bounds", action="store_true", help="the inventory's bounds, no fleet slack")
    args = ap.parse_args()
    bounds = {} if args.inventory_bounds else dict(FLEET_BOUNDS)
    for kv in args.bounds:
        key, _, value = kv.partition("=")
        bounds[key] = float(value)
    print(f"bounds over the inventory's: {bounds or 'none'}", flush=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        for n in (int(x) for x in args.units.split(",")):
            inv = fleet_inventory(args.inventory, args.prefix, n, Path(tmp) / f"fleet-{n}.yaml", bounds)
            prefix = yaml.safe_load(inv.read_text())["bench"]["prefix"]
            r = run(inv, prefix, n, Path(tmp) / f"out-{n}")
            failed |= r["not_passed"] > 0 or r["exit"] != 0
            print(
                f"{n:3d} unit(s): wall {r['wall_s']:6.1f} s, {r['tests']:4d} test verdicts, "
                f"{r['not_passed']} not passed (exit {r['exit']}); RSS per unit (mock + charon) "
                f"mean {r['rss_mean_mib']:.0f} MiB, max {r['rss_max_mib']:.0f} MiB",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Several mock units on one bench: units reaching the registered state (S1 INIT seen by the MME stand-in) per
second, and memory per unit once registered: RSS of the mock process and of its charon (from /proc/PID/status),
and their PSS (/proc/PID/smaps_rollup: shared pages split between the processes sharing them, which is what
many units really cost the host).

    sudo .venv/bin/python benchmarks/bench_mock_scale.py [--inventory F] [--units 1 10 50]
    sudo .venv/bin/python benchmarks/bench_mock_scale.py --units 100      # about 5 GiB and a few minutes
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cwmp import DeviceKey  # noqa: E402
from bench.inventory import Identity, load_inventory  # noqa: E402
from bench.mock.device import MockDevice  # noqa: E402
from bench.network.netns import netns_inode, pids_in_netns  # noqa: E402
from bench.network.topology import Topology  # noqa: E402
from bench.timeline import Timeline  # noqa: E402


def kib(path: str, key: str) -> int:
    """The kB figure `key` (VmRSS, Pss, ...) of a /proc file; 0 when the process is gone."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


MEASURED = ("python", "python3", "charon")


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def registered_units(tl: Timeline, since: int) -> int:
    """Units whose SCTP INIT the MME stand-in saw (a unit may send INIT more than once)."""
    return len(
        {e.data.get("src") for e in tl.find(lambda e: e.source == "mme" and e.kind == "sctp-init", since)}
    )


def run(inv_path: Path, n: int) -> dict[str, float]:
    inv = load_inventory(inv_path)
    tl = Timeline()
    work = Path(tempfile.mkdtemp(prefix="hb-scale-"))
    topo = Topology(inv, inv.bench.state_dir / f"{inv.bench.prefix}work", tl)
    devices: list[MockDevice] = []
    with topo:
        assert topo.ca is not None and topo.rogue_ca is not None
        _, base = next(iter(inv.units.items()))
        for i in range(n):
            ident = Identity(
                manufacturer=base.identity.manufacturer,
                oui=base.identity.oui,
                product_class=base.identity.product_class,
                serial_number=f"SCALE{i:04d}",
            )
            unit = base.model_copy(update={"identity": ident})
            ns, wan = topo.add_unit_port(i)
            dev = MockDevice(
                f"u{i}",
                unit,
                inv,
                ns,
                wan,
                work / f"unit{i}",
                topo.ca,
                topo.rogue_ca,
                topo.cached_ips(),
                topo.state,
            )
            devices.append(dev)
        # The Serving HeMS gives each unit its S1 address, as the bench does at power-on.
        op, p = inv.operator, base.data_model.resolve().paths
        for dev in devices:
            ident = dev.unit.identity
            device = DeviceKey(ident.oui, ident.product_class, ident.serial_number)
            topo.hems["initial-hems"].queue_rpc(
                device,
                "SetParameterValues",
                params=[
                    (p.serving_segw, op.serving_segw, "xsd:string"),
                    (p.serving_hems, op.hems_url(op.serving_hems), "xsd:string"),
                ],
                parameter_key="discovery",
            )
            topo.hems["serving-hems"].queue_rpc(
                device,
                "SetParameterValues",
                params=[(p.s1_far_end, str(op.s1_far_end or inv.network.mme), "xsd:string")],
                parameter_key="registration",
            )
        mark = tl.mark()
        t0 = time.monotonic()
        for dev in devices:
            dev.start()
        deadline = t0 + 60 + 5 * n
        while time.monotonic() < deadline:
            if registered_units(tl, mark) >= n:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        registered = registered_units(tl, mark)
        mem: dict[str, list[float]] = {k: [] for k in ("mock", "charon", "rss", "pss")}
        for dev in devices:
            inode = netns_inode(dev.netns)
            pids = [p for p in (pids_in_netns(inode) if inode else []) if comm(p) in MEASURED]
            rss = {p: kib(f"/proc/{p}/status", "VmRSS") / 1024 for p in pids}
            mem["mock"].append(sum(v for p, v in rss.items() if comm(p) != "charon"))
            mem["charon"].append(sum(v for p, v in rss.items() if comm(p) == "charon"))
            mem["rss"].append(sum(rss.values()))
            mem["pss"].append(sum(kib(f"/proc/{p}/smaps_rollup", "Pss") for p in pids) / 1024)
        for dev in devices:
            dev.close()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "units": n,
        "registered": registered,
        "seconds": elapsed,
        "per_second": registered / elapsed if elapsed else 0.0,
        **{f"{k}_median": statistics.median(v) if v else 0.0 for k, v in mem.items()},
        "rss_max": max(mem["rss"], default=0.0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inventory", type=Path, default=Path("inventory.yaml"))
    ap.add_argument("--units", type=int, nargs="+", default=[1, 10, 50])
    args = ap.parse_args()
    print(f"load average before: {loadavg()} ({len(os.sched_getaffinity(0))} CPUs)")
    print("MiB per unit, medians over the units: RSS of the mock process, of its charon, both; PSS of both")
    print(
        f"{'units':>5} {'registered':>10} {'seconds':>8} {'units/s':>8} {'mock RSS':>9} {'charon RSS':>10} "
        f"{'RSS (max)':>15} {'PSS':>6}"
    )
    for n in args.units:
        r = run(args.inventory, n)
        print(
            f"{r['units']:>5} {r['registered']:>10} {r['seconds']:>8.2f} {r['per_second']:>8.2f} "
            f"{r['mock_median']:>9.1f} {r['charon_median']:>10.1f} "
            f"{r['rss_median']:>7.1f} ({r['rss_max']:.1f}) {r['pss_median']:>6.1f}",
            flush=True,
        )
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()

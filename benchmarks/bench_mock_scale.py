"""Several mock units started at once on one bench: the wall time until all are registered (S1 setup done: the
MME stand-in answered each unit's S1 Setup Request) and units registered per second, and memory per unit once
registered: RSS of the mock process and of its charon (/proc/PID/status), and their PSS (/proc/PID/smaps_rollup:
shared pages split between the processes sharing them, what one more unit really costs the host). The target
(issue 14) is RSS: at most 50 MiB per unit, the mock and its charon together.

    sudo .venv/bin/python benchmarks/bench_mock_scale.py [--inventory F] [--units 1 10 50 100] [--detail]

--detail prints, for the first unit, the mappings that hold most of each process's RSS.
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
    """Units the MME stand-in answered S1 Setup Response (a unit's inner address is its peer)."""
    done = tl.find(
        lambda e: e.source == "mme" and e.kind == "s1ap" and e.data.get("message") == "S1SetupResponse", since
    )
    return len({e.data.get("peer") for e in done})


def top_mappings(pid: int, n: int = 8) -> list[tuple[float, str]]:
    """The `n` mappings of `pid` holding most RSS (MiB, name; anonymous memory summed as [anon])."""
    sizes: dict[str, int] = {}
    name = "?"
    try:
        for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
            first = line.split(maxsplit=5)
            if len(first) >= 5 and "-" in first[0] and not first[0].endswith(":"):
                name = first[5].strip() if len(first) > 5 else "[anon]"
                name = Path(name).name if name.startswith("/") else name
            elif line.startswith("Rss:"):
                sizes[name] = sizes.get(name, 0) + int(line.split()[1])
    except OSError:
        return []
    return sorted(((kb / 1024, m) for m, kb in sizes.items()), reverse=True)[:n]


def run(inv_path: Path, n: int, detail: bool = False) -> dict[str, float]:
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
                    (p.serving_hems, op.serving_hems_url, "xsd:string"),
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
        first = 0.0
        deadline = t0 + 60 + 5 * n
        while time.monotonic() < deadline:
            done = registered_units(tl, mark)
            if done and not first:
                first = time.monotonic() - t0
            if done >= n:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        registered = registered_units(tl, mark)
        time.sleep(1.0)  # what the units do right after S1 setup (their session ends) is counted too
        mem: dict[str, list[float]] = {
            k: [] for k in ("mock", "charon", "rss", "mock_pss", "charon_pss", "pss")
        }
        for i, dev in enumerate(devices):
            inode = netns_inode(dev.netns)
            pids = [p for p in (pids_in_netns(inode) if inode else []) if comm(p) in MEASURED]
            rss = {p: kib(f"/proc/{p}/status", "VmRSS") / 1024 for p in pids}
            pss = {p: kib(f"/proc/{p}/smaps_rollup", "Pss") / 1024 for p in pids}
            for key, table in (("", rss), ("_pss", pss)):
                mock = sum(v for p, v in table.items() if comm(p) != "charon")
                charon = sum(v for p, v in table.items() if comm(p) == "charon")
                mem["mock" + key].append(mock)
                mem["charon" + key].append(charon)
                mem["rss" if not key else "pss"].append(mock + charon)
            if detail and i == 0:
                for p in pids:
                    print(f"  unit 0 {comm(p)} (pid {p}): most RSS in", flush=True)
                    for mib, name in top_mappings(p):
                        print(f"    {mib:6.1f} MiB  {name}")
        for dev in devices:
            dev.close()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "units": n,
        "registered": registered,
        "first": first,
        "seconds": elapsed,
        "per_second": registered / elapsed if elapsed else 0.0,
        **{f"{k}_median": statistics.median(v) if v else 0.0 for k, v in mem.items()},
        "rss_max": max(mem["rss"], default=0.0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inventory", type=Path, default=Path("inventory.yaml"))
    ap.add_argument("--units", type=int, nargs="+", default=[1, 10, 50, 100])
    ap.add_argument(
        "--detail", action="store_true", help="the largest mappings of the first unit's processes"
    )
    args = ap.parse_args()
    print(f"load average before: {loadavg()} ({len(os.sched_getaffinity(0))} CPUs)")
    print(
        "MiB per unit once registered, medians over the units: RSS and PSS of the mock process, of its charon, both"
    )
    print(
        f"{'units':>5} {'registered':>10} {'first s':>8} {'all s':>7} {'units/s':>8} {'mock RSS':>9} "
        f"{'charon RSS':>10} {'RSS (max)':>15} {'mock PSS':>9} {'charon PSS':>10} {'PSS':>6} {'load':>5}"
    )
    for n in args.units:
        r = run(args.inventory, n, args.detail)
        print(
            f"{r['units']:>5} {r['registered']:>10} {r['first']:>8.2f} {r['seconds']:>7.2f} "
            f"{r['per_second']:>8.2f} {r['mock_median']:>9.1f} {r['charon_median']:>10.1f} "
            f"{r['rss_median']:>7.1f} ({r['rss_max']:.1f}) {r['mock_pss_median']:>9.1f} "
            f"{r['charon_pss_median']:>10.1f} {r['pss_median']:>6.1f} {loadavg().split()[0]:>5}",
            flush=True,
        )
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    main()

"""Several mock units on one bench: RSS per unit (mock process + its charon, from /proc) and units reaching the
registered state (S1 INIT seen by the MME stand-in) per second.

    sudo .venv/bin/python benchmarks/bench_mock_scale.py [--inventory F] [--units 1 5 10]
"""

from __future__ import annotations

import argparse
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


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


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
            if len(tl.find(lambda e: e.source == "mme" and e.kind == "sctp-init", mark)) >= n:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        registered = len(tl.find(lambda e: e.source == "mme" and e.kind == "sctp-init", mark))
        rss = []
        for dev in devices:
            inode = netns_inode(dev.netns)
            pids = pids_in_netns(inode) if inode else []
            rss.append(
                sum(rss_kib(pid) for pid in pids if comm(pid) in ("python", "python3", "charon")) / 1024
            )
        for dev in devices:
            dev.close()
    return {
        "units": n,
        "registered": registered,
        "seconds": elapsed,
        "per_second": registered / elapsed if elapsed else 0.0,
        "rss_mib_median": statistics.median(rss) if rss else 0.0,
        "rss_mib_max": max(rss) if rss else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inventory", type=Path, default=Path("inventory.yaml"))
    ap.add_argument("--units", type=int, nargs="+", default=[1, 5, 10])
    args = ap.parse_args()
    print(f"{'units':>5} {'registered':>10} {'seconds':>8} {'units/s':>8} {'RSS MiB/unit (median, max)':>28}")
    for n in args.units:
        r = run(args.inventory, n)
        print(
            f"{r['units']:>5} {r['registered']:>10} {r['seconds']:>8.2f} {r['per_second']:>8.2f} "
            f"{r['rss_mib_median']:>17.1f}, {r['rss_mib_max']:.1f}"
        )


if __name__ == "__main__":
    main()

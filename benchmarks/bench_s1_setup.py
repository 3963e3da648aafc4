"""Time S1 setup against the MME stand-in over the userspace SCTP endpoint (INIT to S1 Setup Response, one new
association each), and the pure-Python CRC32c on S1-sized packets. Needs root (one namespace, prefixed).

Usage: .venv/bin/python benchmarks/bench_s1_setup.py [--setups N] [--prefix hb-]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time

from pyroute2 import netns as pr_netns

from bench import s1ap, sctp
from bench.network import netns
from bench.services.mme import MmeStandIn
from bench.timeline import Timeline


def setups(ns: str, count: int) -> list[float]:
    tl = Timeline()
    mme = MmeStandIn(ns, tl)
    mme.start()
    raw = netns.socket_in_netns(ns, socket.AF_INET, socket.SOCK_RAW, sctp.IPPROTO_SCTP)
    client = sctp.RawSctp(raw)
    request = s1ap.s1_setup_request(0x101, "00101", 1, "bench")
    took = []
    try:
        for _ in range(count):
            done = threading.Event()
            t0 = time.perf_counter()
            on_data = lambda a, s, p, d, done=done: done.set()  # noqa: E731
            a = client.connect("127.0.0.1", s1ap.PORT, on_data, lambda a, s, r: None)
            client.send(a, s1ap.PPID, request)
            if not done.wait(5):
                raise SystemExit(f"no S1 Setup Response (association {a.state})")
            took.append(time.perf_counter() - t0)
            client.close_association(a, graceful=False)
    finally:
        client.close()
        mme.stop()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--setups", type=int, default=200)
    ap.add_argument("--prefix", default="hb-")
    args = ap.parse_args()
    request = s1ap.s1_setup_request(0x101, "00101", 1, "bench")
    packet = sctp.packet(40000, 36412, 1, [sctp.chunk(sctp.DATA, 3, bytes(12) + request)])
    n, t0 = 5000, time.perf_counter()
    for _ in range(n):
        sctp.parse(packet)
    per = (time.perf_counter() - t0) / n
    print(f"CRC32c check + parse of a {len(packet)}-byte S1 packet: {per * 1e6:.1f} us")
    ns = f"{args.prefix}s1bench"
    pr_netns.create(ns)
    try:
        netns.in_netns(ns, lambda ipr: ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up"))
        took = sorted(setups(ns, args.setups))
    finally:
        pr_netns.remove(ns)
    p95 = took[int(len(took) * 0.95) - 1]
    print(f"S1 setup (INIT .. S1 Setup Response), {len(took)} associations: median "
          f"{statistics.median(took) * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms, max {took[-1] * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()

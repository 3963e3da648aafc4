"""How fast the HeMS's waits wake, and what an idle HeMS costs: a HeMS on loopback and a scripted CPE
(tests/bench/hems/cpe.py) in this process. Per wait, the time from what it waits for to the waiter back:
a held empty POST (`idle_wait`) until an RPC queued for the unit goes out, `wait_closed` until the unit's
connection closes, `wait_inform` until the Inform is recorded; then the HeMS thread's CPU while idle and while
holding an empty POST open. A wait that polls shows here as half its period on the median.

    .venv/bin/python benchmarks/bench_hems_waits.py --samples 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hems import Hems  # noqa: E402
from bench.timeline import Timeline  # noqa: E402
from tests.bench.hems.cpe import Cpe, serve  # noqa: E402


def _thread_cpu(tid: int) -> float:
    with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:.2f} ms, max {max(xs) * 1e3:.2f} ms (n={len(xs)})"


def _woken(wait: Callable[[], object], cause: Callable[[], object], i: int) -> float:
    """Seconds from `cause()` to `wait()` returning in another thread, started a varying while before."""
    back: list[float] = []
    waiter = threading.Thread(target=lambda: (wait(), back.append(time.perf_counter())))
    waiter.start()
    time.sleep(0.1 + (i % 7) * 0.013)  # not in step with any period the wait might poll at
    t0 = time.perf_counter()
    cause()
    waiter.join()
    return back[0] - t0


def measure(hems: Hems, port: int, timeline: Timeline, samples: int) -> None:
    held, closed, informed = [], [], []
    for i in range(samples):
        hems.idle_wait = 5.0
        cpe = Cpe(port, serial=f"HELD-{i}")
        cpe.inform()
        held.append(_woken(cpe.empty, lambda i=i: hems.queue_rpc(f"HELD-{i}", "GetRPCMethods"), i))
        cpe.conn.close()
        hems.wait_closed("127.0.0.1", 5.0)
        hems.idle_wait = 0.0
        cpe = Cpe(port, serial=f"CLOSE-{i}")
        cpe.inform()
        closed.append(_woken(lambda: hems.wait_closed("127.0.0.1", 5.0), cpe.conn.close, i))
        cpe = Cpe(port, serial=f"INFORM-{i}")

        def inform_recorded(unit: str = f"INFORM-{i}", mark: int = timeline.mark()) -> object:
            return hems.wait_inform(unit, timeout=5.0, since=mark)

        informed.append(_woken(inform_recorded, cpe.inform, i))
        cpe.conn.close()
    print("held empty POST, queue_rpc to the RPC at the unit:", _ms(held))
    print("wait_closed, the unit's close to the waiter back:  ", _ms(closed))
    print("wait_inform, the Inform sent to the waiter back:   ", _ms(informed))
    tid = next(t.native_id for t in threading.enumerate() if t.name == f"hems-{hems.name}")
    assert tid is not None
    time.sleep(0.5)
    c0 = _thread_cpu(tid)
    time.sleep(10)
    print(f"idle 10 s: HeMS thread CPU {(_thread_cpu(tid) - c0) * 1e3:.0f} ms")
    hems.idle_wait = 10.0
    cpe = Cpe(port, serial="IDLE")
    cpe.conn.timeout = 30
    cpe.inform()
    holding = threading.Thread(target=cpe.empty)
    holding.start()
    time.sleep(0.2)
    c0 = _thread_cpu(tid)
    holding.join()
    print(f"holding an empty POST 9.8 s: HeMS thread CPU {(_thread_cpu(tid) - c0) * 1e3:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=20, help="wake-ups measured per wait (default 20)")
    args = p.parse_args()
    timeline = Timeline()
    hems, port = serve(timeline)
    try:
        measure(hems, port, timeline, args.samples)
    finally:
        hems.stop()
    with open("/proc/loadavg", encoding="ascii") as fh:
        print("load average:", " ".join(fh.read().split()[:3]))


if __name__ == "__main__":
    main()

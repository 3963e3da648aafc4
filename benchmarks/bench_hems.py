"""Benchmark of the reference HeMS: N simulated units (one process) drive a fresh HeMS (another process) over
loopback, each doing Inform, InformResponse, empty POST, 204; per run: sessions/s, p50/p99, errors, RSS.

    .venv/bin/python benchmarks/bench_hems.py --units 200 --rate 1000 --seconds 10 --runs 5
    .venv/bin/python benchmarks/bench_hems.py --units 200 --seconds 10 --runs 5   # closed loop: flat out
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import multiprocessing as mp
import os
import random
import resource
import socket
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cwmp  # noqa: E402
from bench.hems import Hems  # noqa: E402
from bench.timeline import Timeline  # noqa: E402

CTX = mp.get_context("spawn")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---- server process ----


def _server(to_bench: Any, from_bench: Any) -> None:
    """Serve a fresh HeMS until told to stop; report RSS, CPU, GC pauses and what it recorded."""
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    full_cpu: list[float] = []  # ms of CPU per full collection: its work, whatever the machine's load
    started = [0.0, 0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter(), time.thread_time()]
        else:
            pauses[info["generation"]].append((time.perf_counter() - started[0]) * 1000)
            if info["generation"] == 2:
                full_cpu.append((time.thread_time() - started[1]) * 1000)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    timeline = Timeline()
    hems = Hems("bench-hems", timeline)
    hems.start(sock)
    rss_before, cpu0 = _rss_mb(), _cpu_s()
    gc.callbacks.append(on_gc)
    to_bench.put(sock.getsockname()[1])
    from_bench.get()
    gc.callbacks.remove(on_gc)
    cpu, rss_after = _cpu_s() - cpu0, _rss_mb()
    hems.stop()
    sock.close()
    to_bench.put(
        {
            "rss_before": rss_before,
            "rss_after": rss_after,
            "cpu": cpu,
            "gc_full": len(pauses[2]),
            "gc_full_max": max(pauses[2], default=0.0),
            "gc_full_cpu_max": max(full_cpu, default=0.0),
            "gc_young_max": max(pauses[0] + pauses[1], default=0.0),
            "transcript": len(hems.transcript()),
            "informs": len(timeline.find(lambda e: e.kind == "inform")),
        }
    )


# ---- client process ----


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes, cookie: str | None
) -> tuple[int, bytes, str | None]:
    head = f"POST /acs HTTP/1.1\r\nHost: hems\r\nContent-Length: {len(body)}\r\nSOAPAction: \r\n"
    if body:
        head += "Content-Type: text/xml\r\n"
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, set_cookie = 0, None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.lower()
        if name == "content-length":
            length = int(value)
        elif name == "set-cookie":
            set_cookie = value.strip().split(";", 1)[0]
    data = await reader.readexactly(length) if length else b""
    return status, data, set_cookie


@dataclass
class _Tally:
    lat: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sessions: int = 0  # warm-up included


async def _unit(port: int, i: int, ns: str, period: float, until: float, warm: float, tally: _Tally) -> None:
    dev = cwmp.DeviceId("Acme", "00259E", "FAP-1", f"BENCH-{i:05d}")
    params = [("Device.DeviceInfo.SoftwareVersion", "1.0", "xsd:string")]
    body = cwmp.inform(ns, "1", dev, [("2 PERIODIC", "")], params, "2024-05-01T12:00:00Z")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    next_start = time.monotonic() + (random.random() * period if period else 0.0)
    try:
        while True:
            if period:
                delay = next_start - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            t0 = time.monotonic()
            if t0 >= until:
                return
            status, data, cookie = await _request(reader, writer, body, None)
            if status != 200 or b"InformResponse" not in data or not cookie:
                tally.errors.append(f"Inform: HTTP {status}")
                continue
            status, data, _ = await _request(reader, writer, b"", cookie)
            if status != 204 or data:
                tally.errors.append(f"empty POST: HTTP {status}")
                continue
            t1 = time.monotonic()
            tally.sessions += 1
            if t0 >= warm:
                tally.lat.append(t1 - t0)
            next_start = max(next_start + period, t1) if period else t1
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        tally.errors.append(f"unit {i}: {exc!r}")
    finally:
        writer.close()


async def _drive(port: int, units: int, rate: float, seconds: float, warmup: float) -> _Tally:
    tally = _Tally()
    period = units / rate if rate else 0.0
    start = time.monotonic()
    ns = cwmp.CWMP_NAMESPACES[1]
    await asyncio.gather(
        *(_unit(port, i, ns, period, start + warmup + seconds, start + warmup, tally) for i in range(units))
    )
    return tally


def _client(port: int, units: int, rate: float, seconds: float, warmup: float, q: Any) -> None:
    cpu0 = _cpu_s()
    # libuv's loop, as the HeMS's: the simulated units leave more of the 2 cores to the HeMS measured.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        tally = runner.run(_drive(port, units, rate, seconds, warmup))
    q.put((tally.lat, tally.errors, tally.sessions, _cpu_s() - cpu0))


# ---- one run, many runs ----


@dataclass
class Run:
    rate: float
    p50: float
    p99: float
    max: float
    errors: list[str]
    sessions: int
    server: dict[str, Any]
    client_cpu: float
    load: str


def _pct(lat: list[float], q: float) -> float:
    """Nearest-rank percentile in ms of sorted `lat`."""
    return lat[max(0, math.ceil(q * len(lat)) - 1)] * 1000 if lat else 0.0


def one_run(units: int, rate: float, seconds: float, warmup: float) -> Run:
    """One run against a fresh HeMS in its own process, so runs do not share a heap."""
    to_bench, from_bench, results = CTX.Queue(), CTX.Queue(), CTX.Queue()
    server = CTX.Process(target=_server, args=(to_bench, from_bench))
    server.start()
    try:
        port = to_bench.get(timeout=60)
        client = CTX.Process(target=_client, args=(port, units, rate, seconds, warmup, results))
        client.start()
        lat, errors, sessions, client_cpu = results.get(timeout=seconds + warmup + 120)
        client.join()
        from_bench.put("stop")
        stats = to_bench.get(timeout=120)
    finally:
        server.join(timeout=30)
        if server.is_alive():
            server.kill()
    lat.sort()
    return Run(
        len(lat) / seconds,
        _pct(lat, 0.50),
        _pct(lat, 0.99),
        lat[-1] * 1000 if lat else 0.0,
        errors,
        sessions,
        stats,
        client_cpu,
        loadavg(),
    )


def cpu_per_session(r: Run) -> float:
    """Server CPU time per session in µs: what a session costs, whatever else the machine was running."""
    return r.server["cpu"] * 1e6 / max(1, r.sessions)


def describe(r: Run, wall: float) -> str:
    s = r.server
    grow_kb = (s["rss_after"] - s["rss_before"]) * 1024 / max(1, r.sessions)
    recorded = "ok" if s["transcript"] == 4 * r.sessions and s["informs"] >= r.sessions else "MISSING"
    return (
        f"{r.rate:.0f} sessions/s, p50 {r.p50:.1f} ms, p99 {r.p99:.1f} ms, max {r.max:.1f} ms, "
        f"{len(r.errors)} errors\n"
        f"    server: CPU {s['cpu'] / wall * 100:.0f}% of a core ({cpu_per_session(r):.0f} µs/session), "
        f"RSS {s['rss_before']:.1f} -> {s['rss_after']:.1f} MB over {r.sessions} sessions "
        f"({grow_kb:+.2f} kB/session), full GCs {s['gc_full']} (longest {s['gc_full_max']:.1f} ms, "
        f"{s['gc_full_cpu_max']:.1f} ms of CPU), longest young GC {s['gc_young_max']:.1f} ms, recorded {s['transcript']} messages ({recorded}); "
        f"client CPU {r.client_cpu / wall * 100:.0f}%; load after {r.load}"
    )


def spread(name: str, values: list[float], unit: str, fmt: str = ".1f") -> str:
    med = statistics.median(values)
    return f"{name} {med:{fmt}}{unit} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--units", type=int, default=200, help="concurrent simulated units (default 200)")
    p.add_argument(
        "--rate", type=float, default=0.0, help="offered sessions/s over all units; 0: closed loop"
    )
    p.add_argument("--seconds", type=float, default=10.0, help="measured time per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured time first, each run (default 2)")
    p.add_argument("--runs", type=int, default=5, help="runs; median and min-max reported (default 5)")
    a = p.parse_args()
    mode = f"offered {a.rate:g} sessions/s" if a.rate else "closed loop"
    print(f"{a.units} units, {mode}, {a.runs} runs of {a.warmup:g} s warm-up + {a.seconds:g} s measured")
    print(f"load average before: {loadavg()} ({len(os.sched_getaffinity(0))} CPUs)", flush=True)
    runs: list[Run] = []
    for n in range(a.runs):
        r = one_run(a.units, a.rate, a.seconds, a.warmup)
        runs.append(r)
        print(f"run {n + 1}: {describe(r, a.seconds + a.warmup)}", flush=True)
        for err in sorted(set(r.errors))[:5]:
            print(f"    error: {err}")
    print(f"load average after: {loadavg()}")
    rss = [r.server["rss_after"] - r.server["rss_before"] for r in runs]
    print(
        f"median (min-max) of {a.runs}: "
        + ", ".join(
            (
                spread("sessions/s", [r.rate for r in runs], "", ".0f"),
                spread("p50", [r.p50 for r in runs], " ms"),
                spread("p99", [r.p99 for r in runs], " ms"),
                spread("max", [r.max for r in runs], " ms"),
                spread("server CPU", [cpu_per_session(r) for r in runs], " µs/session", ".0f"),
                spread("server RSS growth", rss, " MB"),
            )
        )
        + f", errors {sum(len(r.errors) for r in runs)} in all"
    )


if __name__ == "__main__":
    main()

"""Benchmark of the reference HeMS: N simulated units in a separate process, each doing Inform,
InformResponse, empty POST, 204 over loopback; prints sessions/s and p50/p99 session latency.

    .venv/bin/python benchmarks/bench_hems.py --units 200 --rate 1000 --seconds 10 --runs 3
    .venv/bin/python benchmarks/bench_hems.py --units 200 --seconds 10 --runs 3     # closed loop: as fast as it goes
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cwmp  # noqa: E402
from bench.hems import Hems  # noqa: E402
from bench.timeline import Timeline  # noqa: E402


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


async def _unit(
    port: int, i: int, ns: str, period: float, until: float, warm: float, lat: list[float], errors: list[str]
) -> None:
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
            if status != 200 or b"InformResponse" not in data:
                errors.append(f"Inform: HTTP {status}")
                continue
            status, data, _ = await _request(reader, writer, b"", cookie)
            if status != 204:
                errors.append(f"empty POST: HTTP {status}")
                continue
            t1 = time.monotonic()
            if t0 >= warm:
                lat.append(t1 - t0)
            next_start = max(next_start + period, t1) if period else t1
    finally:
        writer.close()


async def _drive(
    port: int, units: int, rate: float, seconds: float, warmup: float
) -> tuple[list[float], list[str]]:
    lat: list[float] = []
    errors: list[str] = []
    period = units / rate if rate else 0.0
    start = time.monotonic()
    ns = cwmp.CWMP_NAMESPACES[1]
    await asyncio.gather(
        *(
            _unit(port, i, ns, period, start + warmup + seconds, start + warmup, lat, errors)
            for i in range(units)
        )
    )
    return lat, errors


def _client(port: int, units: int, rate: float, seconds: float, warmup: float, q: mp.Queue) -> None:  # type: ignore[type-arg]
    q.put(asyncio.run(_drive(port, units, rate, seconds, warmup)))


def one_run(units: int, rate: float, seconds: float, warmup: float) -> tuple[float, float, float, int]:
    """(sessions/s, p50 ms, p99 ms, errors) for one run against a fresh HeMS."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    hems = Hems("bench-hems", Timeline())
    hems.start(sock)
    try:
        q: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
        proc = mp.get_context("spawn").Process(target=_client, args=(port, units, rate, seconds, warmup, q))
        proc.start()
        lat, errors = q.get(timeout=seconds + warmup + 120)
        proc.join()
    finally:
        hems.stop()
        sock.close()
    lat.sort()
    if not lat:
        return 0.0, 0.0, 0.0, len(errors)
    p50 = lat[len(lat) // 2] * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    return len(lat) / seconds, p50, p99, len(errors)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--units", type=int, default=200, help="concurrent simulated units (default 200)")
    p.add_argument(
        "--rate", type=float, default=0.0, help="offered sessions/s over all units; 0: closed loop"
    )
    p.add_argument("--seconds", type=float, default=10.0, help="measured time per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured time first (default 2)")
    p.add_argument("--runs", type=int, default=3, help="runs; the median is reported (default 3)")
    a = p.parse_args()
    mode = f"offered {a.rate:g} sessions/s" if a.rate else "closed loop"
    results = []
    for run in range(a.runs):
        r = one_run(a.units, a.rate, a.seconds, a.warmup)
        results.append(r)
        print(
            f"run {run + 1}: {a.units} units, {mode}: {r[0]:.0f} sessions/s, p50 {r[1]:.1f} ms, "
            f"p99 {r[2]:.1f} ms, {r[3]} errors",
            flush=True,
        )
    med = [statistics.median(r[i] for r in results) for i in range(4)]
    print(
        f"median of {a.runs}: {med[0]:.0f} sessions/s, p50 {med[1]:.1f} ms, p99 {med[2]:.1f} ms, "
        f"errors {sum(r[3] for r in results)}"
    )


if __name__ == "__main__":
    main()

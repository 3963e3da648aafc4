"""Long fuzz run of the reference HeMS over HTTP: a real HeMS (one without authentication, one with Digest) in
its own process on 127.0.0.1, fed mutated CWMP bodies with random headers (Content-Type, Content-Length,
Transfer-Encoding, Content-Encoding, Authorization, Cookie, SOAPAction), alone or inside a session a valid
Inform opened. A crash is an answer of the HeMS's own "internal error" (its hems-error event), no answer to a
well-formed HTTP request, or a HeMS that no longer serves a valid session; a hang is an answer over the bound.

    nice .venv/bin/python benchmarks/fuzz_hems.py --inputs 1000000 --out fuzz-out/hems
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import http.client
import logging
import multiprocessing as mp
import random
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cwmp  # noqa: E402
from bench.cwmp import DeviceKey  # noqa: E402
from bench.hems import Hems  # noqa: E402
from bench.httpauth import Authenticator, parse_auth_params  # noqa: E402
from bench.timeline import Timeline  # noqa: E402
from benchmarks.fuzz_tally import Tally, rss_mib  # noqa: E402
from tests import hostile  # noqa: E402

CTX = mp.get_context("spawn")
USER, PASSWORD = "unit", "secret"
SERIALS = ["SN-FUZZ-1", "SN-FUZZ-2", "SN-FUZZ-3"]
HEMS_BUG = b"internal error\n"
METHODS = ["GET", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH", "FOO"]
PATHS = ["/", "/cwmp?x=1", "/%00", "/" + "a" * 3000, "/\u00e9", "//..//", "*"]


# ---- server process ----


def _queue_an_rpc(hems: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
    """Every other Inform gets an RPC queued, so fuzzed responses meet a pending call."""
    hems.drop_queued(device)
    if len(events) % 2:
        hems.queue_rpc(device, "GetParameterValues", names=["Device.DeviceInfo."])


def _start(timeline: Timeline) -> tuple[list[Hems], list[int]]:
    servers, ports = [], []
    for name, auth in (("open", None), ("digest", Authenticator("digest", {USER: PASSWORD}))):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        hems = Hems(name, timeline, auth=auth, on_inform=_queue_an_rpc)
        hems.start(sock)
        servers.append(hems)
        ports.append(sock.getsockname()[1])
    return servers, ports


def _server(to_client: Any, from_client: Any) -> None:
    """Serve fresh HeMSs; on each "restart", report what the last ones recorded and start new ones."""
    # aiohttp logs every request it refuses itself (bad HTTP): that is no HeMS verdict, and it is a lot.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    timeline = Timeline()
    servers, ports = _start(timeline)
    to_client.put({"ports": ports, "rss": rss_mib()})
    peak = rss_mib()
    while True:
        cmd = from_client.get()
        kinds = Counter(e.kind for e in timeline)
        errors = [e.data.get("reason", "") for e in timeline if e.kind == "hems-error"][:5]
        peak = max(peak, rss_mib())
        for hems in servers:
            hems.stop()
        if cmd == "stop":
            to_client.put({"kinds": kinds, "errors": errors, "peak": peak})
            return
        # Fresh HeMSs and timeline: what they record by design is dropped, what leaks stays.
        del servers, timeline
        gc.collect()
        # Give freed pages back to the system: what RSS shows after that is what is still alive.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)
        timeline = Timeline()
        servers, ports = _start(timeline)
        to_client.put({"ports": ports, "rss": rss_mib(), "kinds": kinds, "errors": errors, "peak": peak})


# ---- client ----


class Client:
    def __init__(self, rnd: random.Random, ports: list[int], timeout: float) -> None:
        self.rnd = rnd
        self.ports = ports
        self.timeout = timeout
        self.nonce = ""

    def connect(self, port: int) -> socket.socket:
        return hostile.connect(port, self.timeout)

    exchange = staticmethod(hostile.exchange)
    request = staticmethod(hostile.http_request)

    def replay(self, port: int, raw: bytes, method: str, half_close: bool) -> None:
        with self.connect(port) as sock:
            self.exchange(sock, raw, method, half_close)

    def valid(self, port: int, serial: str, sock: socket.socket, auth: str | None = None) -> str:
        """A valid Inform on `sock`; returns the session cookie."""
        body = cwmp.inform(hostile.NS1, "1", cwmp.DeviceId("Acme", "00259E", "FAP-1", serial),
                           [("1 BOOT", "")] * self.rnd.choice([1, 2]), [], hostile.T)  # fmt: skip
        headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
        if auth:
            headers.append(("Authorization", auth))
        status, data, resp = self.exchange(sock, self.request(body, headers))
        if status != 200:
            raise RuntimeError(f"a valid Inform got HTTP {status}: {data[:200]!r}")
        return (resp.getheader("Set-Cookie") or "").split(";")[0].partition("=")[2]

    def digest(self, sock: socket.socket, valid: bool = True) -> str:
        """An Authorization for the digest HeMS, valid or mutated (a fresh nonce from a 401 now and then)."""
        if not self.nonce or self.rnd.random() < 0.001:
            # An Inform always needs authentication: its 401 carries a fresh nonce.
            body = hostile.SEEDS["inform-1-1"]
            _, _, resp = self.exchange(sock, self.request(body, [("Content-Length", str(len(body)))]))
            self.nonce = parse_auth_params(resp.getheader("WWW-Authenticate", "").partition(" ")[2])["nonce"]
        return hostile.digest_header(self.rnd, "henb-bench HeMS", self.nonce, USER, PASSWORD, "/cwmp", valid)

    def probe(self) -> None:
        """A whole valid session on each HeMS: Inform, empty POST, (RPC answered,) end."""
        for port in self.ports:
            with self.connect(port) as sock:
                auth = self.digest(sock) if port == self.ports[1] else None
                cookie = self.valid(port, "SN-PROBE", sock, auth)
                headers = [("Content-Length", "0"), ("Cookie", f"hems_session={cookie}")]
                status, data, _ = self.exchange(sock, self.request(b"", headers))
                if status == 200:
                    env = cwmp.parse_envelope(data)
                    body = cwmp.get_parameter_values_response(hostile.NS1, env.id, [])
                    headers[0] = ("Content-Length", str(len(body)))
                    status, data, _ = self.exchange(sock, self.request(body, headers))
                if status != 204:
                    raise RuntimeError(f"the session did not end with 204: HTTP {status} {data[:200]!r}")

    def one(self, tally: Tally) -> None:
        """Send one fuzz input; count it."""
        rnd = self.rnd
        digest = rnd.random() < 0.2
        port = self.ports[1] if digest else self.ports[0]
        body = hostile.message(rnd)
        with self.connect(port) as sock:
            good: dict[str, str] = {}
            if digest:
                good["authorization"] = self.digest(sock)
            if rnd.random() < 0.4:
                # Inside a session: a valid Inform first, maybe an empty POST that fetches a queued RPC.
                good["cookie"] = self.valid(port, rnd.choice(SERIALS), sock, good.get("authorization"))
                if rnd.random() < 0.5:
                    head = [("Content-Length", "0"), ("Cookie", f"hems_session={good['cookie']}")]
                    self.exchange(sock, self.request(b"", head))
            if digest and rnd.random() < 0.5:
                # Every Inform is checked: a valid one carries the mutated Authorization to the checker.
                good["authorization"] = self.digest(sock, valid=False)
                if rnd.random() < 0.7:
                    body = hostile.SEEDS["inform-1-1"]
            headers = hostile.headers(rnd, body, **good)
            method = "POST" if rnd.random() < 0.95 else rnd.choice(METHODS)
            path = "/cwmp" if rnd.random() < 0.95 else rnd.choice(PATHS)
            framing = rnd.random()
            honest = True
            half_close = False
            if framing < 0.9:
                headers.append(("Content-Length", str(len(body))))
                payload = body
            elif framing < 0.95:
                headers.append(("Transfer-Encoding", "chunked"))
                cut = rnd.randrange(len(body) + 1)
                chunks = [c for c in (body[:cut], body[cut:]) if c]
                payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
                if rnd.random() < 0.3:
                    payload, honest, half_close = hostile.mutate(payload, rnd, 1), False, True
            else:
                lie = rnd.choice([-5, -1, 1, 100, 2**31, -len(body)])
                headers.append(("Content-Length", str(max(0, len(body) + lie))))
                payload, honest, half_close = body, False, lie > 0
            if any(
                k in ("Content-Encoding", "Expect", "Host", "Connection") or "X-" in k for k, _ in headers
            ):
                honest = False  # what aiohttp itself refuses is no HeMS verdict
            if any("\r" in v or "\n" in v for _, v in headers) or method == "HEAD":
                honest = False
            raw = self.request(payload, headers, method, path)
            t0 = time.perf_counter()
            tally.current, tally.current_since = raw, t0
            try:
                status, data, _ = self.exchange(sock, raw, method, half_close)
            except TimeoutError:
                tally.timed(raw, float("inf"))
                return
            except (OSError, http.client.HTTPException) as exc:
                if honest:
                    tally.crash(raw, exc)
                else:
                    tally.rejected += 1
                return
            finally:
                tally.current = None
            tally.timed(raw, time.perf_counter() - t0, lambda: self.replay(port, raw, method, half_close))
        if status == 500 and data == HEMS_BUG:
            tally.crash(raw, RuntimeError("the HeMS answered 500 internal error (a hems-error event)"))
        elif status in (200, 204):
            tally.accepted += 1
        else:
            tally.rejected += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hang", type=float, default=2.0, help="seconds one answer may take")
    parser.add_argument(
        "--fresh", type=int, default=100_000, help="inputs per HeMS (its records are dropped)"
    )
    parser.add_argument("--out", type=Path, default=Path("fuzz-out/hems"), help="where reproducers go")
    args = parser.parse_args()
    to_server, from_server = CTX.Queue(), CTX.Queue()
    server = CTX.Process(target=_server, args=(from_server, to_server), daemon=True)
    server.start()
    info = from_server.get(timeout=60)
    rnd = random.Random(args.seed)
    client = Client(rnd, info["ports"], timeout=10 * args.hang)
    tally = Tally("hems", args.out, args.hang)
    tally.watchdog(30 * args.hang)
    kinds: Counter[str] = Counter()
    server_rss = [info["rss"]]
    errors: list[str] = []
    down = 0
    step = max(1, args.inputs // 20)
    for i in range(args.inputs):
        try:
            client.one(tally)
        except Exception as exc:  # noqa: BLE001 - a setup step failed: the HeMS stopped serving
            tally.crash(b"(setup of a session)", exc)
        tally.inputs = i + 1
        if tally.inputs % 100 == 0 or tally.inputs == args.inputs:
            try:
                client.probe()
            except Exception as exc:  # noqa: BLE001
                down += 1
                tally.crash(b"(probe session after this many inputs: %d)" % tally.inputs, exc)
                if not server.is_alive():
                    print(f"hems: the HeMS process died (exit code {server.exitcode})", flush=True)
                    break
        if tally.inputs % step == 0:
            tally.progress(args.inputs)
        if tally.inputs % args.fresh == 0 and tally.inputs < args.inputs:
            to_server.put("restart")
            info = from_server.get(timeout=120)
            client.ports = info["ports"]
            client.nonce = ""
            kinds.update(info["kinds"])
            errors += info["errors"]
            server_rss.append(info["rss"])
    to_server.put("stop")
    last = from_server.get(timeout=120)
    kinds.update(last["kinds"])
    errors += last["errors"]
    server.join(10)
    print(f"HeMS events: {dict(kinds.most_common())}")
    if errors:
        print(f"HeMS hems-error reasons (first): {errors[:5]}")
    if down:
        print(f"HeMS failed {down} probe session(s)")
    rss = ", ".join(f"{r:.0f}" for r in server_rss)
    ok = tally.report(
        f"; HeMS process: peak {last['peak']:.0f} MiB, after each fresh start (old HeMS freed) {rss} MiB"
    )
    sys.exit(0 if ok and not errors and not down else 1)


if __name__ == "__main__":
    main()

"""What a fuzz run counts and prints (inputs, crashes, hangs, peak RSS, inputs/s), the reproducers it saves, and
a watchdog that turns an input that never returns into a saved reproducer and a failed run."""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Tally:
    """Counts of one run; the first `keep` crashes and hangs of each kind are written to `out`."""

    def __init__(self, target: str, out: Path, hang_s: float, keep: int = 5) -> None:
        self.target = target
        self.out = out
        self.hang_s = hang_s
        self.keep = keep
        self.inputs = 0
        self.rejected = 0
        self.accepted = 0
        self.crashes: Counter[str] = Counter()
        self.hangs = 0
        self.slow_once = 0
        self.slowest = 0.0
        self.saved = 0
        self.t0 = time.perf_counter()
        self.rss_samples: list[tuple[int, float]] = []
        self.current: bytes | None = None
        self.current_since = 0.0

    def save(self, kind: str, data: bytes, note: str) -> None:
        if self.saved >= 4 * self.keep:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        name = f"{kind}-{hashlib.sha1(data).hexdigest()[:12]}"
        (self.out / f"{name}.bin").write_bytes(data)
        (self.out / f"{name}.txt").write_text(note + "\n", encoding="utf-8", errors="replace")
        self.saved += 1

    def crash(self, data: bytes, exc: BaseException) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        key = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}" if frame else repr(exc)
        self.crashes[key] += 1
        if self.crashes[key] <= self.keep:
            self.save("crash", data, f"{key}\n{''.join(traceback.format_exception(exc))}")

    def timed(self, data: bytes, elapsed: float, replay: Callable[[], object] | None = None) -> None:
        """Count an input over the bound as a hang; with `replay`, only when it is over the bound again (on a
        shared machine one slow answer is often time without the CPU)."""
        self.slowest = max(self.slowest, elapsed)
        if elapsed > self.hang_s and replay is not None:
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):  # the first try already counted what it raised
                replay()
            if time.perf_counter() - t0 <= self.hang_s:
                self.slow_once += 1
                return
        if elapsed > self.hang_s:
            self.hangs += 1
            if self.hangs <= self.keep:
                self.save("hang", data, f"took {elapsed:.3f} s (bound {self.hang_s} s)")

    def progress(self, total: int) -> None:
        self.rss_samples.append((self.inputs, rss_mib()))
        rate = self.inputs / (time.perf_counter() - self.t0)
        print(
            f"  {self.target}: {self.inputs}/{total} inputs, {sum(self.crashes.values())} crashes, "
            f"{self.hangs} hangs, RSS {self.rss_samples[-1][1]:.0f} MiB, {rate:,.0f} inputs/s",
            file=sys.stderr,
            flush=True,
        )

    def watchdog(self, limit_s: float) -> None:
        """Save the input being processed and end the process when one input runs longer than `limit_s`."""

        def watch() -> None:
            while True:
                time.sleep(min(1.0, limit_s / 4))
                data, since = self.current, self.current_since
                if data is not None and time.perf_counter() - since > limit_s:
                    self.save("hang", data, f"still running after {limit_s} s: the run was stopped")
                    print(f"{self.target}: an input hung for {limit_s} s; saved to {self.out}", flush=True)
                    os._exit(4)

        threading.Thread(target=watch, daemon=True, name="fuzz-watchdog").start()

    def report(self, server_rss: str = "") -> bool:
        """Print the summary; True when nothing crashed or hung."""
        elapsed = time.perf_counter() - self.t0
        crashes = sum(self.crashes.values())
        growth = ""
        if len(self.rss_samples) >= 2:
            (n1, r1), (n2, r2) = self.rss_samples[0], self.rss_samples[-1]
            growth = f" (RSS {r1:.0f} MiB at {n1} inputs, {r2:.0f} MiB at {n2})"
        print(
            f"{self.target}: {self.inputs} inputs in {elapsed:.0f} s, {self.inputs / elapsed:,.0f} inputs/s"
        )
        print(f"  accepted {self.accepted}, rejected with the documented error {self.rejected}")
        print(f"  crashes (unexpected exceptions): {crashes}")
        for key, n in self.crashes.most_common():
            print(f"    {n} x {key}")
        print(
            f"  hangs (over {self.hang_s} s, again on replay): {self.hangs}; over it once but not on replay: "
            f"{self.slow_once}; slowest input {self.slowest * 1000:.1f} ms"
        )
        print(f"  peak RSS: {peak_rss_mib():.0f} MiB{growth}{server_rss}")
        if self.saved:
            print(f"  reproducers: {self.out}")
        return not crashes and not self.hangs

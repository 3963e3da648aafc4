"""The plugin's end of a run: a SIGTERM while the bench comes down is recorded, and the bench still comes down
whole (before, SIGTERM's handler was given back first and a signal then killed the run halfway, leaving its
namespaces behind)."""

from __future__ import annotations

import os
import signal
from typing import Any

from bench import plugin


class Run:
    """A run whose teardown gets a SIGTERM halfway."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    def stop(self) -> None:
        self.steps.append("units off")
        os.kill(os.getpid(), signal.SIGTERM)
        self.steps.append("namespaces deleted")


def test_a_sigterm_during_teardown_is_recorded_and_the_bench_still_comes_down() -> None:
    seen: list[int] = []

    def before(signum: int, frame: Any) -> None:
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, before)
    plugin._Holder.interrupted = None
    try:
        run = Run()
        plugin.stop_whole(run, before)  # type: ignore[arg-type]
        assert run.steps == ["units off", "namespaces deleted"]
        assert plugin._Holder.interrupted == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) is before and seen == []  # the handler given back, not called
    finally:
        signal.signal(signal.SIGTERM, previous)
        plugin._Holder.interrupted = None

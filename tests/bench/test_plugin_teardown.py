"""The plugin's end of a run: a SIGTERM while the bench comes down is recorded, and the bench still comes down
whole (before, SIGTERM's handler was given back first and a signal then killed the run halfway, leaving its
namespaces behind)."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

import pytest

from bench import plugin
from bench.errors import Interrupts


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


def test_a_sigterm_while_tests_run_is_noted_and_raised_where_the_main_thread_waits() -> None:
    """Raised wherever the signal landed, a SIGTERM inside the logging module's lock left it held for good and
    the run hung (test_lab_labgrid's SIGTERM test, 1 in 3 runs): the handler only notes it; the main thread
    raises it where it waits for its units (bench.fleet), once."""
    Interrupts.pending = None
    previous = signal.signal(signal.SIGTERM, Interrupts.note)
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs at once, in this thread: it must not raise
        logging.getLogger("hb-test").isEnabledFor(logging.DEBUG)
        assert Interrupts.pending == "SIGTERM"
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            Interrupts.raise_pending()
        Interrupts.raise_pending()  # raised once
    finally:
        signal.signal(signal.SIGTERM, previous)
        Interrupts.pending = None

"""Tests for bench/services/process.py: the one terminate-then-kill of the bench's children."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.services.process import stop_process


def test_a_child_that_ends_on_sigterm_is_terminated_and_reaped() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    t0 = time.monotonic()
    stop_process(proc, grace=5)
    assert proc.returncode == -15 and time.monotonic() - t0 < 5


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()  # its handler is in place
    t0 = time.monotonic()
    stop_process(proc, grace=0.5)
    assert proc.returncode == -9 and 0.5 <= time.monotonic() - t0 < 5
    proc.stdout.close()


def test_an_ended_child_is_left_as_it_is() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stop_process(proc)
    assert proc.returncode == 0

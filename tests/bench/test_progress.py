"""Tests for bench/progress.py and the Timeline wait observers that feed it."""

from __future__ import annotations

import io
import threading

import pytest

from bench.errors import DeviceError
from bench.progress import Progress
from bench.timeline import Timeline


def test_plain_lines_name_the_test_phase_and_what_is_awaited() -> None:
    out = io.StringIO()
    progress = Progress(out)
    assert not progress.live  # not a terminal
    tl = Timeline()
    tl.wait_observers.append(progress.on_wait)
    progress.phase_started("test_x", "5.1.3", "test")
    threading.Timer(0.05, lambda: tl.add("hems", "inform")).start()
    tl.wait_for(lambda e: e.kind == "inform", 5, "an Inform at the Serving HeMS")
    with pytest.raises(DeviceError):
        tl.wait_for(lambda e: False, 0.01, "an SCTP INIT")
    lines = out.getvalue().splitlines()
    assert lines[0] == "  .. 5.1.3 test_x: test"
    assert lines[1] == "  .. 5.1.3 test_x: waiting up to 5 s for an Inform at the Serving HeMS"
    assert lines[2].startswith("  .. 5.1.3 test_x: got it after 0.") and lines[2].endswith("hems/inform")
    assert lines[4].startswith("  .. 5.1.3 test_x: nothing after 0.0")


def test_live_status_counts_the_wait() -> None:
    out = io.StringIO()
    progress = Progress(out, live=True)
    progress.phase_started("test_y", "5.2.4", "test")
    progress.on_wait("the unit back at the Serving SeGW", 10.0, None, False)
    text = progress.render().plain
    assert "5.2.4 test_y" in text and "waiting 0.0/10 s for the unit back at the Serving SeGW" in text
    progress.on_wait("the unit back at the Serving SeGW", 10.0, None, True)
    assert "waiting" not in progress.render().plain
    progress.close()


def test_a_broken_observer_never_fails_a_wait() -> None:
    tl = Timeline()

    def boom(*args: object) -> None:
        raise RuntimeError("display gone")

    tl.wait_observers.append(boom)
    tl.add("dns", "query")
    assert tl.wait_for(lambda e: True, 1, "anything").kind == "query"

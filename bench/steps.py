"""Assertions for a clause of TS 32.593: each failure names the clause and step, what was expected, what
was seen and where the evidence is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from bench.errors import DeviceError
from bench.timeline import Event, Predicate, Timeline, bound_note


class Steps:
    def __init__(self, clause: str, timeline: Timeline, evidence: Path) -> None:
        self.clause = clause
        self.timeline = timeline
        self.evidence = evidence

    def fail(self, step: str, expected: str, seen: str, event: Event | None = None) -> NoReturn:
        where = f"{self.evidence}/timeline.jsonl" + (f" #{event.seq}" if event else "")
        raise DeviceError(
            f"TS 32.593 {self.clause} step {step}: expected {expected}; seen {seen}; evidence: {where}"
        )

    def wait(
        self,
        step: str,
        pred: Predicate,
        timeout: float,
        expected: str,
        since: int,
        last: Predicate | None = None,
        why: Callable[[], str] | None = None,
    ) -> Event:
        """Wait for `pred`; on timeout fail the step, adding `why()` (e.g. a daemon's own reason) when given."""
        try:
            return self.timeline.wait_for(pred, timeout, expected, since, last)
        except DeviceError as exc:
            seen = str(exc).split("; ", 1)[-1]
            reason = why() if why else ""
            self.fail(step, expected, f"nothing within {timeout:g} s{bound_note(timeout)} ({seen}){reason}")

    def describe(self, event: Event | None) -> str:
        return event.describe(self.timeline.t0) if event else "nothing"

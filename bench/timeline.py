"""One append-only stream of timestamped events from every source; tests wait on it and assert order on it."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from bench.errors import DeviceError
from bench.events import describe


@dataclass(frozen=True)
class Event:
    """One thing that happened: `source` says who saw it (hems, dns, segw, power, console, capture, mme, bench)."""

    seq: int
    t: float
    source: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    # The unit it belongs to, in a run with several units (bench/attribution.py); None: no unit, or one unit.
    unit: str | None = None

    def describe(self, t0: float = 0.0) -> str:
        return f"#{self.seq} +{self.t - t0:.3f}s {describe(self)}"


class Bound(float):
    """A wait's bound that knows the inventory key it came from, so a timeout names what to change."""

    key: str

    def __new__(cls, value: float, key: str) -> Bound:
        obj = super().__new__(cls, value)
        obj.key = key
        return obj


def bound_note(timeout: float) -> str:
    """' (units.NAME.bounds.KEY)' for a Bound, '' for a plain number."""
    key = getattr(timeout, "key", None)
    return f" ({key})" if key else ""


Predicate = Callable[[Event], bool]
# Called as (what, timeout, None, False) when a wait starts and (what, timeout, event or None on timeout, True)
# when it ends: the live progress display shows what a test is waiting for.
WaitObserver = Callable[[str, float, "Event | None", bool], None]
# Whose event is it: (source, kind, data) -> the unit's name, or None for an event of no unit.
Attributor = Callable[[str, str, dict[str, Any]], "str | None"]


class Timeline:
    """Thread-safe event log; every add is also appended to a JSONL file when one is attached."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._cond = threading.Condition()
        self._sinks: list[Any] = []
        self.t0 = time.time()
        self._lines: dict[int, str] = {}
        # Applied to each JSON line written to sinks and dumps (the evidence's secret redaction).
        self._filter: Callable[[str], str] | None = None
        self.wait_observers: list[WaitObserver] = []
        # Installed by a run with several units: every event added is attributed to one of them, or none.
        self.attributor: Attributor | None = None

    def add(self, source: str, kind: str, at: float | None = None, **data: Any) -> Event:
        """Record an event; `at` is when it happened if the source knows better than now (a kernel
        timestamp), so order checks can use `t` even where sources report late."""
        owner = self.attributor(source, kind, data) if self.attributor is not None else None
        return self._append(source, kind, at, data, owner)

    def _append(
        self, source: str, kind: str, at: float | None, data: dict[str, Any], owner: str | None
    ) -> Event:
        with self._cond:
            ev = Event(len(self._events), time.time() if at is None else at, source, kind, data, owner)
            self._events.append(ev)
            line = self._line(ev) if self._sinks else ""  # JSON only when a file listens
            for sink in self._sinks:
                sink.write(line + "\n")
                sink.flush()
            self._cond.notify_all()
        return ev

    @property
    def line_filter(self) -> Callable[[str], str] | None:
        return self._filter

    @line_filter.setter
    def line_filter(self, value: Callable[[str], str] | None) -> None:
        self._filter = value
        self._lines = {}  # the lines made so far were made without it

    def _line(self, ev: Event) -> str:
        """The event's JSON line, made once: a test's timeline.jsonl starts at the unit's boot, so most events
        are written again by every later test's evidence (about 50,000 lines of 3,000 events in `make demo`)."""
        line = self._lines.get(ev.seq)
        if line is None:
            line = self._lines[ev.seq] = self._json(ev)
        return line

    def _json(self, ev: Event) -> str:
        # The event's fields as asdict() gives them, without its deep copy of `data` (json.dumps only reads it):
        # a dataclass inside `data` is still written as its fields, anything else json cannot write as str().
        d: dict[str, Any] = {"seq": ev.seq, "t": ev.t, "source": ev.source, "kind": ev.kind, "data": ev.data}
        if ev.unit is not None:  # a one-unit run's lines stay as they were
            d["unit"] = ev.unit
        line = json.dumps(d, default=_plain)
        return self.line_filter(line) if self.line_filter is not None else line

    def _notify(self, what: str, timeout: float, ev: Event | None, ended: bool) -> None:
        for observer in list(self.wait_observers):
            # A display problem must never fail a test.
            with contextlib.suppress(Exception):
                observer(what, timeout, ev, ended)

    def attach(self, path: Path) -> None:
        """Also write every new event to `path` (one JSON object per line)."""
        with self._cond:
            self._sinks.append(path.open("a", encoding="utf-8"))

    def detach_all(self) -> None:
        with self._cond:
            for sink in self._sinks:
                sink.close()
            self._sinks.clear()

    def mark(self) -> int:
        """The sequence number the next event will get: use it as a 'since' bound."""
        with self._cond:
            return len(self._events)

    def events(self, since: int = 0, until: int | None = None) -> list[Event]:
        with self._cond:
            return list(self._events[since:until])

    def find(self, pred: Predicate, since: int = 0, until: int | None = None) -> list[Event]:
        return [e for e in self.events(since, until) if pred(e)]

    def first(self, pred: Predicate, since: int = 0, until: int | None = None) -> Event | None:
        found = self.find(pred, since, until)
        return found[0] if found else None

    def wait_for(
        self, pred: Predicate, timeout: float, what: str, since: int = 0, last: Predicate | None = None
    ) -> Event:
        """Return the first event since `since` matching `pred`, or raise DeviceError saying what was awaited
        and what was last seen (the last event matching `last`, by default any)."""
        self._notify(what, timeout, None, False)
        found: Event | None = None
        try:
            found = self._wait(pred, timeout, since)
        finally:
            self._notify(what, timeout, found, True)
        if found is not None:
            return found
        raise DeviceError(
            f"timed out after {timeout:g} s{bound_note(timeout)} waiting for {what}; {self.last_seen(since, last)}"
        )

    def _wait(self, pred: Predicate, timeout: float, since: int) -> Event | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            pos = since
            while True:
                for ev in self._events[pos:]:
                    if pred(ev):
                        return ev
                pos = len(self._events)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def wait_until(self, ready: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until `ready()` is true, asked again at every event added and every wake(), or `timeout` passed
        (None: no bound); returns ready(). For a waiter on events and on something else (a stop, a transcript)."""
        with self._cond:
            return self._cond.wait_for(ready, timeout)

    def wake(self) -> None:
        """Ask every wait_until() again now: what it waits for besides events has changed."""
        with self._cond:
            self._cond.notify_all()

    def last_seen(self, since: int = 0, pred: Predicate | None = None) -> str:
        # Power-supply samples arrive ten times a second and say nothing about what the unit did.
        recent = [e for e in self.events(since) if (pred(e) if pred else e.kind != "psu-sample")][-3:]
        if not recent:
            return "nothing was seen"
        return "last seen: " + "; ".join(e.describe(self.t0) for e in recent)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def dump(self, path: Path, since: int = 0) -> None:
        with path.open("w", encoding="utf-8") as fh:
            for ev in self.events(since):
                fh.write(self._line(ev) + "\n")


def _plain(obj: Any) -> Any:
    """What json.dumps cannot write: a dataclass as its fields (as asdict() makes them), anything else as str()."""
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else str(obj)


class UnitTimeline(Timeline):
    """One unit's view of a run's timeline, with the same API: it shows the unit its own events and those of no
    unit; marks and sequence numbers are the whole timeline's; what the view adds belongs to its unit."""

    def __init__(self, base: Timeline, unit: str) -> None:  # noqa: D107  # a view: no events of its own
        self.base = base
        self.unit = unit
        self.t0 = base.t0
        self.line_filter = base.line_filter
        self.wait_observers = base.wait_observers  # the same list: the live display sees every unit's waits
        self.attributor = None
        self._sinks = []

    def visible(self, ev: Event) -> bool:
        return ev.unit is None or ev.unit == self.unit

    def _line(self, ev: Event) -> str:
        return self.base._line(ev)

    def _append(
        self, source: str, kind: str, at: float | None, data: dict[str, Any], owner: str | None
    ) -> Event:
        return self.base._append(source, kind, at, data, str(data["unit"]) if data.get("unit") else self.unit)

    def add(self, source: str, kind: str, at: float | None = None, **data: Any) -> Event:
        return self._append(source, kind, at, data, self.unit)

    def attach(self, path: Path) -> None:
        raise NotImplementedError("a unit's view writes its events with dump()")

    def mark(self) -> int:
        return self.base.mark()

    def events(self, since: int = 0, until: int | None = None) -> list[Event]:
        return [e for e in self.base.events(since, until) if self.visible(e)]

    def _wait(self, pred: Predicate, timeout: float, since: int) -> Event | None:
        return self.base._wait(lambda e: self.visible(e) and pred(e), timeout, since)

    def wait_until(self, ready: Callable[[], bool], timeout: float | None = None) -> bool:
        return self.base.wait_until(ready, timeout)

    def wake(self) -> None:
        self.base.wake()

"""One append-only stream of timestamped events from every source; tests wait on it and assert order on it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import DeviceError


@dataclass(frozen=True)
class Event:
    """One thing that happened: `source` says who saw it (hems, dns, segw, power, console, capture, mme, bench)."""

    seq: int
    t: float
    source: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def describe(self, t0: float = 0.0) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.data.items() if k not in ("xml",))
        return f"#{self.seq} +{self.t - t0:.3f}s {self.source}/{self.kind} {details}"


Predicate = Callable[[Event], bool]


class Timeline:
    """Thread-safe event log; every add is also appended to a JSONL file when one is attached."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._cond = threading.Condition()
        self._sinks: list[Any] = []
        self.t0 = time.time()

    def add(self, source: str, kind: str, at: float | None = None, **data: Any) -> Event:
        """Record an event; `at` is when it happened if the source knows better than now (a kernel
        timestamp), so order checks can use `t` even where sources report late."""
        with self._cond:
            ev = Event(len(self._events), time.time() if at is None else at, source, kind, data)
            self._events.append(ev)
            line = json.dumps(asdict(ev), default=str)
            for sink in self._sinks:
                sink.write(line + "\n")
                sink.flush()
            self._cond.notify_all()
        return ev

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
                    break
                self._cond.wait(min(left, 0.5))
        raise DeviceError(f"timed out after {timeout:g} s waiting for {what}; {self.last_seen(since, last)}")

    def last_seen(self, since: int = 0, pred: Predicate | None = None) -> str:
        recent = [e for e in self.events(since) if pred is None or pred(e)][-3:]
        if not recent:
            return "nothing was seen"
        return "last seen: " + "; ".join(e.describe(self.t0) for e in recent)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def dump(self, path: Path, since: int = 0) -> None:
        with path.open("w", encoding="utf-8") as fh:
            for ev in self.events(since):
                fh.write(json.dumps(asdict(ev), default=str) + "\n")

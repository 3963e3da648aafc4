"""How a driver reports what it did: an event sink the bench passes in (the bench's Timeline is one)."""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    def add(self, source: str, kind: str, at: float | None = None, **data: Any) -> object:
        """Record that `source` did `kind` at time `at` (None: now), with `data` (JSON-able values)."""
        ...

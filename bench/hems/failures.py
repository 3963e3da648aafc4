"""Sessions the reference HeMS fails on purpose (a HeMS restart, an overloaded HeMS): the rule a plan arms for
one unit, and the answer to an Inform it matches (HTTP 503, or the connection closed unanswered). Each failure
is on the timeline as `hems/session-failed-on-purpose`, so the evidence says the bench did it. And when each
session attempt began (SessionStarts): a retry's wait ends at the unit's first request, not after the HeMS's
authentication round trip."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bench.cwmp import DeviceKey

# How a session is failed: "503" answers the Inform with HTTP 503 Service Unavailable (no Retry-After: the
# unit's own backoff decides, TR-069 3.2.1.1); "close" closes the connection without an answer, as a HeMS
# that restarts mid-session does.
HOWS = ("503", "close")
CLOSE = 0
"""The HTTP status the HeMS's handlers read as: close the connection, answer nothing."""


@dataclass
class SessionFailure:
    """Fail the next `count` sessions of `unit` (a DeviceKey, or a SerialNumber alone) whose Inform carries
    one of `events` (any Inform when empty), answering them as `how` says. `failed` holds the timeline
    sequence numbers of the failures made so far."""

    unit: DeviceKey | str
    events: tuple[str, ...] = ()
    how: str = "503"
    count: int = 1
    failed: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.how not in HOWS:
            raise ValueError(f"how {self.how!r}: expected one of {', '.join(HOWS)}")
        if self.count < 1:
            raise ValueError(f"count {self.count}: expected at least 1")

    @property
    def left(self) -> int:
        with self._lock:
            return self.count - len(self.failed)

    def take(self, key: DeviceKey, codes: list[str]) -> bool:
        """Whether the Inform of `key` carrying `codes` is one to fail (then it counts as one of them)."""
        mine = self.unit == key if isinstance(self.unit, DeviceKey) else self.unit == key.serial_number
        if not mine or (self.events and not set(self.events) & set(codes)):
            return False
        with self._lock:
            if len(self.failed) >= self.count:
                return False
            self.failed.append(-1)  # a place held; the event's sequence number replaces it
            return True

    def recorded(self, seq: int) -> None:
        with self._lock:
            self.failed[self.failed.index(-1)] = seq


class SessionFailures:
    """The rules armed on one HeMS, first armed first matched; a rule that has failed all its sessions
    stays listed (its `failed` is the record) but matches nothing more."""

    def __init__(self) -> None:
        self._rules: list[SessionFailure] = []
        self._lock = threading.Lock()

    def arm(self, rule: SessionFailure) -> SessionFailure:
        with self._lock:
            self._rules.append(rule)
        return rule

    def disarm(self, unit: DeviceKey | str) -> int:
        """Drop every rule of `unit`; returns how many sessions they had still to fail."""
        with self._lock:
            mine = [r for r in self._rules if r.unit == unit]
            self._rules = [r for r in self._rules if r.unit != unit]
        return sum(r.left for r in mine)

    def match(self, key: DeviceKey, codes: list[str]) -> SessionFailure | None:
        with self._lock:
            rules = list(self._rules)
        return next((r for r in rules if r.take(key, codes)), None)


class SessionStarts:
    """When each peer's session attempt began: the arrival of its first Inform-bearing request, the one the HeMS
    challenged for authentication (HTTP 401) when it did, else the Inform itself. TR-069 3.2.1.1's wait before
    a retry ends when the unit tries again, so the Digest round trip that follows is not the unit's lateness."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def request(self, peer: str, t: float, challenged: bool) -> None:
        """An Inform-bearing request from `peer` arrived at `t`; `challenged`: answered 401. It opens an attempt
        unless the attempt's first request was challenged and this one answers that challenge."""
        with self._lock:
            before = self._first.get(peer)
            if before is None or challenged or not before[1]:
                self._first[peer] = (t, challenged)

    def take(self, peer: str) -> float | None:
        """When the attempt whose Inform `peer` just sent (and the HeMS records now) began."""
        with self._lock:
            first = self._first.pop(peer, None)
        return first[0] if first else None

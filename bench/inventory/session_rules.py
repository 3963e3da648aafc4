"""The TR-069 session rules the plans hold a unit to (`operator.session_rules`): where the Serving HeMS fails a
session on purpose (a "HeMS restart") and how, and the retry backoff test's parameters (docs/session-rules.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.inventory.fields import Strict

HemsRestart = Literal["503", "close", "off"]


class RetryTest(Strict):
    min_wait: int = Field(
        1, ge=1, le=60, description="CWMPRetryMinimumWaitInterval (m, s) the bench sets for the retry test"
    )
    multiplier: int = Field(
        1500,
        ge=1000,
        le=10000,
        description="CWMPRetryIntervalMultiplier (k) the bench sets for the retry test: not TR-069's default "
        "2000, so a unit that ignores the value set is seen (1000 would check no growth)",
    )
    failures: int = Field(
        2,
        ge=1,
        le=6,
        description="sessions in a row the Serving HeMS refuses (HTTP 503); retry n waits between "
        "m*(k/1000)^(n-1) and m*(k/1000)^n s, so each one more costs about twice the last",
    )
    slack: float = Field(
        1.0,
        ge=0.0,
        le=30.0,
        description="s a retry may come after TR-069's upper bound: the unit's new connection, the HeMS's "
        "authentication round trip and the host's load (measured: docs/session-rules.md)",
    )
    early: float = Field(
        0.05, ge=0.0, le=1.0, description="s a retry may come before TR-069's lower bound (clock granularity)"
    )


class SessionRules(Strict):
    hems_restart: dict[str, HemsRestart] = Field(
        default_factory=lambda: dict[str, HemsRestart]({"5.1.3": "503", "5.2.4": "503"}),
        description="per clause: how the Serving HeMS fails the session that carries the clause's events "
        "(503: HTTP 503; close: the connection closed unanswered; off: not at all); the unit's next Inform must "
        "carry the same events. Clauses that do it: 5.1.3 (the connection request's session), 5.2.4 (the "
        "IP-change Inform)",
    )
    retry: RetryTest = Field(default_factory=RetryTest, description="the session retry test (5.1.3)")

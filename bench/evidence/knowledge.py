"""What only the live bench knows, as events a judge reads beside the captures' own: the moment the bench moved
the unit to another inner address, the certificate it had the Initial HeMS present, the alarm it asked the unit
to raise, the session the HeMS failed on purpose, and every `bench` event (the file it served, the PM interval
it checks). A run keeps them in each test's timeline.jsonl, so `henb-bench
rejudge` adds them to the timeline it builds from that test's captures; a capture from the field has none, and
the steps that rest on them are not observable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.events import BenchKind, HemsKind, SegwKind, Source, UnitKind
from bench.timeline import Timeline

KNOWLEDGE = frozenset(
    {
        (Source.SEGW, SegwKind.ADDRESS_CHANGE),
        (Source.BENCH, BenchKind.HEMS_CERT),
        (Source.UNIT, UnitKind.ACTION),
        (Source.UNIT, UnitKind.ACTION_CONFIRMED),
        (Source.HEMS, HemsKind.SESSION_FAILED),
    }
)


def known_events(timeline: Path, since: int = 0) -> list[dict[str, Any]]:
    """The bench-knowledge events of a run's timeline.jsonl from its sequence number `since` on (a test's
    timeline begins at the boot it used: what the bench did in earlier tests is not this test's)."""
    if not timeline.is_file():
        return []
    out = []
    for line in timeline.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue  # a line cut by a killed run
        if not isinstance(e, dict):
            continue
        known = (e.get("source"), e.get("kind")) in KNOWLEDGE or e.get("source") == Source.BENCH
        if known and e.get("seq", 0) >= since:
            out.append(e)
    return out


def with_knowledge(tl: Timeline, timeline: Path, since: int | None = None) -> Timeline:
    """`tl` (built from captures) with the bench-knowledge events of `timeline` (a run's timeline.jsonl) from
    `since` (the test's mark in run.json) on, all in time order (both are the bench host's clock)."""
    extra = known_events(timeline, since or 0)
    if not extra:
        return tl
    merged = [(e.t, e.source, e.kind, e.data) for e in tl.events()]
    merged += [(float(e["t"]), str(e["source"]), str(e["kind"]), dict(e.get("data") or {})) for e in extra]
    out = Timeline()
    out.t0 = tl.t0
    for t, source, kind, data in sorted(merged, key=lambda m: m[0]):
        out.add(source, kind, at=t, **data)
    return out

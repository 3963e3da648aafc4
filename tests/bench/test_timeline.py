"""The timeline: ordered, thread-safe, waitable, and a timeout says what was awaited and what was seen."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from bench.errors import DeviceError
from bench.timeline import Timeline


def test_events_are_ordered_and_written_as_jsonl(tmp_path: Path) -> None:
    tl = Timeline()
    tl.attach(tmp_path / "t.jsonl")
    tl.add("dns", "query", name="a.example")
    tl.add("hems", "inform", serial="X")
    tl.detach_all()
    lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [(e["seq"], e["source"], e["kind"]) for e in lines] == [(0, "dns", "query"), (1, "hems", "inform")]
    assert lines[0]["data"] == {"name": "a.example"}
    assert lines[0]["t"] <= lines[1]["t"]


@dataclass(frozen=True)
class _Part:
    name: str
    sizes: tuple[int, ...]
    where: Path


class _Kind(StrEnum):
    ONE = "one"


def test_lines_are_what_asdict_and_json_made_of_every_kind_of_data(tmp_path: Path) -> None:
    # A line is made without asdict()'s deep copy of the data: it must read the same, nested dataclasses,
    # tuples, enums, paths and a unit or none alike.
    tl = Timeline()
    tl.attach(tmp_path / "t.jsonl")
    part = _Part("p", (1, 2), Path("/x/y"))
    data: list[dict[str, Any]] = [
        {"name": "a.example", "n": 3, "f": 0.5, "none": None, "flag": True},
        {
            "part": part,
            "parts": [part, {"inner": part}],
            "pair": (part, 2),
            "enum": _Kind.ONE,
            "path": Path("/p"),
        },
        {"nested": {"k": [1, (2, 3), {"d": {"e": b"raw"}}]}, "error": DeviceError("no answer")},
    ]
    events = [tl.add("src", "kind", **d) for d in data] + [tl._append("src", "kind", None, {"x": part}, "u1")]
    tl.detach_all()

    def by_asdict(ev: Any) -> str:
        d = asdict(ev)
        if d["unit"] is None:
            del d["unit"]
        return json.dumps(d, default=str)

    assert (tmp_path / "t.jsonl").read_text().splitlines() == [by_asdict(ev) for ev in events]


def test_wait_for_sees_an_event_added_from_another_thread() -> None:
    tl = Timeline()
    mark = tl.mark()
    threading.Timer(0.05, lambda: tl.add("mme", "sctp-init", dport=36412)).start()
    ev = tl.wait_for(lambda e: e.kind == "sctp-init", 2, "an INIT", mark)
    assert ev.data["dport"] == 36412


def test_wait_for_ignores_events_before_since() -> None:
    tl = Timeline()
    tl.add("mme", "sctp-init")
    mark = tl.mark()
    with pytest.raises(DeviceError):
        tl.wait_for(lambda e: e.kind == "sctp-init", 0.05, "a new INIT", mark)


def test_timeout_names_what_was_awaited_and_the_last_events() -> None:
    tl = Timeline()
    tl.add("console", "console-line", line="booting")
    t0 = time.monotonic()
    with pytest.raises(DeviceError) as exc:
        tl.wait_for(lambda e: e.kind == "inform", 0.2, "an Inform from MOCK0001")
    assert time.monotonic() - t0 >= 0.2
    msg = str(exc.value)
    assert "timed out after 0.2 s waiting for an Inform from MOCK0001" in msg
    assert "console/console-line" in msg and "line=booting" in msg


def test_first_and_find_respect_bounds() -> None:
    tl = Timeline()
    for i in range(5):
        tl.add("x", "n", i=i)
    assert [e.data["i"] for e in tl.find(lambda e: True, 1, 3)] == [1, 2]
    first = tl.first(lambda e: e.data["i"] > 2)
    assert first is not None and first.data["i"] == 3
    assert tl.first(lambda e: e.data["i"] > 9) is None


def test_wait_until_is_asked_again_at_each_event_and_each_wake() -> None:
    """`henb-bench hems` waits for news this way: an event, or something else it was told of (wake())."""
    from bench.timeline import UnitTimeline

    tl = Timeline()
    told = threading.Event()
    threading.Timer(0.05, lambda: tl.add("hems", "inform")).start()
    assert tl.wait_until(lambda: tl.mark() > 0, 20)
    threading.Timer(0.05, lambda: (told.set(), tl.wake())).start()
    assert UnitTimeline(tl, "henb-01").wait_until(
        told.is_set, 20
    )  # a unit's view waits on the run's timeline
    assert not tl.wait_until(lambda: False, 0.05)

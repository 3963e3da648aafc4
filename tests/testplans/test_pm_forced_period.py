"""5.4.2 with and without the unit's force_pm_period action: with it, the forced period's file comes at once,
before the interval uploads (the interval the plan checks set only after it); without it, the first file is
awaited at the interval, and the run says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import FAST_BOUNDS, henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]
INTERVAL = "PerfMgmt.Config.1.PeriodicUploadInterval = "


def run_5_4_2(base: Path, tmp_path: Path, forced: bool) -> tuple[str, list[dict[str, Any]]]:
    """5.4.2 over HTTP alone, with or without actions.force_pm_period; it must pass. The output and timeline."""
    data = yaml.safe_load(base.read_text())
    unit = data["units"]["henb-01"]
    unit["transfer_protocols"] = ["http"]
    if not forced:
        del unit["actions"]["force_pm_period"]
    inventory = tmp_path / "pm.yaml"
    inventory.write_text(yaml.safe_dump(data))
    out = tmp_path / "captures"
    res = henb_bench("--inventory", str(inventory), "run", "--clause", "5.4.2", "--out", str(out))
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    assert "PASSED  5.4.2    test_pm_files_uploaded_at_the_interval[http]" in text, text[-2000:]
    (timeline,) = out.glob("*/timeline.jsonl")
    return text, [json.loads(line) for line in timeline.read_text().splitlines()]


def story(events: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """From the plan's PM configuration on (the last SetParameterValues before the first upload), one word for each
    thing the bench did or saw; and the PeriodicUploadInterval values the unit's console showed, in order (console
    lines may be read after later events: they are apart)."""

    def word(e: dict[str, Any]) -> str | None:
        d = e["data"]
        if e["source"] == "hems" and e["kind"] == "rpc-sent":
            return {"SetParameterValues": "set", "GetParameterValues": "get"}.get(d["method"], d["method"])
        if (
            e["source"] == "unit"
            and e["kind"] in ("action", "action-confirmed")
            and d["action"] == "force pm period"
        ):
            return e["kind"].replace("action-", "")
        if e["source"] == "bench" and e["kind"] == "pm-first-file":
            return f"first-file:{d['how']}"
        if e["source"] == "fileserver" and e["kind"] == "upload" and "/pm-http/" in d["path"]:
            return "upload"
        return None

    told = [w for e in events if (w := word(e)) is not None]
    start = max(i for i, w in enumerate(told[: told.index("upload")]) if w == "set")
    lines = [
        e["data"]["line"]
        for e in events
        if e["source"] == "console" and INTERVAL in e["data"].get("line", "")
    ]
    return told[start:], [line.rsplit("= ", 1)[1] for line in lines]


def test_the_forced_periods_file_comes_first_then_the_interval(fast_inventory: Path, tmp_path: Path) -> None:
    text, events = run_5_4_2(fast_inventory, tmp_path, forced=True)
    told, intervals = story(events)
    # No period ends by itself while the forced file is awaited: the first interval is longer than that wait
    # (twice the action's confirmation and bounds.step + pm_tolerance); the plan's own is set after the file.
    long = 2 * (FAST_BOUNDS["step"] * 2 + FAST_BOUNDS["pm_tolerance"])
    assert intervals == [str(int(long) + 1), "1"], intervals
    assert told[:3] == ["set", "get", "action"], told
    # The file may be in before the console line that confirmed the action has been read.
    assert sorted(told[3:6]) == ["confirmed", "first-file:forced", "upload"], told
    assert told[6:11] == ["set", "upload", "upload", "upload", "set"], told
    sent = next(e["t"] for e in events if e["source"] == "unit" and e["kind"] == "action")
    forced = next(e["t"] for e in events if e["source"] == "fileserver" and e["kind"] == "upload")
    assert forced - sent < FAST_BOUNDS["pm_interval"], "the forced file comes at once, not at an interval"
    assert "awaited at the interval" not in text


def test_without_the_action_the_first_file_is_awaited_at_the_interval(
    fast_inventory: Path, tmp_path: Path
) -> None:
    text, events = run_5_4_2(fast_inventory, tmp_path, forced=False)
    assert (
        "henb-bench: 5.4.2 over http: the first PM file is awaited at the interval "
        "(units.henb-01.actions.force_pm_period is not given)" in text
    ), text[-2000:]
    told, intervals = story(events)
    assert intervals == ["1"], intervals
    assert told[:7] == ["set", "get", "first-file:awaited", "upload", "upload", "upload", "set"], told
    assert "action" not in told and "confirmed" not in told, told

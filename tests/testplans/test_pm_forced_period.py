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


def story(events: list[dict[str, Any]]) -> list[tuple[float, str]]:
    """From the plan's PM configuration on: what it set, asked and saw, one word each, with the time."""
    start = next(i for i, e in enumerate(events) if INTERVAL in e["data"].get("line", ""))
    told = []
    for e in events[start:]:
        d = e["data"]
        if INTERVAL in d.get("line", ""):
            told.append((e["t"], "interval=" + d["line"].rsplit("= ", 1)[1]))
        elif e["source"] == "unit" and e["kind"] in ("action", "action-confirmed"):
            told.append((e["t"], f"{e['kind']}:{d['action']}"))
        elif e["source"] == "bench" and e["kind"] == "pm-first-file":
            told.append((e["t"], f"first-file:{d['how']}"))
        elif e["source"] == "fileserver" and e["kind"] == "upload" and "/pm-http/" in d["path"]:
            told.append((e["t"], "upload"))
    return told


def test_the_forced_periods_file_comes_first_then_the_interval(fast_inventory: Path, tmp_path: Path) -> None:
    text, events = run_5_4_2(fast_inventory, tmp_path, forced=True)
    told = story(events)
    # No period ends by itself while the forced file is awaited: the first interval is longer than that wait
    # (twice the action's confirmation and bounds.step + pm_tolerance), the plan's own set after the file.
    long = 2 * (FAST_BOUNDS["step"] * 2 + FAST_BOUNDS["pm_tolerance"])
    words = [w for _, w in told]
    assert words[:2] == [f"interval={int(long) + 1}", "action:force pm period"], told
    # The file may be in before the console line that confirmed the action has been read.
    assert sorted(words[2:5]) == ["action-confirmed:force pm period", "first-file:forced", "upload"], told
    assert words[5:9] == ["interval=1", "upload", "upload", "upload"], told
    sent, forced = told[1][0], told[2 + words[2:5].index("upload")][0]
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
    words = [w for _, w in story(events)]
    assert words[:5] == ["interval=1", "first-file:awaited", "upload", "upload", "upload"], words
    assert not [e for e in events if e["source"] == "unit" and e["data"].get("action") == "force pm period"]

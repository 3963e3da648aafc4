"""Helpers for the bench's own tests: run the real CLI, skip without root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Two people (or agents) running the namespace tests at once on one machine must not share names.
PREFIX = os.environ.get("HB_TEST_PREFIX", "hb-")


def write_inventory(
    path: Path, bounds: dict[str, float] | None = None, operator: dict[str, object] | None = None
) -> Path:
    """The default inventory with the test prefix (and, given, other bounds or operator settings)."""
    data = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    data["bench"]["prefix"] = PREFIX
    data["operator"].update(operator or {})
    if bounds:
        next(iter(data["units"].values()))["bounds"] = bounds
    path.write_text(yaml.safe_dump(data))
    return path


def needs_root() -> pytest.MarkDecorator:
    return pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")


def henb_bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real command line, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )

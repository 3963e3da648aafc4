"""Helpers for the bench's own tests: run the real CLI, skip without root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def needs_root() -> pytest.MarkDecorator:
    return pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")


def henb_bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real command line, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )

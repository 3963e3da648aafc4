"""A normal command prints no dependency's warning (issue 24): `henb-bench --help` and `henb-bench list`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("argv", [["--help"], ["list"]])
def test_a_command_prints_no_warning(argv: list[str]) -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "henb-bench"), *argv],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stderr, out.stderr


def test_the_filter_is_only_for_asyncssh_dsa() -> None:
    """The filter is targeted: another deprecation warning is still shown."""
    code = "import warnings, bench; warnings.warn('DSA is deprecated', UserWarning); import asyncssh"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("Warning") == 1 and "<string>" in out.stderr, out.stderr

"""Tests for tests/support.py: each pytest-xdist worker gets a namespace prefix no other can match."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.inventory import Bench
from tests.support import ROOT, WORKER_CHARS, run_stopped_gently, worker_prefix


def test_without_xdist_the_prefix_is_the_one_given() -> None:
    assert worker_prefix("hs-", None) == "hs-"
    assert worker_prefix("hb-", "") == "hb-"


@pytest.mark.parametrize("base", ["h-", "hs-", "hb2-"])
def test_worker_prefixes_are_valid_and_none_matches_another(base: str) -> None:
    prefixes = [worker_prefix(base, f"gw{i}") for i in range(len(WORKER_CHARS))]
    assert prefixes[:3] == [f"{base[:-1]}0-", f"{base[:-1]}1-", f"{base[:-1]}2-"]
    for p in prefixes:
        assert Bench(name="t", prefix=p).prefix == p  # the inventory accepts it
    # `henb-bench clean` matches by prefix: no worker may clean another's (or the plain prefix's) names.
    for a, b in itertools.permutations([base, *prefixes], 2):
        assert not a.startswith(b), (a, b)


@pytest.mark.parametrize(
    ("base", "worker", "words"),
    [
        ("HB-", None, "HB_TEST_PREFIX='HB-'"),
        ("hb", "gw0", "expected a bench prefix"),
        ("hbxy-", "gw0", "at most 3 characters"),
        ("hb-", f"gw{len(WORKER_CHARS)}", f"at most {len(WORKER_CHARS)} workers"),
    ],
)
def test_a_prefix_that_cannot_be_split_per_worker_is_refused(
    base: str, worker: str | None, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        worker_prefix(base, worker)


GROUPED = """
import pytest

@pytest.mark.xdist_group("one")
@pytest.mark.parametrize("i", range(6))
def test_one(i):
    pass

@pytest.mark.xdist_group("two")
@pytest.mark.parametrize("i", range(6))
def test_two(i):
    pass

@pytest.mark.parametrize("i", range(4))
def test_free(i):
    pass
"""


def _workers_of_groups(tmp_path: Path, *plugin: str) -> dict[str, set[str]]:
    """Run a session of two groups and free tests on two workers; the workers each group's tests ran on."""
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
         "-p", "no:labgrid", "-p", "no:henb_bench", *plugin, "test_grouped.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    seen: dict[str, set[str]] = {}
    for worker, test in re.findall(r"\[(gw\d)\] .*?PASSED test_grouped\.py::(test_\w+)", res.stdout):
        seen.setdefault(test, set()).add(worker)
    assert set(seen) == {"test_one", "test_two", "test_free"}, res.stdout[-3000:]
    return seen


def test_an_xdist_group_runs_on_one_worker(tmp_path: Path) -> None:
    """tests/xdist_groups.py (loaded by tests/conftest.py) keeps each group on one worker, leaving the node ids
    as pytest made them."""
    seen = _workers_of_groups(tmp_path, "-p", "tests.xdist_groups")
    assert len(seen["test_one"]) == 1 and len(seen["test_two"]) == 1, seen


def test_a_command_given_up_on_is_stopped_with_sigterm(tmp_path: Path) -> None:
    """A run the test gives up on gets SIGTERM and the time to take its namespaces down (not SIGKILL)."""
    mark = tmp_path / "terminated"
    script = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(mark)!r}, 'w').write('yes'), sys.exit(3)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        run_stopped_gently([sys.executable, "-S", "-c", script], timeout=10)  # time to install its handler
    assert mark.read_text() == "yes"

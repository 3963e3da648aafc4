"""Tests for tests/support.py: each pytest-xdist worker gets a namespace prefix no other can match."""

from __future__ import annotations

import itertools

import pytest

from bench.inventory import Bench
from tests.support import WORKER_CHARS, worker_prefix


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


@pytest.mark.xdist_group("loadgroup-check")
def test_an_xdist_group_reaches_the_worker_whole(request: pytest.FixtureRequest) -> None:
    """Under `--dist loadgroup` a grouped test's node id carries its group, which is what keeps a group on one
    worker (pytest 9 with pytest-xdist 3.8 drops it, and groups that share a bench get split)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@loadgroup-check"), request.node.nodeid

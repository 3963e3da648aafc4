"""Shared fixtures for the bench's own tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.network.state import clean, leftovers
from drivers.retry import poll
from tests.support import FAST_BOUNDS, PREFIX, write_inventory

# --dist loadgroup under pytest 9 (pytest-xdist's own grouping writes node ids, which pytest 9 ignores).
pytest_plugins = ["tests.xdist_groups"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that build a bench (marked netns) first: they take seconds where the rest take milliseconds, so
    with pytest-xdist they start early and no worker is left alone with a long one at the end."""
    items.sort(key=lambda item: item.get_closest_marker("netns") is None)


# The fixtures wider than a test (module, class or package scope) that are set up now: while one is, the tests
# that share it (a bench built once for a module) leave what it made for the next of them.
WIDER: set[pytest.FixtureDef[object]] = set()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Iterator[object]:
    result = yield
    if fixturedef.scope in ("module", "class", "package"):
        WIDER.add(fixturedef)
    return result


def pytest_fixture_post_finalizer(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> None:
    WIDER.discard(fixturedef)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """A test that builds a bench must take it down again: what it leaves (a namespace, a host link) would make
    the next test on this worker fail with "an earlier run left ... behind", far from the cause. So the test
    that left it fails at its teardown, naming what it left, and it is cleaned up for the next one. Links get
    a moment: the kernel removes a veth whose peer went with a deleted namespace in the background."""
    yield
    if (
        item.get_closest_marker("netns") is None
        or os.geteuid() != 0
        or WIDER  # torn down with the last test that shares it, then checked
    ):
        return
    left = poll(lambda: leftovers(PREFIX), lambda lo: not (lo["namespaces"] or lo["links"]), 5.0, every=0.1)
    if left and (left["namespaces"] or left["links"]):
        done = clean(Path("/var/lib/henb-bench"), PREFIX)
        raise AssertionError(
            f"{item.nodeid} left {', '.join(left['namespaces'] + left['links'])} behind; cleaned up: "
            + "; ".join(done)
        )


@pytest.fixture(scope="session", autouse=True)
def _history_of_the_tests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A `henb-bench run` in a test records into the test session's own results history (bench/history), never
    into the host's (STATE_DIR/history.sqlite, or the lab's database)."""
    key = "HENB_BENCH_HISTORY_URL"
    before = os.environ.get(key)
    os.environ[key] = f"sqlite:///{tmp_path_factory.mktemp('history') / 'history.sqlite'}"
    yield
    if before is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = before


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """The default inventory, with the test prefix."""
    return write_inventory(tmp_path / "inventory.yaml")


@pytest.fixture
def fast_inventory(tmp_path: Path) -> Path:
    """The default inventory with short bounds, so a plan that fails on a misbehaving mock fails fast."""
    return write_inventory(tmp_path / "inventory.yaml", FAST_BOUNDS)


@pytest.fixture
def fast_public_inventory(tmp_path: Path) -> Path:
    """The same with the Initial HeMS on the public internet (TS 32.593 5.1.2.3)."""
    return write_inventory(tmp_path / "public.yaml", FAST_BOUNDS, {"initial_hems_access": "public"})


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """A long or multi-line str/bytes parameter (a built file, which carries a timestamp) is named by its
    argument, not its value: every pytest-xdist worker must collect the same test ids (pytest numbers the
    duplicates: blob0, blob1, ...)."""
    if isinstance(val, str | bytes) and (
        len(val) > 60 or ("\n" in val if isinstance(val, str) else b"\n" in val)
    ):
        return argname
    return None

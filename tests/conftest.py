"""Shared fixtures for the bench's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import FAST_BOUNDS, write_inventory


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that build a bench (marked netns) first: they take seconds where the rest take milliseconds, so
    with pytest-xdist they start early and no worker is left alone with a long one at the end."""
    items.sort(key=lambda item: item.get_closest_marker("netns") is None)


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

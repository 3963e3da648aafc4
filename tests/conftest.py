"""Shared fixtures for the bench's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import write_inventory


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """The default inventory, with the test prefix."""
    return write_inventory(tmp_path / "inventory.yaml")


@pytest.fixture
def fast_inventory(tmp_path: Path) -> Path:
    """The default inventory with short bounds, so a plan that fails on a misbehaving mock fails fast."""
    bounds = {"boot": 15, "step": 4, "address_change_inform": 3, "s1_init": 3}
    return write_inventory(tmp_path / "inventory.yaml", bounds)

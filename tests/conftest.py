"""Shared fixtures for the bench's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import write_inventory


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """The default inventory, with the test prefix."""
    return write_inventory(tmp_path / "inventory.yaml")


FAST_BOUNDS = {"boot": 15, "step": 4, "address_change_inform": 3, "s1_init": 3, "alarm_inform": 3, "quiet": 1,
              "factory_reset": 5, "pm_interval": 1, "pm_tolerance": 0.4}  # fmt: skip


@pytest.fixture
def fast_inventory(tmp_path: Path) -> Path:
    """The default inventory with short bounds, so a plan that fails on a misbehaving mock fails fast."""
    return write_inventory(tmp_path / "inventory.yaml", FAST_BOUNDS)


@pytest.fixture
def fast_public_inventory(tmp_path: Path) -> Path:
    """The same with the Initial HeMS on the public internet (TS 32.593 5.1.2.3)."""
    return write_inventory(tmp_path / "public.yaml", FAST_BOUNDS, {"initial_hems_access": "public"})

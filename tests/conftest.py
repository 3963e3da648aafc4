"""Shared fixtures for the bench's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import ROOT


@pytest.fixture
def fast_inventory(tmp_path: Path) -> Path:
    """The default inventory with short bounds, so a plan that fails on a misbehaving mock fails fast."""
    data = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    unit = next(iter(data["units"].values()))
    unit["bounds"] = {"boot": 15, "step": 4, "address_change_inform": 3, "s1_init": 3}
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data))
    return path

"""The bench side of a mock unit (bench/mock/device.py): once closed, it cannot be switched on again."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.errors import InfraError
from bench.inventory import parse_inventory
from bench.mock.device import MockDevice
from bench.network.state import RunState
from bench.pki import CertificateAuthority
from tests.support import ROOT


def test_a_closed_mock_unit_is_not_switched_on_again(tmp_path: Path) -> None:
    """An interrupted run (SIGTERM) closes its units while a unit's thread may still run its test and power the
    unit on: the closed console's fd (-1) is subprocess.PIPE, so the process started on pipes nobody reads, after
    the teardown, its PID recorded in a state file the teardown had already cleaned."""
    data = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    data["bench"]["state_dir"] = str(tmp_path / "state")
    inv = parse_inventory(data, Path("inv.yaml"))
    ca = CertificateAuthority(tmp_path / "ca")
    state = RunState(tmp_path / "state.json", "xx-")
    device = MockDevice(
        "henb-01", inv.units["henb-01"], inv, "xx-none", "wan", tmp_path / "w", ca, ca, {}, state
    )
    device.close()
    with pytest.raises(InfraError, match="switched on after the bench closed it"):
        device.start()
    assert device.proc is None and state.pids == []

"""A mock unit's power in the order a loaded machine makes: switched off before the process power-on started
has entered the unit's namespace (`ip netns exec` held back here until the test lets it go). The power-off must
end it: asking the namespace whether the unit runs said no, the off did nothing, and that unit ran on through the
power cycle (tests/bench/test_factory_reset_methods.py booted nothing for 20 s in CI after such an off)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import bench.mock.device as device_module
from bench.errors import DeviceError
from bench.inventory import load_inventory
from bench.network.netns import netns_inode, pids_in_netns
from bench.run import BenchRun
from drivers.errors import EquipmentError
from drivers.retry import poll
from tests.support import FAST_BOUNDS, needs_root, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]


def _started_run(tmp_path: Path) -> BenchRun:
    inv = load_inventory(write_inventory(tmp_path / "inventory.yaml", FAST_BOUNDS))
    run = BenchRun(inv, None, tmp_path / "captures", "run")
    run.start()
    return run


def test_a_unit_switched_off_before_it_entered_its_namespace_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = tmp_path / "gate"
    netns_command = device_module.netns_command

    def held(netns: str | None, argv: list[str], private_run: Path | None = None) -> list[str]:
        inner = netns_command(netns, argv, private_run)
        return ["sh", "-c", f'while [ ! -e {gate} ]; do sleep 0.01; done; exec "$0" "$@"', *inner]

    monkeypatch.setattr(device_module, "netns_command", held)
    run = _started_run(tmp_path)
    try:
        power, device = run.unit.power, run.unit.hw.power.device  # type: ignore[attr-defined]
        power.on()
        assert device.proc is not None
        pid = device.proc.pid
        power.off()
        assert not Path(f"/proc/{pid}").exists(), "the power-off left the unit's process running"
        gate.touch()
        mark = run.timeline.mark()
        power.on()
        run.timeline.wait_for(
            lambda e: e.kind == "console-line" and "booting" in e.data["line"],
            run.unit.bounds.boot,
            "the unit's boot banner",
            mark,
        )
    finally:
        gate.touch()
        run.close()


def test_output_on_with_a_stranger_in_the_units_namespace_names_it(tmp_path: Path) -> None:
    run = _started_run(tmp_path)
    stranger = None
    try:
        device = run.unit.hw.power.device  # type: ignore[attr-defined]
        stranger = subprocess.Popen(["ip", "netns", "exec", device.netns, "sleep", "60"])
        # There once `ip netns exec` has entered the namespace.
        inode = netns_inode(device.netns)
        assert inode is not None
        there = poll(lambda: pids_in_netns(inode), bool, run.unit.bounds.step, every=0.01)
        assert there == [stranger.pid], there
        with pytest.raises(
            (EquipmentError, DeviceError), match=rf"namespace is not empty: {stranger.pid} sleep"
        ):
            run.unit.power.on()
    finally:
        if stranger is not None:
            stranger.kill()
            stranger.wait()
        run.close()

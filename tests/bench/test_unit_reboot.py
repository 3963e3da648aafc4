"""A reboot a plan caused (a configuration file applied at boot) is not a crash, whenever the console shows its
boot banner; one more banner than the plan caused still is."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from bench.errors import DeviceError
from bench.timeline import Timeline
from bench.unit.lifecycle import BenchUnit


class Console:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.crashes: list[object] = []
        self.log_path = "console.log"

    def lines(self) -> list[str]:
        return self.out


def unit() -> tuple[BenchUnit, Console]:
    u = BenchUnit.__new__(BenchUnit)  # the health check alone: no hardware, no run
    console = Console()
    u.name, u.console, u._powered = "henb-01", console, True
    u.power = SimpleNamespace(check=lambda powered: None)
    u.run = SimpleNamespace(timeline=Timeline())
    u._banner, u._boot_line, u._crashes_seen, u._reboots_asked = re.compile("^U-Boot"), 0, 0, 0
    console.out += ["U-Boot 2020.01", "registered"]
    return u, console


def test_a_requested_reboot_whose_banner_comes_late_is_no_crash() -> None:
    u, console = unit()
    u.rebooted_on_request("5.2.2: Download applied at boot")
    u.check()  # the banner is not on the console yet
    console.out += ["U-Boot 2020.01", "registered again"]
    u.check()
    console.out += ["U-Boot 2020.01"]  # a third boot nobody asked for
    with pytest.raises(DeviceError, match="rebooted by itself"):
        u.check()


def test_without_a_request_the_second_banner_is_a_reboot() -> None:
    u, console = unit()
    console.out += ["U-Boot 2020.01"]
    with pytest.raises(DeviceError, match="rebooted by itself"):
        u.check()

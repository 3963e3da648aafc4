"""Settings models of the WAN ports and shells, and where every backend's settings can be imported from
(`drivers.config`); drivers/registry.py finds each by its `driver:` name and builds its driver.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from drivers.console.settings import (
    BOOT_BANNER,
    ConsoleSettings,
    MockConsole,
    PlaceConsole,
    SerialConsoleConfig,
)
from drivers.power.settings import (
    MockPower,
    MockPsuPowerConfig,
    Outlet,
    PlacePower,
    ScpiPowerConfig,
    SerialRelayPower,
    SnmpPduPower,
    SnmpV3,
    build_power,
)
from drivers.registry import DriverSettings, Port, SettingsPart, secret
from drivers.shell.settings import SshShellConfig, build_shell

__all__ = [
    "BOOT_BANNER", "ConsoleSettings", "DriverSettings", "MockConsole", "MockPower", "MockPsuPowerConfig", "MockWan",
    "NicWan", "Outlet", "PlaceConsole", "PlacePower", "PlaceWan", "Port", "ScpiPowerConfig", "SerialConsoleConfig",
    "SerialRelayPower", "SettingsPart", "SnmpPduPower", "SnmpV3", "SshShellConfig", "build_power", "build_shell",
    "secret",
]  # fmt: skip


# -- WAN ports: a bench NIC the unit's WAN cable is on; the mock's veth and a place's interface ---------


class MockWan(DriverSettings):
    driver: Literal["mock"]


class PlaceWan(DriverSettings):
    driver: Literal["place"]


class NicWan(DriverSettings):
    driver: Literal["nic"]
    ifname: Annotated[str, Field(min_length=1, max_length=15)]

    def where(self) -> str:
        return self.ifname


# Settings that live beside their (light) driver module, importable from here as well.
_BESIDE = {
    "HttpCallConfig": "drivers.power.pdu_http",
    "HttpPduPower": "drivers.power.pdu_http",
    "NetioPower": "drivers.power.pdu_http",
    "LabgridPowerConfig": "drivers.power.labgrid_pdu",
}


def __getattr__(name: str) -> Any:
    if name in _BESIDE:
        import importlib

        return getattr(importlib.import_module(_BESIDE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

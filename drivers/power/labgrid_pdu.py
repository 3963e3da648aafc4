"""Power through labgrid's NetworkPowerDriver: every PDU model labgrid has a power backend for (apc, gude,
netio, raritan, rest, shelly, tplink, ...), as a labgrid place's NetworkPowerPort describes it."""

from __future__ import annotations

import re
from importlib import import_module
from typing import Annotated, Any, Literal

from pydantic import Field

from drivers.errors import EquipmentError, SettingsError
from drivers.events import EventSink
from drivers.power.base import PowerBase
from drivers.registry import DriverSettings


def backends() -> list[str]:
    """The power backends (models) this labgrid has."""
    import pkgutil

    from labgrid.driver import power

    return sorted(m.name for m in pkgutil.iter_modules(power.__path__))


class LabgridPower(PowerBase):
    driver = "labgrid"

    def __init__(
        self, model: str, host: str, index: int, events: EventSink | None = None, unit: str | None = None
    ) -> None:
        super().__init__(events, unit)
        try:
            from labgrid import Target
            from labgrid.driver.powerdriver import NetworkPowerDriver
            from labgrid.resource.power import NetworkPowerPort
        except ImportError as exc:
            raise SettingsError(
                f"power driver labgrid needs labgrid ({exc}), a requirement of henb-bench: `make venv`"
            ) from None
        try:
            import_module(f"labgrid.driver.power.{model}")
        except ImportError:
            raise SettingsError(
                f"power model {model!r}: labgrid has no such power backend; it has {', '.join(backends())}"
            ) from None
        self.model, self.host, self.index = model, host, index
        self._target = Target(f"henb-bench-{unit or 'power'}")
        NetworkPowerPort(self._target, name=None, model=model, host=host, index=str(index))
        self._driver: Any = NetworkPowerDriver(self._target, name=None)
        self._target.activate(self._driver)

    def __repr__(self) -> str:
        # A URL host may carry the PDU's user and password (labgrid's rest backends take them so).
        return f"labgrid {self.model} power port {self.index} at {re.sub(r'//[^/@]*@', '//', self.host)}"

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:  # each backend raises its own kind (requests, pysnmp, a subprocess)
            raise EquipmentError(f"{self!r}: {what} failed: {type(exc).__name__}: {exc}") from exc

    def _switch(self, on: bool) -> None:
        self._call(f"switching {'on' if on else 'off'}", self._driver.on if on else self._driver.off)

    def state(self) -> bool | None:
        return bool(self._call("reading the state", self._driver.get))


# -- any PDU labgrid supports ---------------------------------------------------------------------


class LabgridPowerConfig(DriverSettings):
    """A power port switched through labgrid's NetworkPowerDriver and its power backends (apc, gude, netio,
    raritan, rest, shelly, tplink, ...): what a labgrid place's NetworkPowerPort resource says."""

    driver: Literal["labgrid"]
    model: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", description="labgrid's power backend, e.g. gude")]
    host: str = Field(description="host or URL, as labgrid's NetworkPowerPort takes it")
    index: Annotated[int, Field(ge=0)]


def build(cfg: LabgridPowerConfig, events: EventSink | None, unit: str | None) -> LabgridPower:
    return LabgridPower(cfg.model, cfg.host, cfg.index, events=events, unit=unit)

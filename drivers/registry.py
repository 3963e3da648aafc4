"""One registry of the hardware backends, found by the inventory's `driver:` word (as labgrid's target_factory).

A backend is its settings model (the inventory entry) and the function that builds its driver; a new one is one
module and one line in `BACKENDS` (docs/drivers.md "A new backend").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from drivers.errors import SettingsError
from drivers.events import EventSink

Part = Literal["power", "console", "wan", "shell"]
PARTS: tuple[Part, ...] = ("power", "console", "wan", "shell")


class DriverSettings(BaseModel):
    """What every backend's settings model is: strict, frozen, tagged by `driver` (a `Literal` of its name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    driver: str

    def where(self) -> str:
        """Where the resource is, for `henb-bench check --probe`: never a credential (those are separate keys)."""
        return "-"


class SettingsPart(BaseModel):
    """A part of a settings model (strict and frozen, as the inventory is)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Port = Annotated[int, Field(ge=1, le=65535)]


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass(frozen=True)
class Backend:
    """One backend of one part. `settings` and `build` are "module:name" strings, imported when first needed: the
    settings model with the inventory (its module must import light: a heavy library is imported in `build`), the
    build function `(settings, events, unit) -> driver` only when a driver is built."""

    part: Part
    name: str
    settings: str
    build: str | None = None
    mock: bool = False  # a mock unit's part: the bench makes it with the mock unit (bench/unit/kinds.py)
    made_by: str = ""  # who makes it when `build` is None: the error a build attempt gets says so


MOCK_POWER = "mock power is made by the mock unit"
CONSOLE = "a console is a serial line the bench opens on its url: drivers.console.serial"

# The registration entries, one line per backend: part, `driver:` name, settings model, build function.
# fmt: off
BACKENDS: tuple[Backend, ...] = (
    Backend("power", "mock", "drivers.power.settings:MockPower", mock=True, made_by=MOCK_POWER),
    Backend("power", "mock-psu", "drivers.power.settings:MockPsuPowerConfig", mock=True, made_by=MOCK_POWER),
    Backend("power", "serial-relay", "drivers.power.settings:SerialRelayPower", "drivers.power.relay_serial:build"),
    Backend("power", "snmp-pdu", "drivers.power.settings:SnmpPduPower", "drivers.power.pdu_snmp:build"),
    Backend("power", "http-pdu", "drivers.power.pdu_http:HttpPduPower", "drivers.power.pdu_http:build"),
    Backend("power", "netio", "drivers.power.pdu_http:NetioPower", "drivers.power.pdu_http:build_netio"),
    Backend("power", "scpi", "drivers.power.settings:ScpiPowerConfig", "drivers.power.scpi:build"),
    Backend("power", "labgrid", "drivers.power.labgrid_pdu:LabgridPowerConfig", "drivers.power.labgrid_pdu:build"),
    Backend("power", "place", "drivers.power.settings:PlacePower", made_by="the NetworkPowerPort of its labgrid place"),
    Backend("console", "mock", "drivers.console.settings:MockConsole", mock=True, made_by=CONSOLE),
    Backend("console", "serial", "drivers.console.settings:SerialConsoleConfig", made_by=CONSOLE),
    Backend("console", "place", "drivers.console.settings:PlaceConsole", made_by="the NetworkSerialPort of its labgrid place"),
    Backend("wan", "mock", "drivers.config:MockWan", mock=True, made_by="a mock unit's veth is made with its namespace"),
    Backend("wan", "nic", "drivers.config:NicWan", "drivers.wan:build"),
    Backend("wan", "place", "drivers.config:PlaceWan", made_by="the NetworkInterface of its labgrid place"),
    Backend("shell", "ssh", "drivers.shell.settings:SshShellConfig", "drivers.shell.ssh:build"),
)
# fmt: on


def _load(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def backends(part: Part) -> tuple[Backend, ...]:
    """The part's backends, in the order the inventory's errors list their names."""
    return tuple(b for b in BACKENDS if b.part == part)


def names(part: Part) -> tuple[str, ...]:
    return tuple(b.name for b in backends(part))


def backend(part: Part, name: str) -> Backend:
    """The backend the inventory names; a name no backend has is a SettingsError listing those there are."""
    for b in backends(part):
        if b.name == name:
            return b
    raise SettingsError(
        f"{part}.driver {name!r}: no such {part} backend, expected one of {', '.join(names(part))}"
    )


@cache
def settings_model(part: Part, name: str) -> type[DriverSettings]:
    model: type[DriverSettings] = _load(backend(part, name).settings)
    return model


@cache
def settings_union(part: Part) -> Any:
    """The part's settings models as one type for pydantic: a union discriminated on `driver` (a lone model as it
    is: pydantic wants two or more for a discriminator)."""
    models = tuple(settings_model(part, b.name) for b in backends(part))
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="driver")]  # noqa: UP007  # a tuple of types, at run time


def is_mock(part: Part, settings: Any) -> bool:
    """Whether these settings are a mock unit's (made by the bench with the mock unit, no hardware behind)."""
    return backend(part, str(getattr(settings, "driver", ""))).mock


def build(
    part: Part, settings: Any, events: EventSink | None = None, unit: str | None = None, **where: Any
) -> Any:
    """The driver for a unit's `power:`, `wan:` or `shell:` entry, found by the entry's `driver` name; `where`
    is what the part needs of the bench (a WAN port: `netns`). Every console is a serial line the bench opens on
    its url (drivers.console.serial, bench/unit/kinds.py)."""
    name = str(getattr(settings, "driver", ""))
    b = backend(part, name)
    if b.build is None:
        if name == "place":
            raise SettingsError(
                f"units.{unit}: its {part} is {b.made_by}, known once the place is acquired (`henb-bench run` "
                "acquires it)"
            )
        raise SettingsError(f"no {part} driver can be built from {name!r} here ({b.made_by})")
    return _load(b.build)(settings, events, unit, **where)

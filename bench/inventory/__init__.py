"""The inventory: benches, operator settings and units as typed, validated data (pydantic).

Errors name the file, the key path, what was found and what was expected, before anything is started. The models
live by domain (`operator`, `unit`, `actions`, `bounds`); everything is importable from `bench.inventory`.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from bench.errors import ConfigError
from bench.events import is_secret_key
from bench.inventory.actions import (
    ACTION_TIMEOUT,
    PLACEHOLDERS,
    ActionConfig,
    Actions,
    ConsoleAction,
    ConsoleReset,
    FactoryResetConfig,
    HemsReset,
    ManualAction,
    ManualReset,
    ShellAction,
    ShellReset,
)
from bench.inventory.bounds import Bounds
from bench.inventory.fields import Strict, is_ip
from bench.inventory.operator import InitialHemsAccess, IPv4Net, Network, Operator, OuterLink
from bench.inventory.unit import (
    PLACE_PARTS,
    AlarmRef,
    ConfigFile,
    ConnectionRequest,
    ConsoleConfig,
    DataModelConfig,
    HemsCredentials,
    Identity,
    LabgridPlace,
    MockSettings,
    OwnCredentials,
    PowerConfig,
    SetCredentials,
    ShellConfig,
    TransferProtocol,
    Unit,
    Waiver,
    WanConfig,
)
from drivers import registry
from drivers.config import (
    MockConsole,
    MockPower,
    MockWan,
    NicWan,
    PlaceConsole,
    PlacePower,
    PlaceWan,
    SerialConsoleConfig,
    SerialRelayPower,
)

__all__ = [
    "ACTION_TIMEOUT", "PLACEHOLDERS", "PLACE_PARTS", "ActionConfig", "Actions", "AlarmRef", "Bench", "Bounds",
    "ConfigFile", "ConnectionRequest", "ConsoleAction", "ConsoleConfig", "ConsoleReset", "DataModelConfig",
    "FactoryResetConfig", "HemsCredentials", "HemsReset", "IPv4Net", "Identity", "InitialHemsAccess", "Inventory",
    "LabgridPlace", "ManualAction", "ManualReset", "MockConsole", "MockPower", "MockSettings", "MockWan", "Network",
    "NicWan", "Operator", "OuterLink", "OwnCredentials", "PlaceConsole", "PlacePower", "PlaceWan", "PowerConfig",
    "SerialConsoleConfig", "SerialRelayPower", "SetCredentials", "ShellAction", "ShellConfig", "ShellReset",
    "Strict", "TransferProtocol", "Unit", "WanConfig", "Waiver", "format_errors", "is_ip", "load_inventory",
    "parse_inventory",
]  # fmt: skip


class Bench(Strict):
    name: str = "bench"
    prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,3}-$")] = "hb-"
    state_dir: Path = Path("/var/lib/henb-bench")


class History(Strict):
    """Where `henb-bench run` records every verdict (docs/history.md): a database URL, e.g. the lab's shared
    postgresql+psycopg://bench@db.lab.example/henb (its password from PGPASSWORD or ~/.pgpass, not here).
    Without it, a SQLite file in bench.state_dir; $HENB_BENCH_HISTORY_URL wins over both."""

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _database_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(v).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                "expected a database URL: sqlite:////path/history.sqlite or postgresql+psycopg://USER@HOST/DB"
            )
        return v


class Inventory(Strict):
    bench: Bench = Bench()
    history: History = History()
    network: Network = Network()
    operator: Operator = Operator()
    units: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")], Unit]

    @field_validator("units")
    @classmethod
    def _some_unit(cls, v: dict[str, Unit]) -> dict[str, Unit]:
        if not v:
            raise ValueError("expected at least one unit")
        return v

    @model_validator(mode="after")
    def _unit_access(self) -> Inventory:
        # A unit without its own Initial HeMS access has the operator's: every Unit in an Inventory has one.
        for name, unit in self.units.items():
            if unit.initial_hems_access is None:
                self.units[name] = unit.model_copy(
                    update={"initial_hems_access": self.operator.initial_hems_access}
                )
        return self

    def initial_hems_accesses(self) -> set[InitialHemsAccess]:
        """The Initial HeMS deployments the units need (the topology serves each of them)."""
        return {u.initial_hems_access or self.operator.initial_hems_access for u in self.units.values()}

    def unit(self, name: str | None) -> tuple[str, Unit]:
        if name is None:
            return next(iter(self.units.items()))
        if name not in self.units:
            raise ConfigError(f"unit {name!r} is not in the inventory; units: {', '.join(self.units)}")
        return name, self.units[name]


# Keys whose value is a union tagged by its driver or method (pydantic puts the tag into an error's path).
TAGGED = {"power", "console", "wan", *Actions.model_fields}
TAGS = {name for part in ("power", "console", "wan") for name in registry.names(part)} | {
    "hems",
    "console",
    "shell",
    "manual",
}


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother = 3, 80, 80


def _key(part: str | int) -> str:
    # A key with a line break or other control character is quoted, so one problem stays on one line.
    return (
        part
        if isinstance(part, str) and part.isprintable()
        else str(part)
        if isinstance(part, int)
        else repr(part)
    )


def format_errors(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: {err.error_count()} problem(s)"]
    for e in err.errors():
        # pydantic puts the union's tag (the driver name) into the path; it is not a key of the file.
        loc = ".".join(
            _key(p) for i, p in enumerate(e["loc"]) if not (i and e["loc"][i - 1] in TAGGED and p in TAGS)
        )
        found = e.get("input")
        expected = e["msg"]
        if e["type"] == "union_tag_invalid":
            loc += (
                ".method" if e["loc"] and e["loc"][-1] in TAGGED - {"power", "console", "wan"} else ".driver"
            )
            found = e["ctx"]["tag"]
            expected = f"expected one of {e['ctx']['expected_tags']}"
        elif e["type"] == "value_error":
            expected = expected.removeprefix("Value error, ")
        elif e["type"] == "missing":
            expected = "required key is missing"
            found = None
        elif e["type"] == "extra_forbidden":
            expected = "unknown key"
        secret = any(is_secret_key(str(p)) for p in e["loc"])
        # reprlib: a value built from YAML aliases can be billions of items deep; the line shows its start.
        shown = "" if found is None or isinstance(found, dict) or secret else f" found {_SHOWN.repr(found)};"
        lines.append(f"  {loc}:{shown} {expected}")
    return "\n".join(lines)


def parse_inventory(data: object, path: Path) -> Inventory:
    try:
        return Inventory.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_errors(path, err)) from None


def load_inventory(path: Path) -> Inventory:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read inventory: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text: byte {raw[exc.start]:#04x} at offset {exc.start}"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValueError as exc:
        # PyYAML's constructors raise plain ValueError for a tagged or implicit value they cannot make,
        # e.g. a date that does not exist (2001-02-30) or `!!int abc`.
        raise ConfigError(f"{path}: not valid YAML: a value cannot be read: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with keys bench, network, operator, units")
    return parse_inventory(data, path)

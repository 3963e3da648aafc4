"""The mock unit's factory programming: one typed model the bench side (device.py) builds and serialises and
the mock process (henb.py) validates at start, so a broken one is an error naming the field.

Plain dataclasses with a small validator of their own, not pydantic: pydantic costs the mock process about
18 MiB, a third of it."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from bench.errors import ConfigError
from bench.knobs import Knob

PROFILES = Path(__file__).resolve().parents[1] / "profiles"


class ValidationError(ValueError):
    """What is wrong with the data, one "field.path: problem" per item."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _check(tp: Any, value: Any, where: str, problems: list[str]) -> Any:
    """`value` as type `tp` (the annotations these models use), or a problem at `where` (None)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        return _check(next(a for a in args if a is not type(None)), value, where, problems)
    if origin is Literal:
        if value in args:
            return value
        return _problem(problems, where, "Input should be " + " or ".join(repr(a) for a in args))
    if origin is list:
        if not isinstance(value, list):
            return _problem(problems, where, "Input should be a valid list")
        return [_check(args[0], v, f"{where}.{i}", problems) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            return _problem(problems, where, "Input should be a valid dictionary")
        return {_check(args[0], k, where, problems): _check(args[1], v, f"{where}.{k}", problems)
                for k, v in value.items()}  # fmt: skip
    if isinstance(tp, type) and issubclass(tp, Model):
        return tp._build(value, where, problems)
    if tp is Knob:
        if value in Knob._value2member_map_:
            return Knob(value)
        return _problem(problems, where, f"Input should be one of {', '.join(repr(k.value) for k in Knob)}")
    if tp in (str, int) and isinstance(value, tp) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return _problem(
        problems,
        where,
        f"Input should be a valid {'string' if tp is str else 'number' if tp is float else 'integer'}",
    )


def _problem(problems: list[str], where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


class Model:
    """A dataclass that validates itself from JSON data (extra keys refused) and dumps itself back."""

    @classmethod
    def _build(cls, data: Any, where: str, problems: list[str]) -> Any:
        prefix = f"{where}." if where else ""
        if not isinstance(data, dict):
            return _problem(problems, where, "Input should be a valid dictionary")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        problems += [f"{prefix}{k}: Extra inputs are not permitted" for k in data if k not in fields]
        kwargs = {}
        for name, f in fields.items():
            if name in data:
                kwargs[name] = _check(hints[name], data[name], prefix + name, problems)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{prefix}{name}: Field required")
        return None if problems else cls(**kwargs)

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        problems: list[str] = []
        built = cls._build(data, "", problems)
        if problems:
            raise ValidationError(problems)
        return typing.cast(Self, built)

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError([f": Invalid JSON: {exc}"]) from None
        return cls.model_validate(data)

    def model_copy(self, update: dict[str, Any] | None = None) -> Self:
        return dataclasses.replace(self, **(update or {}))  # type: ignore[type-var]

    def model_dump(self, mode: str = "python", exclude: set[str] | None = None) -> dict[str, Any]:
        data = dataclasses.asdict(self)  # type: ignore[call-overload]
        out: dict[str, Any] = {k: v for k, v in data.items() if k not in (exclude or set())}
        return json.loads(json.dumps(out)) if mode == "json" else out

    def model_dump_json(self, indent: int | None = None) -> str:
        return json.dumps(self.model_dump(), indent=indent)


@dataclass
class MockIdentity(Model):
    """What the unit reports as its DeviceId (and DeviceInfo)."""

    manufacturer: str
    oui: str
    product_class: str
    serial_number: str
    ike_id: str | None = None


@dataclass
class FactoryCredentials(Model):
    username: str
    password: str


@dataclass
class MockConfig(Model):
    """Everything the process needs; paths are the bench's files, addresses the bench's topology."""

    name: str
    workdir: str
    cwmp_ns: str
    identity: MockIdentity
    initial_hems_url: str
    wan: str = ""
    knobs: list[Knob] = field(default_factory=list)
    cwmp_amendment: int = 2
    data_model: Literal["device2", "igd"] = "device2"
    console_dialect: Literal["bench", "vendor"] = "bench"
    ike_id: str = ""
    ca: str = ""
    cert: str = ""
    key: str = ""
    initial_segw: str = ""
    initial_hems_access: Literal["private", "public"] = "private"
    hems_username: str = ""
    hems_password: str = ""
    hems_auth: Literal["none", "basic", "digest"] = "none"
    # Factory-programmed only when the unit keeps its own: otherwise it learns them from the HeMS.
    factory_cr: FactoryCredentials | None = None
    cached_ips: dict[str, str] = field(default_factory=dict)
    factory_s1: str = ""
    protected: list[str] = field(default_factory=list)
    leak_to: str = ""
    # The unit's flash file ('' for none): what the HeMSs configured survives power-off.
    flash: str = ""
    # What its IKE trusts for the SeGWs besides `ca`: more CA files (a trust store too broad), and public keys
    # (PEM files) it pins by SeGW name, taking whatever certificate carries them.
    segw_trust: list[str] = field(default_factory=list)
    segw_pins: dict[str, str] = field(default_factory=dict)
    # How many seconds its IKE's clock is behind (0: right).
    clock_behind: int = 0
    # Seconds from power-on (or a reboot) to its first DHCP DISCOVER, as hardware boots (0: at once).
    boot_time: float = 0.0


def load(path: Path) -> MockConfig:
    """The process's configuration, or ConfigError naming the field that is wrong."""
    try:
        return MockConfig.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise ConfigError(f"mock configuration {path}: {exc}") from exc


def own_paths(data_model: str) -> dict[str, str]:
    """The paths of the mock's own data model (its shipped profile, `bench.profiles.mock_profile`), read from
    the profile's YAML without pydantic; tests/bench/mock/test_config.py holds the two equal."""
    import yaml

    name = "tr098" if data_model == "igd" else "tr181"
    paths: dict[str, str] = yaml.safe_load((PROFILES / f"{name}.yaml").read_text(encoding="utf-8"))["paths"]
    return paths

"""The mock unit's factory programming: one typed model the bench side (device.py) builds and serialises and
the mock process (henb.py) validates at start, so a broken one is an error naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bench.errors import ConfigError
from bench.knobs import Knob


class MockIdentity(BaseModel):
    """What the unit reports as its DeviceId (and DeviceInfo)."""

    model_config = ConfigDict(extra="forbid")
    manufacturer: str
    oui: str
    product_class: str
    serial_number: str
    ike_id: str | None = None


class FactoryCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str


class MockConfig(BaseModel):
    """Everything the process needs; paths are the bench's files, addresses the bench's topology."""

    model_config = ConfigDict(extra="forbid")
    name: str
    wan: str = ""
    workdir: str
    knobs: list[Knob] = []
    cwmp_ns: str
    cwmp_amendment: int = 2
    data_model: Literal["device2", "igd"] = "device2"
    console_dialect: Literal["bench", "vendor"] = "bench"
    identity: MockIdentity
    ike_id: str = ""
    ca: str = ""
    cert: str = ""
    key: str = ""
    initial_segw: str = ""
    initial_hems_url: str
    initial_hems_access: Literal["private", "public"] = "private"
    hems_username: str = ""
    hems_password: str = ""
    hems_auth: Literal["none", "basic", "digest"] = "none"
    # Factory-programmed only when the unit keeps its own: otherwise it learns them from the HeMS.
    factory_cr: FactoryCredentials | None = None
    cached_ips: dict[str, str] = {}
    factory_s1: str = ""
    protected: list[str] = []
    leak_to: str = ""
    # The unit's flash file ('' for none): what the HeMSs configured survives power-off.
    flash: str = ""


def load(path: Path) -> MockConfig:
    """The process's configuration, or ConfigError naming the field that is wrong."""
    try:
        return MockConfig.model_validate_json(path.read_text())
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"mock configuration {path}: {fields}") from exc

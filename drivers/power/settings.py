"""Settings models of the power backends whose modules import a heavy library (pysnmp, pyvisa) and of the stand-ins
the bench makes itself (mock, mock-psu, place): loaded with the inventory, found by name through drivers/registry.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from drivers import registry
from drivers.events import EventSink
from drivers.power.dialects import ScpiCommands, SnmpOutletOids
from drivers.registry import DriverSettings, Port, SettingsPart

if TYPE_CHECKING:
    from drivers.power.base import PowerDriver

# Same names as in drivers/power/pdu_snmp.py; repeated so that loading the inventory does not import pysnmp.
AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["none", "des", "3des", "aes", "aes192", "aes256"]
Outlet = Annotated[int, Field(ge=1, le=1024)]


# -- stand-ins the bench makes: a mock unit's power, a labgrid place's power port -----------------


class MockPower(DriverSettings):
    driver: Literal["mock"]


class PlacePower(DriverSettings):
    """Stands for the power of a unit whose `labgrid` names a place: known once the place is acquired."""

    driver: Literal["place"]


# -- a serial relay board -------------------------------------------------------------------------


class SerialRelayPower(DriverSettings):
    driver: Literal["serial-relay"]
    url: str
    # Not `on`/`off`: YAML reads those bare words as booleans.
    on_bytes: str = Field(description="bytes that switch the relay on, as hex, e.g. 'A00101A2'")
    off_bytes: str

    @field_validator("on_bytes", "off_bytes")
    @classmethod
    def _hex(cls, v: str) -> str:
        bytes.fromhex(v)
        return v

    def where(self) -> str:
        return self.url


class SnmpV3(SettingsPart):
    user: str
    auth_key: SecretStr = Field(description="authentication pass phrase (8 characters or more)")
    priv_key: SecretStr | None = Field(None, description="privacy pass phrase; none means authNoPriv")
    auth_protocol: AuthProtocol = "sha"
    priv_protocol: PrivProtocol = "aes"


# -- SNMP PDU ------------------------------------------------------------------------------------


class SnmpPduPower(DriverSettings):
    driver: Literal["snmp-pdu"]
    host: str
    port: Port = 161
    outlet: Outlet
    model: Literal["apc", "raritan", "custom"] = "apc"
    pdu_id: int = Field(1, ge=1, description="position in a daisy chain (Raritan)")
    community: SecretStr | None = Field(None, description="SNMP v2c write community")
    v3: SnmpV3 | None = None
    oids: SnmpOutletOids | None = Field(
        None, description="required for model custom; replaces the model's OIDs"
    )
    timeout: float = Field(1.0, gt=0)
    retries: int = Field(1, ge=0)
    verify_timeout: float = Field(
        5.0, ge=0, description="wait this long for the outlet to report the new state"
    )

    @model_validator(mode="after")
    def _check(self) -> SnmpPduPower:
        if (self.community is None) == (self.v3 is None):
            raise ValueError("expected either community (SNMP v2c) or v3, not both or neither")
        if self.model == "custom" and self.oids is None:
            raise ValueError("model custom needs oids (control_oid, on_value, off_value, ...)")
        return self

    def where(self) -> str:
        return f"{self.host}:{self.port} outlet {self.outlet}"


# -- SCPI bench power supply ---------------------------------------------------------------------


class ScpiPowerConfig(DriverSettings):
    driver: Literal["scpi"]
    resource: str = Field(
        description="VISA resource, e.g. TCPIP::192.0.2.10::5025::SOCKET or ASRL/dev/ttyUSB0::INSTR"
    )
    voltage: float = Field(gt=0, le=60)
    current_limit: float = Field(gt=0, le=20)
    sample_rate: float = Field(10.0, ge=0, le=100, description="current samples per second while booting")
    sample_seconds: float = Field(120.0, ge=0, description="how long after power-on to sample")
    timeout: float = Field(2.0, gt=0)
    visa_library: str = Field("@py", description="@py (pyvisa-py), @sim (pyvisa-sim), or a VISA library path")
    commands: ScpiCommands = ScpiCommands()  # a dataclass: pydantic checks its keys and types as a model's

    def where(self) -> str:
        return self.resource


# -- mock unit behind a simulated bench supply --------------------------------------------------

# Current samples per second of a mock unit's supply (MockPsuPowerConfig.sample_rate's default).
MOCK_SAMPLE_RATE = 2.0


class MockPsuPowerConfig(DriverSettings):
    """The mock unit powered through a simulated SCPI supply on 127.0.0.1 read by the real ScpiPower driver."""

    driver: Literal["mock-psu"]
    voltage: float = Field(12.0, gt=0, le=60)
    current_limit: float = Field(2.0, gt=0, le=10)
    load_ohms: float = Field(12.0, gt=0, description="the mock unit as a resistive load: amps = volts / ohms")
    # Two a second, not a real unit's ten: a resistive load reads the same at every sample, and each sample is
    # four SCPI queries and an event in a run's process.
    sample_rate: float = Field(MOCK_SAMPLE_RATE, ge=0, le=100)
    sample_seconds: float = Field(5.0, ge=0)


def build_power(cfg: Any, events: EventSink | None = None, unit: str | None = None) -> PowerDriver:
    """The power driver for a unit's `power:` entry, by its backend (mock power is made by the mock unit)."""
    power: PowerDriver = registry.build("power", cfg, events, unit)
    return power

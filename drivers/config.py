"""Inventory models (pydantic) for the hardware drivers, and factories that build a driver from one.

bench/inventory.py puts these into its PowerConfig union (discriminated on `driver`) and a unit's `shell`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from drivers.errors import SettingsError
from drivers.events import EventSink
from drivers.power.dialects import ScpiCommands, SnmpOutletOids

if TYPE_CHECKING:
    from drivers.power.base import PowerDriver
    from drivers.shell.ssh import SshShell

# Same names as in drivers/power/pdu_snmp.py; repeated so that loading the inventory does not import pysnmp.
AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["none", "des", "3des", "aes", "aes192", "aes256"]
Port = Annotated[int, Field(ge=1, le=65535)]
Outlet = Annotated[int, Field(ge=1, le=1024)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- SNMP PDU ------------------------------------------------------------------------------------


class SnmpV3(_Strict):
    user: str
    auth_key: SecretStr = Field(description="authentication pass phrase (8 characters or more)")
    priv_key: SecretStr | None = Field(None, description="privacy pass phrase; none means authNoPriv")
    auth_protocol: AuthProtocol = "sha"
    priv_protocol: PrivProtocol = "aes"


class SnmpPduPower(_Strict):
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


# -- HTTP PDUs -----------------------------------------------------------------------------------


class HttpCallConfig(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH"] = "GET"
    path: str = Field(description="appended to url; {outlet} is replaced")
    body: Any = Field(None, description='JSON body; "{outlet}" alone becomes the number')


class HttpPduPower(_Strict):
    driver: Literal["http-pdu"]
    url: str = Field(description="base URL, e.g. https://pdu3.lab.example; no credentials in it")
    outlet: Outlet
    username: str | None = None
    password: SecretStr | None = None
    # Not `on:`/`off:`: YAML 1.1 reads those keys as booleans.
    on_request: HttpCallConfig
    off_request: HttpCallConfig
    state_request: HttpCallConfig | None = None
    state_path: str | None = Field(None, description="e.g. data.state or Outputs[ID={outlet}].State")
    state_on: Any = True
    state_off: Any = False
    headers: dict[str, str] = {}
    verify_tls: bool = True
    timeout: float = Field(3.0, gt=0)
    verify_timeout: float = Field(5.0, ge=0)


class NetioPower(_Strict):
    driver: Literal["netio"]
    url: str
    outlet: Outlet
    username: str | None = Field(None, description="the JSON API's write user (NETIO: M2M API settings)")
    password: SecretStr | None = None
    verify_tls: bool = True
    timeout: float = Field(3.0, gt=0)
    verify_timeout: float = Field(5.0, ge=0)


# -- SCPI bench power supply ---------------------------------------------------------------------


class ScpiPowerConfig(_Strict):
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


# -- mock unit behind a simulated bench supply --------------------------------------------------


class MockPsuPowerConfig(_Strict):
    """The mock unit powered through a simulated SCPI supply on 127.0.0.1 read by the real ScpiPower driver."""

    driver: Literal["mock-psu"]
    voltage: float = Field(12.0, gt=0, le=60)
    current_limit: float = Field(2.0, gt=0, le=10)
    load_ohms: float = Field(12.0, gt=0, description="the mock unit as a resistive load: amps = volts / ohms")
    sample_rate: float = Field(10.0, ge=0, le=100)
    sample_seconds: float = Field(5.0, ge=0)


# -- any PDU labgrid supports ---------------------------------------------------------------------


class LabgridPowerConfig(_Strict):
    """A power port switched through labgrid's NetworkPowerDriver and its power backends (apc, gude, netio,
    raritan, rest, shelly, tplink, ...): what a labgrid place's NetworkPowerPort resource says."""

    driver: Literal["labgrid"]
    model: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", description="labgrid's power backend, e.g. gude")]
    host: str = Field(description="host or URL, as labgrid's NetworkPowerPort takes it")
    index: Annotated[int, Field(ge=0)]


# -- SSH shell -----------------------------------------------------------------------------------


class SshShellConfig(_Strict):
    driver: Literal["ssh"]
    host: str
    port: Port = 22
    username: str = "root"
    key_file: Path | None = None
    password: SecretStr | None = None
    host_key: str | None = Field(
        None, description='pin the unit\'s key: "ssh-ed25519 AAAA..." or "SHA256:..."'
    )
    connect_timeout: float = Field(10.0, gt=0)


DriverPowerConfig = Annotated[
    SnmpPduPower | HttpPduPower | NetioPower | ScpiPowerConfig, Field(discriminator="driver")
]


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_power(cfg: Any, events: EventSink | None = None, unit: str | None = None) -> PowerDriver:
    """The power driver for a unit's `power:` entry (every kind but mock, which the mock unit builds)."""
    # Imported here: each backend pulls in its library (pysnmp, pyvisa), only the one in use is loaded.
    if isinstance(cfg, SnmpPduPower):
        from drivers.power.pdu_snmp import PROFILES, SnmpPdu, SnmpV3User

        profile = cfg.oids or PROFILES[cfg.model]
        v3 = None
        if cfg.v3 is not None:
            v3 = SnmpV3User(
                cfg.v3.user, cfg.v3.auth_key.get_secret_value(), _secret(cfg.v3.priv_key),
                cfg.v3.auth_protocol, cfg.v3.priv_protocol,
            )  # fmt: skip
        return SnmpPdu(
            cfg.host, cfg.outlet, profile, community=_secret(cfg.community), v3=v3, port=cfg.port,
            pdu_id=cfg.pdu_id, timeout=cfg.timeout, retries=cfg.retries, verify_timeout=cfg.verify_timeout,
            events=events, unit=unit,
        )  # fmt: skip
    if isinstance(cfg, HttpPduPower | NetioPower):
        from drivers.power.pdu_http import NETIO, HttpCall, HttpPdu, HttpPduApi

        if isinstance(cfg, NetioPower):
            api = NETIO
        else:
            on, off, st = cfg.on_request, cfg.off_request, cfg.state_request
            api = HttpPduApi(
                HttpCall(on.method, on.path, on.body), HttpCall(off.method, off.path, off.body),
                HttpCall(st.method, st.path, st.body) if st else None,
                cfg.state_path, cfg.state_on, cfg.state_off, cfg.headers,
            )  # fmt: skip
        return HttpPdu(
            cfg.url, cfg.outlet, api, cfg.username, _secret(cfg.password), timeout=cfg.timeout,
            verify_tls=cfg.verify_tls, verify_timeout=cfg.verify_timeout, events=events, unit=unit,
        )  # fmt: skip
    if isinstance(cfg, ScpiPowerConfig):
        from drivers.power.scpi import ScpiPower

        return ScpiPower(
            cfg.resource, cfg.voltage, cfg.current_limit, sample_rate=cfg.sample_rate,
            sample_seconds=cfg.sample_seconds, commands=cfg.commands, timeout=cfg.timeout,
            visa_library=cfg.visa_library, events=events, unit=unit,
        )  # fmt: skip
    if isinstance(cfg, LabgridPowerConfig):
        from drivers.power.labgrid_pdu import LabgridPower

        return LabgridPower(cfg.model, cfg.host, cfg.index, events=events, unit=unit)
    driver = getattr(cfg, "driver", None)
    if driver == "place":
        raise SettingsError(
            f"units.{unit}: its power is the NetworkPowerPort of its labgrid place, known once the place is "
            "acquired (`henb-bench run` acquires it)"
        )
    if driver == "serial-relay":  # bench.inventory.SerialRelayPower
        from drivers.power.relay_serial import SerialRelay

        return SerialRelay(
            cfg.url, bytes.fromhex(cfg.on_bytes), bytes.fromhex(cfg.off_bytes), events=events, unit=unit
        )
    raise SettingsError(
        f"no power driver can be built from {driver!r} here (mock power is made by the mock unit)"
    )


MOCK_POWER_DRIVERS = ("mock", "mock-psu")


def build_shell(cfg: SshShellConfig, unit: str | None = None) -> SshShell:
    from drivers.shell.ssh import SshShell

    return SshShell(
        cfg.host, cfg.username, port=cfg.port, key_file=cfg.key_file, password=_secret(cfg.password),
        host_key=cfg.host_key, connect_timeout=cfg.connect_timeout, unit=unit,
    )  # fmt: skip

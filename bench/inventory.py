"""The inventory: benches, operator settings and units as typed, validated data (pydantic).

Errors name the file, the key path, what was found and what was expected, before anything is started.
"""

from __future__ import annotations

import ipaddress
import reprlib
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bench import profiles
from bench.errors import ConfigError
from bench.events import is_secret_key
from bench.ike import ESP_PROPOSALS, IKE_PROPOSALS
from bench.knobs import KNOBS
from bench.operator_pki import PkiConfig
from drivers.config import (
    MOCK_POWER_DRIVERS,
    HttpPduPower,
    LabgridPowerConfig,
    MockPsuPowerConfig,
    NetioPower,
    ScpiPowerConfig,
    SnmpPduPower,
    SshShellConfig,
)

IPv4Net = ipaddress.IPv4Network


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_ip(value: str) -> bool:
    """An IPv4 address (not an FQDN): a unit programmed with one asks no DNS for it."""
    try:
        ipaddress.IPv4Address(value)
        return True
    except ValueError:
        return False


def _host(value: str) -> str:
    """An FQDN or an IPv4 address, as a unit would be programmed with it."""
    if is_ip(value):
        return value
    labels = value.rstrip(".").split(".")
    if len(labels) < 2 or not all(lab and len(lab) < 64 and lab.replace("-", "").isalnum() for lab in labels):
        raise ValueError(f"expected an FQDN or an IPv4 address, found {value!r}")
    return value


class Network(Strict):
    """The bench's address plan. The defaults are documentation and private ranges used only inside
    the bench's own namespaces."""

    home: IPv4Net = IPv4Net("198.51.100.0/24")
    initial_segw_outer: IPv4Net = IPv4Net("203.0.113.0/30")
    serving_segw_outer: IPv4Net = IPv4Net("203.0.113.4/30")
    core: IPv4Net = IPv4Net("10.180.0.0/24")
    transit: IPv4Net = IPv4Net("10.180.255.0/24")
    private_dns: ipaddress.IPv4Address = ipaddress.IPv4Address("10.180.0.53")
    initial_hems: ipaddress.IPv4Address = ipaddress.IPv4Address("10.180.0.10")
    serving_hems: ipaddress.IPv4Address = ipaddress.IPv4Address("10.180.0.20")
    mme: ipaddress.IPv4Address = ipaddress.IPv4Address("10.180.0.30")
    factory_mme: ipaddress.IPv4Address = Field(
        ipaddress.IPv4Address("10.180.0.31"),
        description="where the MME stand-in also listens: the S1 address the mock unit is factory-programmed with",
    )
    fileserver: ipaddress.IPv4Address = ipaddress.IPv4Address("10.180.0.40")
    public_hems: ipaddress.IPv4Address = Field(
        ipaddress.IPv4Address("203.0.113.100"),
        description="the Initial HeMS's address on the internet, for units whose initial_hems_access is public",
    )
    initial_pool: IPv4Net = IPv4Net("10.181.0.0/24")
    serving_pools: list[IPv4Net] = [IPv4Net("10.182.0.0/24"), IPv4Net("10.182.1.0/24")]

    @field_validator("serving_pools")
    @classmethod
    def _two_pools(cls, v: list[IPv4Net]) -> list[IPv4Net]:
        if len(v) < 2:
            raise ValueError("expected at least two pools (the address change moves a unit between them)")
        return v


InitialHemsAccess = Literal["private", "public"]


class OuterLink(Strict):
    strict: bool = Field(
        False,
        description="fail the outer-link check on traffic other than DHCP, DNS, NTP, ICMP and IKE/ESP "
        "(default: such traffic is listed on the timeline and in the report; operator traffic always fails)",
    )


class Operator(Strict):
    pki: PkiConfig = PkiConfig()
    hems_auth: Literal["none", "basic", "digest"] = Field(
        "digest", description="how the HeMSs challenge units that have units.NAME.hems_credentials"
    )
    initial_segw: Annotated[str, Field(description="FQDN or IP the unit is factory-programmed with")] = (
        "isegw.operator.example"
    )
    serving_segw: str = "ssegw.operator.example"
    initial_hems: str = "ihems.operator.example"
    serving_hems: str = "shems.operator.example"
    hems_port: int = Field(7547, ge=1, le=65535)
    s1_far_end: ipaddress.IPv4Address | None = None
    s1_port: int = Field(36412, ge=1, le=65535)
    ipsec_usage: bool = True
    tac: int = Field(1, ge=0, le=65535, description="the TAC the Serving HeMS sets at registration")
    plmn: Annotated[
        str, Field(pattern=r"^[0-9]{5,6}$", description="PLMN ID (MCC+MNC) set at registration")
    ] = "00101"
    cell_identity: int = Field(
        0x0000101,
        ge=0,
        le=2**28 - 1,
        description="the 28-bit cell identity set at registration (Home eNB ID)",
    )
    s1_setup_failure: str | None = Field(
        None, description="answer S1 Setup with S1 Setup Failure and this S1AP cause, as GROUP:VALUE"
    )
    s1_time_to_wait: Literal["v1s", "v2s", "v5s", "v10s", "v20s", "v60s"] | None = None
    initial_hems_access: InitialHemsAccess = Field(
        "private",
        description="private: Initial HeMS behind the Initial SeGW (5.1.2.2); public: on the internet over "
        "HTTPS with a certificate from the operator CA, no IPsec (5.1.2.3); the default of "
        "units.NAME.initial_hems_access",
    )
    initial_hems_cert_name: str | None = Field(
        None, description="the name the Initial HeMS's certificate carries (default: initial_hems exactly)"
    )
    fileserver: str = "files.operator.example"
    outer_link: OuterLink = OuterLink()
    cr_username: str = Field(
        "hems",
        description="the connection-request user name the Serving HeMS sets on a unit whose "
        "connection_request is `set` without a username of its own",
    )
    cr_password: str = Field(
        "henb-bench-cr", description="the password it sets with it (units.NAME.connection_request.set)"
    )
    ike_proposals: Annotated[list[str], Field(min_length=1)] = Field(
        IKE_PROPOSALS,
        description="IKE proposals both SeGWs accept (strongSwan syntax, VICI load_conn proposals)",
    )
    esp_proposals: Annotated[list[str], Field(min_length=1)] = Field(
        ESP_PROPOSALS, description="ESP proposals both SeGWs accept (VICI esp_proposals)"
    )

    _hosts = field_validator("initial_segw", "serving_segw", "initial_hems", "serving_hems", "fileserver")(
        classmethod(lambda cls, v: _host(v))
    )

    @model_validator(mode="before")
    @classmethod
    def _parameters_moved(cls, data: object) -> object:
        if isinstance(data, dict) and "parameters" in data:
            raise ValueError(
                "operator.parameters moved to each unit's data-model profile: units.NAME.data_model: "
                "{profile: tr181 | tr098 | FILE, overrides: {NAME: PATH}} (docs/profiles.md)"
            )
        return data

    @field_validator("s1_setup_failure")
    @classmethod
    def _cause(cls, v: str | None) -> str | None:
        if v is not None:
            from bench.s1ap import check_cause

            check_cause(v)
        return v

    def hems_url(self, host: str, tls: bool = False) -> str:
        return f"{'https' if tls else 'http'}://{host}:{self.hems_port}/"

    @property
    def initial_hems_url(self) -> str:
        """The Initial HeMS URL a unit is factory-programmed with (HTTPS when it is on the internet)."""
        return self.initial_hems_url_for(self.initial_hems_access)

    def initial_hems_url_for(self, access: str | None) -> str:
        """The same for a unit with this Initial HeMS access (units.NAME.initial_hems_access)."""
        return self.hems_url(self.initial_hems, tls=(access or self.initial_hems_access) == "public")


class HemsCredentials(Strict):
    """What the unit answers the HeMS's challenge with (its ManagementServer.Username and Password)."""

    username: Annotated[str, Field(min_length=1)]
    password: SecretStr


class SetCredentials(Strict):
    """Connection-request credentials the Serving HeMS sets at registration (default: operator.cr_username
    and operator.cr_password)."""

    username: Annotated[str, Field(min_length=1)] | None = None
    password: SecretStr | None = None


class OwnCredentials(Strict):
    """The unit's own (factory) connection-request credentials, left as they are."""

    username: Annotated[str, Field(min_length=1)]
    password: SecretStr


class ConnectionRequest(Strict):
    """How the Serving HeMS reaches the unit (TR-069 3.2.2): the credentials, and how it retries a request the
    unit refuses (HTTP 401, 503, no answer, or no session opened within bounds.step)."""

    set: SetCredentials | None = Field(
        None, description="the HeMS sets ManagementServer.ConnectionRequestUsername/Password at registration"
    )
    own: OwnCredentials | None = Field(None, description="the unit keeps its own; the HeMS uses them")
    retry_after: float = Field(
        10.0, gt=0, description="seconds before a refused connection request is sent again"
    )
    attempts: int = Field(
        3, ge=1, le=20, description="connection requests per procedure step before it fails"
    )

    @model_validator(mode="after")
    def _one(self) -> ConnectionRequest:
        if self.set is not None and self.own is not None:
            raise ValueError("expected either set or own, not both")
        return self

    def credentials(self, op: Operator) -> tuple[str, str]:
        """(username, password) the HeMS sends its connection requests with."""
        if self.own is not None:
            return self.own.username, self.own.password.get_secret_value()
        given = self.set or SetCredentials()
        password = given.password.get_secret_value() if given.password is not None else op.cr_password
        return given.username or op.cr_username, password


class Identity(Strict):
    manufacturer: str = "henb-bench"
    oui: Annotated[str, Field(pattern=r"^[0-9A-F]{6}$")]
    product_class: str
    serial_number: Annotated[str, Field(min_length=1, max_length=64)]
    ike_id: str | None = Field(
        None,
        description="the IKE identity the unit presents, exact or a glob pattern such as 'C=DE, O=Vendor, CN=*' "
        "(default OUI-SERIAL.henb, the mock's convention: give a real unit's)",
    )


class MockPower(Strict):
    driver: Literal["mock"]


class PlacePower(Strict):
    """Stands for the power of a unit whose `labgrid` names a place: known once the place is acquired."""

    driver: Literal["place"]


class SerialRelayPower(Strict):
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


PowerConfig = Annotated[
    MockPower
    | MockPsuPowerConfig
    | SerialRelayPower
    | SnmpPduPower
    | HttpPduPower
    | NetioPower
    | ScpiPowerConfig
    | LabgridPowerConfig
    | PlacePower,
    Field(discriminator="driver"),
]


BOOT_BANNER = Field(
    None,
    description="a regex matching the line the unit prints when it starts; seen again without the bench "
    "switching or resetting it, it is an unexpected reboot (a unit failure)",
)


class MockConsole(Strict):
    driver: Literal["mock"]
    boot_banner: str | None = BOOT_BANNER


class SerialConsoleConfig(Strict):
    driver: Literal["serial"]
    url: str
    baudrate: int = 115200
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Annotated[float, Field(description="1, 1.5 or 2")] = 1
    xonxoff: bool = False
    rtscts: bool = False
    boot_banner: str | None = BOOT_BANNER

    @field_validator("stopbits")
    @classmethod
    def _stopbits(cls, v: float) -> float:
        if v not in (1, 1.5, 2):
            raise ValueError(f"expected 1, 1.5 or 2, found {v:g}")
        return v


class PlaceConsole(Strict):
    driver: Literal["place"]
    boot_banner: str | None = None  # the place's console gets labgrid.boot_banner when it is acquired


ConsoleConfig = Annotated[MockConsole | SerialConsoleConfig | PlaceConsole, Field(discriminator="driver")]


class MockWan(Strict):
    driver: Literal["mock"]


class NicWan(Strict):
    driver: Literal["nic"]
    ifname: Annotated[str, Field(min_length=1, max_length=15)]


class PlaceWan(Strict):
    driver: Literal["place"]


WanConfig = Annotated[MockWan | NicWan | PlaceWan, Field(discriminator="driver")]

PLACE_PARTS = ("power", "console", "wan")


class LabgridPlace(Strict):
    """A labgrid place the unit sits in: its exported power port, serial port and network interface become the
    unit's power, console and WAN port once the bench has acquired it through the coordinator."""

    coordinator: Annotated[
        str, Field(pattern=r"^\S+:[0-9]{1,5}$", description="the coordinator as HOST:PORT")
    ]
    place: str | None = Field(None, description="the place's name (or give tags)")
    tags: dict[str, str] = Field({}, description="take any free place carrying all these tags")
    wait: float = Field(
        600.0, ge=0, description="seconds to wait for the place (or one with the tags) while others hold it"
    )
    boot_banner: str | None = BOOT_BANNER

    @model_validator(mode="after")
    def _one_way(self) -> LabgridPlace:
        if (self.place is None) == (not self.tags):
            raise ValueError("expected either place (a name) or tags (KEY: VALUE), not both or neither")
        return self


class MockSettings(Strict):
    misbehave: list[str] = []
    flash: bool = Field(
        True,
        description="keep the configuration the HeMSs gave across power-off, as a unit's flash does "
        "(a file in the mock's work folder; FactoryReset wipes it)",
    )
    cwmp_ns: Literal[
        "urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1", "urn:dslforum-org:cwmp-1-2"
    ] = "urn:dslforum-org:cwmp-1-1"
    data_model: Literal["device2", "igd"] = Field(
        "device2",
        description="the mock unit's own root data model: Device:2 (TR-181) or InternetGatewayDevice with the "
        "TR-262 FAP components; both carry TR-196 FAPService:2 (the bench reads units.NAME.data_model, which for "
        "an igd unit is profile tr098)",
    )

    console_dialect: Literal["bench", "vendor"] = Field(
        "bench",
        description="the CLI on the mock's console: bench (`alarm raise ...`, the default inventory's templates) "
        "or vendor (a `FAP-200>` prompt, `fm alarm set ...`, its own confirmations), so templates are tested",
    )
    vendor_ca: bool = Field(
        False,
        description="the device certificate comes from a vendor CA the bench generates; its root is added to the "
        "SeGWs' unit trust, as a lab adds the vendor root it was given (operator.pki.unit_trust)",
    )
    ike_id: str | None = Field(
        None,
        description="the identity the mock presents when identity.ike_id is a pattern (default OUI-SERIAL.henb)",
    )

    @field_validator("misbehave")
    @classmethod
    def _knobs(cls, v: list[str]) -> list[str]:
        for knob in v:
            if knob not in KNOBS:
                raise ValueError(f"unknown knob {knob!r}, expected one of {', '.join(KNOBS)}")
        return v


class DataModelConfig(Strict):
    """Where the unit keeps what the bench sets and reads: a data-model profile (bench/profiles) and names of
    it this unit has elsewhere. Resolved and checked when the inventory is read."""

    profile: str = Field(
        profiles.DEFAULT,
        description="tr181 (TR-181 Device:2 + TR-196, the default), tr098 (TR-098 InternetGatewayDevice + "
        "TR-196 + TR-262) or a profile YAML file",
    )
    overrides: dict[str, str] = Field({}, description="logical name -> this unit's path, over the profile's")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: object) -> object:
        return {"profile": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _resolves(self) -> DataModelConfig:
        self.resolve()
        return self

    def resolve(self) -> profiles.Profile:
        return profiles.load(self.profile, self.overrides)


class Bounds(Strict):
    """How long the bench waits for a unit, in seconds. The defaults suit a physical unit (it boots in
    minutes); the mock inventory sets its own short values."""

    boot: float = Field(600.0, gt=0, description="power-on (or reset) to registered with the Serving HeMS")
    step: float = Field(
        60.0, gt=0, description="one step of a procedure: an RPC's response, the next message"
    )
    address_change_inform: float = Field(30.0, gt=0)
    s1_init: float = Field(60.0, gt=0)
    alarm_inform: float = Field(30.0, gt=0, description="an Expedited alarm's Inform, after the alarm")
    quiet: float = Field(10.0, gt=0, description="how long to watch for something that must not happen")
    factory_reset: float = Field(
        300.0, gt=0, description="a factory reset's confirmation (console, shell) or the operator (manual)"
    )
    pm_interval: int = Field(300, ge=1, description="the PeriodicUploadInterval the PM plans configure")
    pm_tolerance: float = Field(5.0, ge=0, description="how far an upload may be from its interval")
    transfer_complete: float = Field(
        600.0,
        gt=0,
        description="a Download's TransferComplete after its DownloadResponse: long enough for a unit that "
        "reboots to apply the file and reports it after the boot",
    )
    ike_retry: float = Field(
        120.0,
        gt=0,
        description="a unit's next IKE attempt after one failed (it refused an impostor SeGW): its IKE backoff",
    )


class Waiver(Strict):
    """`units.NAME.waivers[i]`: a check the lab waives for this unit (a documented vendor limitation). The check
    is not made (or its failure not counted) and is reported as waived with the reason, never as passed."""

    check: str = Field(
        min_length=1, description="the check: CLAUSE/STEP (every check of that step) or CLAUSE/STEP/KEY"
    )
    reason: str = Field(min_length=1, description="why, for the report (e.g. the vendor's limitation)")


class HemsReset(Strict):
    """The Serving HeMS sends FactoryReset while the unit is registered (TR-069 RPC)."""

    method: Literal["hems"] = "hems"


PLACEHOLDERS = ("event_type", "probable_cause", "specific_problem", "perceived_severity")
ACTION_TIMEOUT = Field(
    None, gt=0, description="seconds to wait for the confirmation (default: the unit's bounds.step)"
)


def _placeholders(v: str) -> set[str]:
    import string

    try:
        return {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
    except ValueError as exc:
        raise ValueError(f"not a template: {exc}") from None


def _template(v: str) -> str:
    """A template names only the placeholders the bench fills ({event_type}, ...); {{ and }} are literal braces."""
    unknown = _placeholders(v) - set(PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in sorted(unknown))}, "
            f"expected some of {', '.join('{' + n + '}' for n in PLACEHOLDERS)}"
        )
    return v


def _regex(v: str) -> str:
    import re

    try:
        re.compile(v)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return v


class ConsoleAction(Strict):
    """A command typed on the unit's console; a console line matching `expect` (a regex) confirms it."""

    method: Literal["console"]
    command: Annotated[str, Field(min_length=1)]
    expect: Annotated[str, Field(min_length=1)]
    timeout: float | None = ACTION_TIMEOUT

    _checked = field_validator("command")(classmethod(lambda cls, v: _template(v)))
    _checked_re = field_validator("expect")(classmethod(lambda cls, v: _regex(v)))


class ShellAction(Strict):
    """A command through the unit's shell (units.NAME.shell); exit status 0 (and `expect` in its output,
    when given) confirms it."""

    method: Literal["shell"]
    command: Annotated[str, Field(min_length=1)]
    expect: str | None = None
    timeout: float | None = ACTION_TIMEOUT

    _checked = field_validator("command")(classmethod(lambda cls, v: _template(v)))
    _checked_re = field_validator("expect")(classmethod(lambda cls, v: v if v is None else _regex(v)))


class ManualAction(Strict):
    """The bench prints `instructions` for the operator; with `expect`, it waits for a console line matching
    it, else it goes on and what the plan waits for next is the evidence."""

    method: Literal["manual"]
    instructions: Annotated[str, Field(min_length=1)]
    expect: str | None = None
    timeout: float | None = ACTION_TIMEOUT

    _checked = field_validator("instructions")(classmethod(lambda cls, v: _template(v)))
    _checked_re = field_validator("expect")(classmethod(lambda cls, v: v if v is None else _regex(v)))


# A factory reset's console and shell ways are the generic ones (their timeout defaults to bounds.factory_reset).
ConsoleReset = ConsoleAction
ShellReset = ShellAction


class ManualReset(ManualAction):
    """The bench prints `instructions` and waits (bounds.factory_reset) for the unit to come back factory-fresh."""

    instructions: str = "Factory-reset the unit (e.g. hold its reset button), then leave it powered."


ActionConfig = Annotated[ConsoleAction | ShellAction | ManualAction, Field(discriminator="method")]
FactoryResetConfig = Annotated[
    HemsReset | ConsoleAction | ShellAction | ManualReset, Field(discriminator="method")
]


TransferProtocol = Literal["http", "https", "ftp", "sftp"]


class ConfigFile(Strict):
    """The unit's own configuration file for 5.2.2 (any vendor format, served as it is) and what the bench
    reads back once it is applied."""

    path: Path = Field(description="the file, served byte for byte")
    file_type: str = Field("3 Vendor Configuration File", description="the Download's FileType")
    read_back: Annotated[dict[str, str], Field(min_length=1)] = Field(
        description="parameter -> value the unit shows once the file is applied"
    )
    corrupt: Path | None = Field(
        None, description="a corrupt variant for the failure test (default: the bench truncates the file)"
    )
    invalid: Path | None = Field(
        None, description="a well-formed variant with a value the unit must refuse (default: that test skips)"
    )

    @field_validator("path", "corrupt", "invalid")
    @classmethod
    def _readable(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"expected a readable file, found {str(v)!r}")
        return v


class Actions(Strict):
    """What only the unit can do, as templates a lab writes for its unit (console, shell or manual).
    raise_alarm and clear_alarm get {event_type}, {probable_cause}, {specific_problem} and {perceived_severity}
    of a SupportedAlarm entry the unit reported."""

    raise_alarm: ActionConfig | None = None
    clear_alarm: ActionConfig | None = None
    reboot: ActionConfig | None = None
    factory_reset: FactoryResetConfig | None = None
    force_pm_period: ActionConfig | None = Field(
        None,
        description="close the current PM collection period now and upload its file (a unit's `close ROP` or "
        "`flush PM`): 5.4.2 then checks the first file at once instead of waiting a whole interval for it",
    )

    @field_validator("reboot", "force_pm_period", "factory_reset")
    @classmethod
    def _no_values(cls, v: object) -> object:
        field = "command" if hasattr(v, "command") else "instructions"
        text = getattr(v, field, None) or ""
        if names := _placeholders(text):
            raise ValueError(
                f"{field} {text!r} names {', '.join('{' + n + '}' for n in sorted(names))}, but this action gets "
                "no values (only raise_alarm and clear_alarm do; write {{ and }} for a literal brace)"
            )
        return v


class AlarmRef(Strict):
    """A SupportedAlarm entry the 5.3 plans use, found by what identifies it (not by its instance number)."""

    event_type: Annotated[str, Field(min_length=1)]
    probable_cause: Annotated[str, Field(min_length=1)]
    specific_problem: str | None = None


class Unit(Strict):
    identity: Identity
    power: PowerConfig
    console: ConsoleConfig
    wan: WanConfig
    shell: SshShellConfig | None = None
    hems_credentials: HemsCredentials | None = None
    connection_request: ConnectionRequest = Field(
        ConnectionRequest(),
        description="credentials for connection requests (set, default; or own) and retries",
    )
    bounds: Bounds = Bounds()
    power_off_time: float = Field(
        10.0, ge=0, description="seconds a unit stays off before it is switched on again (capacitors drain)"
    )
    data_model: DataModelConfig = DataModelConfig()
    cwmp_amendment: int = Field(
        2,
        ge=1,
        le=6,
        description="the TR-069 amendment the unit implements (Issue 1 Amendment N), which sets the download "
        "FaultCodes expected: 1 (CWMP 1.0) reports 9010 where 2 and later report 9016/9017/9018; default 2, the "
        "one TS 32.593 cites",
    )
    transfer_protocols: Annotated[list[TransferProtocol], Field(min_length=1)] = Field(
        ["http", "https"],
        description="the file transfer protocols 5.2.2 (download) and 5.4.2 (upload) test; TR-181 makes only "
        "HTTP and HTTPS mandatory",
    )
    config_file: ConfigFile | None = Field(
        None,
        description="the unit's own configuration file for 5.2.2 (default: the bench's XML, for the mock)",
    )
    factory_reset: FactoryResetConfig | None = Field(
        None, description="the older place of actions.factory_reset (still read; give one of the two)"
    )
    actions: Actions = Actions()
    alarms: list[AlarmRef] = Field(
        [],
        description="the SupportedAlarm entries the 5.3 plans raise, one per ReportingMechanism in turn "
        "(default: the first four the unit reports)",
    )
    mock: MockSettings = MockSettings()
    unit_trust: list[Path] = Field(
        [],
        description="PEM files with this unit's vendor root and intermediate CAs, added to operator.pki.unit_trust",
    )
    labgrid: LabgridPlace | None = Field(
        None, description="a labgrid place instead of power, console and wan (they come from the place)"
    )
    initial_hems_access: InitialHemsAccess | None = Field(
        None,
        description="where this unit's Initial HeMS is: private (behind the Initial SeGW, 5.1.2.2) or public "
        "(on the internet over HTTPS, 5.1.2.3); default operator.initial_hems_access",
    )
    waivers: list[Waiver] = Field(
        [],
        description="checks the lab waives for this unit, each with its reason (checked against the plans)",
    )

    @model_validator(mode="before")
    @classmethod
    def _place_parts(cls, data: object) -> object:
        # A unit in a labgrid place names no drivers: stand-ins, replaced when the place is acquired.
        if isinstance(data, dict) and data.get("labgrid") is not None:
            given = [k for k in PLACE_PARTS if k in data]
            if given:
                raise ValueError(
                    f"labgrid names a place, whose resources are the unit's {', '.join(PLACE_PARTS)}: "
                    f"remove {', '.join(given)}"
                )
            data = {**data, **{k: {"driver": "place"} for k in PLACE_PARTS}}
        return data

    @property
    def kind(self) -> Literal["mock", "physical"]:
        """Which unit kind bench.unit builds: a mock unit is powered by a mock power driver."""
        return "mock" if self.power.driver in MOCK_POWER_DRIVERS else "physical"

    @property
    def reset(self) -> tuple[HemsReset | ConsoleAction | ShellAction | ManualReset, str]:
        """The factory reset and the key it was given under (actions.factory_reset, or the older factory_reset)."""
        if self.factory_reset is not None:
            return self.factory_reset, "factory_reset"
        return self.actions.factory_reset or HemsReset(), "actions.factory_reset"

    @model_validator(mode="after")
    def _actions_need(self) -> Unit:
        if self.factory_reset is not None and self.actions.factory_reset is not None:
            raise ValueError(
                "factory_reset and actions.factory_reset both given: keep one (actions.factory_reset is the new place)"
            )
        given = {k: getattr(self.actions, k) for k in Actions.model_fields} | {"factory_reset": self.reset[0]}
        for key, action in given.items():
            if isinstance(action, ShellAction) and self.shell is None:
                raise ValueError(f"{key} method shell needs a shell entry (units.NAME.shell)")
        if self.labgrid is None and "place" in (self.power.driver, self.console.driver, self.wan.driver):
            raise ValueError("driver place stands for a labgrid place's resource: it needs labgrid (a place)")
        return self


class Bench(Strict):
    name: str = "bench"
    prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,3}-$")] = "hb-"
    state_dir: Path = Path("/var/lib/henb-bench")


class Inventory(Strict):
    bench: Bench = Bench()
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
TAGS = {
    m.model_fields["driver"].annotation.__args__[0]  # type: ignore[union-attr]
    for union in (PowerConfig, ConsoleConfig, WanConfig)
    for m in union.__origin__.__args__  # type: ignore[attr-defined]
} | {"hems", "console", "shell", "manual"}


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

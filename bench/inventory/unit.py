"""A unit in the inventory (`units.NAME`): identity, credentials, its hardware (power, console, WAN port, shell:
the backends drivers/registry.py finds by name), its data model, files, alarms and the mock's settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bench import profiles
from bench.inventory.actions import (
    Actions,
    ConsoleAction,
    FactoryResetConfig,
    HemsReset,
    ManualReset,
    ShellAction,
)
from bench.inventory.bounds import Bounds
from bench.inventory.fields import Strict
from bench.inventory.operator import InitialHemsAccess, Operator
from bench.knobs import KNOBS
from drivers import registry
from drivers.config import BOOT_BANNER


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


# The hardware entries: each a union of the part's registered backends, discriminated on `driver`.
if TYPE_CHECKING:
    from drivers.config import ConsoleSettings, SshShellConfig
    from drivers.registry import DriverSettings

    PowerConfig = DriverSettings
    ConsoleConfig = ConsoleSettings
    WanConfig = DriverSettings
    ShellConfig = SshShellConfig
else:
    PowerConfig = registry.settings_union("power")
    ConsoleConfig = registry.settings_union("console")
    WanConfig = registry.settings_union("wan")
    ShellConfig = registry.settings_union("shell")

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
    boot_time: float = Field(
        0.0,
        ge=0,
        description="seconds the mock takes to boot, from power-on or a reboot to its first DHCP DISCOVER, as "
        "hardware does (a real unit: 20 s to minutes); 0, the default, boots at once",
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


class AlarmRef(Strict):
    """A SupportedAlarm entry the 5.3 plans use, found by what identifies it (not by its instance number)."""

    event_type: Annotated[str, Field(min_length=1)]
    probable_cause: Annotated[str, Field(min_length=1)]
    specific_problem: str | None = None


class Waiver(Strict):
    """`units.NAME.waivers[i]`: a check the lab waives for this unit (a documented vendor limitation). The check
    is not made (or its failure not counted) and is reported as waived with the reason, never as passed."""

    check: str = Field(
        min_length=1, description="the check: CLAUSE/STEP (every check of that step) or CLAUSE/STEP/KEY"
    )
    reason: str = Field(min_length=1, description="why, for the report (e.g. the vendor's limitation)")


class Unit(Strict):
    identity: Identity
    power: PowerConfig
    console: ConsoleConfig
    wan: WanConfig
    shell: ShellConfig | None = None
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
    unlock_at_registration: bool = Field(
        True,
        description="the Serving HeMS sets the cell's TR-196 FAPControl.LTE.AdminState true in the registration "
        "SetParameterValues (as real HeMSs do: a unit is locked after a factory reset); false leaves it as it is",
    )
    download_applied_at_reboot: bool = Field(
        False,
        description="the unit applies a configuration file only at its next boot after DownloadResponse Status 1, "
        "and waits for the HeMS to reboot it: 5.2.2 then reboots it (Reboot RPC, as after SetParameterValues "
        "Status 1) before it waits for the TransferComplete; false: the unit completes and reports it by itself",
    )
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
        """Which kind of unit this is (bench/unit/kinds.py builds it): a mock unit is powered by a mock backend."""
        return "mock" if registry.is_mock("power", self.power) else "physical"

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

"""The operator's settings in the inventory: the bench's address plan (`network`) and the operator network a unit
is given (`operator`: FQDNs, HeMS access and authentication, PKI, S1, proposals)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bench.ike import ESP_PROPOSALS, IKE_PROPOSALS
from bench.inventory.fields import Strict, host
from bench.inventory.session_rules import SessionRules
from bench.operator_pki import PkiConfig

IPv4Net = ipaddress.IPv4Network


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
    s1_time_to_wait: Literal["v1s", "v2s", "v5s", "v10s", "v20s", "v60s"] | None = Field(
        None,
        description="the TimeToWait the S1 Setup Failure carries (default v1s with s1_setup_failure): 5.1.3 checks "
        "the unit sends no S1 Setup again before it",
    )
    initial_hems_access: InitialHemsAccess = Field(
        "private",
        description="private: Initial HeMS behind the Initial SeGW (5.1.2.2); public: on the internet over "
        "HTTPS with a certificate from the operator CA, no IPsec (5.1.2.3); the default of "
        "units.NAME.initial_hems_access",
    )
    serving_hems_tls: bool = Field(
        False,
        description="the Serving HeMS over HTTPS inside the tunnel, as operators deploy it: it presents a certificate "
        "from the operator CA for serving_hems, the Initial HeMS hands out https://serving_hems:hems_port/, and 5.1.3 "
        "checks that the unit refuses a Serving HeMS it must not trust (default: http:// inside the tunnel)",
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

    session_rules: SessionRules = Field(
        default_factory=SessionRules,
        description="the TR-069 session rules' tests: HeMS restarts per clause, the retry test's m, k, N",
    )

    _hosts = field_validator("initial_segw", "serving_segw", "initial_hems", "serving_hems", "fileserver")(
        classmethod(lambda cls, v: host(v))
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

    @property
    def time_to_wait(self) -> str | None:
        """The TimeToWait IE of the MME's S1 Setup Failure (always present with s1_setup_failure), or None."""
        if self.s1_setup_failure is None:
            return None
        return self.s1_time_to_wait or "v1s"

    @property
    def time_to_wait_s(self) -> float:
        """The TimeToWait in seconds (0 without one)."""
        return float(self.time_to_wait[1:-1]) if self.time_to_wait else 0.0

    def hems_url(self, host: str, tls: bool = False) -> str:
        return f"{'https' if tls else 'http'}://{host}:{self.hems_port}/"

    @property
    def serving_hems_url(self) -> str:
        """The Serving HeMS URL the Initial HeMS hands out (HTTPS with serving_hems_tls)."""
        return self.hems_url(self.serving_hems, tls=self.serving_hems_tls)

    @property
    def initial_hems_url(self) -> str:
        """The Initial HeMS URL a unit is factory-programmed with (HTTPS when it is on the internet)."""
        return self.initial_hems_url_for(self.initial_hems_access)

    def initial_hems_url_for(self, access: str | None) -> str:
        """The same for a unit with this Initial HeMS access (units.NAME.initial_hems_access)."""
        return self.hems_url(self.initial_hems, tls=(access or self.initial_hems_access) == "public")

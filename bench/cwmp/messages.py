"""CWMP (TR-069) messages as the bench reads and writes them: namespaces, fault codes, the envelope, the
DeviceId and Inform, the typed results of the ACS's RPCs and the requests a CPE makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CWMP_NAMESPACES = ("urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1", "urn:dslforum-org:cwmp-1-2")
# Protocol versions and the namespace each one uses: 1.3 and 1.4 extend the 1-2 namespace.
CWMP_VERSIONS = {
    "1.0": CWMP_NAMESPACES[0],
    "1.1": CWMP_NAMESPACES[1],
    "1.2": CWMP_NAMESPACES[2],
    "1.3": CWMP_NAMESPACES[2],
    "1.4": CWMP_NAMESPACES[2],
}
MAX_BODY = 256 * 1024
UNKNOWN_TIME = "0001-01-01T00:00:00Z"  # TR-069's "unknown time" for StartTime/CompleteTime

# TR-069 fault code table: these codes are the sender's fault ("Client"); every other one is "Server".
CLIENT_FAULT_CODES = frozenset({8003, 8006, 9003, 9005, 9006, 9007, 9008, 9021})
FAULT_MEANINGS = {
    8000: "Method not supported",
    8001: "Request denied",
    8002: "Internal error",
    8003: "Invalid arguments",
    8004: "Resources exceeded",
    8005: "Retry request",
    8006: "ACS version incompatible with CPE",
    9000: "Method not supported",
    9001: "Request denied",
    9002: "Internal error",
    9003: "Invalid arguments",
    9004: "Resources exceeded",
    9005: "Invalid parameter name",
    9006: "Invalid parameter type",
    9007: "Invalid parameter value",
    9008: "Attempt to set a non-writable parameter",
    9009: "Notification request rejected",
    9010: "File transfer failure",
    9011: "Upload failure",
    9012: "File transfer server authentication failure",
    9013: "Unsupported protocol for file transfer",
    9014: "File transfer failure: unable to join multicast group",
    9015: "File transfer failure: unable to contact file server",
    9016: "File transfer failure: unable to access file",
    9017: "File transfer failure: unable to complete download",
    9018: "File transfer failure: file corrupted",
    9019: "File transfer failure: file authentication failure",
}

ParamValue = tuple[str, str, str]
"""(name, value, xsd type such as "xsd:string" or "unsignedInt")."""


class CwmpParseError(ValueError):
    """A body that is not a well-formed, safe CWMP SOAP message; the text says why."""


@dataclass(frozen=True)
class Envelope:
    ns: str
    id: str | None
    hold_requests: bool | None
    method: str
    body: etree._Element
    session_timeout: int | None = None
    supported_versions: tuple[str, ...] | None = None
    use_version: str | None = None
    # What the codec repaired to read the message (e.g. a byte that is not UTF-8), each naming where.
    defects: tuple[str, ...] = ()


class DeviceKey(NamedTuple):
    """What identifies a unit to an ACS (TR-069 3.4.4): OUI, ProductClass and SerialNumber together."""

    oui: str
    product_class: str
    serial_number: str

    def __str__(self) -> str:
        return f"{self.oui}-{self.product_class}-{self.serial_number}"


@dataclass(frozen=True)
class DeviceId:
    manufacturer: str
    oui: str
    product_class: str
    serial_number: str

    @property
    def key(self) -> DeviceKey:
        return DeviceKey(self.oui, self.product_class, self.serial_number)


@dataclass(frozen=True)
class Inform:
    device_id: DeviceId
    events: list[tuple[str, str]]
    max_envelopes: int
    current_time: str
    retry_count: int
    params: dict[str, str]


# ---- typed results of ACS RPCs ----


class ParamFault(NamedTuple):
    """One SetParameterValuesFault; a tuple, so it compares equal to (name, code, string)."""

    name: str
    code: int
    string: str


@dataclass(frozen=True)
class CwmpFault:
    """A SOAP Fault carrying a cwmp:Fault; `param_faults` lists the per-parameter SetParameterValuesFaults."""

    faultcode: str
    faultstring: str
    fault_code: int
    fault_string: str
    param_faults: list[ParamFault] = field(default_factory=list)

    @property
    def meaning(self) -> str:
        """TR-069's name for the fault code (vendor and unknown codes say so)."""
        if self.fault_code in FAULT_MEANINGS:
            return FAULT_MEANINGS[self.fault_code]
        return "vendor fault" if 8800 <= self.fault_code <= 8899 or 9800 <= self.fault_code <= 9899 else "?"


@dataclass(frozen=True)
class SpvResult:
    status: int


@dataclass(frozen=True)
class GpvResult:
    values: dict[str, str]


@dataclass(frozen=True)
class GpnResult:
    """GetParameterNamesResponse: name -> Writable."""

    params: dict[str, bool]


@dataclass(frozen=True)
class Attribute:
    notification: int
    access_list: list[str]


@dataclass(frozen=True)
class GpaResult:
    attributes: dict[str, Attribute]


@dataclass(frozen=True)
class MethodsResult:
    methods: list[str]


@dataclass(frozen=True)
class AddObjectResult:
    instance: int
    status: int


@dataclass(frozen=True)
class StatusResult:
    """DeleteObjectResponse."""

    status: int


@dataclass(frozen=True)
class TransferResult:
    """DownloadResponse or UploadResponse: Status 0 done, 1 not yet (a TransferComplete follows)."""

    status: int
    start_time: str
    complete_time: str


@dataclass(frozen=True)
class Done:
    """An empty response: SetParameterAttributes, Reboot, FactoryReset, ScheduleInform."""

    method: str


RpcResult = (
    SpvResult
    | GpvResult
    | GpnResult
    | GpaResult
    | MethodsResult
    | AddObjectResult
    | StatusResult
    | TransferResult
    | Done
    | CwmpFault
)

# ---- CPE requests ----


@dataclass(frozen=True)
class TransferComplete:
    command_key: str
    fault_code: int
    fault_string: str
    start_time: str
    complete_time: str


@dataclass(frozen=True)
class AutonomousTransferComplete:
    announce_url: str
    transfer_url: str
    is_download: bool
    file_type: str
    file_size: int
    target_file_name: str
    fault_code: int
    fault_string: str
    start_time: str
    complete_time: str


@dataclass(frozen=True)
class RequestDownload:
    file_type: str
    args: dict[str, str]

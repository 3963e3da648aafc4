"""CWMP (TR-069) SOAP codec shared by the reference HeMS and the mock HeNB.

Parsing is hardened against hostile bodies (no DTD, no entities, a size cap) and tolerant of real devices;
builders emit messages valid against the BBF schemas, for every RPC in both directions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

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


# ---- parsing ----


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


_PARSER = _parser()


def _local(el: etree._Element) -> str:
    tag = el.tag
    # rpartition, not etree.QName: this runs for every element the HeMS reads, QName costs 10% of its CPU.
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _kids(el: etree._Element, name: str) -> list[etree._Element]:
    # Children are unqualified per the schema, but some devices qualify them: match on the local name
    # ("{*}" is any namespace or none, matched inside lxml: the HeMS spent 8% of its CPU in a Python loop here).
    return list(el.iterchildren("{*}" + name))


def _kid(el: etree._Element, name: str) -> etree._Element:
    found = _kids(el, name)
    if not found:
        raise CwmpParseError(f"{_local(el)} has no {name} element")
    return found[0]


def _text(el: etree._Element, name: str) -> str:
    return (_kid(el, name).text or "").strip()


def _opt_text(el: etree._Element, name: str, default: str = "") -> str:
    return _text(el, name) if _kids(el, name) else default


_XSD_INT = re.compile(r"[+-]?[0-9]{1,20}")


def _int(el: etree._Element, name: str) -> int:
    raw = _text(el, name)
    # XSD's integer forms only: int() would also take "1_000", Arabic-Indic or full-width digits.
    if not _XSD_INT.fullmatch(raw):
        raise CwmpParseError(f"{_local(el)}/{name} is not an integer: {raw[:40]!r}")
    return int(raw)


def _bool(el: etree._Element, name: str) -> bool:
    raw = _text(el, name).lower()
    if raw not in ("0", "1", "true", "false"):
        raise CwmpParseError(f"{_local(el)}/{name} is not a boolean: {raw[:40]!r}")
    return raw in ("1", "true")


def parse_envelope(body: bytes, max_size: int = MAX_BODY) -> Envelope:
    """Parse a CWMP SOAP envelope; raise CwmpParseError for anything unsafe, malformed or not CWMP."""
    if len(body) > max_size:
        raise CwmpParseError(f"body of {len(body)} bytes exceeds the {max_size} byte limit")
    if b"<!doctype" in body[:4096].lower():
        raise CwmpParseError("DOCTYPE is not allowed")
    defects: tuple[str, ...] = ()
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        repaired = _repair_utf8(body)
        if repaired is None:
            raise CwmpParseError(f"not well-formed XML: {exc}") from None
        body, defects = repaired
        try:
            # The same strict parser and every check below: the repair only swaps undecodable bytes.
            root = etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError as exc2:
            raise CwmpParseError(f"not well-formed XML: {exc2}") from None
    # The byte check misses DOCTYPEs deeper in or in other encodings; the parsed tree does not.
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:  # type: ignore[union-attr]
        raise CwmpParseError("DOCTYPE is not allowed")
    if any(isinstance(el, etree._Entity) for el in root.iter()):
        raise CwmpParseError("entity references are not allowed")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise CwmpParseError(f"root element is {root.tag}, not a SOAP 1.1 Envelope")

    header = root.find(f"{{{SOAP_ENV}}}Header")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None:
        raise CwmpParseError("SOAP Envelope has no Body")
    children = [c for c in soap_body if isinstance(c.tag, str)]
    if not children:
        raise CwmpParseError("SOAP Body is empty")
    rpc = children[0]

    ns_seen: set[str] = set()
    heads: dict[str, str] = {}
    for h in header if header is not None else []:
        if not isinstance(h.tag, str):
            continue
        qn = etree.QName(h)
        if qn.namespace in CWMP_NAMESPACES:
            ns_seen.add(qn.namespace)
            heads[qn.localname] = (h.text or "").strip()

    qn = etree.QName(rpc)
    if qn.namespace == SOAP_ENV and qn.localname == "Fault":
        detail = _kids(rpc, "detail")
        cw = [c for c in detail[0] if isinstance(c.tag, str)] if detail else []
        for c in cw:
            if etree.QName(c).namespace in CWMP_NAMESPACES:
                ns_seen.add(etree.QName(c).namespace or "")
        method = "Fault"
    elif qn.namespace in CWMP_NAMESPACES:
        ns_seen.add(qn.namespace)
        method = qn.localname
    else:
        raise CwmpParseError(f"Body element {rpc.tag} is not in a CWMP namespace")
    if not ns_seen:
        raise CwmpParseError("no CWMP namespace in the header or the Fault detail")
    if len(ns_seen) > 1:
        raise CwmpParseError(f"mixed CWMP namespaces: {sorted(ns_seen)}")
    hold = heads.get("HoldRequests")
    timeout = heads.get("SessionTimeout", "")
    supported = heads.get("SupportedCWMPVersions")
    return Envelope(
        ns=ns_seen.pop(),
        id=heads.get("ID"),
        hold_requests=None if hold is None else hold.lower() in ("1", "true"),
        method=method,
        body=rpc,
        session_timeout=_timeout(timeout),
        supported_versions=None
        if supported is None
        else tuple(v.strip() for v in supported.split(",") if v.strip()),
        use_version=heads.get("UseCWMPVersion"),
        defects=defects,
    )


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _repair_utf8(body: bytes) -> tuple[bytes, tuple[str, ...]] | None:
    """A UTF-8 body with bytes that are not UTF-8, each replaced by U+FFFD as deployed ACSs read it, with
    a defect per bad byte run naming its offset; None when the body's problem is something else."""
    declared = _XML_ENCODING.match(body)
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return None
    defects: list[str] = []
    pos = 0
    while True:
        try:
            body[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + exc.end
            what = f"byte{'s' if end - start > 1 else ''} 0x{body[start:end].hex()}"
            defects.append(f"{what} at offset {start} not UTF-8 (read as U+FFFD)")
            pos = end
            if len(defects) >= 20:
                break
    if not defects:
        return None
    return body.decode("utf-8", errors="replace").encode("utf-8"), tuple(defects)


def _timeout(raw: str) -> int | None:
    """SessionTimeout's seconds, or None when it is not a plain number (isdigit() alone admits superscript
    digits, and int() refuses numbers of thousands of digits)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else None


def _expect(env: Envelope, method: str) -> None:
    if env.method != method:
        raise CwmpParseError(f"expected {method}, got {env.method}")


def _param_values(lst: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for pvs in _kids(lst, "ParameterValueStruct"):
        value = _kid(pvs, "Value").text or ""
        out[_text(pvs, "Name")] = value
    return out


def _strings(lst: etree._Element) -> list[str]:
    return [(s.text or "").strip() for s in lst if isinstance(s.tag, str)]


def read_inform(env: Envelope) -> Inform:
    _expect(env, "Inform")
    b = env.body
    dev = _kid(b, "DeviceId")
    device_id = DeviceId(
        manufacturer=_text(dev, "Manufacturer"),
        oui=_text(dev, "OUI"),
        product_class=_text(dev, "ProductClass"),
        serial_number=_text(dev, "SerialNumber"),
    )
    if not device_id.serial_number:
        raise CwmpParseError("Inform DeviceId has an empty SerialNumber")
    events = [
        (_text(e, "EventCode"), _opt_text(e, "CommandKey")) for e in _kids(_kid(b, "Event"), "EventStruct")
    ]
    return Inform(
        device_id=device_id,
        events=events,
        max_envelopes=_int(b, "MaxEnvelopes"),
        current_time=_text(b, "CurrentTime"),
        retry_count=_int(b, "RetryCount"),
        params=_param_values(_kid(b, "ParameterList")),
    )


def read_spv_response(env: Envelope) -> int:
    _expect(env, "SetParameterValuesResponse")
    return _int(env.body, "Status")


def read_gpv_response(env: Envelope) -> dict[str, str]:
    _expect(env, "GetParameterValuesResponse")
    return _param_values(_kid(env.body, "ParameterList"))


def read_fault(env: Envelope) -> CwmpFault:
    _expect(env, "Fault")
    b = env.body
    cw = _kid(_kid(b, "detail"), "Fault")
    param_faults = [
        ParamFault(_text(f, "ParameterName"), _int(f, "FaultCode"), _opt_text(f, "FaultString"))
        for f in _kids(cw, "SetParameterValuesFault")
    ]
    return CwmpFault(
        faultcode=_text(b, "faultcode"),
        faultstring=_opt_text(b, "faultstring"),
        fault_code=_int(cw, "FaultCode"),
        fault_string=_opt_text(cw, "FaultString"),
        param_faults=param_faults,
    )


def _transfer(b: etree._Element) -> TransferResult:
    return TransferResult(_int(b, "Status"), _opt_text(b, "StartTime"), _opt_text(b, "CompleteTime"))


def _gpa(b: etree._Element) -> GpaResult:
    out = {}
    for s in _kids(_kid(b, "ParameterList"), "ParameterAttributeStruct"):
        access = _strings(_kid(s, "AccessList")) if _kids(s, "AccessList") else []
        out[_text(s, "Name")] = Attribute(_int(s, "Notification"), access)
    return GpaResult(out)


_READERS: dict[str, Callable[[etree._Element], RpcResult]] = {
    "GetRPCMethods": lambda b: MethodsResult(_strings(_kid(b, "MethodList"))),
    "GetParameterNames": lambda b: GpnResult(
        {
            _text(s, "Name"): _bool(s, "Writable")
            for s in _kids(_kid(b, "ParameterList"), "ParameterInfoStruct")
        }
    ),
    "GetParameterValues": lambda b: GpvResult(_param_values(_kid(b, "ParameterList"))),
    "SetParameterValues": lambda b: SpvResult(_int(b, "Status")),
    "GetParameterAttributes": _gpa,
    "SetParameterAttributes": lambda b: Done("SetParameterAttributes"),
    "AddObject": lambda b: AddObjectResult(_int(b, "InstanceNumber"), _int(b, "Status")),
    "DeleteObject": lambda b: StatusResult(_int(b, "Status")),
    "Reboot": lambda b: Done("Reboot"),
    "FactoryReset": lambda b: Done("FactoryReset"),
    "Download": _transfer,
    "Upload": _transfer,
    "ScheduleInform": lambda b: Done("ScheduleInform"),
}


def read_result(env: Envelope, method: str) -> RpcResult:
    """The typed result of the ACS RPC `method`: its Response, or the CPE's Fault."""
    if env.method == "Fault":
        return read_fault(env)
    _expect(env, f"{method}Response")
    return _READERS[method](env.body)


def read_transfer_complete(env: Envelope) -> TransferComplete:
    _expect(env, "TransferComplete")
    b = env.body
    fs = _kid(b, "FaultStruct")
    return TransferComplete(
        _opt_text(b, "CommandKey"),
        _int(fs, "FaultCode"),
        _opt_text(fs, "FaultString"),
        _opt_text(b, "StartTime"),
        _opt_text(b, "CompleteTime"),
    )


def read_autonomous_transfer_complete(env: Envelope) -> AutonomousTransferComplete:
    _expect(env, "AutonomousTransferComplete")
    b = env.body
    fs = _kid(b, "FaultStruct")
    return AutonomousTransferComplete(
        announce_url=_opt_text(b, "AnnounceURL"),
        transfer_url=_text(b, "TransferURL"),
        is_download=_bool(b, "IsDownload"),
        file_type=_text(b, "FileType"),
        file_size=_int(b, "FileSize"),
        target_file_name=_opt_text(b, "TargetFileName"),
        fault_code=_int(fs, "FaultCode"),
        fault_string=_opt_text(fs, "FaultString"),
        start_time=_opt_text(b, "StartTime"),
        complete_time=_opt_text(b, "CompleteTime"),
    )


def read_request_download(env: Envelope) -> RequestDownload:
    _expect(env, "RequestDownload")
    b = env.body
    args = {}
    if _kids(b, "FileTypeArg"):
        for a in _kids(_kid(b, "FileTypeArg"), "ArgStruct"):
            args[_text(a, "Name")] = _opt_text(a, "Value")
    return RequestDownload(_text(b, "FileType"), args)


# ---- builders ----


def _envelope(
    ns: str,
    cwmp_id: str | None,
    hold_requests: bool | None = None,
    session_timeout: int | None = None,
    use_version: str | None = None,
    supported_versions: str | None = None,
) -> tuple[etree._Element, etree._Element]:
    if ns not in CWMP_NAMESPACES:
        raise ValueError(f"unknown CWMP namespace {ns!r}")
    nsmap = {"soap-env": SOAP_ENV, "soap-enc": SOAP_ENC, "xsd": XSD, "xsi": XSI, "cwmp": ns}
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    heads: list[tuple[str, str, str | None]] = []
    if cwmp_id is not None:
        heads.append(("ID", cwmp_id, "1"))
    if hold_requests is not None:
        heads.append(("HoldRequests", "1" if hold_requests else "0", "1"))
    newer = (session_timeout, use_version, supported_versions)
    if any(h is not None for h in newer) and ns != CWMP_NAMESPACES[2]:
        raise ValueError("CWMP 1.3/1.4 headers exist only in the cwmp-1-2 namespace")
    if session_timeout is not None:
        heads.append(("SessionTimeout", str(session_timeout), "0"))
    if supported_versions is not None:
        heads.append(("SupportedCWMPVersions", supported_versions, "0"))
    if use_version is not None:
        heads.append(("UseCWMPVersion", use_version, "1"))
    if heads:
        header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
        for name, text, must in heads:
            el = etree.SubElement(header, f"{{{ns}}}{name}")
            if must is not None:
                el.set(f"{{{SOAP_ENV}}}mustUnderstand", must)
            el.text = text
    body = etree.SubElement(root, f"{{{SOAP_ENV}}}Body")
    return root, body


def _sub(parent: etree._Element, tag: str, text: str | int | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _array(parent: etree._Element, tag: str, item_type: str, count: int) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.set(f"{{{SOAP_ENC}}}arrayType", f"{item_type}[{count}]")
    return el


def _string_array(parent: etree._Element, tag: str, items: list[str], item_type: str = "xsd:string") -> None:
    lst = _array(parent, tag, item_type, len(items))
    for item in items:
        _sub(lst, "string", item)


def _param_list(parent: etree._Element, params: list[ParamValue]) -> None:
    lst = _array(parent, "ParameterList", "cwmp:ParameterValueStruct", len(params))
    for name, value, xsd_type in params:
        pvs = _sub(lst, "ParameterValueStruct")
        _sub(pvs, "Name", name)
        val = _sub(pvs, "Value", value)
        val.set(f"{{{XSI}}}type", xsd_type if ":" in xsd_type else f"xsd:{xsd_type}")


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _fields(rpc: etree._Element, *pairs: tuple[str, Any]) -> None:
    for name, value in pairs:
        _sub(rpc, name, ("true" if value else "false") if isinstance(value, bool) else value)


def _spa(rpc: etree._Element, a: dict[str, Any]) -> None:
    lst = _array(rpc, "ParameterList", "cwmp:SetParameterAttributesStruct", len(a["attributes"]))
    for item in a["attributes"]:
        name, notification, *rest = item
        access = rest[0] if rest else None
        s = _sub(lst, "SetParameterAttributesStruct")
        _fields(
            s,
            ("Name", name),
            ("NotificationChange", notification is not None),
            ("Notification", notification or 0),
            ("AccessListChange", access is not None),
        )
        _string_array(s, "AccessList", list(access or []))


def _spv(rpc: etree._Element, a: dict[str, Any]) -> None:
    _param_list(rpc, a["params"])
    _sub(rpc, "ParameterKey", a["parameter_key"])


_Fill = Callable[[etree._Element, dict[str, Any]], None]


def _elements(*names: str) -> _Fill:
    """Fill an RPC with these elements in this order (TR-069's), each from its argument in snake case
    ('SuccessURL' from success_url)."""
    keys = [re.sub(r"(?<=[a-z])(?=[A-Z])", "_", n).lower() for n in names]
    return lambda r, a: _fields(r, *zip(names, (a[k] for k in keys), strict=True))


# method -> (required arguments, optional arguments with defaults, how to fill the RPC element)
ACS_RPCS: dict[str, tuple[tuple[str, ...], dict[str, Any], _Fill]] = {
    "GetRPCMethods": ((), {}, lambda r, a: None),
    "GetParameterNames": (
        ("parameter_path",),
        {"next_level": False},
        lambda r, a: _fields(r, ("ParameterPath", a["parameter_path"]), ("NextLevel", bool(a["next_level"]))),
    ),
    "GetParameterValues": (("names",), {}, lambda r, a: _string_array(r, "ParameterNames", a["names"])),
    "SetParameterValues": (
        ("params",),
        {"parameter_key": ""},
        lambda r, a: _spv(r, a),
    ),
    "GetParameterAttributes": (("names",), {}, lambda r, a: _string_array(r, "ParameterNames", a["names"])),
    "SetParameterAttributes": (("attributes",), {}, _spa),
    "AddObject": (("object_name",), {"parameter_key": ""}, _elements("ObjectName", "ParameterKey")),
    "DeleteObject": (("object_name",), {"parameter_key": ""}, _elements("ObjectName", "ParameterKey")),
    "Reboot": ((), {"command_key": ""}, _elements("CommandKey")),
    "FactoryReset": ((), {}, lambda r, a: None),
    "Download": (
        ("file_type", "url"),
        {
            "command_key": "",
            "username": "",
            "password": "",
            "file_size": 0,
            "target_file_name": "",
            "delay_seconds": 0,
            "success_url": "",
            "failure_url": "",
        },
        _elements(
            "CommandKey",
            "FileType",
            "URL",
            "Username",
            "Password",
            "FileSize",
            "TargetFileName",
            "DelaySeconds",
            "SuccessURL",
            "FailureURL",
        ),  # fmt: skip
    ),
    "Upload": (
        ("file_type", "url"),
        {"command_key": "", "username": "", "password": "", "delay_seconds": 0},
        _elements("CommandKey", "FileType", "URL", "Username", "Password", "DelaySeconds"),
    ),
    "ScheduleInform": (("delay_seconds",), {"command_key": ""}, _elements("DelaySeconds", "CommandKey")),
}


def rpc_args(method: str, args: dict[str, Any]) -> dict[str, Any]:
    """Check the arguments of the ACS RPC `method` and fill in the defaults; TypeError names what is wrong."""
    if method not in ACS_RPCS:
        raise ValueError(f"{method!r} is not an ACS RPC; expected one of {', '.join(ACS_RPCS)}")
    required, optional, _ = ACS_RPCS[method]
    missing = [a for a in required if a not in args]
    unknown = [a for a in args if a not in required and a not in optional]
    if missing or unknown:
        raise TypeError(
            f"{method} takes {', '.join(required) or 'no required arguments'}"
            f"{' and optionally ' + ', '.join(optional) if optional else ''}; "
            f"missing {missing}, unknown {unknown}"
        )
    return {**optional, **args}


def request(
    ns: str, id: str | None, method: str, args: dict[str, Any], hold_requests: bool | None = None
) -> bytes:
    """An ACS RPC to the CPE (`args` as checked by rpc_args)."""
    args = rpc_args(method, args)
    root, body = _envelope(ns, id, hold_requests)
    ACS_RPCS[method][2](_sub(body, f"{{{ns}}}{method}"), args)
    return _bytes(root)


def inform_response(
    ns: str,
    id: str | None,
    max_envelopes: int = 1,
    hold_requests: bool | None = None,
    session_timeout: int | None = None,
    use_version: str | None = None,
) -> bytes:
    root, body = _envelope(ns, id, hold_requests, session_timeout, use_version)
    _sub(_sub(body, f"{{{ns}}}InformResponse"), "MaxEnvelopes", max_envelopes)
    return _bytes(root)


def empty_response(ns: str, id: str | None, method: str, hold_requests: bool | None = None) -> bytes:
    """A response with no arguments: TransferCompleteResponse, RebootResponse, ..."""
    root, body = _envelope(ns, id, hold_requests)
    _sub(body, f"{{{ns}}}{method}")
    return _bytes(root)


def get_rpc_methods_response(
    ns: str, id: str | None, methods: list[str], hold_requests: bool | None = None
) -> bytes:
    root, body = _envelope(ns, id, hold_requests)
    _string_array(_sub(body, f"{{{ns}}}GetRPCMethodsResponse"), "MethodList", methods)
    return _bytes(root)


def set_parameter_values(ns: str, id: str | None, params: list[ParamValue], parameter_key: str) -> bytes:
    return request(ns, id, "SetParameterValues", {"params": params, "parameter_key": parameter_key})


def get_parameter_values(ns: str, id: str | None, names: list[str]) -> bytes:
    return request(ns, id, "GetParameterValues", {"names": names})


def fault(
    ns: str,
    id: str | None,
    code: int,
    string: str,
    spv_faults: list[tuple[str, int, str]] | None = None,
    faultcode: str | None = None,
) -> bytes:
    """A SOAP Fault with a cwmp:Fault detail; `faultcode` defaults to Client or Server per TR-069's table."""
    root, body = _envelope(ns, id)
    f = _sub(body, f"{{{SOAP_ENV}}}Fault")
    _sub(f, "faultcode", faultcode or ("Client" if code in CLIENT_FAULT_CODES else "Server"))
    _sub(f, "faultstring", "CWMP fault")
    cw = _sub(_sub(f, "detail"), f"{{{ns}}}Fault")
    _sub(cw, "FaultCode", code)
    _sub(cw, "FaultString", string)
    for name, pcode, pstring in spv_faults or []:
        pf = _sub(cw, "SetParameterValuesFault")
        _fields(pf, ("ParameterName", name), ("FaultCode", pcode), ("FaultString", pstring))
    return _bytes(root)


# ---- what a CPE sends (the mock HeNB, tests and the benchmark use these) ----


def _time(t: str | datetime) -> str:
    return t.isoformat() if isinstance(t, datetime) else t


def inform(
    ns: str,
    id: str | None,
    device_id: DeviceId,
    events: list[tuple[str, str]],
    params: list[ParamValue],
    current_time: str | datetime,
    retry_count: int = 0,
    max_envelopes: int = 1,
    supported_versions: str | None = None,
) -> bytes:
    root, body = _envelope(ns, id, supported_versions=supported_versions)
    rpc = _sub(body, f"{{{ns}}}Inform")
    dev = _sub(rpc, "DeviceId")
    _fields(
        dev,
        ("Manufacturer", device_id.manufacturer),
        ("OUI", device_id.oui),
        ("ProductClass", device_id.product_class),
        ("SerialNumber", device_id.serial_number),
    )
    ev_list = _array(rpc, "Event", "cwmp:EventStruct", len(events))
    for code, command_key in events:
        _fields(_sub(ev_list, "EventStruct"), ("EventCode", code), ("CommandKey", command_key))
    _fields(
        rpc,
        ("MaxEnvelopes", max_envelopes),
        ("CurrentTime", _time(current_time)),
        ("RetryCount", retry_count),
    )
    _param_list(rpc, params)
    return _bytes(root)


def set_parameter_values_response(ns: str, id: str | None, status: int) -> bytes:
    return response(ns, id, "SetParameterValues", status=status)


def get_parameter_values_response(ns: str, id: str | None, params: list[ParamValue]) -> bytes:
    return response(ns, id, "GetParameterValues", params=params)


def response(ns: str, id: str | None, method: str, **a: Any) -> bytes:
    """The CPE's response to the ACS RPC `method`; the keyword arguments are the result's fields."""
    root, body = _envelope(ns, id)
    r = _sub(body, f"{{{ns}}}{method}Response")
    if method == "GetRPCMethods":
        _string_array(r, "MethodList", a["methods"])
    elif method == "GetParameterNames":
        lst = _array(r, "ParameterList", "cwmp:ParameterInfoStruct", len(a["params"]))
        for name, writable in a["params"].items():
            _fields(_sub(lst, "ParameterInfoStruct"), ("Name", name), ("Writable", bool(writable)))
    elif method == "GetParameterValues":
        _param_list(r, a["params"])
    elif method == "GetParameterAttributes":
        lst = _array(r, "ParameterList", "cwmp:ParameterAttributeStruct", len(a["attributes"]))
        for name, (notification, access) in a["attributes"].items():
            s = _sub(lst, "ParameterAttributeStruct")
            _fields(s, ("Name", name), ("Notification", notification))
            _string_array(s, "AccessList", list(access))
    elif method == "AddObject":
        _fields(r, ("InstanceNumber", a["instance"]), ("Status", a["status"]))
    elif method in ("SetParameterValues", "DeleteObject"):
        _fields(r, ("Status", a["status"]))
    elif method in ("Download", "Upload"):
        _fields(
            r,
            ("Status", a["status"]),
            ("StartTime", _time(a.get("start_time", UNKNOWN_TIME))),
            ("CompleteTime", _time(a.get("complete_time", UNKNOWN_TIME))),
        )
    return _bytes(root)


def _fault_struct(parent: etree._Element, code: int, string: str) -> None:
    _fields(_sub(parent, "FaultStruct"), ("FaultCode", code), ("FaultString", string))


def transfer_complete(
    ns: str,
    id: str | None,
    command_key: str,
    fault_code: int = 0,
    fault_string: str = "",
    start_time: str | datetime = UNKNOWN_TIME,
    complete_time: str | datetime = UNKNOWN_TIME,
) -> bytes:
    root, body = _envelope(ns, id)
    r = _sub(body, f"{{{ns}}}TransferComplete")
    _sub(r, "CommandKey", command_key)
    _fault_struct(r, fault_code, fault_string)
    _fields(r, ("StartTime", _time(start_time)), ("CompleteTime", _time(complete_time)))
    return _bytes(root)


def autonomous_transfer_complete(ns: str, id: str | None, t: AutonomousTransferComplete) -> bytes:
    root, body = _envelope(ns, id)
    r = _sub(body, f"{{{ns}}}AutonomousTransferComplete")
    _fields(
        r,
        ("AnnounceURL", t.announce_url),
        ("TransferURL", t.transfer_url),
        ("IsDownload", t.is_download),
        ("FileType", t.file_type),
        ("FileSize", t.file_size),
        ("TargetFileName", t.target_file_name),
    )
    _fault_struct(r, t.fault_code, t.fault_string)
    _fields(r, ("StartTime", t.start_time), ("CompleteTime", t.complete_time))
    return _bytes(root)


def get_rpc_methods(ns: str, id: str | None) -> bytes:
    """GetRPCMethods from either side (it has no arguments)."""
    return request(ns, id, "GetRPCMethods", {})


def request_download(ns: str, id: str | None, file_type: str, args: dict[str, str]) -> bytes:
    root, body = _envelope(ns, id)
    r = _sub(body, f"{{{ns}}}RequestDownload")
    _sub(r, "FileType", file_type)
    lst = _array(r, "FileTypeArg", "cwmp:ArgStruct", len(args))
    for name, value in args.items():
        _fields(_sub(lst, "ArgStruct"), ("Name", name), ("Value", value))
    return _bytes(root)

"""Reading CWMP: parsing hardened against hostile bodies (no DTD, no entities, a size cap) and tolerant of real
devices, into the typed messages of bench.cwmp.messages."""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from bench.cwmp.messages import (
    CWMP_NAMESPACES,
    MAX_BODY,
    SOAP_ENV,
    AddObjectResult,
    Attribute,
    AutonomousTransferComplete,
    CwmpFault,
    CwmpParseError,
    DeviceId,
    Done,
    Envelope,
    GpaResult,
    GpnResult,
    GpvResult,
    Inform,
    MethodsResult,
    ParamFault,
    RequestDownload,
    RpcResult,
    SpvResult,
    StatusResult,
    TransferComplete,
    TransferResult,
)


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

"""CWMP (TR-069) SOAP codec shared by the reference HeMS and the mock HeNB.

Parsing is hardened against hostile bodies (no DTD, no entities, a size cap);
builders emit messages valid against the BBF schemas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CWMP_NAMESPACES = ("urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1", "urn:dslforum-org:cwmp-1-2")
MAX_BODY = 256 * 1024

# TR-069 fault code table: these codes are the sender's fault ("Client"); every other one is "Server".
CLIENT_FAULT_CODES = frozenset({8003, 9003, 9005, 9006, 9007, 9008, 9021})

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


@dataclass(frozen=True)
class DeviceId:
    manufacturer: str
    oui: str
    product_class: str
    serial_number: str


@dataclass(frozen=True)
class Inform:
    device_id: DeviceId
    events: list[tuple[str, str]]
    max_envelopes: int
    current_time: str
    retry_count: int
    params: dict[str, str]


@dataclass(frozen=True)
class CwmpFault:
    """A SOAP Fault carrying a cwmp:Fault; `param_faults` lists (ParameterName, FaultCode, FaultString)."""

    faultcode: str
    faultstring: str
    fault_code: int
    fault_string: str
    param_faults: list[tuple[str, int, str]] = field(default_factory=list)


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


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _kids(el: etree._Element, name: str) -> list[etree._Element]:
    # Children are unqualified per the schema, but some devices qualify them: match on the local name.
    return [c for c in el if isinstance(c.tag, str) and _local(c) == name]


def _kid(el: etree._Element, name: str) -> etree._Element:
    found = _kids(el, name)
    if not found:
        raise CwmpParseError(f"{_local(el)} has no {name} element")
    return found[0]


def _text(el: etree._Element, name: str) -> str:
    return (_kid(el, name).text or "").strip()


def _int(el: etree._Element, name: str) -> int:
    raw = _text(el, name)
    try:
        return int(raw)
    except ValueError:
        raise CwmpParseError(f"{_local(el)}/{name} is not an integer: {raw[:40]!r}") from None


def parse_envelope(body: bytes, max_size: int = MAX_BODY) -> Envelope:
    """Parse a CWMP SOAP envelope; raise CwmpParseError for anything unsafe, malformed or not CWMP."""
    if len(body) > max_size:
        raise CwmpParseError(f"body of {len(body)} bytes exceeds the {max_size} byte limit")
    if b"<!doctype" in body[:4096].lower():
        raise CwmpParseError("DOCTYPE is not allowed")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise CwmpParseError(f"not well-formed XML: {exc}") from None
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
    cwmp_id: str | None = None
    hold: bool | None = None
    for h in header if header is not None else []:
        if not isinstance(h.tag, str):
            continue
        qn = etree.QName(h)
        if qn.namespace in CWMP_NAMESPACES:
            ns_seen.add(qn.namespace)
            if qn.localname == "ID":
                cwmp_id = (h.text or "").strip()
            elif qn.localname == "HoldRequests":
                hold = (h.text or "").strip().lower() in ("1", "true")

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
    return Envelope(ns_seen.pop(), cwmp_id, hold, method, rpc)


def _expect(env: Envelope, method: str) -> None:
    if env.method != method:
        raise CwmpParseError(f"expected {method}, got {env.method}")


def _param_values(lst: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for pvs in _kids(lst, "ParameterValueStruct"):
        value = _kid(pvs, "Value").text or ""
        out[_text(pvs, "Name")] = value
    return out


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
    events = [(_text(e, "EventCode"), _text(e, "CommandKey")) for e in _kids(_kid(b, "Event"), "EventStruct")]
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
    detail = _kid(b, "detail")
    cw = _kid(detail, "Fault")
    param_faults = [
        (
            _text(f, "ParameterName"),
            _int(f, "FaultCode"),
            _text(f, "FaultString") if _kids(f, "FaultString") else "",
        )
        for f in _kids(cw, "SetParameterValuesFault")
    ]
    return CwmpFault(
        faultcode=_text(b, "faultcode"),
        faultstring=_text(b, "faultstring") if _kids(b, "faultstring") else "",
        fault_code=_int(cw, "FaultCode"),
        fault_string=_text(cw, "FaultString") if _kids(cw, "FaultString") else "",
        param_faults=param_faults,
    )


# ---- builders ----


def _envelope(ns: str, cwmp_id: str | None) -> tuple[etree._Element, etree._Element]:
    if ns not in CWMP_NAMESPACES:
        raise ValueError(f"unknown CWMP namespace {ns!r}")
    nsmap = {"soap-env": SOAP_ENV, "soap-enc": SOAP_ENC, "xsd": XSD, "xsi": XSI, "cwmp": ns}
    root = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    if cwmp_id is not None:
        header = etree.SubElement(root, f"{{{SOAP_ENV}}}Header")
        id_el = etree.SubElement(header, f"{{{ns}}}ID")
        id_el.set(f"{{{SOAP_ENV}}}mustUnderstand", "1")
        id_el.text = cwmp_id
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


def _param_list(parent: etree._Element, params: list[ParamValue]) -> None:
    lst = _array(parent, "ParameterList", "cwmp:ParameterValueStruct", len(params))
    for name, value, xsd_type in params:
        pvs = _sub(lst, "ParameterValueStruct")
        _sub(pvs, "Name", name)
        val = _sub(pvs, "Value", value)
        val.set(f"{{{XSI}}}type", xsd_type if ":" in xsd_type else f"xsd:{xsd_type}")


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def inform_response(ns: str, id: str | None, max_envelopes: int = 1) -> bytes:
    root, body = _envelope(ns, id)
    _sub(_sub(body, f"{{{ns}}}InformResponse"), "MaxEnvelopes", max_envelopes)
    return _bytes(root)


def set_parameter_values(ns: str, id: str | None, params: list[ParamValue], parameter_key: str) -> bytes:
    root, body = _envelope(ns, id)
    rpc = _sub(body, f"{{{ns}}}SetParameterValues")
    _param_list(rpc, params)
    _sub(rpc, "ParameterKey", parameter_key)
    return _bytes(root)


def get_parameter_values(ns: str, id: str | None, names: list[str]) -> bytes:
    root, body = _envelope(ns, id)
    rpc = _sub(body, f"{{{ns}}}GetParameterValues")
    lst = _array(rpc, "ParameterNames", "xsd:string", len(names))
    for name in names:
        _sub(lst, "string", name)
    return _bytes(root)


def inform(
    ns: str,
    id: str | None,
    device_id: DeviceId,
    events: list[tuple[str, str]],
    params: list[ParamValue],
    current_time: str | datetime,
    retry_count: int = 0,
    max_envelopes: int = 1,
) -> bytes:
    root, body = _envelope(ns, id)
    rpc = _sub(body, f"{{{ns}}}Inform")
    dev = _sub(rpc, "DeviceId")
    _sub(dev, "Manufacturer", device_id.manufacturer)
    _sub(dev, "OUI", device_id.oui)
    _sub(dev, "ProductClass", device_id.product_class)
    _sub(dev, "SerialNumber", device_id.serial_number)
    ev_list = _array(rpc, "Event", "cwmp:EventStruct", len(events))
    for code, command_key in events:
        es = _sub(ev_list, "EventStruct")
        _sub(es, "EventCode", code)
        _sub(es, "CommandKey", command_key)
    _sub(rpc, "MaxEnvelopes", max_envelopes)
    _sub(rpc, "CurrentTime", current_time.isoformat() if isinstance(current_time, datetime) else current_time)
    _sub(rpc, "RetryCount", retry_count)
    _param_list(rpc, params)
    return _bytes(root)


def set_parameter_values_response(ns: str, id: str | None, status: int) -> bytes:
    root, body = _envelope(ns, id)
    _sub(_sub(body, f"{{{ns}}}SetParameterValuesResponse"), "Status", status)
    return _bytes(root)


def get_parameter_values_response(ns: str, id: str | None, params: list[ParamValue]) -> bytes:
    root, body = _envelope(ns, id)
    _param_list(_sub(body, f"{{{ns}}}GetParameterValuesResponse"), params)
    return _bytes(root)


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
        _sub(pf, "ParameterName", name)
        _sub(pf, "FaultCode", pcode)
        _sub(pf, "FaultString", pstring)
    return _bytes(root)

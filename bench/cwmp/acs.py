"""What an ACS sends: every RPC's request, the responses to a CPE's requests, and faults, valid against the BBF
schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lxml import etree

from bench.cwmp.messages import (
    CLIENT_FAULT_CODES,
    CWMP_NAMESPACES,
    SOAP_ENC,
    SOAP_ENV,
    XSD,
    XSI,
    ParamValue,
)


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

"""What a CPE sends (the mock HeNB, tests and the benchmark use these): Inform, RPC responses, TransferComplete,
RequestDownload, GetRPCMethods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree

from bench.cwmp.acs import (
    _array,
    _bytes,
    _envelope,
    _fields,
    _param_list,
    _string_array,
    _sub,
    request,
)
from bench.cwmp.messages import (
    UNKNOWN_TIME,
    AutonomousTransferComplete,
    DeviceId,
    ParamValue,
)


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

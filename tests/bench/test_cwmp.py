"""Tests for bench/cwmp/: schema validity of what we send, round trips, and a hostile corpus."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from bench import cwmp
from bench.cwmp import CwmpParseError
from tests.bench.hems.xsd import schema, validate

NAMESPACES = list(cwmp.CWMP_NAMESPACES)
DEV = cwmp.DeviceId("Acme", "00259E", "FAP-1", "SN0001")

ACS_MESSAGES: dict[str, Callable[[str], bytes]] = {
    "InformResponse": lambda ns: cwmp.inform_response(ns, "id-1"),
    "InformResponse-no-id": lambda ns: cwmp.inform_response(ns, None),
    "SetParameterValues": lambda ns: cwmp.set_parameter_values(
        ns,
        "id-2",
        [
            ("Device.ManagementServer.URL", "https://hems.example:7547/", "xsd:string"),
            ("Device.ManagementServer.PeriodicInformInterval", "60", "unsignedInt"),
            ("Device.Services.FAPService.1.FAPControl.LTE.AdminState", "true", "xsd:boolean"),
        ],
        "key-1",
    ),
    "SetParameterValues-empty-key": lambda ns: cwmp.set_parameter_values(
        ns, "id-3", [("A.B", "", "string")], ""
    ),
    "GetParameterValues": lambda ns: cwmp.get_parameter_values(
        ns, "id-4", ["Device.DeviceInfo.SoftwareVersion", "Device.FAP.Tunnel."]
    ),
    "Fault-8000": lambda ns: cwmp.fault(ns, "id-5", 8000, "Method not supported"),
}

CPE_MESSAGES: dict[str, Callable[[str], bytes]] = {
    "Inform": lambda ns: cwmp.inform(
        ns,
        "cpe-1",
        DEV,
        [("0 BOOTSTRAP", ""), ("1 BOOT", "")],
        [("Device.DeviceInfo.SoftwareVersion", "1.2.3", "xsd:string")],
        "2024-05-01T12:00:00Z",
    ),
    "SetParameterValuesResponse": lambda ns: cwmp.set_parameter_values_response(ns, "cpe-2", 0),
    "GetParameterValuesResponse": lambda ns: cwmp.get_parameter_values_response(
        ns, "cpe-3", [("Device.X", "1", "xsd:int")]
    ),
    "Fault-9003": lambda ns: cwmp.fault(ns, "cpe-4", 9003, "Invalid arguments", [("A.B", 9007, "bad value")]),
}


# One ACS RPC of every kind with non-default arguments: (method, args).
ACS_RPC_ARGS: dict[str, dict[str, object]] = {
    "GetRPCMethods": {},
    "GetParameterNames": {"parameter_path": "Device.FAP.", "next_level": True},
    "GetParameterValues": {"names": ["Device.DeviceInfo."]},
    "SetParameterValues": {"params": [("Device.X", "1", "int")], "parameter_key": "k"},
    "GetParameterAttributes": {"names": ["Device.FAP.Tunnel.IKESA.1.IPAddress"]},
    "SetParameterAttributes": {
        "attributes": [("Device.FAP.Tunnel.IKESA.1.IPAddress", 2), ("Device.Y", None, ["Subscriber"])]
    },
    "AddObject": {"object_name": "Device.FAP.PerfMgmt.Config.", "parameter_key": "k2"},
    "DeleteObject": {"object_name": "Device.FAP.PerfMgmt.Config.2.", "parameter_key": "k3"},
    "Reboot": {"command_key": "rb-1"},
    "FactoryReset": {},
    "Download": {
        "command_key": "dl-1",
        "file_type": "1 Firmware Upgrade Image",
        "url": "https://files.example/fw.bin",
        "username": "u",
        "password": "p",
        "file_size": 1234,
        "target_file_name": "fw.bin",
        "delay_seconds": 5,
    },
    "Upload": {
        "command_key": "ul-1",
        "file_type": "2 Vendor Log File",
        "url": "http://files.example/up",
    },
    "ScheduleInform": {"delay_seconds": 30, "command_key": "si-1"},
}
# The CPE's response to each, and the typed result it reads back as.
CPE_RESPONSES: dict[str, tuple[dict[str, object], cwmp.RpcResult]] = {
    "GetRPCMethods": (
        {"methods": ["GetRPCMethods", "Reboot"]},
        cwmp.MethodsResult(["GetRPCMethods", "Reboot"]),
    ),
    "GetParameterNames": (
        {"params": {"Device.FAP.": False, "Device.FAP.GPS.ScanOnBoot": True}},
        cwmp.GpnResult({"Device.FAP.": False, "Device.FAP.GPS.ScanOnBoot": True}),
    ),
    "GetParameterValues": ({"params": [("Device.X", "5", "xsd:int")]}, cwmp.GpvResult({"Device.X": "5"})),
    "SetParameterValues": ({"status": 1}, cwmp.SpvResult(1)),
    "GetParameterAttributes": (
        {"attributes": {"Device.X": (2, ["Subscriber"]), "Device.Y": (0, [])}},
        cwmp.GpaResult({"Device.X": cwmp.Attribute(2, ["Subscriber"]), "Device.Y": cwmp.Attribute(0, [])}),
    ),
    "SetParameterAttributes": ({}, cwmp.Done("SetParameterAttributes")),
    "AddObject": ({"instance": 3, "status": 0}, cwmp.AddObjectResult(3, 0)),
    "DeleteObject": ({"status": 1}, cwmp.StatusResult(1)),
    "Reboot": ({}, cwmp.Done("Reboot")),
    "FactoryReset": ({}, cwmp.Done("FactoryReset")),
    "Download": (
        {"status": 0, "start_time": "2024-05-01T12:00:00Z", "complete_time": "2024-05-01T12:00:09Z"},
        cwmp.TransferResult(0, "2024-05-01T12:00:00Z", "2024-05-01T12:00:09Z"),
    ),
    "Upload": ({"status": 1}, cwmp.TransferResult(1, cwmp.UNKNOWN_TIME, cwmp.UNKNOWN_TIME)),
    "ScheduleInform": ({}, cwmp.Done("ScheduleInform")),
}
ATC = cwmp.AutonomousTransferComplete(
    "",
    "http://files.example/cfg",
    True,
    "3 Vendor Configuration File",
    99,
    "cfg.xml",
    0,
    "",
    "2024-05-01T12:00:00Z",
    "2024-05-01T12:00:01Z",
)
for _m, _a in ACS_RPC_ARGS.items():
    ACS_MESSAGES[f"rpc-{_m}"] = lambda ns, m=_m, a=_a: cwmp.request(ns, "acs-9", m, a)
    ACS_MESSAGES[f"rpc-{_m}-held"] = lambda ns, m=_m, a=_a: cwmp.request(
        ns, "acs-9", m, a, hold_requests=True
    )
for _m, (_f, _) in CPE_RESPONSES.items():
    CPE_MESSAGES[f"{_m}Response"] = lambda ns, m=_m, f=_f: cwmp.response(ns, "cpe-9", m, **f)
ACS_MESSAGES.update(
    {
        "InformResponse-held": lambda ns: cwmp.inform_response(ns, "x", hold_requests=True),
        "TransferCompleteResponse": lambda ns: cwmp.empty_response(ns, "x", "TransferCompleteResponse"),
        "RequestDownloadResponse": lambda ns: cwmp.empty_response(ns, "x", "RequestDownloadResponse"),
        "GetRPCMethodsResponse": lambda ns: cwmp.get_rpc_methods_response(
            ns, "x", ["Inform", "TransferComplete"]
        ),
        "Fault-8005": lambda ns: cwmp.fault(ns, "x", 8005, "Retry request"),
    }
)
CPE_MESSAGES.update(
    {
        "TransferComplete": lambda ns: cwmp.transfer_complete(ns, "t", "dl-1", 9010, "unreachable"),
        "GetRPCMethods": lambda ns: cwmp.get_rpc_methods(ns, "g"),
        "RequestDownload": lambda ns: cwmp.request_download(ns, "r", "2 Web Content", {"Version": "7"}),
        "Fault-9010": lambda ns: cwmp.fault(ns, "f", 9010, "Download failure"),
    }
)
# Only in 1-1 and later; and the 1.3/1.4 headers only in the 1-2 namespace.
LATER: dict[str, Callable[[str], bytes]] = {
    "AutonomousTransferComplete": lambda ns: cwmp.autonomous_transfer_complete(ns, "a", ATC),
    "AutonomousTransferCompleteResponse": lambda ns: cwmp.empty_response(
        ns, "a", "AutonomousTransferCompleteResponse"
    ),
}
NS2_ONLY: dict[str, Callable[[str], bytes]] = {
    "InformResponse-1.4": lambda ns: cwmp.inform_response(ns, "x", session_timeout=60, use_version="1.4"),
    "Inform-supported-versions": lambda ns: cwmp.inform(
        ns, "i", DEV, [("6 CONNECTION REQUEST", "")], [], "2024-05-01T12:00:00Z", supported_versions="1.0,1.4"
    ),
}


@pytest.mark.parametrize("ns", NAMESPACES[1:])
@pytest.mark.parametrize("name", sorted(LATER))
def test_messages_from_cwmp_1_1_on_are_schema_valid(ns: str, name: str) -> None:
    validate(ns, LATER[name](ns))


@pytest.mark.parametrize("name", sorted(NS2_ONLY))
def test_cwmp_1_3_and_1_4_headers_are_schema_valid(name: str) -> None:
    validate(NAMESPACES[2], NS2_ONLY[name](NAMESPACES[2]))
    with pytest.raises(ValueError, match="only in the cwmp-1-2 namespace"):
        NS2_ONLY[name](NAMESPACES[1])


def test_newer_headers_parse_back() -> None:
    env = cwmp.parse_envelope(NS2_ONLY["InformResponse-1.4"](NAMESPACES[2]))
    assert (env.session_timeout, env.use_version, env.hold_requests) == (60, "1.4", None)
    env = cwmp.parse_envelope(NS2_ONLY["Inform-supported-versions"](NAMESPACES[2]))
    assert env.supported_versions == ("1.0", "1.4")
    root = etree.fromstring(NS2_ONLY["InformResponse-1.4"](NAMESPACES[2]))
    must = {
        etree.QName(h).localname: h.get(f"{{{cwmp.SOAP_ENV}}}mustUnderstand")
        for h in root.find(f"{{{cwmp.SOAP_ENV}}}Header")
    }
    assert must == {"ID": "1", "SessionTimeout": "0", "UseCWMPVersion": "1"}


@pytest.mark.parametrize("ns", NAMESPACES)
@pytest.mark.parametrize("method", sorted(CPE_RESPONSES))
def test_every_rpc_result_reads_back_typed(ns: str, method: str) -> None:
    sent = cwmp.parse_envelope(cwmp.request(ns, "acs-1", method, ACS_RPC_ARGS[method]))
    assert (sent.method, sent.id) == (method, "acs-1")
    fields, expected = CPE_RESPONSES[method]
    assert (
        cwmp.read_result(cwmp.parse_envelope(cwmp.response(ns, "acs-1", method, **fields)), method)
        == expected
    )


@pytest.mark.parametrize("code", range(9000, 9020))
def test_every_cpe_fault_reads_as_a_typed_result(code: int) -> None:
    ns = NAMESPACES[1]
    result = cwmp.read_result(cwmp.parse_envelope(cwmp.fault(ns, "x", code, "text")), "Download")
    assert isinstance(result, cwmp.CwmpFault)
    assert (result.fault_code, result.fault_string) == (code, "text")
    assert result.meaning == cwmp.FAULT_MEANINGS[code] and result.meaning
    assert result.faultcode == ("Client" if code in (9003, 9005, 9006, 9007, 9008) else "Server")


def test_fault_meaning_for_vendor_and_unknown_codes() -> None:
    assert cwmp.CwmpFault("Server", "", 9850, "").meaning == "vendor fault"
    assert cwmp.CwmpFault("Server", "", 9500, "").meaning == "?"


def test_spv_fault_per_parameter_is_typed() -> None:
    env = cwmp.parse_envelope(
        cwmp.fault(NAMESPACES[0], "x", 9003, "Invalid arguments", [("A.B", 9008, "ro")])
    )
    f = cwmp.read_result(env, "SetParameterValues")
    assert isinstance(f, cwmp.CwmpFault)
    assert (
        f.param_faults[0].name == "A.B"
        and f.param_faults[0].code == 9008
        and f.param_faults[0].string == "ro"
    )


def test_rpc_args_are_checked_with_a_message() -> None:
    assert cwmp.rpc_args("Reboot", {}) == {"command_key": ""}
    with pytest.raises(
        TypeError, match=r"Download takes file_type, url.*missing \['url'\].*unknown \['uri'\]"
    ):
        cwmp.rpc_args("Download", {"file_type": "1 Firmware Upgrade Image", "uri": "x"})
    with pytest.raises(ValueError, match="'Kick' is not an ACS RPC"):
        cwmp.rpc_args("Kick", {})


@pytest.mark.parametrize("ns", NAMESPACES)
def test_cpe_requests_read_back(ns: str) -> None:
    tc = cwmp.read_transfer_complete(cwmp.parse_envelope(CPE_MESSAGES["TransferComplete"](ns)))
    assert tc == cwmp.TransferComplete("dl-1", 9010, "unreachable", cwmp.UNKNOWN_TIME, cwmp.UNKNOWN_TIME)
    rd = cwmp.read_request_download(cwmp.parse_envelope(CPE_MESSAGES["RequestDownload"](ns)))
    assert rd == cwmp.RequestDownload("2 Web Content", {"Version": "7"})
    if ns != NAMESPACES[0]:
        atc = cwmp.parse_envelope(LATER["AutonomousTransferComplete"](ns))
        assert cwmp.read_autonomous_transfer_complete(atc) == ATC


@pytest.mark.parametrize("ns", NAMESPACES)
@pytest.mark.parametrize("name", sorted(ACS_MESSAGES) + sorted(CPE_MESSAGES))
def test_built_message_is_schema_valid(ns: str, name: str) -> None:
    validate(ns, {**ACS_MESSAGES, **CPE_MESSAGES}[name](ns))


def test_validator_rejects_an_invalid_message() -> None:
    # Guards against a validator that accepts anything (e.g. a stub swallowing the cwmp types).
    ns = NAMESPACES[1]
    root = etree.fromstring(cwmp.set_parameter_values(ns, "x", [("A", "1", "int")], "k"))
    rpc = root.find(f"{{{cwmp.SOAP_ENV}}}Body")[0]
    rpc.remove(rpc.find("ParameterKey"))
    assert not schema(ns).validate(rpc)
    rpc.find("ParameterList").attrib.pop(f"{{{cwmp.SOAP_ENC}}}arrayType")
    assert not schema(ns).validate(rpc)


@pytest.mark.parametrize("ns", NAMESPACES)
def test_builders_use_namespace_id_and_array_counts(ns: str) -> None:
    msg = ACS_MESSAGES["SetParameterValues"](ns)
    root = etree.fromstring(msg)
    assert msg.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    id_el = root.find(f"{{{cwmp.SOAP_ENV}}}Header/{{{ns}}}ID")
    assert id_el.text == "id-2"
    assert id_el.get(f"{{{cwmp.SOAP_ENV}}}mustUnderstand") == "1"
    lst = root.find(f".//{{{ns}}}SetParameterValues/ParameterList")
    assert lst.get(f"{{{cwmp.SOAP_ENC}}}arrayType") == "cwmp:ParameterValueStruct[3]"
    values = lst.findall("ParameterValueStruct/Value")
    assert [v.get(f"{{{cwmp.XSI}}}type") for v in values] == ["xsd:string", "xsd:unsignedInt", "xsd:boolean"]
    inf = etree.fromstring(CPE_MESSAGES["Inform"](ns))
    assert inf.find(f".//{{{ns}}}Inform/Event").get(f"{{{cwmp.SOAP_ENC}}}arrayType") == "cwmp:EventStruct[2]"
    gpv = etree.fromstring(ACS_MESSAGES["GetParameterValues"](ns))
    assert gpv.find(f".//{{{ns}}}GetParameterValues/ParameterNames").get(f"{{{cwmp.SOAP_ENC}}}arrayType") == (
        "xsd:string[2]"
    )
    assert etree.fromstring(cwmp.inform_response(ns, None)).find(f"{{{cwmp.SOAP_ENV}}}Header") is None


@pytest.mark.parametrize("ns", NAMESPACES)
def test_inform_round_trip(ns: str) -> None:
    env = cwmp.parse_envelope(
        cwmp.inform(
            ns,
            "cpe-7",
            DEV,
            [("1 BOOT", ""), ("M Download", "ck-9")],
            [
                ("Device.DeviceInfo.SoftwareVersion", "4.5 <beta> & co", "xsd:string"),
                ("Device.Y", "", "string"),
            ],
            "2024-05-01T12:00:00Z",
            retry_count=3,
            max_envelopes=2,
        )
    )
    assert (env.ns, env.id, env.method, env.hold_requests) == (ns, "cpe-7", "Inform", None)
    inf = cwmp.read_inform(env)
    assert inf.device_id == DEV
    assert inf.events == [("1 BOOT", ""), ("M Download", "ck-9")]
    assert (inf.max_envelopes, inf.retry_count, inf.current_time) == (2, 3, "2024-05-01T12:00:00Z")
    assert inf.params == {"Device.DeviceInfo.SoftwareVersion": "4.5 <beta> & co", "Device.Y": ""}


@pytest.mark.parametrize("ns", NAMESPACES)
def test_response_and_fault_round_trips(ns: str) -> None:
    assert cwmp.read_spv_response(cwmp.parse_envelope(cwmp.set_parameter_values_response(ns, "a", 1))) == 1
    gpv = cwmp.parse_envelope(
        cwmp.get_parameter_values_response(ns, "b", [("A.B", "7", "int"), ("A.C", "x", "string")])
    )
    assert cwmp.read_gpv_response(gpv) == {"A.B": "7", "A.C": "x"}
    env = cwmp.parse_envelope(
        cwmp.fault(ns, "c", 9003, "Invalid arguments", [("A.B", 9007, "bad"), ("A.C", 9008, "read-only")])
    )
    assert (env.ns, env.id, env.method) == (ns, "c", "Fault")
    f = cwmp.read_fault(env)
    assert f == cwmp.CwmpFault(
        "Client", "CWMP fault", 9003, "Invalid arguments", [("A.B", 9007, "bad"), ("A.C", 9008, "read-only")]
    )
    assert (
        cwmp.read_fault(cwmp.parse_envelope(cwmp.fault(ns, None, 9002, "Internal error"))).faultcode
        == "Server"
    )


def test_acs_messages_parse_back() -> None:
    env = cwmp.parse_envelope(ACS_MESSAGES["GetParameterValues"](NAMESPACES[2]))
    assert (env.ns, env.id, env.method) == (NAMESPACES[2], "id-4", "GetParameterValues")


def test_reader_rejects_wrong_method() -> None:
    env = cwmp.parse_envelope(cwmp.set_parameter_values_response(NAMESPACES[0], "a", 0))
    with pytest.raises(CwmpParseError, match="expected Inform"):
        cwmp.read_inform(env)


def test_tolerant_parsing_of_real_device_quirks() -> None:
    # Wrong arrayType count, qualified children, HoldRequests, no XML declaration.
    body = b"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
      xmlns:c="urn:dslforum-org:cwmp-1-1"><s:Header><c:ID s:mustUnderstand="1"> 42 </c:ID>
      <c:HoldRequests s:mustUnderstand="1">true</c:HoldRequests></s:Header>
      <s:Body><c:GetParameterValuesResponse><c:ParameterList xmlns:e="http://schemas.xmlsoap.org/soap/encoding/"
      e:arrayType="c:ParameterValueStruct[9]"><ParameterValueStruct><Name>A</Name><Value>1</Value>
      </ParameterValueStruct><c:ParameterValueStruct><c:Name>B</c:Name><c:Value/></c:ParameterValueStruct>
      </c:ParameterList></c:GetParameterValuesResponse></s:Body></s:Envelope>"""
    env = cwmp.parse_envelope(body)
    assert (env.ns, env.id, env.hold_requests) == ("urn:dslforum-org:cwmp-1-1", "42", True)
    assert cwmp.read_gpv_response(env) == {"A": "1", "B": ""}


def test_missing_field_names_what_is_missing() -> None:
    body = cwmp.set_parameter_values_response(NAMESPACES[0], "a", 0).replace(b"<Status>0</Status>", b"")
    with pytest.raises(CwmpParseError, match="no Status"):
        cwmp.read_spv_response(cwmp.parse_envelope(body))


# ---- hostile corpus ----

ENV_OPEN = (
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap-env:Body><cwmp:Inform><DeviceId><Manufacturer>'
)
ENV_CLOSE = b"</Manufacturer></DeviceId></cwmp:Inform></soap-env:Body></soap-env:Envelope>"
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    + ENV_OPEN
    + b"&xxe;"
    + ENV_CLOSE
)
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'.encode() for i in range(1, 10)
    ).replace(b"&lol0;", b"&lol;")
    + b"]>"
    + ENV_OPEN
    + b"&lol9;"
    + ENV_CLOSE
)
VALID = cwmp.set_parameter_values_response(NAMESPACES[0], "a", 0)

DOCTYPE = "DOCTYPE is not allowed"
XML = "not well-formed XML"
HOSTILE: dict[str, tuple[bytes, str]] = {
    "xxe": (XXE, DOCTYPE),
    "xxe-utf16": (
        XXE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
        .decode()
        .encode("utf-16"),
        DOCTYPE,
    ),
    "xxe-after-long-comment": (b"<!--" + b"x" * 5000 + b"-->" + XXE.split(b"\n", 1)[1], DOCTYPE),
    "xxe-parameter-entity": (
        b'<!DOCTYPE e [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>' + ENV_OPEN + ENV_CLOSE,
        DOCTYPE,
    ),
    "external-dtd": (b'<!DOCTYPE e SYSTEM "http://127.0.0.1:9/evil.dtd">' + ENV_OPEN + ENV_CLOSE, DOCTYPE),
    "billion-laughs": (LAUGHS, DOCTYPE),
    # A byte that is not UTF-8 sends the body down the repairing path; the repaired body is checked the same.
    "xxe-after-a-bad-byte": (b"<!--\xff" + b"x" * 5000 + b"-->" + XXE.split(b"\n", 1)[1], DOCTYPE),
    "billion-laughs-with-a-bad-byte": (LAUGHS.replace(b"<!ENTITY", b"<!--\xe9--><!ENTITY", 1), DOCTYPE),
    "doctype": (b"<!DOCTYPE Envelope>" + VALID.split(b"\n", 1)[1], DOCTYPE),
    "truncated": (VALID[: len(VALID) // 2], XML),
    "binary-junk": (bytes(range(256)) * 4, XML),
    "empty": (b"", XML),
    "undefined-entity": (ENV_OPEN + b"&nope;" + ENV_CLOSE, XML),
    "wrong-cwmp-namespace": (
        VALID.replace(b"urn:dslforum-org:cwmp-1-0", b"urn:dslforum-org:cwmp-1-9"),
        "not in a CWMP namespace",
    ),
    "soap-1.2-envelope": (
        VALID.replace(cwmp.SOAP_ENV.encode(), b"http://www.w3.org/2003/05/soap-envelope"),
        "not a SOAP 1.1 Envelope",
    ),
    "not-soap": (b"<html><body>hello</body></html>", "not a SOAP 1.1 Envelope"),
    "empty-body": (
        ENV_OPEN.split(b"<cwmp:Inform>")[0] + b"</soap-env:Body></soap-env:Envelope>",
        "Body is empty",
    ),
    "oversized": (
        VALID.replace(b"<Status>", b"<!--" + b"x" * cwmp.MAX_BODY + b"--><Status>"),
        "exceeds the 262144 byte limit",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_body_is_rejected(name: str) -> None:
    body, reason = HOSTILE[name]
    with pytest.raises(CwmpParseError, match=reason) as exc:
        cwmp.parse_envelope(body)
    assert "root:" not in str(exc.value)
    assert "lollollol" not in str(exc.value)


@pytest.mark.parametrize("name", ["xxe", "billion-laughs"])
def test_codec_parser_never_expands_entities(name: str) -> None:
    # Below the DOCTYPE rejection: even the raw parser must not read files or expand entities.
    try:
        root = etree.fromstring(HOSTILE[name][0], cwmp._parser())
    except etree.XMLSyntaxError:
        return
    text = etree.tostring(root)
    assert b"root:" not in text
    assert b"lollollol" not in text


def test_bytes_that_are_not_utf8_are_read_as_replacement_and_named() -> None:
    body = VALID.replace(b"<Status>", b"<!-- \xe9t\xe9 --><Status>")
    env = cwmp.parse_envelope(body)
    first = body.index(b"\xe9")
    assert env.defects == (
        f"byte 0xe9 at offset {first} not UTF-8 (read as U+FFFD)",
        f"byte 0xe9 at offset {first + 2} not UTF-8 (read as U+FFFD)",
    )
    assert cwmp.parse_envelope(VALID).defects == ()


def test_a_body_in_a_declared_encoding_is_read_in_it_not_repaired() -> None:
    latin1 = cwmp.inform(
        cwmp.CWMP_NAMESPACES[0],
        "1",
        cwmp.DeviceId("Caf\u00e9", "00259E", "FAP-1", "SN"),
        [("1 BOOT", "")],
        [],
        "2024-01-01T00:00:00Z",
    )
    latin1 = latin1.decode().replace("UTF-8", "ISO-8859-1").encode("latin-1")
    env = cwmp.parse_envelope(latin1)
    assert env.defects == () and cwmp.read_inform(env).device_id.manufacturer == "Caf\u00e9"
    # Declared ISO-8859-1 but broken in another way: no repair is tried, the real reason is reported.
    with pytest.raises(CwmpParseError, match="not well-formed"):
        cwmp.parse_envelope(latin1.replace(b"</soap-env:Envelope>", b""))


def test_defects_are_capped() -> None:
    body = VALID.replace(b"<Status>", b"<!--" + b"\xff " * 50 + b"--><Status>")
    env = cwmp.parse_envelope(body)
    assert len(env.defects) == 20

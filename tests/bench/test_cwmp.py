"""Tests for bench/cwmp.py: schema validity of what we send, round trips, and a hostile corpus."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from bench import cwmp
from bench.cwmp import CwmpParseError

BBF = (Path(__file__).parents[2] / "../shared/reference/bbf").resolve()
NAMESPACES = list(cwmp.CWMP_NAMESPACES)
DEV = cwmp.DeviceId("Acme", "00259E", "FAP-1", "SN0001")

# The BBF XSDs import the SOAP schemas by URL; there is no network, and only these names are referenced.
SOAP_ENV_STUB = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://schemas.xmlsoap.org/soap/envelope/">
  <xs:attribute name="mustUnderstand">
    <xs:simpleType>
      <xs:restriction base="xs:boolean"><xs:pattern value="0|1"/></xs:restriction>
    </xs:simpleType>
  </xs:attribute>
</xs:schema>"""
SOAP_ENC_STUB = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  xmlns:tns="http://schemas.xmlsoap.org/soap/encoding/" targetNamespace="http://schemas.xmlsoap.org/soap/encoding/">
  <xs:attribute name="arrayType" type="xs:string"/>
  <xs:attribute name="offset" type="xs:string"/>
  <xs:complexType name="Array">
    <xs:sequence>
      <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence>
    <xs:attribute ref="tns:arrayType"/>
    <xs:attribute ref="tns:offset"/>
    <xs:anyAttribute namespace="##other" processContents="lax"/>
  </xs:complexType>
  <xs:simpleType name="base64"><xs:restriction base="xs:base64Binary"/></xs:simpleType>
</xs:schema>"""


class _SoapStubs(etree.Resolver):
    def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
        if url and url.startswith(cwmp.SOAP_ENV):
            return self.resolve_string(SOAP_ENV_STUB, context)
        if url and url.startswith(cwmp.SOAP_ENC):
            return self.resolve_string(SOAP_ENC_STUB, context)
        return None


@cache
def schema(ns: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_SoapStubs())
    return etree.XMLSchema(etree.parse(str(BBF / f"{ns.split(':')[-1]}.xsd"), parser))


def validate(ns: str, msg: bytes) -> None:
    """Validate the ID header and the Body's RPC element (or a Fault's cwmp:Fault detail) against the XSD."""
    root = etree.fromstring(msg)
    header = root.find(f"{{{cwmp.SOAP_ENV}}}Header")
    rpc = root.find(f"{{{cwmp.SOAP_ENV}}}Body")[0]
    if rpc.tag == f"{{{cwmp.SOAP_ENV}}}Fault":
        rpc = rpc.find("detail")[0]
    assert etree.QName(rpc).namespace == ns
    targets = [rpc] + ([] if header is None else list(header))
    xsd = schema(ns)
    for el in targets:
        assert xsd.validate(el), (
            f"{etree.QName(el).localname} invalid in {ns}: {xsd.error_log}\n{msg.decode()}"
        )


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

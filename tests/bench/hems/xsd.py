"""BBF CWMP XSD validation for tests: every message is checked against the schema of its namespace."""

from __future__ import annotations

from functools import cache

from lxml import etree

from bench import cwmp
from bench.bbf import BBF_DIR as BBF

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
        if url and "broadband-forum.org/cwmp/" in url:
            return self.resolve_filename(str(BBF / url.rsplit("/", 1)[1]), context)
        if url and url.startswith(cwmp.SOAP_ENV):
            return self.resolve_string(SOAP_ENV_STUB, context)
        if url and url.startswith(cwmp.SOAP_ENC):
            return self.resolve_string(SOAP_ENC_STUB, context)
        return None


@cache
def schema(ns: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_SoapStubs())
    # cwmp-1-4.xsd extends 1-2 and 1-3 in the same namespace: it knows SessionTimeout and the version headers.
    name = "cwmp-1-4" if ns == cwmp.CWMP_NAMESPACES[2] else ns.split(":")[-1]
    return etree.XMLSchema(etree.parse(str(BBF / f"{name}.xsd"), parser))


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

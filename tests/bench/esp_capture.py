"""A unit-side capture whose CWMP session with the Serving HeMS runs in ESP encrypted with known keys (scapy's
SecurityAssociation), and the esp_sa file (Wireshark's format, as strongSwan's save-keys writes it) that opens
it: an Inform, InformResponse, empty POST, SetParameterValues, its response and the HeMS's 204."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from bench import cwmp

UNIT, SEGW = "198.51.100.10", "203.0.113.2"  # the outer link
INNER_UNIT, HEMS = "10.200.0.2", "10.100.0.10"  # inside the tunnel
IDENTITY = ("00D0B7", "MockHeNB", "ESP0001")
NS = "urn:dslforum-org:cwmp-1-2"
SPI_OUT, SPI_IN = 0xC0FFEE01, 0xC0FFEE02
SUITES = {  # scapy's names -> Wireshark's, with key lengths (AES-GCM's key ends with its 4-byte salt)
    "aes-cbc-sha256": ("AES-CBC", 16, "SHA2-256-128", 32, "AES-CBC [RFC3602]", "HMAC-SHA-256-128 [RFC4868]"),
    "aes-gcm": ("AES-GCM", 20, None, 0, "AES-GCM with 16 octet ICV [RFC4106]", "NULL"),
}


def _http(head: str, body: bytes) -> bytes:
    return f"{head}\r\nContent-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def _exchange() -> list[tuple[bool, bytes]]:
    """(from the unit, TCP payload) of one CWMP session over HTTP."""
    dev = cwmp.DeviceId("Mock", IDENTITY[0], IDENTITY[1], IDENTITY[2])
    inform = cwmp.inform(NS, "1", dev, [("0 BOOTSTRAP", ""), ("1 BOOT", "")], [], "2026-12-07T12:00:00Z")
    spv = (
        f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="{NS}"><soap:Header>'
        '<cwmp:ID soap:mustUnderstand="1">2</cwmp:ID></soap:Header><soap:Body><cwmp:SetParameterValues>'
        "<ParameterList><ParameterValueStruct><Name>Device.ManagementServer.PeriodicInformInterval</Name>"
        "<Value>300</Value></ParameterValueStruct></ParameterList><ParameterKey>k1</ParameterKey>"
        "</cwmp:SetParameterValues></soap:Body></soap:Envelope>"
    ).encode()
    host = "POST /cwmp HTTP/1.1\r\nHost: shems.operator.example:7547"
    return [
        (True, _http(host, inform)),
        (False, _http("HTTP/1.1 200 OK", cwmp.inform_response(NS, "1"))),
        (True, f"{host}\r\nContent-Length: 0\r\n\r\n".encode()),
        (False, _http("HTTP/1.1 200 OK", spv)),
        (True, _http(host, cwmp.set_parameter_values_response(NS, "2", 0))),
        (False, b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
    ]


def write(capture: Path, esp_sa: Path, suite: str = "aes-cbc-sha256", t0: float = 1_800_000_000.0) -> None:
    """The capture (Ethernet, ESP in tunnel mode both ways) and its esp_sa file."""
    crypt, crypt_len, auth, auth_len, ws_crypt, ws_auth = SUITES[suite]
    keys = {
        spi: (bytes([spi & 0xFF] * crypt_len), bytes([0x40 + (spi & 0xFF)] * auth_len))
        for spi in (SPI_OUT, SPI_IN)
    }
    sas = {
        up: SecurityAssociation(
            ESP,
            spi=spi,
            crypt_algo=crypt,
            crypt_key=keys[spi][0],
            auth_algo=auth,
            auth_key=keys[spi][1] or None,
            tunnel_header=IP(src=UNIT, dst=SEGW) if up else IP(src=SEGW, dst=UNIT),
        )  # fmt: skip
        for up, spi in ((True, SPI_OUT), (False, SPI_IN))
    }
    seq = {True: 1000, False: 5000}
    inner: list[tuple[bool, Packet]] = []

    def tcp(up: bool, flags: str, payload: bytes = b"") -> None:
        src, dst, sport, dport = (INNER_UNIT, HEMS, 40000, 7547) if up else (HEMS, INNER_UNIT, 7547, 40000)
        syn = "S" in flags
        packet = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq[up] - syn,
                                            ack=0 if flags == "S" else seq[not up])  # fmt: skip
        inner.append((up, packet / Raw(payload) if payload else packet))
        seq[up] += len(payload)

    tcp(True, "S")
    tcp(False, "SA")
    tcp(True, "A")
    for up, payload in _exchange():
        tcp(up, "PA", payload)
    packets = []
    for n, (up, packet) in enumerate(inner):
        frame = Ether() / sas[up].encrypt(packet)
        frame.time = t0 + n * 0.01
        packets.append(frame)
    wrpcap(str(capture), packets)
    lines = []
    for up, spi in ((True, SPI_OUT), (False, SPI_IN)):
        src, dst = (UNIT, SEGW) if up else (SEGW, UNIT)
        enc, integ = keys[spi]
        fields = [
            "IPv4",
            src,
            dst,
            f"0x{spi:08x}",
            ws_crypt,
            f"0x{enc.hex()}",
            ws_auth,
            f"0x{integ.hex()}" if integ else "",
        ]
        lines.append(",".join(f'"{v}"' for v in fields))
    esp_sa.write_text("\n".join(lines) + "\n", encoding="utf-8")

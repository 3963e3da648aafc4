"""Tests for bench/hems/tls.py: HTTPS with the operator PKI, exact identity checks, and the TLS key log."""

from __future__ import annotations

import datetime as dt
import http.client
import re
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench import cwmp
from bench.errors import ConfigError
from bench.events import HemsKind
from bench.hems.tls import PeerCertificates, identity_mismatches, server_context
from bench.pki import CertificateAuthority
from bench.timeline import Timeline
from tests.bench.hems.cpe import NS1, serve

KEYLOG_LINE = re.compile(
    r"^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|"
    r"SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]{64,}$"
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("pki"))


def inform() -> bytes:
    dev = cwmp.DeviceId("Acme", "00259E", "FAP-1", "SN-TLS")
    return cwmp.inform(NS1, "1", dev, [("1 BOOT", "")], [], "2024-05-01T12:00:00Z")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_https_session_with_a_verifying_client_and_a_key_log(
    ca: CertificateAuthority, tmp_path: Path, version: ssl.TLSVersion
):
    cert = ca.issue("127.0.0.1")
    keylog = tmp_path / "captures" / "tls-keys.log"
    h, port = serve(Timeline(), tls=server_context(cert.cert, cert.key, identity="127.0.0.1", keylog=keylog))
    try:
        client = ssl.create_default_context(cafile=str(ca.files.cert))
        client.minimum_version = client.maximum_version = version
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client, timeout=5)
        conn.request("POST", "/", body=inform(), headers={"Content-Type": "text/xml"})
        r = conn.getresponse()
        assert r.status == 200 and cwmp.parse_envelope(r.read()).method == "InformResponse"
        assert conn.sock.version() == ("TLSv1.3" if version == ssl.TLSVersion.TLSv1_3 else "TLSv1.2")
        conn.close()
    finally:
        h.stop()
    lines = keylog.read_text().splitlines()
    assert lines and all(KEYLOG_LINE.match(line) for line in lines if not line.startswith("#")), lines
    labels = {line.split()[0] for line in lines}
    assert (
        ("CLIENT_RANDOM" in labels)
        if version == ssl.TLSVersion.TLSv1_2
        else ("SERVER_TRAFFIC_SECRET_0" in labels)
    )


def test_a_client_expecting_another_name_refuses_the_hems(ca: CertificateAuthority):
    cert = ca.issue("hems.operator.example")
    tl = Timeline()
    h, port = serve(tl, tls=server_context(cert.cert, cert.key, identity="hems.operator.example"))
    try:
        client = ssl.create_default_context(cafile=str(ca.files.cert))
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client, timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError, match="127.0.0.1"):
            conn.request("POST", "/", body=inform())
        # The HeMS sees the refusal: the handshake failed on the client's alert, from the client's address.
        refused = tl.wait_for(lambda e: e.kind == HemsKind.TLS_FAILED, 5, "the refused handshake")
        assert refused.data == {
            "hems": "initial-hems",
            "peer": "127.0.0.1",
            "reason": "the client sent TLS alert 'bad certificate'",
            "alert": "bad certificate",
            "cert": "own",  # the certificate it was shown: its own, not one the bench put up to be refused
        }
        # Verifying against the FQDN the certificate names succeeds (SNI and hostname = the FQDN).
        sock = client.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname="hems.operator.example"
        )
        assert sock.version()
        sock.close()
    finally:
        h.stop()
    assert [e.kind for e in tl.events()].count(HemsKind.TLS_FAILED) == 1, (
        "a completed handshake is no failure"
    )


def test_each_peer_is_shown_the_certificate_chosen_for_its_address(ca: CertificateAuthority):
    """Two clients at once (127.0.0.1 and 127.0.0.2): the one shown a certificate for another name refuses it,
    its event naming that certificate; the other completes its handshake with the HeMS's own, unaffected."""
    own = ca.issue("hems.operator.example")
    wrong = ca.issue("wrong-hems.operator.example")
    certs = PeerCertificates(server_context(own.cert, own.key, identity="hems.operator.example"))
    tl = Timeline()
    h, port = serve(tl, tls=certs)
    client = ssl.create_default_context(cafile=str(ca.files.cert))

    def handshake(source: str) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
        client.wrap_socket(raw, server_hostname="hems.operator.example").close()

    try:
        certs.show(
            "unit-1", lambda peer: peer == "127.0.0.1", server_context(wrong.cert, wrong.key), "wrong-name"
        )
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            handshake("127.0.0.1")
        handshake("127.0.0.2")  # another unit: the HeMS's own certificate
        refused = tl.wait_for(lambda e: e.kind == HemsKind.TLS_FAILED, 5, "the refused handshake")
        assert (refused.data["peer"], refused.data["cert"]) == ("127.0.0.1", "wrong-name")
        certs.withdraw("unit-1")
        handshake("127.0.0.1")  # its own certificate again
    finally:
        h.stop()
    assert [e.kind for e in tl.events()].count(HemsKind.TLS_FAILED) == 1


def test_a_client_closing_during_the_handshake_is_seen(ca: CertificateAuthority):
    cert = ca.issue("127.0.0.1")
    tl = Timeline()
    h, port = serve(tl, tls=server_context(cert.cert, cert.key, identity="127.0.0.1"))
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        closed = tl.wait_for(lambda e: e.kind == HemsKind.TLS_FAILED, 5, "the abandoned handshake")
        assert closed.data["alert"] is None and "closed the connection" in closed.data["reason"]
        # The HeMS still serves the next client.
        client = ssl.create_default_context(cafile=str(ca.files.cert))
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client, timeout=5)
        conn.request("POST", "/", body=inform(), headers={"Content-Type": "text/xml"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        h.stop()


@pytest.mark.parametrize("identity", ["hems.operator.example", "10.20.0.5", "fd00::5"])
def test_pki_certificates_name_exactly_their_identity(ca: CertificateAuthority, identity: str):
    assert identity_mismatches(ca.issue(identity).cert, identity) == []


def test_mismatches_say_which_part_does_not_match(ca: CertificateAuthority, tmp_path: Path):
    cert = ca.issue("hems.operator.example").cert
    problems = identity_mismatches(cert, "serving-hems.operator.example")
    assert problems == [
        "subject CN is ['hems.operator.example'], expected ['serving-hems.operator.example']",
        "SubjectAltName is ['DNS:hems.operator.example'], "
        "expected exactly [DNS:serving-hems.operator.example]",
    ]
    # An IP written as a DNS name, and an extra SAN entry, are both mismatches; the CN alone is fine.
    odd = make_cert(ca, tmp_path, "10.20.0.5", [x509.DNSName("10.20.0.5"), x509.DNSName("extra.example")])
    assert identity_mismatches(odd, "10.20.0.5") == [
        "SubjectAltName is ['DNS:10.20.0.5', 'DNS:extra.example'], expected exactly [IP:10.20.0.5]"
    ]
    bare = make_cert(ca, tmp_path, "other", None)
    assert identity_mismatches(bare, "10.20.0.5") == [
        "subject CN is ['other'], expected ['10.20.0.5']",
        "no SubjectAltName extension, expected exactly [IP:10.20.0.5]",
    ]


def test_server_context_refuses_a_certificate_for_another_identity(ca: CertificateAuthority):
    cert = ca.issue("10.20.0.5")
    with pytest.raises(ConfigError, match=r"does not name '10.20.0.6'.*subject CN is \['10.20.0.5'\]"):
        server_context(cert.cert, cert.key, identity="10.20.0.6")
    with pytest.raises(ConfigError, match="key"):
        server_context(cert.cert, cert.cert)


def make_cert(ca: CertificateAuthority, folder: Path, cn: str, san: list[x509.GeneralName] | None) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if san is not None:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    path = folder / f"{cn}-{len(san or [])}.pem"
    path.write_bytes(b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path

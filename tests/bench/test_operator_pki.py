"""Tests for bench/operator_pki.py: generated PKI, a CA from files, ready-made server certificates and every way
a certificate can fail to match the name the unit is given."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from bench.errors import ConfigError
from bench.operator_pki import OperatorPki, PkiConfig, ServerCertConfig, load_pki, operator_names
from bench.pki import CertFiles, CertificateAuthority

NAMES = {
    "initial_segw": "isegw.operator.example",
    "serving_segw": "203.0.113.5",
    "initial_hems": "ihems.operator.example",
    "serving_hems": "shems.operator.example",
}


def write_cert(
    folder: Path,
    stem: str,
    ca_cert: x509.Certificate,
    ca_key: Any,
    cn: str,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    days: tuple[int, int] = (-1, 30),
) -> ServerCertConfig:
    """A server certificate with exactly the given CN and SAN entries, signed by `ca_key`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ServerCertConfig(cert=folder / f"{stem}.pem", key=folder / f"{stem}.key")


@pytest.fixture
def provisioned(tmp_path: Path) -> CertificateAuthority:
    """The CA the unit was provisioned with, as files in a folder of its own."""
    return CertificateAuthority(tmp_path / "provisioned", name="Operator Root CA")


def ready_made(ca: CertificateAuthority) -> dict[str, ServerCertConfig]:
    out = {}
    for role, name in NAMES.items():
        files = ca.issue(name)
        out[role] = ServerCertConfig(cert=files.cert, key=files.key)
    return out


def chains_to(cert_path: Path, ca_path: Path) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    cert.verify_directly_issued_by(ca)
    return True


def san_of(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(v.value) for v in san]


def test_generated_by_default(tmp_path: Path) -> None:
    pki = load_pki(PkiConfig(), NAMES, tmp_path / "work")
    assert pki.source == "generated" and pki.issuer is not None
    assert set(pki.certs) == set(NAMES)
    for role, name in NAMES.items():
        assert san_of(pki.certs[role].cert) == [name]
        assert chains_to(pki.certs[role].cert, pki.ca_cert)
    # The generated CA can issue the mock unit's own certificate.
    assert chains_to(pki.issuer.issue("00D0B7-MOCK0001.henb", server=False).cert, pki.ca_cert)


def test_ca_from_files_issues_every_server(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    cfg = PkiConfig.model_validate({"ca_cert": provisioned.files.cert, "ca_key": provisioned.files.key})
    assert cfg.generate is False  # files given: nothing is generated
    pki = load_pki(cfg, NAMES, tmp_path / "work")
    assert pki.source == "CA from files" and pki.ca_cert == provisioned.files.cert
    for role, name in NAMES.items():
        assert san_of(pki.certs[role].cert) == [name]
        assert chains_to(pki.certs[role].cert, provisioned.files.cert)
    assert pki.issuer is not None and pki.issuer.files == CertFiles(
        provisioned.files.cert, provisioned.files.key
    )
    assert chains_to(pki.issuer.issue("unit.henb", server=False).cert, provisioned.files.cert)


def test_rsa_ca_with_encrypted_key(tmp_path: Path) -> None:
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RSA Operator CA")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    secret = "ca-pass-phrase-77"
    (tmp_path / "ca.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(secret.encode()),
        )
    )
    cfg = {"ca_cert": tmp_path / "ca.pem", "ca_key": tmp_path / "ca.key"}
    pki = load_pki(PkiConfig.model_validate({**cfg, "ca_key_password": secret}), NAMES, tmp_path / "w")
    assert chains_to(pki.certs["initial_segw"].cert, tmp_path / "ca.pem")
    with pytest.raises(ConfigError, match="ca.key is encrypted: give ca_key_password"):
        load_pki(PkiConfig.model_validate(cfg), NAMES, tmp_path / "w")
    with pytest.raises(ConfigError) as exc:
        load_pki(PkiConfig.model_validate({**cfg, "ca_key_password": "wrong-phrase"}), NAMES, tmp_path / "w")
    assert "password is wrong" in str(exc.value) and "wrong-phrase" not in str(exc.value)


def test_ready_made_certificates(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    certs = ready_made(provisioned)
    cfg = PkiConfig(generate=False, ca_cert=provisioned.files.cert, certs=certs)  # type: ignore[arg-type]
    pki = load_pki(cfg, NAMES, tmp_path / "work")
    assert pki.source == "ready-made certificates" and pki.issuer is None
    assert {r: (c.cert, c.key) for r, c in pki.certs.items()} == {
        r: (c.cert, c.key) for r, c in certs.items()
    }


def test_some_ready_made_rest_issued(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    certs = {"initial_segw": ready_made(provisioned)["initial_segw"]}
    cfg = PkiConfig.model_validate(
        {"ca_cert": provisioned.files.cert, "ca_key": provisioned.files.key, "certs": certs}
    )
    pki = load_pki(cfg, NAMES, tmp_path / "work")
    assert pki.certs["initial_segw"].cert == certs["initial_segw"].cert
    assert san_of(pki.certs["serving_hems"].cert) == ["shems.operator.example"]


def load_with(
    tmp_path: Path, ca: CertificateAuthority, role: str, cert: ServerCertConfig, names: dict[str, str] = NAMES
) -> OperatorPki:
    certs = {**ready_made(ca), role: cert}
    cfg = PkiConfig.model_validate({"ca_cert": ca.files.cert, "certs": certs})
    return load_pki(cfg, names, tmp_path / "work")


def test_wrong_name_says_which_and_what_it_carries(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    bad = write_cert(
        tmp_path, "bad", provisioned.cert, provisioned.key, "segw-1", dns=("segw1.operator.example",)
    )
    with pytest.raises(ConfigError) as exc:
        load_with(tmp_path, provisioned, "initial_segw", bad)
    msg = str(exc.value)
    assert "operator.pki.certs.initial_segw.cert" in msg and str(bad.cert) in msg
    assert "the unit is given 'isegw.operator.example'" in msg and "dNSName 'isegw.operator.example'" in msg
    assert "carries CN 'segw-1', SubjectAltName dNSName 'segw1.operator.example'" in msg


def test_ip_must_be_an_ip_address_entry(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    as_dns = write_cert(
        tmp_path, "dns", provisioned.cert, provisioned.key, "203.0.113.5", dns=("203.0.113.5",)
    )
    with pytest.raises(ConfigError) as exc:
        load_with(tmp_path, provisioned, "serving_segw", as_dns)
    assert "expects a SubjectAltName iPAddress '203.0.113.5'" in str(exc.value)
    assert "is there, but not as iPAddress" in str(exc.value)
    as_ip = write_cert(tmp_path, "ip", provisioned.cert, provisioned.key, "ssegw", ips=("203.0.113.5",))
    assert load_with(tmp_path, provisioned, "serving_segw", as_ip).certs["serving_segw"].cert == as_ip.cert


def test_cn_only_and_wildcard_do_not_count(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    cn_only = write_cert(tmp_path, "cn", provisioned.cert, provisioned.key, "ihems.operator.example")
    with pytest.raises(ConfigError, match="CN 'ihems.operator.example', SubjectAltName none"):
        load_with(tmp_path, provisioned, "initial_hems", cn_only)
    wild = write_cert(tmp_path, "wild", provisioned.cert, provisioned.key, "w", dns=("*.operator.example",))
    with pytest.raises(ConfigError, match="a wildcard does not count"):
        load_with(tmp_path, provisioned, "initial_hems", wild)


def test_other_ca_key_mismatch_and_expiry(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    other = CertificateAuthority(tmp_path / "other", name="Some Other CA")
    foreign = other.issue("shems.operator.example")
    with pytest.raises(ConfigError) as exc:
        load_with(tmp_path, provisioned, "serving_hems", ServerCertConfig(cert=foreign.cert, key=foreign.key))
    assert "certs.serving_hems.cert" in str(exc.value) and "not issued by the CA" in str(exc.value)
    assert "Some Other CA" in str(exc.value) and "Operator Root CA" in str(exc.value)
    good, spare = provisioned.issue("shems.operator.example"), provisioned.issue("spare.example")
    with pytest.raises(ConfigError, match=r"certs.serving_hems.key .*is not the private key"):
        load_with(tmp_path, provisioned, "serving_hems", ServerCertConfig(cert=good.cert, key=spare.key))
    old = write_cert(
        tmp_path,
        "old",
        provisioned.cert,
        provisioned.key,
        "s",
        dns=("shems.operator.example",),
        days=(-9, -2),
    )
    with pytest.raises(ConfigError, match="is not valid now"):
        load_with(tmp_path, provisioned, "serving_hems", old)


def test_missing_roles_and_files(tmp_path: Path, provisioned: CertificateAuthority) -> None:
    certs = ready_made(provisioned)
    del certs["serving_hems"]
    cfg = PkiConfig.model_validate({"ca_cert": provisioned.files.cert, "certs": certs})
    with pytest.raises(ConfigError, match="certs.serving_hems: missing, and there is no ca_key"):
        load_pki(cfg, NAMES, tmp_path / "work")
    gone = PkiConfig.model_validate({"ca_cert": tmp_path / "nope.pem", "ca_key": provisioned.files.key})
    with pytest.raises(ConfigError, match=r"operator.pki.ca_cert: cannot read .*nope.pem"):
        load_pki(gone, NAMES, tmp_path / "work")
    wrong_key = CertificateAuthority(tmp_path / "x").files.key
    mixed = PkiConfig.model_validate({"ca_cert": provisioned.files.cert, "ca_key": wrong_key})
    with pytest.raises(ConfigError, match="is not the key of the certificate"):
        load_pki(mixed, NAMES, tmp_path / "work")
    leaf = provisioned.issue("leaf.example")
    with pytest.raises(ConfigError, match="is not a CA certificate"):
        load_pki(PkiConfig.model_validate({"ca_cert": leaf.cert, "ca_key": leaf.key}), NAMES, tmp_path / "w")


def test_model_rules() -> None:
    with pytest.raises(ValidationError, match="generate: true makes a new CA"):
        PkiConfig.model_validate({"generate": True, "ca_cert": "/x.pem"})
    with pytest.raises(ValidationError, match="expected ca_cert"):
        PkiConfig.model_validate({"generate": False})
    with pytest.raises(ValidationError):
        PkiConfig.model_validate({"ca_cert": "/x.pem", "certs": {"mme": {"cert": "/a", "key": "/b"}}})
    with pytest.raises(ValidationError, match="extra"):
        PkiConfig.model_validate({"ca": "/x.pem"})


def test_operator_names() -> None:
    class Op:
        initial_segw, serving_segw = "a.example", "192.0.2.1"
        initial_hems, serving_hems = "b.example", "c.example"
        fileserver = "files.example"

    assert operator_names(Op()) == {
        "initial_segw": "a.example",
        "serving_segw": "192.0.2.1",
        "initial_hems": "b.example",
        "serving_hems": "c.example",
        "fileserver": "files.example",
    }


def test_documented_example_parses() -> None:
    """The commented `operator.pki` example in docs/inventory-physical.yaml is a valid PkiConfig."""
    text = (Path(__file__).parents[2] / "docs" / "inventory-physical.yaml").read_text()
    block = text[text.index("# operator:\n") : text.index("# With only")]
    doc = yaml.safe_load("\n".join(line[2:] for line in block.splitlines()))
    cfg = PkiConfig.model_validate(doc["operator"]["pki"])
    assert (
        cfg.generate is False
        and cfg.ca_key is not None
        and set(cfg.certs) == {"initial_segw", "serving_segw"}
    )
    assert "change-me" not in repr(cfg)

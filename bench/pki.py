"""The operator PKI: a CA and ECDSA P-256 (or RSA 2048) certificates for SeGWs, HeMSs and units, generated per run."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["ecdsa", "rsa"]


def new_key(key_type: KeyType = "ecdsa") -> Any:
    """A fresh private key: ECDSA P-256 or RSA 2048."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class CertFiles:
    """A certificate and its private key as PEM files."""

    cert: Path
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "henb-bench"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def san_for(identity: str) -> x509.GeneralName:
    """The SubjectAltName entry for an FQDN or an IP address, in exactly the form given."""
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        return x509.DNSName(identity)


def _write(path: Path, key: Any, cert: x509.Certificate) -> CertFiles:
    key_path = path.with_suffix(".key")
    cert_path = path.with_suffix(".pem")
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertFiles(cert_path, key_path)


class CertificateAuthority:
    """A CA that signs server and client certificates into one folder."""

    def __init__(self, folder: Path, name: str = "henb-bench operator CA") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self.key, hashes.SHA256())
        )
        self.files = _write(folder / self._slug(name), self.key, self.cert)

    @staticmethod
    def _slug(name: str) -> str:
        return "".join(c if c.isalnum() else "-" for c in name).strip("-")

    def issue(
        self,
        identity: str,
        server: bool = True,
        key_type: KeyType = "ecdsa",
        key: Any = None,
        valid: tuple[dt.datetime, dt.datetime] | None = None,
        file: str | None = None,
    ) -> CertFiles:
        """A certificate whose CN and SubjectAltName are exactly `identity` (an FQDN or IP address); `key` an
        existing private key (default a new one), `valid` its validity (default from a day ago for 30 days),
        `file` its file name (default after the identity)."""
        key = key if key is not None else new_key(key_type)
        now = dt.datetime.now(dt.UTC)
        not_before, not_after = valid or (now - dt.timedelta(days=1), now + dt.timedelta(days=30))
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(identity))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([san_for(identity)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage, ExtendedKeyUsageOID.IPSEC_IKE]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return _write(self.folder / self._slug(file or identity), key, cert)


# Certificates a careful unit must refuse (issue 20: the unit's own defences). Generated per run; the HeMS side
# (5.1.2.3, the file server) uses them, and a SeGW side can: one rogue CA per run folder.
ROGUE_CA_NAME = "henb-bench rogue CA"


def rogue_ca(folder: Path) -> CertificateAuthority:
    """A CA no unit trusts (never given to a unit nor to a SeGW): what it issues is 'from an untrusted CA'."""
    return CertificateAuthority(folder, name=ROGUE_CA_NAME)


def expired_cert(ca: CertificateAuthority, identity: str, key_type: KeyType = "ecdsa") -> CertFiles:
    """A certificate from `ca` for exactly `identity` whose validity ended yesterday (it began 31 days ago)."""
    now = dt.datetime.now(dt.UTC)
    valid = (now - dt.timedelta(days=31), now - dt.timedelta(days=1))
    return ca.issue(identity, key_type=key_type, valid=valid, file=f"expired-{identity}")


def describe_cert(path: Path) -> str:
    """'CN=..., issuer CN=..., notAfter YYYY-MM-DD HH:MM UTC': what a failure says the unit was shown."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())

    def cn(name: x509.Name) -> str:
        found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(found[0].value) if found else name.rfc4514_string()

    return (
        f"CN={cn(cert.subject)}, issuer CN={cn(cert.issuer)}, "
        f"notAfter {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    )

"""The operator PKI a run uses: generated, issued by a CA read from files, or ready-made server certificates.

At load every server certificate is checked against the name the unit is given and against the CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from bench.errors import ConfigError
from bench.pki import CertFiles, CertificateAuthority, KeyType

Role = Literal["initial_segw", "serving_segw", "initial_hems", "serving_hems", "fileserver"]
ROLES: tuple[Role, ...] = ("initial_segw", "serving_segw", "initial_hems", "serving_hems", "fileserver")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerCertConfig(_Strict):
    cert: Path = Field(description="PEM certificate whose SAN is the name the unit is given for this server")
    key: Path = Field(description="its unencrypted PEM private key")


class RefusedCerts(_Strict):
    """`operator.pki.refused.<segw role>`: certificates an impostor SeGW presents, which the unit must refuse,
    for a lab whose unit trusts a CA the bench has no key of (else the bench issues them itself)."""

    expired: ServerCertConfig | None = Field(
        None, description="from the CA the unit trusts, for the SeGW's name, expired"
    )
    wrong_name: ServerCertConfig | None = Field(
        None, description="from the CA the unit trusts, valid, for another name than the SeGW's"
    )
    untrusted_ca: ServerCertConfig | None = Field(
        None,
        description="for the SeGW's name from a CA the unit does not trust (default: the bench's rogue CA)",
    )


class PkiConfig(_Strict):
    """`operator.pki`: generate everything (default), or use the CA the unit was provisioned with (`ca_cert`,
    `ca_key`), and/or ready-made server certificates (`certs`, which need `ca_cert` to check the chain)."""

    generate: bool = True
    ca_cert: Path | None = Field(None, description="PEM certificate of the CA the unit trusts")
    ca_key: Path | None = Field(
        None, description="its private key (PEM); issues the certificates not in certs"
    )
    ca_key_password: SecretStr | None = None
    certs: dict[Role, ServerCertConfig] = {}
    key_type: KeyType = Field(
        "ecdsa", description="key of the server certificates the bench issues: ecdsa or rsa"
    )
    unit_trust: list[Path] = Field(
        [],
        description="PEM files with the vendor root and intermediate CAs that issue units' device certificates; "
        "the SeGWs trust them besides the CA above",
    )
    refused: dict[Literal["initial_segw", "serving_segw"], RefusedCerts] = Field(
        {},
        description="the certificates an impostor SeGW presents (bench/impostors.py), when the lab gives them",
    )

    @model_validator(mode="before")
    @classmethod
    def _files_mean_no_generation(cls, data: Any) -> Any:
        if isinstance(data, dict) and "generate" not in data and (data.get("ca_cert") or data.get("certs")):
            data = {**data, "generate": False}
        return data

    @model_validator(mode="after")
    def _check(self) -> PkiConfig:
        files = self.ca_cert is not None or self.ca_key is not None or bool(self.certs)
        if self.generate and files:
            raise ValueError(
                "generate: true makes a new CA; leave out ca_cert, ca_key and certs, or set false"
            )
        if self.generate and self.refused:
            raise ValueError(
                "refused: the bench issues the impostor certificates itself from the CA it generates; "
                "give refused only with ca_cert (the CA the unit trusts)"
            )
        if not self.generate and self.ca_cert is None:
            raise ValueError("expected ca_cert (the CA the unit trusts) when the PKI is not generated")
        if self.ca_key is None and self.ca_key_password is not None:
            raise ValueError("ca_key_password without ca_key")
        return self


@dataclass
class OperatorPki:
    """What a run uses: the CA certificate the unit trusts, a certificate and key per server role, and the CA
    that can issue more (the mock unit's own certificate), when its key is known."""

    ca_cert: Path
    certs: dict[str, CertFiles]
    issuer: CertificateAuthority | None
    source: str
    notes: list[str] = field(default_factory=list)


def load_unit_trust(files: list[Path], where: str) -> list[bytes]:
    """The PEM of each CA certificate in `files` (vendor roots and intermediates), checked to be CAs."""
    out = []
    for i, path in enumerate(files):
        for cert in _read_certs(path, f"{where}[{i}]"):
            _check_ca(cert, f"{where}[{i}] ({path})")
            out.append(cert.public_bytes(serialization.Encoding.PEM))
    return out


def operator_names(operator: Any) -> dict[str, str]:
    """The names the unit is given for each server role, from the inventory's `operator` section."""
    return {role: str(getattr(operator, role)) for role in ROLES}


class FileCertificateAuthority(CertificateAuthority):
    """A CertificateAuthority whose certificate and key are read from files instead of generated."""

    def __init__(self, folder: Path, cert: x509.Certificate, key: Any, files: CertFiles) -> None:
        # Not CertificateAuthority.__init__: that generates a new key.
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.cert = cert
        self.files = files


def load_pki(
    cfg: PkiConfig, names: dict[str, str], workdir: Path, where: str = "operator.pki"
) -> OperatorPki:
    """Build or read the operator PKI for the servers in `names` (role -> FQDN or IP the unit is given).

    ConfigError names the file, and for a server certificate what the unit expects and what it carries."""
    folder = workdir / "pki"
    if cfg.generate:
        new_ca = CertificateAuthority(folder)
        issued = {role: new_ca.issue(name, key_type=cfg.key_type) for role, name in names.items()}
        return OperatorPki(new_ca.files.cert, issued, new_ca, "generated")
    assert cfg.ca_cert is not None
    unknown = set(cfg.certs) - set(names)
    if unknown:
        raise ConfigError(f"{where}.certs: no server {', '.join(sorted(unknown))} in this bench")
    ca_certs = _read_certs(cfg.ca_cert, f"{where}.ca_cert")
    for c in ca_certs:
        _check_ca(c, f"{where}.ca_cert ({cfg.ca_cert})")
    issuer: CertificateAuthority | None = None
    if cfg.ca_key is not None:
        password = cfg.ca_key_password.get_secret_value().encode() if cfg.ca_key_password else None
        key = _read_key(cfg.ca_key, f"{where}.ca_key", password)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ConfigError(
                f"{where}.ca_key ({cfg.ca_key}): expected an EC or RSA key, found {type(key).__name__}"
            )
        ca = next((c for c in ca_certs if _same_key(c, key)), None)
        if ca is None:
            raise ConfigError(
                f"{where}.ca_key ({cfg.ca_key}) is not the key of the certificate in {where}.ca_cert "
                f"({cfg.ca_cert}: {_subject(ca_certs[0])})"
            )
        issuer = FileCertificateAuthority(folder, ca, key, CertFiles(cfg.ca_cert, cfg.ca_key))
    certs: dict[str, CertFiles] = {}
    notes: list[str] = []
    ready: dict[str, ServerCertConfig] = {str(k): v for k, v in cfg.certs.items()}
    for role, name in names.items():
        given = ready.get(role)
        if given is None:
            if issuer is None:
                raise ConfigError(
                    f"{where}.certs.{role}: missing, and there is no ca_key to issue a certificate for "
                    f"{name!r} (the name the unit is given for {role})"
                )
            certs[role] = issuer.issue(name, key_type=cfg.key_type)
            notes.append(f"{role}: issued for {name} by {_subject(issuer.cert)}")
            continue
        certs[role] = check_server_cert(given, name, role, ca_certs, f"{where}.certs.{role}")
        notes.append(f"{role}: {given.cert} carries {name}")
    source = "CA from files" if issuer is not None else "ready-made certificates"
    return OperatorPki(cfg.ca_cert, certs, issuer, source, notes)


def check_server_cert(
    files: ServerCertConfig, name: str, role: str, ca_certs: list[x509.Certificate], where: str
) -> CertFiles:
    """Check a ready-made server certificate: its SAN holds `name` exactly, in the form the unit uses
    (dNSName for an FQDN, iPAddress for an IP); it chains to the CA; its key is the one given; it is valid."""
    cert = _read_certs(files.cert, f"{where}.cert")[0]
    key = _read_key(files.key, f"{where}.key", None, server=True)
    shown = f"{where}.cert ({files.cert})"
    wanted = _wanted(name)
    entries = _san_entries(cert)
    if wanted not in entries:
        kind = "iPAddress" if wanted[0] == "ip" else "dNSName"
        hint = ""
        if ("dns", name.lower()) in entries or ("ip", name) in entries:
            hint = f" ({name} is there, but not as {kind}, which is what the unit matches)"
        elif any(v.startswith("*.") for k, v in entries if k == "dns"):
            hint = " (a wildcard does not count: the unit is given the exact name)"
        raise ConfigError(
            f"{shown} does not match {role}: the unit is given {name!r} and expects a SubjectAltName "
            f"{kind} {name!r}{hint}; the certificate carries {_carries(cert)}"
        )
    issuer = next((ca for ca in ca_certs if _issued_by(cert, ca)), None)
    if issuer is None:
        raise ConfigError(
            f"{shown} for {role} is not issued by the CA in ca_cert: it names issuer {_dn(cert.issuer)}, "
            f"the CA is {', '.join(_subject(c) for c in ca_certs)}"
        )
    if not _same_key(cert, key):
        raise ConfigError(f"{where}.key ({files.key}) is not the private key of {shown}")
    now = dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ConfigError(
            f"{shown} for {role} is not valid now: valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    return CertFiles(files.cert, files.key)


def _wanted(name: str) -> tuple[str, str]:
    try:
        return ("ip", str(ipaddress.ip_address(name)))
    except ValueError:
        return ("dns", name.rstrip(".").lower())


def _san_entries(cert: x509.Certificate) -> set[tuple[str, str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    entries = {("dns", v.rstrip(".").lower()) for v in san.get_values_for_type(x509.DNSName)}
    entries |= {("ip", str(v)) for v in san.get_values_for_type(x509.IPAddress)}
    return entries


def _carries(cert: x509.Certificate) -> str:
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [f"dNSName {v!r}" for v in san.get_values_for_type(x509.DNSName)]
        sans += [f"iPAddress {str(v)!r}" for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        sans = []
    cn = f"CN {cns[0]!r}" if cns else "no CN"
    return f"{cn}, SubjectAltName " + (", ".join(sans) if sans else "none")


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_ca(ca: x509.Certificate, shown: str) -> None:
    try:
        basic = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is None or not basic.ca:
        raise ConfigError(f"{shown}: {_subject(ca)} is not a CA certificate (basicConstraints CA:TRUE)")


def _same_key(cert: x509.Certificate, key: Any) -> bool:
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(cert.public_key().public_bytes(*raw) == key.public_key().public_bytes(*raw))


def _read_certs(path: Path, where: str) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{where}: cannot read {path}: {e.strerror}") from None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            raise ConfigError(f"{where}: {path} holds no PEM or DER certificate") from None
    return certs


def _read_key(path: Path, where: str, password: bytes | None, server: bool = False) -> Any:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{where}: cannot read {path}: {e.strerror}") from None
    try:
        return serialization.load_pem_private_key(data, password)
    except TypeError:
        # The key is encrypted and no (or a superfluous) password was given; never echo the password.
        if server:
            need = "is encrypted: the SeGW and HeMS need it unencrypted (keep the file chmod 600)"
        elif password is None:
            need = "is encrypted: give ca_key_password"
        else:
            need = "is not encrypted: drop ca_key_password"
        raise ConfigError(f"{where}: {path} {need}") from None
    except ValueError:
        raise ConfigError(f"{where}: {path} is not a PEM private key (or the password is wrong)") from None


def _dn(name: x509.Name) -> str:
    return name.rfc4514_string() or "(empty)"


def _subject(cert: x509.Certificate) -> str:
    return _dn(cert.subject)

"""TLS for the HeMS: a server context from the operator PKI's PEM files, a check that the certificate names
exactly the configured FQDN or IP, and a key log (NSS SSLKEYLOGFILE format) so Wireshark can decrypt CWMP.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from bench.errors import ConfigError


def _describe(name: x509.GeneralName) -> str:
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    return f"{type(name).__name__}:{name.value}"


def _expected(identity: str) -> str:
    try:
        return f"IP:{ipaddress.ip_address(identity)}"
    except ValueError:
        return f"DNS:{identity}"


def identity_mismatches(cert_pem: Path, identity: str) -> list[str]:
    """What in the certificate does not name exactly `identity` (an FQDN or IP); empty when all matches.

    The subject CN must be `identity`, and the SubjectAltName must hold it, in the right form (an IP as an
    iPAddress entry, an FQDN as a dNSName entry), and nothing else.
    """
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    problems = []
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if cns != [identity]:
        problems.append(f"subject CN is {cns or 'absent'}, expected [{identity!r}]")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        problems.append(f"no SubjectAltName extension, expected exactly [{_expected(identity)}]")
        return problems
    entries = [_describe(n) for n in san]
    if entries != [_expected(identity)]:
        problems.append(f"SubjectAltName is {entries}, expected exactly [{_expected(identity)}]")
    return problems


def server_context(
    cert: Path, key: Path, identity: str | None = None, keylog: Path | None = None
) -> ssl.SSLContext:
    """A TLS server context; with `identity`, refuse a certificate that does not name it exactly.

    With `keylog`, every session's secrets are appended to that file in the format Wireshark reads
    (Preferences > Protocols > TLS > (Pre)-Master-Secret log filename).
    """
    if identity is not None:
        problems = identity_mismatches(cert, identity)
        if problems:
            raise ConfigError(f"HeMS certificate {cert} does not name {identity!r}: " + "; ".join(problems))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"HeMS certificate {cert} / key {key}: {exc}") from None
    if keylog is not None:
        keylog.parent.mkdir(parents=True, exist_ok=True)
        ctx.keylog_filename = str(keylog)
    return ctx

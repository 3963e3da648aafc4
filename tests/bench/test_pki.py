"""Tests for bench/pki.py: the certificates a careful unit must refuse (a rogue CA's, an expired one)."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

from cryptography import x509

from bench.pki import CertificateAuthority, describe_cert, expired_cert, rogue_ca


def test_a_rogue_ca_and_an_expired_certificate(tmp_path: Path) -> None:
    ca, rogue = CertificateAuthority(tmp_path / "ca"), rogue_ca(tmp_path / "rogue")
    old = expired_cert(ca, "ihems.operator.example")
    cert = x509.load_pem_x509_certificate(old.cert.read_bytes())
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC) and cert.issuer == ca.cert.subject
    assert old.cert.name.startswith("expired-")  # beside the good certificate for the name, not over it
    other = rogue.issue("ihems.operator.example", file="untrusted")
    assert describe_cert(other.cert).startswith(
        "CN=ihems.operator.example, issuer CN=henb-bench rogue CA, notAfter"
    )
    assert "notAfter" in describe_cert(old.cert) and "issuer CN=henb-bench operator CA" in describe_cert(
        old.cert
    )
    # What a unit trusting the operator CA makes of them.
    store = ssl.create_default_context(cafile=str(ca.files.cert))
    assert not store.get_ca_certs() or all("rogue" not in str(c["subject"]) for c in store.get_ca_certs())

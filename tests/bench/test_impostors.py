"""Tests for bench/impostors.py: the impostor SeGWs the bench generates (each wrong in exactly one way) and the
checks of the ones a lab gives (operator.pki.refused), each error naming the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bench.errors import ConfigError
from bench.ike import IKE_PROPOSALS
from bench.impostors import KEYS, WEAK_PROPOSALS, impostors, weak_proposal
from bench.operator_pki import RefusedCerts, ServerCertConfig
from bench.pki import ROGUE_CA_NAME, CertFiles, CertificateAuthority, rogue_ca

NAME = "isegw.operator.example"


def _cert(files: CertFiles) -> x509.Certificate:
    return x509.load_pem_x509_certificate(files.cert.read_bytes())


def _pub(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def pki(tmp_path: Path) -> tuple[CertificateAuthority, CertificateAuthority, CertFiles]:
    ca = CertificateAuthority(tmp_path / "ca")
    rogue = rogue_ca(tmp_path / "rogue")
    return ca, rogue, ca.issue(NAME)


def test_generated_impostors_are_each_wrong_in_one_way(
    pki: tuple[CertificateAuthority, CertificateAuthority, CertFiles], tmp_path: Path
) -> None:
    ca, rogue, real = pki
    made, missing = impostors(
        "initial_segw", NAME, real, ca, rogue, None, ca.files.cert, IKE_PROPOSALS, tmp_path
    )
    assert [i.key for i in made] == list(KEYS) and not missing
    by = {i.key: i for i in made}
    now = dt.datetime.now(dt.UTC)
    untrusted = _cert(by["untrusted_ca"].cert)  # type: ignore[arg-type]
    assert untrusted.issuer == rogue.cert.subject and f"CN={ROGUE_CA_NAME}," in by["untrusted_ca"].what
    expired = _cert(by["expired"].cert)  # type: ignore[arg-type]
    assert expired.issuer == ca.cert.subject and expired.not_valid_after_utc < now
    # Valid two hours ago: the mock whose clock is 2 h late ('accept_expired_segw_cert') takes it for valid.
    assert expired.not_valid_before_utc < now - dt.timedelta(hours=2) < expired.not_valid_after_utc
    wrong = _cert(by["wrong_name"].cert)  # type: ignore[arg-type]
    sans = wrong.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert wrong.issuer == ca.cert.subject and NAME not in sans.get_values_for_type(x509.DNSName)
    # The real SeGW's key, certified for another name: a unit that pins the key takes it.
    assert _pub(wrong) == _pub(_cert(real)) and _pub(expired) != _pub(_cert(real))
    weak = by["weak_proposal"]
    assert weak.cert is None and weak.proposals == ("aes128-sha1-modp1024",)
    # The real certificate's file is not overwritten by an impostor for the same name.
    assert _cert(real).not_valid_after_utc > now


def test_without_the_ca_key_the_lab_must_give_them(
    pki: tuple[CertificateAuthority, CertificateAuthority, CertFiles], tmp_path: Path
) -> None:
    ca, rogue, real = pki
    made, missing = impostors(
        "serving_segw", NAME, real, None, rogue, None, ca.files.cert, IKE_PROPOSALS, tmp_path
    )
    assert [i.key for i in made] == ["untrusted_ca", "weak_proposal"]
    assert [(m.key, m.why) for m in missing] == [
        (
            "expired",
            "operator.pki.refused.serving_segw.expired not given, and no operator.pki.ca_key to issue it",
        ),
        (
            "wrong_name",
            "operator.pki.refused.serving_segw.wrong_name not given, and no operator.pki.ca_key to issue it",
        ),
    ]


def test_lab_given_impostors_are_checked(
    pki: tuple[CertificateAuthority, CertificateAuthority, CertFiles], tmp_path: Path
) -> None:
    ca, rogue, real = pki
    now = dt.datetime.now(dt.UTC)
    expired = ca.issue(NAME, valid=(now - dt.timedelta(days=9), now - dt.timedelta(days=1)), file="exp")
    wrong = ca.issue("other.operator.example", file="wrong")
    given = RefusedCerts(
        expired=ServerCertConfig(cert=expired.cert, key=expired.key),
        wrong_name=ServerCertConfig(cert=wrong.cert, key=wrong.key),
    )
    made, missing = impostors(
        "initial_segw", NAME, real, None, rogue, given, ca.files.cert, IKE_PROPOSALS, tmp_path
    )
    assert not missing and [i.cert for i in made[1:3]] == [expired, wrong]
    # Each the wrong way round: the error names the key and what is wrong.
    swapped = RefusedCerts(expired=ServerCertConfig(cert=wrong.cert, key=wrong.key))
    with pytest.raises(
        ConfigError, match=r"operator\.pki\.refused\.initial_segw\.expired\.cert .*not expired"
    ):
        impostors("initial_segw", NAME, real, None, rogue, swapped, ca.files.cert, IKE_PROPOSALS, tmp_path)
    right = RefusedCerts(wrong_name=ServerCertConfig(cert=real.cert, key=real.key))
    with pytest.raises(
        ConfigError, match=r"refused\.initial_segw\.wrong_name\.cert .*carries the SeGW's name"
    ):
        impostors("initial_segw", NAME, real, None, rogue, right, ca.files.cert, IKE_PROPOSALS, tmp_path)
    trusted = RefusedCerts(untrusted_ca=ServerCertConfig(cert=real.cert, key=real.key))
    with pytest.raises(ConfigError, match=r"refused\.initial_segw\.untrusted_ca\.cert .*is issued by the CA"):
        impostors("initial_segw", NAME, real, None, rogue, trusted, ca.files.cert, IKE_PROPOSALS, tmp_path)
    other_key = RefusedCerts(expired=ServerCertConfig(cert=expired.cert, key=wrong.key))
    with pytest.raises(ConfigError, match=r"refused\.initial_segw\.expired\.key .* is not the private key"):
        impostors("initial_segw", NAME, real, None, rogue, other_key, ca.files.cert, IKE_PROPOSALS, tmp_path)


def test_the_weak_proposal_is_outside_the_policy() -> None:
    assert weak_proposal(IKE_PROPOSALS) == WEAK_PROPOSALS[0]
    assert weak_proposal(["aes128-sha1-modp1024-modp2048"]) == WEAK_PROPOSALS[1]
    with pytest.raises(ConfigError, match="operator.ike_proposals holds every weak proposal"):
        weak_proposal(["aes128-3des-sha1-md5-modp768-modp1024"])

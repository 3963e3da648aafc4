"""Impostor SeGWs (TS 33.320): what the bench's SeGW presents to a unit before the real one, each of which the unit
must refuse: a certificate from a CA it does not trust, an expired certificate, a certificate for another name
than the FQDN it resolved, and IKE proposals outside the operator's policy. Generated per run, or the lab's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bench.errors import ConfigError
from bench.operator_pki import (
    RefusedCerts,
    ServerCertConfig,
    _carries,
    _issued_by,
    _read_certs,
    _read_key,
    _same_key,
    _san_entries,
    _wanted,
)
from bench.pki import CertFiles, CertificateAuthority

SegwRole = Literal["initial_segw", "serving_segw"]
# The SeGWs of the topology (its keys) and their roles in operator.pki.
SEGW_ROLES: dict[str, SegwRole] = {"isegw": "initial_segw", "ssegw": "serving_segw"}

# In the order the bench presents them; each is a check of its own (its key is the check's key).
KEYS = ("untrusted_ca", "expired", "wrong_name", "weak_proposal")

# Proposals no operator policy should hold (MODP-1024 and weaker): the first one outside the policy is offered.
WEAK_PROPOSALS = ("aes128-sha1-modp1024", "3des-sha1-modp1024", "aes128-md5-modp768")


@dataclass(frozen=True)
class Impostor:
    """One impostor: `key` (KEYS), `what` it presents in words, its certificate (None: the real SeGW's) and
    its IKE proposals (empty: the operator's)."""

    key: str
    what: str
    cert: CertFiles | None = None
    proposals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Missing:
    """An impostor the bench cannot make: why, naming the inventory key that would give it."""

    key: str
    why: str


def weak_proposal(policy: list[str]) -> str:
    """The first of WEAK_PROPOSALS with an algorithm that no proposal of `policy` has."""
    for candidate in WEAK_PROPOSALS:
        if not any(set(candidate.split("-")) <= set(p.split("-")) for p in policy):
            return candidate
    raise ConfigError(
        f"operator.ike_proposals holds every weak proposal the bench would offer ({', '.join(WEAK_PROPOSALS)}): "
        "the policy allows MODP-1024, 3DES or MD5"
    )


def impostors(
    role: str,
    name: str,
    real: CertFiles,
    issuer: CertificateAuthority | None,
    rogue: CertificateAuthority,
    given: RefusedCerts | None,
    ca_cert: Path,
    policy: list[str],
    folder: Path,
) -> tuple[list[Impostor], list[Missing]]:
    """The impostors of the SeGW `role` whose real certificate `real` names `name`: the lab's (`given`,
    operator.pki.refused.ROLE, checked here), else issued by `issuer` (the operator CA, when the bench has its
    key) and `rogue` (a CA the unit does not trust). The expired one is from the CA, valid until an hour ago;
    the one for another name carries the real SeGW's key (as a certificate reissued for a wrong name does)."""
    where = f"operator.pki.refused.{role}"
    given = given or RefusedCerts()
    ca_certs = _read_certs(ca_cert, "operator.pki.ca_cert")
    now = dt.datetime.now(dt.UTC)
    out: list[Impostor] = []
    missing: list[Missing] = []
    real_key = serialization.load_pem_private_key(real.key.read_bytes(), None)

    cert: CertFiles | None
    if given.untrusted_ca is not None:
        cert = _check(
            given.untrusted_ca, f"{where}.untrusted_ca", name, ca_certs, trusted=False, expired=False
        )
    else:
        cert = rogue.issue(name, file=f"{role}-untrusted-ca")
    assert cert is not None
    out.append(Impostor("untrusted_ca", f"a certificate from an untrusted CA ({_issuer(cert.cert)})", cert))

    if given.expired is not None:
        cert = _check(given.expired, f"{where}.expired", name, ca_certs, trusted=True, expired=True)
    elif issuer is not None:
        valid = (now - dt.timedelta(hours=20), now - dt.timedelta(hours=1))
        cert = issuer.issue(name, valid=valid, file=f"{role}-expired")
    else:
        cert = None
        missing.append(
            Missing("expired", f"{where}.expired not given, and no operator.pki.ca_key to issue it")
        )
    if cert is not None:
        until = _read_certs(cert.cert, str(cert.cert))[0].not_valid_after_utc
        out.append(
            Impostor("expired", f"an expired certificate (valid until {until:%Y-%m-%d %H:%M} UTC)", cert)
        )

    if given.wrong_name is not None:
        cert = _check(given.wrong_name, f"{where}.wrong_name", name, ca_certs, trusted=True, expired=False)
    elif issuer is not None:
        cert = issuer.issue(f"other-{name}", key=real_key, file=f"{role}-wrong-name")
    else:
        cert = None
        missing.append(
            Missing("wrong_name", f"{where}.wrong_name not given, and no operator.pki.ca_key to issue it")
        )
    if cert is not None:
        carries = _carries(_read_certs(cert.cert, str(cert.cert))[0])
        out.append(Impostor("wrong_name", f"a certificate for another name than {name} ({carries})", cert))

    weak = weak_proposal(policy)
    out.append(
        Impostor(
            "weak_proposal", f"only IKE proposals outside operator.ike_proposals ({weak})", None, (weak,)
        )
    )
    return out, missing


def _issuer(path: Path) -> str:
    return _read_certs(path, str(path))[0].issuer.rfc4514_string()


def _check(
    files: ServerCertConfig,
    where: str,
    name: str,
    ca_certs: list[x509.Certificate],
    trusted: bool,
    expired: bool,
) -> CertFiles:
    """A lab-given impostor certificate is what its key says: from the unit's CA or not (`trusted`), for the
    SeGW's name or not (`expired`/`trusted`: the wrong-name one is the only trusted and valid one), expired or
    valid now, and its key is the one given."""
    cert = _read_certs(files.cert, f"{where}.cert")[0]
    key = _read_key(files.key, f"{where}.key", None, server=True)
    shown = f"{where}.cert ({files.cert})"
    if not _same_key(cert, key):
        raise ConfigError(f"{where}.key ({files.key}) is not the private key of {shown}")
    chained = any(_issued_by(cert, ca) for ca in ca_certs)
    if chained != trusted:
        said = "is not issued by" if trusted else "is issued by"
        raise ConfigError(f"{shown}: {said} the CA in operator.pki.ca_cert ({_issuer(files.cert)})")
    now = dt.datetime.now(dt.UTC)
    if expired and cert.not_valid_after_utc >= now:
        raise ConfigError(f"{shown}: not expired (valid until {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC)")
    if not expired and not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ConfigError(f"{shown}: not valid now (only the expired impostor may be)")
    carries = _wanted(name) in _san_entries(cert)
    wrong_name = trusted and not expired
    if carries == wrong_name:
        said = "carries" if wrong_name else "does not carry"
        raise ConfigError(f"{shown}: {said} the SeGW's name {name!r} ({_carries(cert)})")
    return CertFiles(files.cert, files.key)

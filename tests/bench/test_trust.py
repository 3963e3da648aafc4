"""Trust and IKE as a lab configures them: ready-made RSA server certificates with no CA key, a device
certificate from a vendor CA trusted through unit_trust, an IKE identity pattern, proposal lists in charon."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from bench.errors import ConfigError
from bench.ike import ike_id_matches
from bench.network.state import leftovers
from bench.operator_pki import PkiConfig, load_unit_trust
from bench.pki import CertificateAuthority
from tests.support import PREFIX, henb_bench, needs_root

ROLES = {
    "initial_segw": "isegw.operator.example",
    "serving_segw": "ssegw.operator.example",
    "initial_hems": "ihems.operator.example",
    "serving_hems": "shems.operator.example",
    "fileserver": "files.operator.example",
}


def edit(inventory: Path, operator: dict[str, Any], unit: dict[str, Any] | None = None) -> Path:
    data = yaml.safe_load(inventory.read_text())
    data["operator"].update(operator)
    for u in data["units"].values():
        for key, value in (unit or {}).items():
            if isinstance(value, dict):
                u.setdefault(key, {}).update(value)
            else:
                u[key] = value
    inventory.write_text(yaml.safe_dump(data))
    return inventory


def ready_made(tmp_path: Path, key_type: str, refused: bool = False) -> dict[str, Any]:
    """`operator.pki` as a lab gives it: the CA certificate and one certificate per server, no CA key; with
    `refused` also the impostor SeGWs' expired and wrong-name certificates from that CA (operator.pki.refused)."""
    ca = CertificateAuthority(tmp_path / "lab-ca", name="lab operator CA")
    certs = {}
    for role, name in ROLES.items():
        files = ca.issue(name, key_type=key_type)  # type: ignore[arg-type]
        certs[role] = {"cert": str(files.cert), "key": str(files.key)}
    pki: dict[str, Any] = {"ca_cert": str(ca.files.cert), "certs": certs}
    if refused:
        now = dt.datetime.now(dt.UTC)
        pki["refused"] = {}
        for role in ("initial_segw", "serving_segw"):
            name = ROLES[role]
            expired = ca.issue(name, key_type=key_type, valid=(now - dt.timedelta(days=9), now - dt.timedelta(hours=1)),  # type: ignore[arg-type]
                               file=f"{role}-expired")  # fmt: skip
            wrong = ca.issue(f"other-{name}", key_type=key_type, file=f"{role}-wrong")  # type: ignore[arg-type]
            pki["refused"][role] = {
                "expired": {"cert": str(expired.cert), "key": str(expired.key)},
                "wrong_name": {"cert": str(wrong.cert), "key": str(wrong.key)},
            }
    return pki


def charon_logs(out: Path) -> str:
    logs = next(out.iterdir()) / "logs"
    return "".join(p.read_text(errors="replace") for p in logs.glob("*charon.log"))


def test_ike_identity_exact_or_pattern() -> None:
    assert ike_id_matches("00D0B7-MOCK0001.henb", "00D0B7-MOCK0001.henb")
    assert ike_id_matches("C=DE, O=Vendor, CN=*", "C=DE, O=Vendor, CN=HeNB 1234")
    assert not ike_id_matches("C=DE, O=Vendor, CN=*", "C=DE, O=Other, CN=HeNB 1234")
    assert not ike_id_matches("00D0B7-MOCK0001.henb", "other-00D0B7-MOCK0001.henb")
    assert not ike_id_matches("*.henb", None)


def test_unit_trust_must_hold_ca_certificates(tmp_path: Path) -> None:
    vendor = CertificateAuthority(tmp_path / "vendor", name="vendor root")
    pem = load_unit_trust([vendor.files.cert], "operator.pki.unit_trust")
    assert x509.load_pem_x509_certificate(pem[0]).subject == vendor.cert.subject
    leaf = vendor.issue("unit.example", server=False)
    with pytest.raises(ConfigError, match=r"operator.pki.unit_trust\[0\] .* is not a CA certificate"):
        load_unit_trust([leaf.cert], "operator.pki.unit_trust")
    with pytest.raises(ConfigError, match=r"unit_trust\[0\]: cannot read"):
        load_unit_trust([tmp_path / "missing.pem"], "operator.pki.unit_trust")


def test_rsa_server_keys_are_issued(tmp_path: Path) -> None:
    from bench.operator_pki import load_pki

    pki = load_pki(PkiConfig(key_type="rsa"), ROLES, tmp_path)
    cert = x509.load_pem_x509_certificate(pki.certs["initial_segw"].cert.read_bytes())
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]


@pytest.mark.netns
@needs_root()
def test_vendor_device_certificate_rsa_servers_and_no_ca_key(fast_inventory: Path, tmp_path: Path) -> None:
    """A lab's PKI: ready-made RSA server certificates (file server included) and no ca_key; the unit's device
    certificate from its vendor CA, whose root the SeGWs trust; the identity given as a pattern. The whole plan."""
    extra = CertificateAuthority(tmp_path / "extra", name="second vendor root")
    pki = {**ready_made(tmp_path, "rsa", refused=True), "unit_trust": [str(extra.files.cert)]}
    inv = edit(
        fast_inventory, {"pki": pki}, {"mock": {"vendor_ca": True}, "identity": {"ike_id": "*-MOCK0001.henb"}}
    )
    out = tmp_path / "out"
    # The whole plan (5.2.4 moves the unit between pools by the pattern too).
    res = henb_bench("--inventory", str(inv), "run", "--out", str(out))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "FAILED" not in res.stdout and "PASSED  5.2.4" in res.stdout, res.stdout[-3000:]
    logs = charon_logs(out)
    assert "second vendor root" in logs and "henb-bench mock vendor root" in logs
    assert "RSA" in logs  # the SeGWs authenticated with their RSA keys


@pytest.mark.netns
@needs_root()
def test_no_ca_key_for_a_mock_unit_from_the_operator_ca_is_a_config_error(
    fast_inventory: Path, tmp_path: Path
) -> None:
    inv = edit(fast_inventory, {"pki": ready_made(tmp_path, "ecdsa")})
    res = henb_bench("--inventory", str(inv), "run", "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stdout[-2000:] + res.stderr[-2000:]
    text = res.stdout + res.stderr
    assert "no ca_key" in text and "units.henb-01.mock.vendor_ca: true" in text, text[-2000:]
    assert leftovers(PREFIX)["namespaces"] == []


@pytest.mark.netns
@needs_root()
def test_a_proposal_outside_the_inventory_list_fails_at_1_3_with_charons_reason(
    fast_inventory: Path, tmp_path: Path
) -> None:
    """The mock proposes AES128-SHA256-ECP256 only; an operator that accepts only AES-GCM with ECP-384 refuses it."""
    # No flash: factory-fresh, the unit goes to the Initial SeGW (step 1.3) whatever an earlier run set.
    inv = edit(
        fast_inventory, {"ike_proposals": ["aes256gcm16-prfsha384-ecp384"]}, {"mock": {"flash": False}}
    )
    out = tmp_path / "out"
    res = henb_bench("--inventory", str(inv), "run", "--clause", "5.1.2.2", "--exitfirst", "--out", str(out))
    text = res.stdout + res.stderr
    assert res.returncode == 1, text[-3000:]
    summary = text[text.rfind("henb-bench:") :]
    # A factory-fresh unit fails at step 1.3; one whose flash holds the Serving SeGW from an earlier run
    # fails the pre-condition; either way with charon's reason.
    assert (
        "TS 32.593 5.1.2.2 step 1.3" in summary or "(pre-condition)" in summary or "factory-fresh" in summary
    )
    assert "isegw charon refused" in summary and "ECP_384" in summary, summary

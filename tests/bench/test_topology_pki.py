"""The bench runs with the operator PKI a physical unit was provisioned with, and refuses a certificate that
does not carry the name the unit will be given, before anything is started."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.network.state import leftovers
from bench.pki import CertificateAuthority
from tests.support import PREFIX, henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]


def with_pki(inventory: Path, pki: dict[str, object]) -> Path:
    data = yaml.safe_load(inventory.read_text())
    data["operator"]["pki"] = pki
    inventory.write_text(yaml.safe_dump(data))
    return inventory


def test_a_provisioned_ca_from_files_is_used(fast_inventory: Path, tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "lab-ca", name="lab operator CA")
    inv = with_pki(fast_inventory, {"ca_cert": str(ca.files.cert), "ca_key": str(ca.files.key)})
    res = henb_bench("--inventory", str(inv), "run", "--clause", "5.1.2.2", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    logs = next((tmp_path / "out").iterdir()) / "logs"
    assert "lab operator CA" in "".join(p.read_text(errors="replace") for p in logs.glob("*charon.log"))


def test_a_server_certificate_for_another_name_is_a_config_error(
    fast_inventory: Path, tmp_path: Path
) -> None:
    ca = CertificateAuthority(tmp_path / "lab-ca", name="lab operator CA")
    wrong = ca.issue("segw-old.operator.example")
    inv = with_pki(
        fast_inventory,
        {
            "ca_cert": str(ca.files.cert),
            "ca_key": str(ca.files.key),
            "certs": {"serving_segw": {"cert": str(wrong.cert), "key": str(wrong.key)}},
        },
    )
    res = henb_bench("--inventory", str(inv), "run", "--out", str(tmp_path / "out"))
    assert res.returncode == 2, res.stdout[-2000:] + res.stderr[-2000:]
    assert "operator.pki.certs.serving_segw" in res.stderr
    assert "ssegw.operator.example" in res.stderr and "segw-old.operator.example" in res.stderr
    assert leftovers(PREFIX)["namespaces"] == []

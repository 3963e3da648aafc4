"""Tests for bench/report/redact.py: the inventory's secrets never reach the evidence's text files."""

from __future__ import annotations

import tarfile
from pathlib import Path

import yaml

from bench.inventory import parse_inventory
from bench.report.redact import MASK, Redactor, inventory_secrets
from tests.bench.report.fakerun import COMMUNITY, HEMS_PASSWORD, SHELL_PASSWORD, inventory_data, make_fake_run


def test_secrets_are_collected_from_secretstr_fields_and_secret_keys(tmp_path: Path) -> None:
    data = inventory_data()
    data["units"]["henb-02"] = {
        "identity": {"oui": "00D0B7", "product_class": "X", "serial_number": "S2"},
        "power": {
            "driver": "snmp-pdu",
            "host": "pdu",
            "outlet": 1,
            "v3": {"user": "u", "auth_key": "auth-key-123", "priv_key": "priv-key-456"},
        },
        "console": {"driver": "mock"},
        "wan": {"driver": "mock"},
    }
    inv = parse_inventory(data, tmp_path / "inv.yaml")
    assert inventory_secrets(inv) >= {COMMUNITY, SHELL_PASSWORD, "auth-key-123", "priv-key-456"}
    # Plain YAML data (a future HeMS or file-server section) is searched by key name.
    raw = {"hems": {"users": [{"name": "unit", "password": "pw-1"}], "cr_password": "pw-2", "realm": "x"}}
    assert inventory_secrets(raw) == {"pw-1", "pw-2"}


def test_redactor_masks_secrets_but_not_the_bench_own_names() -> None:
    r = Redactor([COMMUNITY, 'q"uote'])
    assert r.text("community private, asked private-dns") == f"community {MASK}, asked private-dns"
    assert r.text('{"v": "q\\"uote"}') == f'{{"v": "{MASK}"}}'
    assert r.obj({"a": ["private", 1], "private": "x"}) == {"a": [MASK, 1], MASK: "x"}
    assert Redactor([]).text("private") == "private"


def test_a_fake_run_with_secrets_leaks_none_of_them(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(inventory_data()))
    run_dir = make_fake_run(tmp_path / "captures", inv, failing=True)
    texts = {
        p: p.read_text(errors="replace")
        for p in run_dir.rglob("*")
        if p.is_file() and p.suffix not in (".pcapng", ".gz")
    }
    names = {p.name for p in texts}
    assert {
        "timeline.jsonl",
        "run.json",
        "report.html",
        "console.log",
        "initial-hems-transcript.txt",
    } <= names
    assert "console-henb-01.log" in names
    for path, text in texts.items():
        for secret in (SHELL_PASSWORD, HEMS_PASSWORD):
            assert secret not in text, path
        assert "community=private" not in text and '"community": "private"' not in text, path
    # The redaction is there, not an empty file.
    assert MASK in (run_dir / "timeline.jsonl").read_text()
    assert MASK in next(run_dir.rglob("initial-hems-transcript.txt")).read_text()
    assert "private-dns" in (run_dir / "timeline.jsonl").read_text()
    assert '"community": "[redacted]"' in (run_dir / "timeline.jsonl").read_text()
    with tarfile.open(run_dir / "test_discovery_via_initial_hems_in_private_network.tar.gz") as tar:
        for member in tar.getmembers():
            f = tar.extractfile(member)
            if f is not None and not member.name.endswith(".pcapng"):
                assert SHELL_PASSWORD.encode() not in f.read(), member.name

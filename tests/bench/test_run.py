"""Tests for bench/run.py's run record: versions, git revision, inventory digest, identity as reported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from bench.run import clause_catalogue, file_sha256, git_revision, reported_identity
from bench.timeline import Timeline
from tests.bench.report.fakerun import inventory_data, make_fake_run


def test_git_revision_here_and_none_outside_git(tmp_path: Path) -> None:
    rev = git_revision()
    assert rev is None or len(rev.removesuffix("-dirty")) == 40
    assert git_revision(tmp_path) is None


def test_reported_identity_is_the_first_inform() -> None:
    tl = Timeline()
    assert reported_identity(tl.events()) == {}
    params = {"Device.DeviceInfo.SoftwareVersion": "4.2.1", "Device.DeviceInfo.HardwareVersion": "B"}
    tl.add("hems", "inform", hems="initial-hems", serial="S1", oui="00D0B7", product_class="P", params=params)
    tl.add(
        "hems", "inform", hems="serving-hems", serial="S1", params={"Device.DeviceInfo.SoftwareVersion": "5"}
    )
    assert reported_identity(tl.events()) == {
        "oui": "00D0B7",
        "product_class": "P",
        "serial": "S1",
        "SoftwareVersion": "4.2.1",
        "HardwareVersion": "B",
    }


def test_run_json_records_versions_digest_identity_measurements_and_clauses(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(inventory_data()))
    run_dir = make_fake_run(tmp_path / "captures", inv)
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["inventory_sha256"] == hashlib.sha256(inv.read_bytes()).hexdigest() == file_sha256(inv)
    assert summary["tool_version"] and "git_revision" in summary
    assert summary["reported"]["SoftwareVersion"] == "fw-9.8.7"
    assert summary["started"] <= summary["ended"]
    assert summary["measurements"] == summary["results"][0]["measurements"]
    assert summary["measurements"]["first_inform"] == 0.5
    assert summary["clauses"] == clause_catalogue() and "5.1.2.2" in summary["clauses"]
    assert file_sha256(tmp_path / "missing") is None

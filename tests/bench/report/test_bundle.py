"""Tests for bench/report/bundle.py and the `henb-bench report` and `bundle` commands."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import yaml

from bench.errors import ConfigError
from bench.report.bundle import build_bundle
from tests.bench.report.fakerun import inventory_data, make_fake_run
from tests.support import henb_bench

TEST = "test_discovery_via_initial_hems_in_private_network"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(inventory_data()))
    return make_fake_run(tmp_path / "captures", inv, failing=True)


def test_a_failed_test_gets_a_bundle_with_its_folder_and_the_run_metadata(run_dir: Path) -> None:
    bundle = run_dir / f"{TEST}.tar.gz"
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
    root = run_dir.name
    assert {f"{root}/run.json", f"{root}/{TEST}/timeline.jsonl", f"{root}/{TEST}/outer.pcapng"} <= names
    assert {f"{root}/{TEST}/console.log", f"{root}/{TEST}/initial-hems-transcript.txt"} <= names
    assert f"{root}/{TEST}/hems-initial-hems-tls-keys.log" in names  # the TLS key log, for Wireshark
    assert f"{root}/{TEST}/power.csv" in names
    with pytest.raises(ConfigError, match="no evidence folder for test 'test_nope'.*" + TEST):
        build_bundle(run_dir, "test_nope")


def test_report_and_bundle_commands(run_dir: Path, tmp_path: Path) -> None:
    (run_dir / "report.html").unlink()
    res = henb_bench("--inventory", str(tmp_path / "inv.yaml"), "report", str(run_dir))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(run_dir / "report.html")
    assert "<svg" in (run_dir / "report.html").read_text()

    out = tmp_path / "b.tar.gz"
    res = henb_bench("bundle", str(run_dir), TEST, "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert tarfile.is_tarfile(out)

    res = henb_bench("report", str(tmp_path))
    assert res.returncode == 2 and "not a run folder" in res.stderr

"""Bug bundles: one failed test's evidence folder plus the run's metadata, as `<test>.tar.gz`, ready to attach.
A bundle that can leave the lab (secrets masked, TLS decrypted, no key log) is bench/report/shareable.py."""

from __future__ import annotations

import tarfile
from pathlib import Path

from bench.errors import ConfigError

RUN_FILES = ("run.json", "junit.xml")


def test_folder(run_dir: Path, test: str) -> Path:
    """The test's evidence folder in the run; ConfigError naming the tests there when it has none."""
    test_dir = run_dir / test
    if not test_dir.is_dir():
        tests = sorted(p.name for p in run_dir.iterdir() if p.is_dir() and p.name.startswith("test"))
        raise ConfigError(
            f"{run_dir}: no evidence folder for test {test!r}; tests: {', '.join(tests) or 'none'}"
        )
    return test_dir


def build_bundle(run_dir: Path, test: str, out: Path | None = None) -> Path:
    """Write `<run_dir>/<test>.tar.gz` (or `out`): `<run-id>/<test>/...` and the run's run.json and junit.xml."""
    test_dir = test_folder(run_dir, test)
    path = out or run_dir / f"{test}.tar.gz"
    root = run_dir.name
    with tarfile.open(path, "w:gz") as tar:
        for name in RUN_FILES:
            if (run_dir / name).is_file():
                tar.add(run_dir / name, f"{root}/{name}")
        tar.add(test_dir, f"{root}/{test}")
    return path

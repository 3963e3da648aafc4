"""The repository stands alone: the vendored BBF files are complete, licensed and packaged, the architecture
is described inside it, and nothing the project ships refers to a path outside it."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from lxml import etree

from bench import bbf

ROOT = Path(__file__).resolve().parents[2]
LICENCE_LINES = (
    "Redistribution and use in source and binary forms",
    "Neither the name of the copyright holder nor the names of its",
    'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND\n  CONTRIBUTORS "AS IS"',
)
# What a user's clone holds and the project reads or runs (the vendored BBF files themselves excepted).
SHIPPED = ["bench", "drivers", "testplans", "tests", "benchmarks", "docs", ".ci"]
SHIPPED_FILES = ["Makefile", "README.md", "pyproject.toml", "inventory.yaml"]
TEXT = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".sh", ".cfg", ".ini", ""}
# A path that leaves the repository: a parent-directory hop, or the development machine's work folders.
OUTSIDE = re.compile(r"(?<!\.)\.\./(?:\.\.|[A-Za-z_])|/work/|\bshared/reference\b")


@pytest.mark.parametrize("name", bbf.FILES)
def test_each_vendored_file_is_there_with_its_bsd_licence(name: str) -> None:
    path = bbf.BBF_DIR / name
    head = path.read_text(encoding="utf-8")[:3000]
    assert "Copyright (c)" in head and "Broadband Forum" in head, f"{name}: no BBF copyright line"
    for line in LICENCE_LINES:
        assert line in head, f"{name}: licence header lacks {line!r}"
    etree.parse(str(path), etree.XMLParser(no_network=True, huge_tree=True))


def test_the_folder_says_what_whence_which_version_and_licence() -> None:
    readme = (bbf.BBF_DIR / "README.md").read_text()
    licence = (bbf.BBF_DIR / "LICENSE").read_text()
    for name in bbf.FILES:
        assert f"`{name}`" in readme, f"bench/bbf/README.md does not describe {name}"
        assert name in licence, f"bench/bbf/LICENSE does not name {name}"
    assert "BSD-3-Clause" in readme and LICENCE_LINES[0] in licence


def test_pyproject_ships_the_vendored_files_as_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data.get("bench.bbf", [])
    for name in (*bbf.FILES, "LICENSE", "README.md"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"package-data for bench.bbf misses {name}"


def _shipped_text_files() -> list[Path]:
    files = [ROOT / f for f in SHIPPED_FILES if (ROOT / f).exists()]
    for top in SHIPPED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in TEXT and "__pycache__" not in path.parts:
                files.append(path)
    return [f for f in files if bbf.BBF_DIR not in f.parents]


def test_nothing_shipped_refers_to_a_path_outside_the_repository() -> None:
    files = _shipped_text_files()
    assert ROOT / "README.md" in files and ROOT / "bench" / "mock" / "bbf.py" in files
    here = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        if path != here
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_readme_points_to_the_architecture_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    built = readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    assert "docs/architecture.md" in built
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for part in (
        "## Layers",
        "## A run's life",
        "## Error kinds",
        "## The event timeline",
        "## The mock unit",
    ):
        assert part in architecture, f"docs/architecture.md lacks {part!r}"

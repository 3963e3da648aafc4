"""Every program the bench executes and every charon plugin it loads comes from a Debian package the Makefile
installs (or from a hard dependency of one): `make demo` on a bare Debian host must not find one missing."""

from __future__ import annotations

import ast
import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from typing import TypeVar

import pytest

from bench.doctor import PLUGIN_DIR, PROGRAMS, deb_packages
from bench.services.charon import PLUGINS
from tests.support import ROOT

T = TypeVar("T")


def debian(test: T) -> T:
    """Runs where dpkg is (CI is Debian 12); marked `debian`."""
    skip = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian host (no dpkg-query)")
    return pytest.mark.debian(skip(test))  # type: ignore[return-value]


def makefile_deb() -> list[str]:
    """The DEB list as the Makefile computes it (make evaluates the variable, as `make deps` does)."""
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval=hb-print-deb: ; @echo $(DEB)", "hb-print-deb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.split()


def owners(paths: Iterable[str]) -> dict[str, str | None]:
    """The Debian package that ships each path (one dpkg -S for all), also under its pre-usrmerge name."""
    names = {}
    for path in paths:
        real = os.path.realpath(path)
        names[path] = list(
            dict.fromkeys(
                [path, real, *(p.removeprefix("/usr") for p in (path, real) if p.startswith("/usr/"))]
            )
        )
    done = subprocess.run(
        ["dpkg-query", "-S", *{n for ns in names.values() for n in ns}],
        capture_output=True,
        text=True,
        timeout=60,
    )
    shipped = {}
    for row in done.stdout.splitlines():
        packages, _, where = row.partition(": ")
        if not row.startswith("diversion by"):
            shipped[where] = packages.split(",")[0].strip().split(":")[0]
    return {path: next((shipped[n] for n in ns if n in shipped), None) for path, ns in names.items()}


@functools.cache
def installed() -> tuple[dict[str, list[str]], frozenset[str]]:
    """Of every installed package: its hard dependencies (Depends and Pre-Depends; of alternatives `a | b`, the
    one apt picks: the first), and which packages are Essential (on every Debian system: dash, coreutils ...)."""
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\t${Essential}\t${Depends}, ${Pre-Depends}\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    graph: dict[str, list[str]] = {}
    essential = set()
    for row in done.stdout.splitlines():
        package, flag, depends = row.split("\t")
        if flag == "yes":
            essential.add(package)
        firsts = (group.split("|")[0].strip() for group in depends.split(","))
        graph[package] = [first.split()[0].split(":")[0] for first in firsts if first]
    return graph, frozenset(essential)


def hard_depends(package: str) -> list[str]:
    return installed()[0].get(package, [])


def closure(roots: Iterable[str], depends: Callable[[str], list[str]]) -> set[str]:
    """The packages installing `roots` brings: they and their hard dependencies, recursively."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo.extend(depends(package))
    return seen


def not_installed_by(
    deb: list[str], owners: dict[str, str | None], depends: Callable[[str], list[str]], base: set[str]
) -> list[str]:
    """What the bench needs (`owners`: file -> its package) that installing `deb` would not bring; one line each,
    naming the package to add."""
    brought = closure(deb, depends) | base
    problems = []
    for path, package in owners.items():
        if package is None:
            problems.append(f"{path}: no Debian package ships it here (is it installed?)")
        elif package not in brought:
            problems.append(
                f"{path} is in Debian package {package}, which the Makefile does not install: "
                f"add {package} to bench/deb-packages.txt"
            )
    return problems


@functools.cache
def needed_files() -> dict[str, str | None]:
    """Every charon plugin in the load list and every program in the doctor's table. (Not the venv's Python:
    `make` builds it with whatever python3 is first on PATH, Debian's only on a bare host.)"""
    files = [str(PLUGIN_DIR / f"libstrongswan-{name}.so") for name in PLUGINS.split()]
    for program in PROGRAMS:
        files.append(
            program if os.path.isabs(program) else shutil.which(program) or f"{program} (not on PATH)"
        )
    return owners(files)


@debian
def test_every_plugin_and_program_comes_from_a_package_the_makefile_installs() -> None:
    deb = makefile_deb()
    assert "libstrongswan-standard-plugins" in deb  # charon's openssl plugin (issue 10)
    problems = not_installed_by(deb, needed_files(), hard_depends, set(installed()[1]))
    assert problems == [], "\n".join(problems)


@debian
def test_a_makefile_list_lacking_a_package_is_named() -> None:
    deb = [p for p in makefile_deb() if p != "libstrongswan-standard-plugins"]
    problems = not_installed_by(deb, needed_files(), hard_depends, set(installed()[1]))
    assert problems == [
        f"{PLUGIN_DIR}/libstrongswan-openssl.so is in Debian package libstrongswan-standard-plugins, which the "
        "Makefile does not install: add libstrongswan-standard-plugins to bench/deb-packages.txt"
    ]


def test_hard_dependencies_count_and_alternatives_take_apts_choice() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": [], "x": []}
    owners: dict[str, str | None] = {"/p/c": "c", "/p/x": "x", "/p/e": "ess", "/p/none": None}
    problems = not_installed_by(["a"], owners, lambda p: graph.get(p, []), {"ess"})
    assert problems == [
        "/p/x is in Debian package x, which the Makefile does not install: add x to bench/deb-packages.txt",
        "/p/none: no Debian package ships it here (is it installed?)",
    ]


@debian
def test_the_makefile_and_the_doctor_read_one_list() -> None:
    assert makefile_deb() == list(deb_packages())


@debian
def test_the_doctors_program_table_names_the_package_that_ships_each() -> None:
    paths = {p: p if os.path.isabs(p) else shutil.which(p) or f"{p} (not on PATH)" for p in PROGRAMS}
    shipped = owners(paths.values())
    wrong = [f"{paths[p]}: dpkg says {shipped[paths[p]]}, PROGRAMS says {pkg}" for p, pkg in PROGRAMS.items()
             if shipped[paths[p]] != pkg]  # fmt: skip
    assert wrong == [], "\n".join(wrong)


def executed_programs() -> set[str]:
    """Programs named in code that runs programs: the first word of a literal argv list, what shutil.which is
    asked for, absolute paths of executables held in module constants."""
    found: set[str] = set()
    for folder in ("bench", "drivers", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if not any(word in text for word in ("subprocess", "netns_command", "Popen")):
                continue
            tree = ast.parse(text)
            # A list compared with something (`words == ["reboot"]`, a console command parsed) runs nothing.
            compared = {
                id(c) for n in ast.walk(tree) if isinstance(n, ast.Compare) for c in [n.left, *n.comparators]
            }
            for node in ast.walk(tree):
                words: list[object] = []
                if (
                    isinstance(node, ast.List)
                    and id(node) not in compared
                    and node.elts
                    and isinstance(node.elts[0], ast.Constant)
                ):
                    words.append(node.elts[0].value)
                elif isinstance(node, ast.Call) and ast.unparse(node.func) == "shutil.which" and node.args:
                    words.append(getattr(node.args[0], "value", None))
                elif (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.value.startswith("/")
                ):
                    words.append(node.value)
                for word in words:
                    if not isinstance(word, str) or not word or " " in word:
                        continue
                    is_file = os.path.isabs(word) and os.path.isfile(word) and os.access(word, os.X_OK)
                    if is_file or (not os.path.isabs(word) and shutil.which(word)):
                        found.add(word)
    return found


@debian
def test_every_program_the_code_executes_is_in_the_doctors_table() -> None:
    found = executed_programs()
    assert {"ip", "git", "dnsmasq", "chromium", "/usr/lib/ipsec/charon"} <= found  # the scan sees them
    known = {os.path.basename(p) for p in PROGRAMS}
    missing = sorted(p for p in found if os.path.basename(p) not in known)
    assert missing == [], (
        f"executed but not in bench/doctor.py PROGRAMS (nor checked by tests/test_packages.py): {missing}"
    )

"""The project uses pytest through its public API only: no `_pytest` import, and no private attribute of pytest's
(`item._request`, `item._fixtureinfo`, ...) read on a pytest object, so a pytest release cannot break the bench
by changing its insides (pytest 9 changed how node ids are kept, and pytest-xdist's loadgroup broke on it)."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

FOLDERS = ("bench", "drivers", "testplans", "tests", "benchmarks")
# Always private to pytest, whatever the project calls its own attributes (drivers/power/pdu_snmp.py has a
# `self._request` of its own, which is fine; `item._request` is not).
PYTEST_PRIVATE = {"_request", "_fixtureinfo", "_nodeid", "_id", "_obj", "_fixturemanager", "_setupstate",
                  "_pyfuncitem", "_arg2fixturedefs", "_fixture_defs", "_initrequest", "_store"}  # fmt: skip


@functools.cache
def pytest_private_names() -> frozenset[str]:
    """Every `self._name` pytest's own modules use (its objects' private attributes and methods)."""
    names: set[str] = set()
    for path in (Path(pytest.__file__).parents[1] / "_pytest").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and _on_self(node) and _private(node.attr):
                names.add(node.attr)
    return frozenset(names)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _on_self(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def _attribute_read(node: ast.AST) -> str | None:
    """The attribute `node` reads on something other than self: `x.name`, or getattr(x, "name", ...)."""
    if isinstance(node, ast.Attribute) and not _on_self(node):
        return node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "setattr", "hasattr")
        and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


def own_names(trees: list[ast.Module]) -> set[str]:
    """The private names the project gives its own objects (`self._x`, `def _x`, `_x = ...`)."""
    out: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _on_self(node):
                out.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                out.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                out.add(node.id)
    return out


def uses(tree: ast.Module, own: set[str]) -> Iterator[tuple[int, str]]:
    """Where `tree` imports `_pytest` or reads one of pytest's private names on something not its own."""
    pytest_names = pytest_private_names()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "_pytest":
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "_pytest":
            yield node.lineno, f"from {node.module} import ..."
        elif isinstance(node, ast.Name) and node.id == "_pytest":
            yield node.lineno, "_pytest"
        elif (name := _attribute_read(node)) is not None and (
            name in PYTEST_PRIVATE or (name in pytest_names and name not in own)
        ):
            yield node.lineno, ast.unparse(node)


def project_uses(root: Path) -> list[str]:
    files = [p for folder in FOLDERS for p in sorted((root / folder).rglob("*.py"))]
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in files}
    own = own_names(list(trees.values()))
    return [
        f"{p.relative_to(root)}:{line}: {text}"
        for p, tree in trees.items()
        for line, text in sorted(uses(tree, own))
    ]


def test_no_private_name_of_pytest_in_the_project() -> None:
    assert project_uses(ROOT) == []


def test_the_check_finds_what_the_runner_once_used(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "runner.py").write_text(
        "import _pytest.fixtures\n"
        "from _pytest.nodes import Item\n"
        "def call(item, name):\n"
        "    names = item._fixtureinfo.argnames\n"
        "    value = item._request.getfixturevalue(name)\n"
        "    return item.config._inicache, names, value\n"
        "info = getattr(item, '_fixtureinfo', None)\n"
        "class Pdu:\n"
        "    def _request(self):\n"
        "        return self._request()\n"  # a private name of the project's own, on itself: fine
    )
    assert project_uses(tmp_path) == [
        "bench/runner.py:1: import _pytest.fixtures",
        "bench/runner.py:2: from _pytest.nodes import ...",
        "bench/runner.py:4: item._fixtureinfo",
        "bench/runner.py:5: item._request",
        "bench/runner.py:6: item.config._inicache",
        "bench/runner.py:7: getattr(item, '_fixtureinfo', None)",
    ]

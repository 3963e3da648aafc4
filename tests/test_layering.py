"""Layers that only look down: the import graph of bench/, drivers/ and testplans/, read from the AST of every
module (module-level, function-level and TYPE_CHECKING imports all count), against the layer table in
docs/architecture.md; no upward import and no package cycle, each named with its file:line."""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "drivers", "testplans")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (the longest project module the name resolves to)
    where: str  # file:line

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target}"


def project_modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    mods = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Import]:
    mods = project_modules(root, packages)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    found = []
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                # `from bench import errors` imports the module bench.errors; `from bench.x import f` bench.x.
                names = [
                    f"{base}.{a.name}" if resolve(f"{base}.{a.name}") != resolve(base) else base
                    for a in node.names
                ]
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            for name in dict.fromkeys(names):
                target = resolve(name)
                if target is not None and target != mod:
                    found.append(Import(mod, target, where))
    return found


def layer_table(doc: Path) -> dict[str, int]:
    """`module prefix -> layer number` from the table under "### Import layers" in docs/architecture.md."""
    text = doc.read_text(encoding="utf-8").split("### Import layers", 1)[1]
    table: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        if line.startswith("#"):
            break
        m = re.match(r"\|\s*(\d+) [^|]*\|([^|]*)\|", line)
        if m:
            for name in re.findall(r"`([\w.]+)`", m.group(2)):
                table[name] = int(m.group(1))
    return table


def layer_of(module: str, table: dict[str, int]) -> int | None:
    name = module
    while name:
        if name in table:
            return table[name]
        name = name.rpartition(".")[0]
    return None


def unplaced(modules: list[str], table: dict[str, int]) -> list[str]:
    return [m for m in modules if layer_of(m, table) is None]


def upward_imports(graph: list[Import], table: dict[str, int]) -> list[str]:
    bad = []
    for imp in graph:
        src, dst = layer_of(imp.source, table), layer_of(imp.target, table)
        if src is not None and dst is not None and dst > src:
            bad.append(f"{imp} (layer {src} importing layer {dst})")
    return bad


def package_of(module: str) -> str:
    """`bench.network.topology` -> `bench.network`; a top-level module (`bench.errors`) is its own package."""
    return ".".join(module.split(".")[:2])


def package_cycles(graph: list[Import]) -> list[str]:
    """Each loop between packages, as the imports that close it (Tarjan's strongly connected components)."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in graph:
        a, b = package_of(imp.source), package_of(imp.target)
        if a != b:
            edges.setdefault(a, {}).setdefault(b, imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while (w := stack.pop()) != v:
                comp.append(w)
            components.append([v, *comp])

    for v in sorted(edges):
        if v not in index:
            visit(v)
    found = []
    for comp in components:
        if len(comp) < 2:
            continue
        members = set(comp)
        # One loop through the component, from its first package: breadth-first back to the start.
        start = sorted(comp)[0]
        paths: dict[str, list[Import]] = {start: []}
        queue = [start]
        loop: list[Import] | None = None
        while queue and loop is None:
            v = queue.pop(0)
            for w, imp in sorted(edges.get(v, {}).items()):
                if w == start:
                    loop = [*paths[v], imp]
                    break
                if w in members and w not in paths:
                    paths[w] = [*paths[v], imp]
                    queue.append(w)
        assert loop is not None
        found.append(" -> ".join(sorted(comp)) + ": " + "; ".join(map(str, loop)))
    return found


# -- the checker sees what it must -----------------------------------------------------------------

TOY = {
    "low/__init__.py": "",
    "low/a.py": "import os\n",
    "low/b.py": "def f():\n    from high.c import g\n",  # function-level, upward
    "high/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from low import a\n",
    "high/c.py": "from low import a\n",  # downward: fine
    "high/d/__init__.py": "",
    "high/d/e.py": "from high.f import x\n",
    "high/f.py": "from .d import e\n",
}


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    for name, text in TOY.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_checker_sees_an_upward_import_at_function_level(toy: Path) -> None:
    graph = import_graph(toy, ("low", "high"))
    assert upward_imports(graph, {"low": 0, "high": 1}) == [
        "low/b.py:2: low.b imports high.c (layer 0 importing layer 1)"
    ]
    assert "high/__init__.py:3: high imports low.a" in map(str, graph)  # TYPE_CHECKING counts
    assert unplaced(["low.a", "high.c", "other"], {"low": 0, "high": 1}) == ["other"]


def test_the_checker_sees_a_package_cycle(toy: Path) -> None:
    cycles = package_cycles(import_graph(toy, ("low", "high")))
    assert cycles == [
        "high.d -> high.f: high/d/e.py:1: high.d.e imports high.f; high/f.py:1: high.f imports high.d.e"
    ]


def test_the_layer_table_is_read_from_the_architecture_doc() -> None:
    table = layer_table(ROOT / "docs" / "architecture.md")
    assert table["drivers"] == 0 and table["bench.errors"] == 1 and table["bench.unit"] == 3
    assert table["testplans"] == max(table.values())


# -- the project -----------------------------------------------------------------------------------


@functools.cache
def project_graph() -> tuple[Import, ...]:
    """The project's import graph, parsed once for the tests below (about 2.5 s of CPU each time)."""
    return tuple(import_graph(ROOT))


@pytest.mark.xdist_group("layering")  # one worker parses the project once
def test_every_module_has_a_layer_and_imports_only_down() -> None:
    table = layer_table(ROOT / "docs" / "architecture.md")
    assert unplaced(sorted(project_modules(ROOT, PACKAGES)), table) == [], (
        "modules in no layer of docs/architecture.md (Import layers)"
    )
    bad = upward_imports(list(project_graph()), table)
    assert bad == [], "upward imports:\n  " + "\n  ".join(bad)


@pytest.mark.xdist_group("layering")  # one worker parses the project once
def test_no_package_cycle() -> None:
    cycles = package_cycles(list(project_graph()))
    assert cycles == [], "package cycles:\n  " + "\n  ".join(cycles)


@pytest.mark.xdist_group("layering")  # one worker parses the project once
def test_drivers_import_nothing_of_the_bench() -> None:
    bad = [
        str(i)
        for i in project_graph()
        if i.source.startswith("drivers") and not i.target.startswith("drivers")
    ]
    assert bad == [], "drivers importing the bench:\n  " + "\n  ".join(bad)

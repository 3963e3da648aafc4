"""Where a plan module can fail a unit, read from its source (AST), and whether its CLAUSE declares each: every
`steps.fail`/`steps.wait` and every call of a helper that fails a step (`get_values(bench_run, steps, "pre")`)
names a step that must have a declared Check with a Twin (docs/checks-and-twins.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.clauses import Clause

# Helpers outside the plan folder that fail a fixed step (bench.run.Evidence.assert_no_cleartext).
FIXED_STEPS = {"assert_no_cleartext": "security"}
STEPS_NAMES = {"steps"}  # the fixture's name, as the plans spell it


@dataclass(frozen=True)
class Site:
    """One place a plan can fail a unit: file:line, the clause and step it fails, the source of the call."""

    path: Path
    line: int
    clause: str
    step: str
    call: str

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass(frozen=True)
class Unreadable:
    """A failure site whose step is not a literal the audit can follow to one (an f-string, an attribute)."""

    path: Path
    line: int
    call: str


def _step_params(folder: Path) -> dict[str, int]:
    """Every callable of the plan folder with a `step` parameter: name -> its position (classes by __init__,
    without self)."""
    out: dict[str, int] = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            fn: ast.FunctionDef | None = None
            name = ""
            if isinstance(node, ast.ClassDef):
                fn = next(
                    (b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None
                )
                name = node.name
            elif isinstance(node, ast.FunctionDef):
                fn, name = node, node.name
            if fn is None:
                continue
            args = [a.arg for a in fn.args.args]
            if args and args[0] == "self":
                args = args[1:]
            if "step" in args and "steps" in args:
                out.setdefault(name, args.index("step"))
    return out


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_steps(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in STEPS_NAMES) or (
        isinstance(node, ast.Attribute) and node.attr in STEPS_NAMES
    )


def _arg(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[index] if index < len(call.args) else None


def _clause_mark(fn: ast.FunctionDef) -> str | None:
    for dec in fn.decorator_list:
        if (isinstance(dec, ast.Call) and _name(dec.func) == "clause" and dec.args
                and isinstance(dec.args[0], ast.Constant)):  # fmt: skip
            return str(dec.args[0].value)
    return None


class _Module:
    def __init__(self, path: Path, params: Mapping[str, int], clauses: Iterable[str]) -> None:
        self.path = path
        self.source = path.read_text(encoding="utf-8")
        self.tree = ast.parse(self.source)
        self.params = params
        self.clauses = sorted(clauses)
        self.funcs: dict[str, ast.FunctionDef] = {}
        self.parent: dict[ast.AST, ast.FunctionDef | None] = {}
        self._index(self.tree, None)

    def _index(self, node: ast.AST, fn: ast.FunctionDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            self.parent[child] = fn
            if isinstance(child, ast.FunctionDef):
                self.funcs.setdefault(child.name, child)
                self._index(child, child)
            else:
                self._index(child, fn)

    def calls_of(self, name: str) -> list[ast.Call]:
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.Call) and _name(n.func) == name]

    def clauses_of(self, fn: ast.FunctionDef | None, seen: frozenset[str] = frozenset()) -> set[str]:
        """The clauses whose tests reach `fn` (every clause of the module for module-level code)."""
        if len(self.clauses) == 1 or fn is None:
            return set(self.clauses)
        mark = _clause_mark(fn)
        if mark:
            return {mark}
        if fn.name in seen:
            return set()
        found: set[str] = set()
        for call in self.calls_of(fn.name):
            found |= self.clauses_of(self.parent.get(call), seen | {fn.name})
        return found or set(self.clauses)

    def steps_of(self, expr: ast.expr | None, fn: ast.FunctionDef | None,
                 seen: frozenset[str] = frozenset()) -> set[tuple[str, str]] | None:  # fmt: skip
        """(clause, step) pairs `expr` (a step argument in `fn`) can be; None when it cannot be read."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {(c, expr.value) for c in self.clauses_of(fn)}
        if not isinstance(expr, ast.Name):
            return None
        owner = fn
        while owner is not None and expr.id not in [a.arg for a in owner.args.args]:
            owner = self.parent.get(owner)
        if owner is None or owner.name in seen:
            return None
        args = [a.arg for a in owner.args.args]
        index = args.index(expr.id) - (1 if args and args[0] == "self" else 0)
        out: set[tuple[str, str]] = set()
        defaults = dict(zip(args[len(args) - len(owner.args.defaults) :], owner.args.defaults, strict=True))
        if expr.id in defaults:
            out |= self.steps_of(defaults[expr.id], owner, seen | {owner.name}) or set()
        callers = self.calls_of(owner.name)
        for call in callers:
            got = self.steps_of(_arg(call, index, expr.id), self.parent.get(call), seen | {owner.name})
            if got is None:
                return None
            out |= got
        return out if (callers or expr.id in defaults) else None

    def sites(self) -> tuple[list[Site], list[Unreadable]]:
        sites: list[Site] = []
        unreadable: list[Unreadable] = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            fn = self.parent.get(node)
            expr: ast.expr | None = None
            if (
                name in ("fail", "wait")
                and isinstance(node.func, ast.Attribute)
                and _is_steps(node.func.value)
            ):
                expr = _arg(node, 0, "step")
            elif name in FIXED_STEPS and any(_is_steps(a) for a in node.args):
                expr = ast.Constant(FIXED_STEPS[name])
            elif name in self.params and any(_is_steps(a) for a in node.args):
                expr = _arg(node, self.params[name], "step")
            else:
                continue
            text = " ".join((ast.get_source_segment(self.source, node) or name).split())
            call = text if len(text) <= 80 else text[:77] + "..."
            pairs = self.steps_of(expr, fn)
            if pairs is None:
                unreadable.append(Unreadable(self.path, node.lineno, call))
                continue
            sites += [Site(self.path, node.lineno, c, s, call) for c, s in sorted(pairs)]
        return sorted(sites, key=lambda s: (s.line, s.clause, s.step)), unreadable


def module_clauses(path: Path, clauses: Mapping[str, Clause]) -> set[str]:
    """The clauses a plan module declares, by the clause marks of its tests."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    marks = {_clause_mark(n) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    return {m for m in marks if m is not None and m in clauses}


def scan(folder: Path, clauses: Mapping[str, Clause]) -> tuple[list[Site], list[Unreadable]]:
    """Every failure site of the plan modules in `folder` (test_*.py) and those whose step cannot be read."""
    params = _step_params(folder)
    sites: list[Site] = []
    unreadable: list[Unreadable] = []
    for path in sorted(folder.glob("test_*.py")):
        own = module_clauses(path, clauses)
        if not own:
            continue
        found, bad = _Module(path, params, own).sites()
        sites += found
        unreadable += bad
    return sites, unreadable


def undeclared(sites: Iterable[Site], clauses: Mapping[str, Clause]) -> list[Site]:
    """The sites whose step has no declared Check with a Twin in their clause's CLAUSE."""
    covered = {(c.id, check.step) for c in clauses.values() for check in c.checks if check.twins}
    return [s for s in sites if (s.clause, s.step) not in covered]

"""The test plans the bench runs, found through the `henb_bench.plans` entry point (pyproject.toml), never
imported by name: the entry point names a plan set's package; each of its `test_*.py` modules declares its
clause(s) (`CLAUSE` or `CLAUSES`, bench/clauses.py), and the package's folder is what pytest runs."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from bench.clauses import Check, Clause, sort_key
from bench.errors import ConfigError
from bench.failure_sites import Site, Unreadable, scan, undeclared

GROUP = "henb_bench.plans"


@dataclass(frozen=True)
class PlanSet:
    name: str
    folder: Path
    clauses: dict[str, Clause]

    @property
    def checks(self) -> list[tuple[str, Check]]:
        return [(c.id, check) for c in self.clauses.values() for check in c.checks]

    def table(self) -> str:
        """The clauses and their checks, as `henb-bench list` prints them."""
        lines = []
        gaps: dict[str, list[Site]] = {}
        for site in self.audit()[0]:
            gaps.setdefault(site.clause, []).append(site)
        for clause in self.clauses.values():
            lines.append(f"{clause.id}  {clause.title}")
            if clause.applies:
                lines.append(f"    applies to units with {clause.applies_text()}; not applicable to others")
            for c in clause.checks:
                key = f" (check {c.id(clause.id)})" if c.key else ""  # what a waiver names
                twins = f"knobs: {', '.join(c.knobs)}" if c.twins else "NO TWIN"
                lines.append(f"    step {c.step:8} {c.what}{key}  [{twins}]")
            for site in gaps.get(clause.id, []):
                lines.append(f"    step {site.step:8} UNDECLARED: fails at {site.where} ({site.call.strip()}), "
                             "no Check with a Twin in CLAUSE")  # fmt: skip
        return "\n".join(lines)

    def audit(self) -> tuple[list[Site], list[Unreadable]]:
        """The failure sites of the plan modules with no declared Check with a Twin, and those whose step the
        audit cannot read (docs/checks-and-twins.md)."""
        sites, unreadable = scan(self.folder, self.clauses)
        return undeclared(sites, self.clauses), unreadable

    def catalogue(self) -> dict[str, Any]:
        """The clauses as run.json keeps them (titles, checks, expected figures)."""
        return {cid: clause.to_json() for cid, clause in self.clauses.items()}


def plan_entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=GROUP), key=lambda ep: ep.name)


def collect(package: Any) -> dict[str, Clause]:
    """Every clause the package's plan modules declare, in clause order. A module imported only to read its
    declarations is forgotten again, so pytest imports (and rewrites the asserts of) it itself."""
    folder = Path(package.__file__).resolve().parent
    found: dict[str, Clause] = {}
    for path in sorted(folder.glob("test_*.py")):
        name = f"{package.__name__}.{path.stem}"
        fresh = name not in sys.modules
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"plan module {path} cannot be imported: {exc}") from None
        finally:
            if fresh:
                sys.modules.pop(name, None)
        declared = getattr(module, "CLAUSES", None) or [getattr(module, "CLAUSE", None)]
        for clause in declared:
            if not isinstance(clause, Clause):
                raise ConfigError(f"plan module {path}: expected CLAUSE = Clause(...) (bench.clauses)")
            if clause.id in found:
                raise ConfigError(f"plan module {path}: clause {clause.id} is declared twice")
            found[clause.id] = clause
    return dict(sorted(found.items(), key=lambda kv: sort_key(kv[0])))


def plan_set(name: str | None = None) -> PlanSet:
    """The installed plan set `name` (default: the first); ConfigError when none is installed or it does not
    load, saying how to install it."""
    eps = plan_entry_points()
    if not eps:
        raise ConfigError(
            f"no test plans installed: no {GROUP!r} entry point (install the bench from its checkout: "
            "`make venv`, or `pip install -e .`)"
        )
    chosen = next((ep for ep in eps if ep.name == name), None) if name else eps[0]
    if chosen is None:
        raise ConfigError(f"no plan set {name!r}; installed: {', '.join(ep.name for ep in eps)}")
    try:
        package = chosen.load()
    except ImportError as exc:
        raise ConfigError(
            f"plan set {chosen.name} ({chosen.value}, entry point {GROUP!r}) cannot be imported: {exc}"
        ) from None
    return PlanSet(chosen.name, Path(package.__file__).resolve().parent, collect(package))

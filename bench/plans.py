"""The test plans the bench runs, found through the `henb_bench.plans` entry point (pyproject.toml), never
imported by name: the entry point names a plan set's catalogue module (CLAUSES, CHECKS, table()), and the
folder it sits in is what pytest runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from bench.errors import ConfigError

GROUP = "henb_bench.plans"


@dataclass(frozen=True)
class PlanSet:
    name: str
    folder: Path
    clauses: dict[str, str]
    checks: list[Any]
    table: Callable[[], str]


def plan_entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=GROUP), key=lambda ep: ep.name)


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
        module = chosen.load()
    except ImportError as exc:
        raise ConfigError(
            f"plan set {chosen.name} ({chosen.value}, entry point {GROUP!r}) cannot be imported: {exc}"
        ) from None
    return PlanSet(
        chosen.name, Path(module.__file__).resolve().parent, dict(module.CLAUSES), list(module.CHECKS),
        module.table,
    )  # fmt: skip

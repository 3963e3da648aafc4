"""`henb-bench report RUN_DIR` re-renders a run's report.html; `henb-bench bundle RUN_DIR TEST` builds a bug bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import ConfigError
from bench.report.redact import Redactor


def _run_dir(value: str) -> Path:
    path = Path(value)
    if not (path / "run.json").is_file():
        raise ConfigError(f"{path}: not a run folder (no run.json)")
    return path


def _redactor(args: argparse.Namespace) -> Redactor | None:
    """The inventory's secrets, when the inventory is at hand: a report re-rendered from an old run stays clean."""
    from bench.inventory import load_inventory
    from bench.report.redact import redactor_for

    path = Path(args.inventory)
    return redactor_for(load_inventory(path)) if path.is_file() else None


def cmd_report(args: argparse.Namespace) -> int:
    from bench.report.html import write_report

    path = write_report(_run_dir(args.run_dir), _redactor(args))
    print(path)
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from bench.report.bundle import build_bundle

    path = build_bundle(_run_dir(args.run_dir), args.test, Path(args.output) if args.output else None)
    print(path)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="re-render RUN_DIR/report.html from the run's evidence")
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run folder, e.g. captures/20261127-143506")
    report.set_defaults(fn=cmd_report)
    bundle = sub.add_parser("bundle", help="pack one test's evidence and the run's metadata into a .tar.gz")
    bundle.add_argument("run_dir", metavar="RUN_DIR")
    bundle.add_argument(
        "test", metavar="TEST", help="the test's name, e.g. test_registration_with_serving_hems"
    )
    bundle.add_argument("-o", "--output", help="where to write it (default RUN_DIR/TEST.tar.gz)")
    bundle.set_defaults(fn=cmd_bundle)

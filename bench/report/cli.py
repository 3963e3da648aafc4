"""`henb-bench report RUN_DIR` re-renders a run's report.html; `henb-bench bundle RUN_DIR TEST` builds a bug bundle."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import ConfigError

if TYPE_CHECKING:  # the redactor (pydantic) is imported by the commands, not for `henb-bench`'s parser
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


def _run_inventory(args: argparse.Namespace, run_dir: Path) -> Path:
    """The inventory the run used: --inventory, else the path run.json names, when its sha256 matches."""
    import hashlib
    import json

    meta = json.loads((run_dir / "run.json").read_text())
    want = meta.get("inventory_sha256")
    tried = []
    for cand in (Path(args.inventory), Path(meta.get("inventory") or "")):
        if cand.is_file():
            if not want or hashlib.sha256(cand.read_bytes()).hexdigest() == want:
                return cand
            tried.append(f"{cand} (another sha256)")
    raise ConfigError(
        f"{run_dir}: --shareable needs the inventory the run used (sha256 {want}), to know its secrets; "
        f"tried {', '.join(tried) or 'none found'}: give it with --inventory F"
    )


def cmd_bundle(args: argparse.Namespace) -> int:
    from bench.report.bundle import build_bundle

    run_dir = _run_dir(args.run_dir)
    out = Path(args.output) if args.output else None
    if not args.shareable:
        print(build_bundle(run_dir, args.test, out))
        return 0
    from bench.inventory import load_inventory
    from bench.report.shareable import build_shareable, inventory_credentials

    known = inventory_credentials(load_inventory(_run_inventory(args, run_dir)))
    path, manifest = build_shareable(run_dir, args.test, known, out)
    total = sum(manifest["masked_total"].values())
    tls = sum(1 for t in manifest["tls_streams"] if t["decrypted"])
    print(
        f"{path}: {total} secret(s) masked, {tls} TLS stream(s) decrypted, {len(manifest['left_out'])} key file(s) left out"
    )
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
    bundle.add_argument(
        "-o",
        "--output",
        help="where to write it (default RUN_DIR/TEST.tar.gz, RUN_DIR/TEST.shareable.tar.gz)",
    )
    bundle.add_argument(
        "--shareable",
        action="store_true",
        help="secrets masked in captures and files, TLS written out decrypted, no key log (docs/bundle.md)",
    )
    bundle.set_defaults(fn=cmd_bundle)

"""`henb-bench history` (the matrix, --first-failure, --flaky, --trend, --runs, --html), `history import
RUN_DIR...` and `henb-bench diff RUN_A RUN_B`; and the record `henb-bench run` makes at the end of a run."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError, InfraError

# The inventory's models (pydantic) are imported when a command reads one, not for the parser (bench/cli.py
# builds every subcommand's at each start).
if TYPE_CHECKING:
    from bench.inventory import Inventory

# SQLAlchemy and the importer load when a history command runs, not with every `henb-bench` command.


def _inventory(args: argparse.Namespace) -> Inventory | None:
    from bench.inventory import load_inventory

    """The inventory when there is one (its history.url, state dir and secrets); the defaults without."""
    path = Path(args.inventory)
    return load_inventory(path) if path.is_file() else None


def _url(args: argparse.Namespace, inv: Inventory | None) -> str:
    from bench.history.quick import history_url
    from bench.inventory import Bench

    if getattr(args, "db", None):
        return str(args.db)
    return history_url(inv.history.url if inv else None, inv.bench.state_dir if inv else Bench().state_dir)


def _redact(inv: Inventory | None) -> Callable[[str], str] | None:
    if inv is None:
        return None
    from bench.report.redact import redactor_for

    return redactor_for(inv).text


def cmd_import(args: argparse.Namespace) -> int:
    """Each folder in its own transaction: a broken one is skipped with the reason, the others go in."""
    from bench.history.importer import BadRunFolder, read_run_folder
    from bench.history.store import Store

    inv = _inventory(args)
    redact = _redact(inv)
    store = Store(_url(args, inv))
    skipped = 0
    try:
        for given in args.run_dirs:
            folder = Path(given)
            try:
                record = read_run_folder(folder, redact)
                done = store.save(record)
            except (BadRunFolder, InfraError) as exc:  # that run's transaction is rolled back, no other
                skipped += 1
                print(f"henb-bench: skipped {folder}: {exc}", file=sys.stderr)
                continue
            print(f"{done} {record.key} ({len(record.units)} unit(s)) from {folder}")
    finally:
        store.close()
    print(f"{len(args.run_dirs) - skipped} run(s) in {store.shown}, {skipped} skipped")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from bench.history import queries, tables
    from bench.history.queries import Filter
    from bench.history.store import Store

    inv = _inventory(args)
    store = Store(_url(args, inv), create=False)
    f = Filter(args.unit, args.product_class, args.host, args.clause, args.last)
    try:
        with store.session() as session:
            if args.html:
                from bench.history.page import write_page

                names = [args.trend] if args.trend else queries.measurement_names(session)
                matrices = queries.matrix(session, f)
                # A trend per product class: one kind of unit's boot time is not another's.
                classes = [f.product_class] if f.product_class else [m.product_class for m in matrices]
                trends = [
                    queries.trend(session, n, replace(f, product_class=pc)) for pc in classes for n in names
                ]
                path = write_page(
                    Path(args.html),
                    matrices,
                    queries.first_failures(session, f),
                    queries.flaky(session, f),
                    [t for t in trends if t.points],
                    f,
                )
                print(path)
                return 0
            if args.first_failure:
                tables.first_failures(queries.first_failures(session, f))
            elif args.flaky:
                tables.flaky(queries.flaky(session, f))
            elif args.trend:
                tables.trend(queries.trend(session, args.trend, f))
            elif args.runs:
                tables.runs(
                    queries.recent_runs(session, Filter(f.unit, f.product_class, f.host, last=f.last or 20))
                )
            else:
                tables.matrices(queries.matrix(session, f))
    finally:
        store.close()
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from bench.history import queries, tables
    from bench.history.store import Store

    store = Store(_url(args, _inventory(args)), create=False)
    try:
        with store.session() as session:
            tables.diff(queries.diff(session, args.run_a, args.run_b, args.tolerance))
    finally:
        store.close()
    return 0


def record_run(run_dir: Path, inv: Inventory, exit_code: int, say: Callable[[str], None]) -> None:
    """At the end of `henb-bench run`: the exit code into run.json, the run into the history. Whatever goes
    wrong here is said in one line and changes nothing of the run's verdict."""
    summary = run_dir / "run.json"
    try:
        from bench.history import quick
        from bench.history.importer import BadRunFolder, read_run_folder
    except ImportError as exc:  # an install without the history's packages: the run's verdict stands
        say(f"results history: run not recorded ({exc}; `make venv` installs it)")
        return
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
        data["exit_code"] = exit_code
        summary.write_text(json.dumps(data, indent=1))
    except (OSError, ValueError) as exc:
        say(f"results history: run not recorded: {summary}: {exc}")
        return
    url = quick.history_url(inv.history.url, inv.bench.state_dir)
    later = f"`henb-bench history import {run_dir}` loads it later"
    try:
        record = read_run_folder(run_dir, _redact(inv))
        # A SQLite history at the newest migration with the standard library's sqlite3; anything else (a new
        # file, one to migrate, PostgreSQL) through the store, SQLAlchemy and Alembic.
        if quick.save(url, record) is not None:
            say(f"results history: run recorded in {url}")  # a plain sqlite:/// URL: no password to hide
            return
        from bench.history.store import Store

        store = Store(url)
        try:
            store.save(record)
        finally:
            store.close()
        say(f"results history: run recorded in {store.shown}")
    except (BenchError, BadRunFolder) as exc:
        say(f"results history: run not recorded ({exc}); {later}")
    except Exception as exc:  # noqa: BLE001  # a bug here must not turn a verdict into a traceback
        say(f"results history: run not recorded ({type(exc).__name__}: {exc} in {_shown(url)}); {later}")


def _shown(url: str) -> str:
    try:
        from bench.history.store import shown
    except ImportError:
        return "(the history's database)"
    return shown(url)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number of runs, 1 or more, not {value!r}")
    return n


def add_parsers(sub: Any) -> None:
    """Add `history` (with `history import`) and `diff` to the `henb-bench` command."""
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        metavar="URL",
        help="the history's database (default: $HENB_BENCH_HISTORY_URL, else the inventory's history.url, "
        "else STATE_DIR/history.sqlite)",
    )
    history = sub.add_parser(
        "history",
        parents=[db],
        help="every run's verdicts by unit and firmware: matrix, --first-failure, --flaky, --trend, --html",
        usage="henb-bench history [--unit U] [--product-class PC] [--host H] [--clause C] [--last N]\n"
        "          [--first-failure | --flaky | --trend MEASUREMENT | --runs] [--html FILE] [--db URL]\n"
        "       henb-bench history import RUN_DIR... [--db URL]",
        description="The results history (docs/history.md): by default each product class's matrix of "
        "clause/step by firmware (runs passed, failed by the unit, erred by the bench).",
    )
    history.add_argument("--unit", help="one unit: its inventory name or serial number")
    history.add_argument("--product-class", help="one product class, e.g. FAP-200")
    history.add_argument("--host", help="runs of one bench host")
    history.add_argument("--clause", help="one clause, e.g. 5.3.2")
    history.add_argument("--last", type=_positive, metavar="N", help="the newest N runs only")
    what = history.add_mutually_exclusive_group()
    what.add_argument(
        "--first-failure",
        action="store_true",
        help="the first firmware at which each step failed and has failed since",
    )
    what.add_argument(
        "--flaky", action="store_true", help="steps with both verdicts on one firmware and unit, by host"
    )
    what.add_argument("--trend", metavar="MEASUREMENT", help="a measurement over the runs, e.g. boot_time")
    what.add_argument("--runs", action="store_true", help="the newest runs (default 20; --last N)")
    history.add_argument(
        "--html", metavar="FILE", help="write a self-contained page (matrix and trend plots)"
    )
    history.set_defaults(fn=cmd_history)
    inner = history.add_subparsers(
        dest="history_command", title="and to fill it", metavar="import RUN_DIR..."
    )
    load = inner.add_parser("import", parents=[db], help="load run folders (skips broken ones, says why)")
    load.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="e.g. captures/20261127-143506")
    load.add_argument(
        "--inventory", default=argparse.SUPPRESS, help="inventory file (its secrets are masked)"
    )
    load.set_defaults(fn=cmd_import)
    diff = sub.add_parser("diff", parents=[db], help="what changed between two stored runs")
    diff.add_argument("run_a", metavar="RUN_A", help="a run id (RUN_ID@HOST when two hosts have one)")
    diff.add_argument("run_b", metavar="RUN_B")
    diff.add_argument(
        "--tolerance",
        type=float,
        default=10.0,
        metavar="PCT",
        help="a measurement that changed by at most this percentage is not listed (default 10)",
    )
    diff.set_defaults(fn=cmd_diff)

"""The `henb-bench` command: check the inventory, run the TS 32.593 plans, clean up after a killed run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.doctor import add_parser as add_doctor_parser
from bench.errors import BenchError, ConfigError, DeviceError, from_driver, interrupt
from bench.evidence.cli import add_parsers as add_evidence_parsers
from bench.hems.standalone import add_parser as add_hems_parser
from bench.history.cli import add_parsers as add_history_parsers
from bench.knobs import KNOBS
from bench.lab.cli import add_parsers as add_lab_parsers
from bench.opscli import add_parsers as add_ops_parsers
from bench.report.cli import add_parsers as add_report_parsers
from drivers.errors import DriverError

# A subcommand's modules are imported by its handler: `henb-bench --help` or `history` does not pay for the
# inventory's models, the plans, the HeMS or the evidence judges (docs/performance.md).
if TYPE_CHECKING:
    from bench.inventory import Inventory
    from bench.plans import PlanSet


def cmd_check(args: argparse.Namespace) -> int:
    from bench import profiles, transfer_faults
    from bench.inventory import load_inventory
    from bench.plans import plan_set
    from bench.waivers import check_waivers

    inv = load_inventory(Path(args.inventory))
    inv.unit(getattr(args, "unit", None))  # `check --unit NAME` (see bench/opscli.py): a unit it has
    for name, unit in inv.units.items():
        ident = unit.identity
        where = (
            f"labgrid place {unit.labgrid.place or unit.labgrid.tags} on {unit.labgrid.coordinator}"
            if unit.labgrid
            else f"power={unit.power.driver} console={unit.console.driver} wan={unit.wan.driver}"
        )
        print(
            f"{name}: {ident.oui}-{ident.product_class}-{ident.serial_number} {where} "
            f"data_model={unit.data_model.profile} initial_hems_access={unit.initial_hems_access}"
        )
        for path in profiles.unknown_paths(unit.data_model.resolve()):
            print(f"data model: {name}: {path} is not in the BBF data models (a vendor extension?)")
        own = unit.config_file
        cfg = f"{own.path} ({len(own.read_back)} value(s) read back)" if own else "the bench's XML"
        if own is None and unit.kind == "physical":
            cfg += " (only the mock reads it: give config_file, the unit's own)"
        print(
            f"  5.2.2/5.4.2: {cfg}, FaultCodes of {transfer_faults.family(unit.cwmp_amendment)}, "
            f"over {', '.join(unit.transfer_protocols)}"
        )
        for w in unit.waivers:
            print(f"  waived: {w.check}: {w.reason}")
    check_waivers(plan_set().clauses, inv)
    for note in check_pki(inv):
        print(f"pki: {note}")
    print(f"{args.inventory}: OK")
    return 0


def check_pki(inv: Inventory) -> list[str]:
    """The operator PKI as the run will load it, in a scratch folder: a certificate for the wrong name is a
    ConfigError here, before anything is started."""
    from bench.impostors import SEGW_ROLES, impostors
    from bench.operator_pki import load_pki, load_unit_trust, operator_names
    from bench.pki import CertificateAuthority

    trust = len(load_unit_trust(inv.operator.pki.unit_trust, "operator.pki.unit_trust"))
    for name, unit in inv.units.items():
        trust += len(load_unit_trust(unit.unit_trust, f"units.{name}.unit_trust"))
    with tempfile.TemporaryDirectory(prefix="henb-bench-pki-") as scratch:
        pki = load_pki(inv.operator.pki, operator_names(inv.operator), Path(scratch))
        notes = pki.notes
        # The impostor SeGWs' certificates the lab gave (operator.pki.refused), checked as the run makes them.
        rogue = CertificateAuthority(Path(scratch) / "rogue", name="rogue CA")
        for role in SEGW_ROLES.values():
            _, missing = impostors(role, getattr(inv.operator, role), pki.certs[role], pki.issuer, rogue,
                                   inv.operator.pki.refused.get(role), pki.ca_cert, inv.operator.ike_proposals,
                                   Path(scratch) / "impostors")  # fmt: skip
            notes += [f"{role} impostor {m.key}: not presented: {m.why}" for m in missing]
    return [*notes, f"unit trust: the operator CA and {trust} CA certificate(s) from unit_trust"]


def cmd_run(args: argparse.Namespace) -> int:
    from bench.doctor import run_doctor
    from bench.history.cli import record_run
    from bench.inventory import load_inventory
    from bench.waivers import check_waivers

    inv_path = Path(args.inventory)
    if args.doctor:
        # `henb-bench doctor --quiet` in this process (`make demo`): one interpreter start and one import of the
        # bench's modules for both; a host that needs a fix stops here with it, as the doctor's command would.
        found = run_doctor(inv_path, quiet=True, in_run=True)
        if found:
            return found
    # Nothing starts (no run folder, no pytest) before the options, the inventory and its PKI are valid.
    plans = check_clauses(args.clause)
    inv = load_inventory(inv_path)
    units = [inv.unit(u)[0] for u in args.unit] or list(inv.units)
    check_waivers(plans.clauses, inv)
    for given in args.misbehave:
        unit, sep, knob = given.rpartition(":")
        if knob not in KNOBS:
            raise ConfigError(f"--misbehave {given}: expected one of {', '.join(KNOBS)} (or UNIT:KNOB)")
        if sep and unit not in units:
            raise ConfigError(f"--misbehave {given}: {unit!r} is not a unit of this run ({', '.join(units)})")
    placed = [u for u in units if inv.units[u].labgrid is not None]
    if placed and len(units) > 1:
        raise ConfigError(
            f"units {', '.join(placed)} are in labgrid places: run them one at a time (--unit NAME); several "
            "units in one run are the ones on this bench's own ports"
        )
    unit_name = units[0]
    tags = place_tags(args.place_tag)
    check_pki(inv)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out)
    run_dir = out / run_id
    from bench.place import held_inventory

    in_place = inv.units[unit_name].labgrid is not None
    with (
        _term_interrupts() if in_place else contextlib.nullcontext(),
        held_inventory(inv_path, inv, unit_name, tags, run_dir, _say) as run_inv,
    ):
        code = _run_plans(args, run_inv, out, run_id, plans)
    # After the place is released: a database that cannot be reached is said, and changes no verdict.
    # Its own line after the run's summary, not prefixed like it: the summary stays the last `henb-bench:` line.
    record_run(run_dir, inv, code, lambda text: print(text, file=sys.stderr, flush=True))
    return code


INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C


def _say(text: str) -> None:
    print(f"henb-bench: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _term_interrupts() -> Iterator[None]:
    """SIGTERM as Ctrl-C while a run holds things outside this host (a labgrid place): they are released."""
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def place_tags(pairs: list[str]) -> dict[str, str]:
    """--place-tag KEY=VALUE options as a dict."""
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"--place-tag {pair!r}: expected KEY=VALUE, e.g. product_class=FAP-200")
        tags[key] = value
    return tags


@contextlib.contextmanager
def _no_plugin_autoload() -> Iterator[None]:
    """pytest without its setuptools plugins (PYTEST_DISABLE_PLUGIN_AUTOLOAD; pytest 8.0 on), for this process's
    run only: a caller's own pytest (a test calling main) keeps its environment."""
    before = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = before


def _run_plans(args: argparse.Namespace, inv_path: Path, out: Path, run_id: str, plans: PlanSet) -> int:
    import pytest

    from bench.clauses import NOT_APPLICABLE

    run_dir = out / run_id
    argv = [
        str(plans.folder),
        # The bench's plugin alone (plugin autoload is off below): no other installed pytest plugin (labgrid's env
        # and strategy fixtures, hypothesis, xdist) has a part in a run, and autoloading them marked their whole
        # packages and the bench's own for assertion rewriting, paid again by every run (about 1 s of CPU).
        "-p",
        "bench.plugin",
        "-p",
        "no:cacheprovider",
        # Its cleanup runs two full garbage collections of the run's whole heap at the end (about 0.1 s of
        # CPU per run) to report exceptions nobody could raise, as pytest warnings: no verdict of a run.
        "-p",
        "no:unraisableexception",
        "-q",
        "-rfE",
        f"--inventory={inv_path}",
        f"--out={out}",
        f"--run-id={run_id}",
        f"--junitxml={run_dir / 'junit.xml'}",
        "-o",
        "junit_family=xunit2",
        f"--rootdir={plans.folder.parents[1]}",
    ]
    for unit in args.unit:
        argv.append(f"--unit={unit}")
    for clause in args.clause:
        argv.append(f"--clause={clause}")
    for knob in args.misbehave:
        argv.append(f"--misbehave={knob}")
    if args.exitfirst:
        argv.append("--exitfirst")
    t0 = time.monotonic()
    with _no_plugin_autoload():
        code = pytest.main(argv)
    wall = time.monotonic() - t0
    summary_path = run_dir / "run.json"
    recorded = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    results = recorded.get("results", [])
    print(summary(results, wall, run_dir))
    for prep in recorded.get("preparation", []):  # how each unit reached its first state (run.json)
        print(f"  prepared {prep['unit']}: {prep['detail']}")
    if recorded.get("waivers"):
        print(waived_checks(recorded["waivers"]))
    if recorded.get("interrupted"):
        # Whatever passed before it, an interrupted run is not a passed one (a nightly job must not go green).
        print(f"henb-bench: interrupted ({recorded['interrupted']}): the run is incomplete", file=sys.stderr)
        return INTERRUPTED
    results = [r for r in results if r["outcome"] != NOT_APPLICABLE]
    kinds = {r["outcome"] for r in results}
    if any(r["error_kind"] == "ConfigError" for r in results):
        return 2  # the inventory or the plan is wrong, found as the run started
    if "error" in kinds or (code not in (0, 1, 5) and not results):
        return 3
    if "failed" in kinds or code == 1:
        return 1
    if not results:
        print(
            "henb-bench: no test ran (check --clause; a test not applicable to the units is listed above)",
            file=sys.stderr,
        )
        return 2
    return 0


def waived_checks(waivers: list[dict[str, Any]]) -> str:
    """The checks the lab waived (units.NAME.waivers): never passed, each with its reason."""
    lines = ["  waived checks (not verified, units.NAME.waivers):"]
    for w in waivers:
        lines.append(f"  WAIVED  {w['unit']:10} {w['check']}: {w['what']}\n          {w['reason']}")
    return "\n".join(lines)


def summary(results: list[dict[str, Any]], wall: float, run_dir: Path) -> str:
    """The run's summary: counts, one line per test (and unit), then what did not apply to which unit, once
    per clause and unit with the reason (Clause.applies: those tests were not run there)."""
    from bench.clauses import NOT_APPLICABLE
    from bench.waivers import WAIVED

    ran = [r for r in results if r["outcome"] != NOT_APPLICABLE]
    count = {
        k: sum(1 for r in ran if r["outcome"] == k) for k in ("passed", "failed", "error", "skipped", WAIVED)
    }
    inapplicable = [r for r in results if r["outcome"] == NOT_APPLICABLE]
    waived = f"{count[WAIVED]} waived, " if count[WAIVED] else ""
    lines = [
        f"\nhenb-bench: {len(ran)} test(s) in {wall:.1f} s: {count['passed']} passed, {count['failed']} failed, "
        f"{count['error']} error(s), {count['skipped']} skipped, {waived}{len(inapplicable)} not applicable; "
        f"evidence in {run_dir}/"
    ]
    for r in ran:
        unit = f"{r['unit']:10} " if r.get("unit") else ""  # a run with several units
        line = f"  {r['outcome'].upper():7} {unit}{r['clause'] or '-':8} {r['test']}"
        lines.append(line + (f"\n          {r['message']}" if r["message"] else ""))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in inapplicable:
        groups.setdefault((r.get("unit") or "", r["clause"] or "-"), []).append(r)
    if groups:
        lines.append("  not applicable, not run:")
    for (unit, clause), rs in groups.items():
        tests = ", ".join(r["test"] for r in rs)
        lines.append(
            f"  N/A     {unit + ' ' if unit else ''}{clause:8} {tests}\n          {rs[0]['message']}"
        )
    return "\n".join(lines)


def check_clauses(clauses: list[str]) -> PlanSet:
    """The installed plans (bench/plans.py), and every --clause value is a clause they verify."""
    from bench.plans import plan_set

    plans = plan_set()
    unknown = [c for c in clauses if c not in plans.clauses]
    if unknown:
        raise ConfigError(
            f"--clause {', '.join(unknown)}: not a clause the plans verify; known clauses: {', '.join(plans.clauses)}"
            " (`henb-bench list` shows them)"
        )
    return plans


def cmd_list(args: argparse.Namespace) -> int:
    from bench.plans import plan_set

    print(plan_set().table())
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from bench.inventory import load_inventory
    from bench.network.state import clean
    from drivers.config import NicWan
    from drivers.wan import restore

    inv = load_inventory(Path(args.inventory))
    done: list[str] = []
    # NICs first: removing a namespace destroys a veth inside it (the simulated lab's cable).
    for name, unit in inv.units.items():
        if isinstance(unit.wan, NicWan):
            where = restore(unit.wan.ifname, inv.bench.prefix)
            if where:
                done.append(f"moved {unit.wan.ifname} of {name} back from {where}")
    from bench.place import held_places, release_recorded

    for held in held_places(inv.bench.state_dir, inv.bench.prefix):
        where = restore(held.ifname, inv.bench.prefix) if held.ifname else None
        if where:
            done.append(f"moved {held.ifname} of labgrid place {held.place} back from {where}")
    done += clean(inv.bench.state_dir, inv.bench.prefix)
    # Last: once released, another bench may take the place, and nothing of this one is left in it.
    done += release_recorded(inv.bench.state_dir, inv.bench.prefix)
    print("\n".join(done) if done else f"nothing left by a run with prefix {inv.bench.prefix!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="henb-bench", description=__doc__)
    _global_options(p, "inventory.yaml")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the inventory").set_defaults(fn=cmd_check)
    run = sub.add_parser("run", help="run the TS 32.593 plans against a unit")
    run.add_argument(
        "--unit",
        action="append",
        default=[],
        help="unit name (repeatable; default: every unit in the inventory, several run concurrently)",
    )
    run.add_argument(
        "--clause", action="append", default=[], help="only this clause, e.g. 5.2.4 (repeatable)"
    )
    run.add_argument("--out", default="captures", help="evidence folder (default: captures/)")
    run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failed test")
    run.add_argument(
        "--doctor",
        action="store_true",
        help="check the host first, as `henb-bench doctor --quiet` (in this process); stop if it needs a fix",
    )
    run.add_argument(
        "--place-tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="take any free labgrid place with these tags (repeatable; the unit's labgrid entry names the "
        "coordinator)",
    )
    run.add_argument(
        "--misbehave",
        action="append",
        default=[],
        metavar="[UNIT:]KNOB",
        help="make the mock units (or UNIT) misbehave (repeatable): " + ", ".join(KNOBS),
    )
    run.set_defaults(fn=cmd_run)
    sub.add_parser("list", help="list the clauses and their plans").set_defaults(fn=cmd_list)
    sub.add_parser("clean", help="remove what a killed run left behind").set_defaults(fn=cmd_clean)
    add_hems_parser(sub)
    add_report_parsers(sub)
    add_evidence_parsers(sub)
    add_history_parsers(sub)
    add_ops_parsers(sub)
    add_lab_parsers(sub)
    add_doctor_parser(sub)
    # Global options are accepted after the subcommand too: `henb-bench run --inventory F` as well as
    # `henb-bench --inventory F run`. SUPPRESS keeps a value given before the subcommand.
    for command in {id(c): c for c in sub.choices.values()}.values():
        _global_options(command, argparse.SUPPRESS)
    return p


def _global_options(p: argparse.ArgumentParser, default: str) -> None:
    if "--inventory" not in p._option_string_actions:  # a subcommand may declare it itself
        p.add_argument("--inventory", default=default, help="inventory file (default: inventory.yaml)")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        try:
            code = args.fn(args)
        except DriverError as exc:  # a command that drives hardware by hand: the bench's kind, same message
            raise from_driver(exc) from exc
    except (BenchError, DeviceError) as exc:
        print(f"henb-bench: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("henb-bench: interrupted", file=sys.stderr)
        code = INTERRUPTED
    sys.exit(code)


if __name__ == "__main__":
    main()

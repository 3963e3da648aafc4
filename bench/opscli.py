"""Lab commands for working on a unit by hand: `power`, `console`, `action`, `check --probe` and `up`.

bench/cli.py calls `add_parsers(sub)` and gives every command the global options (`--inventory`, as `run`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError, ConfigError, InfraError
from bench.events import ConsoleKind, PowerKind, Source, describe
from bench.timeline import Event, Timeline
from drivers.errors import DriverError, EquipmentError

# The inventory's models (pydantic) and the drivers are imported by the commands using them: `henb-bench`
# builds these subcommands' parsers at every start, whatever the command.
if TYPE_CHECKING:
    from bench.inventory import Inventory, Unit
    from drivers import registry

ESCAPE = b"\x1d"  # Ctrl-], as in telnet and miniterm
UP_SOURCES = (Source.HEMS, Source.SEGW, Source.DNS, Source.DHCP, Source.MME, Source.POWER)
# Bulky or secret-free-but-long fields that make one event unreadable on one line.


class _ActionNames:
    """`henb-bench action`'s choices, the inventory's action templates (bench.inventory.Actions), read when
    argparse checks or shows them, not when the parser is built."""

    def __iter__(self) -> Iterator[str]:
        from bench.inventory import Actions

        return iter(list(Actions.model_fields))

    def __contains__(self, name: object) -> bool:
        return name in list(self)


def add_parsers(sub: Any) -> None:
    """Add `power`, `console` and `up`, and `--probe` to the existing `check`."""
    check = sub.choices.get("check")
    if check is not None:
        plain: Callable[[argparse.Namespace], int] = check.get_default("fn")
        check.add_argument(
            "--probe",
            action="store_true",
            help="also ask every PDU, PSU, relay, console port, SSH shell and NIC in the inventory whether it "
            "answers, and print a table (exit 3 if any does not)",
        )
        check.add_argument("--unit", help="with --probe: only this unit")
        check.set_defaults(fn=lambda args: cmd_probe(args) if args.probe else plain(args))

    power = sub.add_parser("power", help="switch a unit's power: on, off, cycle, status")
    power.add_argument("unit")
    power.add_argument("action", choices=["on", "off", "cycle", "status"])
    power.add_argument("--delay", type=float, default=3.0, help="seconds off during cycle (default 3)")
    power.set_defaults(fn=cmd_power)

    console = sub.add_parser(
        "console", help="an interactive, logged terminal on a unit's console (Ctrl-] quits)"
    )
    console.add_argument("unit")
    console.add_argument("--url", help="another port than the inventory's (a tty, rfc2217://, socket://)")
    console.add_argument("--baudrate", type=int, help="default: the inventory's")
    console.add_argument("--log", help="log file (default: captures/console-UNIT-TIME.log)")
    console.set_defaults(fn=cmd_console)

    action = sub.add_parser(
        "action", help="run one of a unit's action templates (units.NAME.actions) and print what confirmed it"
    )
    action.add_argument("unit")
    # Given after add_argument, which formats the choices (to check a metavar) and would read them at once.
    action.add_argument("action").choices = _ActionNames()
    action.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a placeholder's value, e.g. --set 'event_type=Equipment Alarm' (repeatable)")  # fmt: skip
    action.add_argument("--url", help="another console port than the inventory's (a mock unit's pty)")
    action.add_argument("--log", help="console log file (default: captures/console-UNIT-TIME.log)")
    action.set_defaults(fn=cmd_action)

    up = sub.add_parser(
        "up", help="bring the bench up for manual work with a unit, print HeMS messages, keep it until Ctrl-C"
    )
    up.add_argument("--unit", help="unit name (default: the first in the inventory)")
    up.add_argument("--out", default="captures", help="evidence folder (default: captures/)")
    up.add_argument("--no-power", action="store_true", help="leave the unit off (switch it with `power`)")
    up.add_argument("--console", action="store_true", help="also print the unit's console lines")
    up.set_defaults(fn=cmd_up)


def _say(text: str) -> None:
    print(f"henb-bench: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM, so a loop ends and cleans up however it is stopped."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# -- power ---------------------------------------------------------------------------------------


def _physical(name: str, unit: Unit, what: str) -> None:
    if unit.kind == "mock":
        raise ConfigError(
            f"{name} is a mock unit: it lives inside the bench's namespaces and is powered by "
            f"`henb-bench run` or `henb-bench up`, not by `henb-bench {what}`"
        )


@contextlib.contextmanager
def _in_place(args: argparse.Namespace) -> Iterator[tuple[Inventory, str, Unit]]:
    """The inventory, the unit's name and the unit to work with (`--unit`, validated before anything starts):
    for a unit in a labgrid place, with the place acquired for the command (its resources as the unit's
    drivers) and released after; any other unit as it is."""
    from bench.inventory import load_inventory
    from bench.place import held_inventory

    inv = load_inventory(Path(args.inventory))
    name, _ = inv.unit(args.unit)
    with (
        tempfile.TemporaryDirectory(prefix="henb-bench-place-") as tmp,
        held_inventory(Path(args.inventory), inv, name, {}, Path(tmp), _say) as path,
    ):
        placed = load_inventory(path)
        yield placed, name, placed.units[name]


def cmd_power(args: argparse.Namespace) -> int:
    with _in_place(args) as (_, name, unit):
        return _power(args, name, unit)


def _power(args: argparse.Namespace, name: str, unit: Unit) -> int:
    from drivers.config import build_power

    _physical(name, unit, "power")
    timeline = Timeline()
    power = build_power(unit.power, timeline, name)
    try:
        if args.action == "on":
            power.on()
        elif args.action == "off":
            power.off()
        elif args.action == "cycle":
            power.cycle(args.delay)
        state = power.state()
        word = "unknown (the driver cannot read it)" if state is None else "on" if state else "off"
        measure = getattr(power, "measure", None)
        reading = ""
        if measure is not None:
            sample = measure()
            reading = f", {sample.volts:g} V, {sample.amps:g} A"
        print(f"{name}: power {word}{reading}")
    finally:
        close = getattr(power, "close", None)
        if close is not None:
            close()
    return 0


# -- console -------------------------------------------------------------------------------------


def cmd_console(args: argparse.Namespace) -> int:
    with _in_place(args) as (_, name, unit):
        return _console(args, name, unit)


def _console(args: argparse.Namespace, name: str, unit: Unit) -> int:
    from drivers.console.serial import SerialConsole

    url = args.url or getattr(unit.console, "url", None)
    if url is None:
        raise ConfigError(
            f"{name} has a mock console: a pty that exists while `henb-bench up` runs (it prints the path; "
            "`henb-bench up --console` shows the lines); give it with --url"
        )
    baudrate = args.baudrate or getattr(unit.console, "baudrate", 115200)
    log = Path(args.log or f"captures/console-{name}-{time.strftime('%Y%m%d-%H%M%S')}.log")
    out = sys.stdout.buffer

    def show(data: bytes) -> None:
        out.write(data)
        out.flush()

    # No crash patterns: by hand, the engineer reads the console; the log has every line with its time.
    console = SerialConsole(url, log, None, baudrate=baudrate, crash_patterns=[], unit=name, on_data=show)
    console.open()
    _say(f"console of {name} on {url} at {baudrate} baud, logged to {log}; Ctrl-] quits")
    try:
        with _stop_on_signals() as stop, _raw_terminal(sys.stdin):
            _pump_stdin(console.write, stop)
    finally:
        console.close()
    print(file=sys.stderr)  # the unit's last line (a prompt) may not have ended
    _say(f"console closed; log in {log}")
    return 0


@contextlib.contextmanager
def _raw_terminal(stream: Any) -> Iterator[None]:
    """Keys go to the unit as typed (Ctrl-C included), output newlines still start a new line."""
    if not stream.isatty():
        yield
        return
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        mode = termios.tcgetattr(fd)
        mode[1] |= termios.OPOST | termios.ONLCR
        termios.tcsetattr(fd, termios.TCSANOW, mode)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _pump_stdin(write: Callable[[bytes], None], stop: threading.Event) -> None:
    """stdin to the port until Ctrl-], end of input, or a signal."""
    fd = sys.stdin.fileno()
    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        data = os.read(fd, 1024)
        if not data:
            return
        quit_at = data.find(ESCAPE)
        if quit_at >= 0:
            data = data[:quit_at]
        if data:
            try:
                write(data)
            except EquipmentError as e:
                _say(f"not sent: {e}")
        if quit_at >= 0:
            return


# -- check --probe -------------------------------------------------------------------------------


@dataclass
class ProbeRow:
    unit: str
    resource: str
    driver: str
    address: str
    ok: bool | None = None  # None: nothing to probe (mock)
    detail: str = ""


def _probe_place(name: str, unit: Unit) -> str:
    from bench.place import probe_place

    assert unit.labgrid is not None
    return probe_place(unit.labgrid)


def _probe_power(name: str, unit: Unit) -> str:
    from drivers.config import build_power

    power: Any = build_power(unit.power, None, name)
    try:
        return str(power.probe())
    finally:
        close = getattr(power, "close", None)
        if close is not None:
            close()


def _probe_console(name: str, unit: Unit) -> str:
    from drivers.console.serial import probe_port

    cfg: Any = unit.console
    return probe_port(cfg.url, cfg.baudrate, name)


def _probe_shell(name: str, unit: Unit) -> str:
    from drivers.config import build_shell

    assert unit.shell is not None
    with build_shell(unit.shell, name) as shell:
        return shell.probe()


def _probe_wan(prefix: str) -> Callable[[str, Unit], str]:
    def probe(name: str, unit: Unit) -> str:
        from drivers.wan import probe_nic

        cfg: Any = unit.wan
        return probe_nic(cfg.ifname, prefix)

    return probe


def _probe_pki(inv: Inventory) -> ProbeRow | None:
    pki_cfg = getattr(inv.operator, "pki", None)
    if pki_cfg is None:
        return None
    from bench.operator_pki import load_pki, operator_names

    names = operator_names(inv.operator)
    row = ProbeRow(
        "-", "operator pki", "generate" if pki_cfg.generate else "files", ", ".join(names.values())
    )
    with tempfile.TemporaryDirectory(prefix="henb-bench-pki-") as tmp:
        try:
            pki = load_pki(pki_cfg, names, Path(tmp))
        except ConfigError as e:
            row.ok, row.detail = False, str(e)
        else:
            row.ok, row.detail = True, f"{pki.source}; each server certificate carries its name and chains"
    return row


def probe_inventory(inv: Inventory, only: str | None = None) -> list[ProbeRow]:
    """Ask every resource of every unit (or of `only`) whether it answers; all at once, as each may time out."""
    import concurrent.futures

    from drivers import registry

    jobs: list[tuple[ProbeRow, Callable[[str, Unit], str], Unit]] = []
    rows: list[ProbeRow] = []
    units = dict([inv.unit(only)]) if only else inv.units
    for name, unit in units.items():
        if unit.labgrid is not None:  # its power, console and NIC are the place's: the coordinator knows them
            row = ProbeRow(name, "labgrid place", "labgrid", unit.labgrid.coordinator)
            rows.append(row)
            jobs.append((row, _probe_place, unit))
            continue
        parts: list[tuple[registry.Part, Any, Callable[[str, Unit], str]]] = [
            ("power", unit.power, _probe_power),
            ("console", unit.console, _probe_console),
            ("wan", unit.wan, _probe_wan(inv.bench.prefix)),
        ]
        if unit.shell is not None:
            parts.append(("shell", unit.shell, _probe_shell))
        for resource, cfg, probe in parts:
            # Where it is comes from its backend's settings (never a credential: those are separate keys).
            row = ProbeRow(name, resource, cfg.driver, cfg.where())
            rows.append(row)
            if registry.is_mock(resource, cfg):
                row.detail = "mock: made by the bench when a run starts"
            else:
                jobs.append((row, probe, unit))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {pool.submit(probe, row.unit, unit): row for row, probe, unit in jobs}
        for future, row in futures.items():
            try:
                row.ok, row.detail = True, future.result()
            except (BenchError, DriverError) as e:
                row.ok, row.detail = False, str(e)
            except Exception as e:  # a driver bug must not hide the other rows
                row.ok, row.detail = False, f"{type(e).__name__}: {e}"
    pki = _probe_pki(inv)
    if pki is not None:
        rows.append(pki)
    return rows


def print_probe_table(rows: list[ProbeRow], title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_lines=False)
    for column in ("unit", "resource", "driver", "address", "answers", "detail"):
        table.add_column(column, overflow="fold")
    for r in rows:
        mark = (
            Text("n/a", "dim") if r.ok is None else Text("yes", "green") if r.ok else Text("NO", "bold red")
        )
        # Text(): a driver's message may hold [brackets] that rich would read as markup.
        table.add_row(Text(r.unit), Text(r.resource), Text(r.driver), Text(r.address), mark, Text(r.detail))
    width = None if sys.stdout.isatty() else 160
    Console(width=width, highlight=False).print(table)


def cmd_probe(args: argparse.Namespace) -> int:
    from bench.inventory import load_inventory

    inv = load_inventory(Path(args.inventory))
    rows = probe_inventory(inv, args.unit)
    print_probe_table(rows, f"{args.inventory}: resources")
    failed = [r for r in rows if r.ok is False]
    if failed:
        # In full below the table, one line each: easy to copy into a ticket or grep in a CI log.
        print(f"{len(failed)} resource(s) do not answer:")
        for r in failed:
            print(f"  {r.unit} {r.resource} ({r.address}): {r.detail}")
        return InfraError.exit_code
    print(f"{args.inventory}: every resource answers")
    return 0


# -- up ------------------------------------------------------------------------------------------


def format_event(ev: Event, t0: float) -> str:
    return f"{ev.t - t0:+9.3f}s {describe(ev, limit=100)}"


def _shown(ev: Event, console: bool) -> bool:
    if ev.source == Source.POWER:
        return ev.kind != PowerKind.PSU_SAMPLE
    if ev.source == Source.CONSOLE:
        return console or ev.kind == ConsoleKind.CRASH
    return ev.source in UP_SOURCES


def cmd_up(args: argparse.Namespace) -> int:

    with _in_place(args) as (placed, name, _):  # nothing starts before the inventory is valid
        return _up(args, placed, name)


def _up(args: argparse.Namespace, inv: Inventory, name: str) -> int:
    import logging

    from bench.run import BenchRun
    from bench.unit import State

    # The file server's FTP library logs a line per poll at INFO: it would bury the events.
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-up"
    with _stop_on_signals() as stop:
        run = BenchRun(inv, name, Path(args.out), run_id)
        _say(f"bringing the bench up for {name} (prefix {inv.bench.prefix}) ...")
        since = 0
        try:
            run.start()
            op = inv.operator
            _say(
                f"up: Initial SeGW {op.initial_segw}, "
                f"Initial HeMS {op.initial_hems_url_for(inv.units[name].initial_hems_access)}, "
                f"Serving SeGW {op.serving_segw}, Serving HeMS {op.hems_url(op.serving_hems)}"
            )
            _say(f"console of {name}: {run.unit.console.url}, logged to {run.unit.console.log_path}")
            if not args.no_power and not stop.is_set():
                run.unit.transition(State.BOOTING)
                _say(f"{name} powered on; the HeMSs are primed with the discovery and registration RPCs")
            _say("Ctrl-C (or SIGTERM) tears everything down")
            while True:
                stopping = stop.wait(0.1)
                since = _print_events(run.timeline, since, args.console)
                if stopping:
                    break
        finally:
            _say("tearing the bench down ...")
            try:
                for hems_name, hems in run.topology.hems.items():
                    hems.write_transcript(run.dir / f"{hems_name}-transcript.txt")
            finally:
                run.close()
                _print_events(run.timeline, since, args.console)
    _say(f"bench down; evidence in {run.dir}/")
    return 0


def _print_events(timeline: Timeline, since: int, console: bool) -> int:
    events = timeline.events(since)
    for ev in events:
        if _shown(ev, console):
            print(format_event(ev, timeline.t0), flush=True)
    return since + len(events)


# -- action ----------------------------------------------------------------------------------------


def cmd_action(args: argparse.Namespace) -> int:
    """One action template on the unit, by hand: how a lab tries the templates it writes before a run."""
    from types import SimpleNamespace

    from bench.inventory import PLACEHOLDERS, HemsReset, load_inventory
    from bench.timeline import Bound
    from bench.unit.actions import run_action
    from drivers.config import build_shell
    from drivers.console.serial import SerialConsole

    inv = load_inventory(Path(args.inventory))
    name, unit = inv.unit(args.unit)
    how, where = unit.reset if args.action == "factory_reset" else (getattr(unit.actions, args.action), "")
    key = f"units.{name}.{where or 'actions.' + args.action}"
    if how is None or isinstance(how, HemsReset):
        raise ConfigError(f"{key}: {'the HeMS resets this unit' if how else 'not given'}: no template to run")
    values = {}
    for item in args.set:
        k, eq, v = item.partition("=")
        if not eq or k not in PLACEHOLDERS:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(PLACEHOLDERS)}")
        values[k] = v
    console = None
    if how.method != "shell":
        url = args.url or getattr(unit.console, "url", None)
        if url is None:
            raise ConfigError(
                f"{name} has a mock console: give its pty with --url (`henb-bench up` prints it)"
            )
        log = Path(args.log or f"captures/console-{name}-{time.strftime('%Y%m%d-%H%M%S')}.log")
        console = SerialConsole(url, log, Timeline(), baudrate=getattr(unit.console, "baudrate", 115200),
                                crash_patterns=[], unit=name)  # fmt: skip
    shell = build_shell(unit.shell, name) if how.method == "shell" and unit.shell is not None else None
    timeline = console.events if console is not None and isinstance(console.events, Timeline) else Timeline()
    target = SimpleNamespace(name=name, run=SimpleNamespace(timeline=timeline), console=console, shell=shell,
                             say=lambda text: print(text, file=sys.stderr, flush=True))  # fmt: skip
    bounds = unit.bounds
    default = (
        Bound(bounds.factory_reset, f"units.{name}.bounds.factory_reset")
        if args.action == "factory_reset"
        else Bound(bounds.step, f"units.{name}.bounds.step")
    )
    try:
        if console is not None:
            console.open()
        done = run_action(target, args.action.replace("_", " "), how, key, default, values)  # type: ignore[arg-type]
    finally:
        if console is not None:
            console.close()
        if shell is not None:
            shell.close()
    print(
        f"{name}: {args.action} {'confirmed: ' + done.seen if done.seen is not None else 'asked of the operator'}"
    )
    return 0

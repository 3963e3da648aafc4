"""`henb-bench hems`: the reference HeMS on its own, printing one line per CWMP message (and the XML with -v),
optionally driven by a YAML script of RPCs to send when an Inform matches (format in docs/hems.md).
"""

from __future__ import annotations

import argparse
import fnmatch
import socket
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bench import events
from bench.errors import ConfigError
from bench.timeline import Event, Timeline

# The HeMS (aiohttp), its TLS and CWMP are imported when `henb-bench hems` runs, not for the parser
# (bench/cli.py builds every subcommand's at each start).
if TYPE_CHECKING:
    from bench.hems.server import DeviceKey, Hems


@dataclass
class Rule:
    """Queue `rpcs` when an Inform from a unit matching `serial`, `oui` and `product_class` (globs) carries
    all of `events`."""

    rpcs: list[tuple[str, dict[str, Any]]]
    events: list[str] = field(default_factory=list)
    serial: str = "*"
    once: bool = False
    fired: set[DeviceKey] = field(default_factory=set)
    oui: str = "*"
    product_class: str = "*"

    def matches(self, device: DeviceKey, events: list[str]) -> bool:
        if self.once and device in self.fired:
            return False
        return (
            fnmatch.fnmatchcase(device.serial_number, self.serial)
            and fnmatch.fnmatchcase(device.oui, self.oui)
            and fnmatch.fnmatchcase(device.product_class, self.product_class)
            and all(e in events for e in self.events)
        )


def load_script(path: Path) -> list[Rule]:
    """Read and check a script; ConfigError names the file, the rule and what is wrong."""
    import yaml

    from bench import cwmp

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a list of rules, got {type(data).__name__}")
    rules = []
    for i, raw in enumerate(data):
        where = f"{path}: rule {i + 1}"
        if not isinstance(raw, dict) or set(raw) - {"when", "once", "rpcs"} or "rpcs" not in raw:
            raise ConfigError(f"{where}: expected a mapping with rpcs and optionally when, once")
        when = raw.get("when") or {}
        if not isinstance(when, dict) or set(when) - {"events", "serial", "oui", "product_class"}:
            raise ConfigError(f"{where}: when takes events, serial, oui and product_class")
        rpcs = []
        for item in raw["rpcs"] or []:
            if not isinstance(item, dict) or len(item) != 1:
                raise ConfigError(
                    f"{where}: each rpc is a one-key mapping, e.g. '- Reboot: {{command_key: x}}'"
                )
            ((method, args),) = item.items()
            try:
                rpcs.append((method, cwmp.rpc_args(method, dict(args or {}))))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: {exc}") from None
        rules.append(
            Rule(
                rpcs,
                list(when.get("events", [])),
                str(when.get("serial", "*")),
                bool(raw.get("once")),
                oui=str(when.get("oui", "*")),
                product_class=str(when.get("product_class", "*")),
            )
        )
    return rules


def script_hook(rules: list[Rule]) -> Any:
    def on_inform(hems: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
        for rule in rules:
            if rule.matches(device, events):
                rule.fired.add(device)
                for method, args in rule.rpcs:
                    hems.queue_rpc(device, method, **args)

    return on_inform


def describe(e: Event) -> str:
    """One line for a HeMS timeline event: its time, the unit, and the bench's one description of it."""
    who = e.data.get("serial") or e.data.get("peer", "?")
    return f"{datetime.fromtimestamp(e.t).strftime('%H:%M:%S.%f')[:-3]}  {who:<16} {events.describe(e)}"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "hems", help="run the reference HeMS on its own and watch a unit's CWMP messages"
    )
    p.add_argument("--listen", default="0.0.0.0:7547", metavar="HOST:PORT", help="default 0.0.0.0:7547")
    p.add_argument("--tls", action="store_true", help="serve HTTPS (with --cert/--key, or a fresh bench PKI)")
    p.add_argument("--cert", type=Path, help="server certificate (PEM)")
    p.add_argument("--key", type=Path, help="server private key (PEM)")
    p.add_argument(
        "--identity", help="FQDN or IP the certificate must name exactly (default: the listen host)"
    )
    p.add_argument(
        "--keylog", type=Path, help="TLS key log for Wireshark (default with --tls: hems-tls-keys.log)"
    )
    p.add_argument("--auth", action="append", default=[], metavar="USER:PASS", help="a unit's credentials")
    p.add_argument("--auth-scheme", choices=("digest", "basic"), default="digest")
    p.add_argument("--script", type=Path, help="YAML rules: RPCs to queue when an Inform matches")
    p.add_argument(
        "--end-status", type=int, choices=(204, 200), default=204, help="HTTP status ending a session"
    )
    p.add_argument("--hold-requests", action="store_true", help="set HoldRequests while RPCs are queued")
    p.add_argument("--session-timeout", type=int, help="CWMP 1.3 SessionTimeout to send (1-2 namespace)")
    p.add_argument("-v", "--verbose", action="store_true", help="also print the XML of every message")
    p.add_argument("--plain", action="store_true", help="no colours, even on a terminal")
    p.set_defaults(fn=main)


def build(args: argparse.Namespace, timeline: Timeline) -> tuple[Hems, socket.socket]:
    from bench.hems.server import Hems
    from bench.hems.tls import server_context
    from bench.httpauth import Authenticator

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--listen {args.listen}: expected HOST:PORT")
    auth = None
    if args.auth:
        users = {}
        for cred in args.auth:
            user, sep, password = cred.partition(":")
            if not sep or not user:
                raise ConfigError(f"--auth {cred}: expected USER:PASS")
            users[user] = password
        auth = Authenticator(args.auth_scheme, users)
    tls = None
    if args.tls:
        identity = args.identity or host
        cert, key = args.cert, args.key
        if cert is None or key is None:
            from bench.pki import CertificateAuthority

            ca = CertificateAuthority(Path("hems-pki"))
            files = ca.issue(identity)
            cert, key = files.cert, files.key
            print(f"TLS: a fresh CA in {ca.files.cert} signed {cert} for {identity}", file=sys.stderr)
        tls = server_context(cert, key, identity=identity, keylog=args.keylog or Path("hems-tls-keys.log"))
    rules = load_script(args.script) if args.script else []
    hems = Hems(
        "hems",
        timeline,
        session_end_status=args.end_status,
        idle_wait=0.5 if rules else 0.0,
        auth=auth,
        tls=tls,
        hold_requests=args.hold_requests,
        session_timeout=args.session_timeout,
        on_inform=script_hook(rules) if rules else None,
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), int(port)))
    sock.listen(1024)
    return hems, sock


def run(args: argparse.Namespace, stop: threading.Event, out: TextIO = sys.stdout) -> int:
    """Serve until `stop` is set, printing as messages come: woken by each event, each transcript entry (with
    -v) and the stop, never by a clock."""
    timeline = Timeline()
    hems, sock = build(args, timeline)
    transcript = hems.engine.transcript
    if args.verbose:
        transcript.on_add = timeline.wake
    hems.start(sock)

    def stopped() -> None:  # `stop` is set by a signal handler or another thread: a wake-up like an event
        stop.wait()
        timeline.wake()

    threading.Thread(target=stopped, name="hems-stop", daemon=True).start()
    plain = args.plain or not out.isatty()
    console = None
    if not plain:
        from rich.console import Console

        console = Console(file=out, highlight=False)
    scheme = "https" if args.tls else "http"
    print(f"HeMS listening on {scheme}://{args.listen}/ (Ctrl-C to stop)", file=out, flush=True)
    pos, xml_pos = 0, 0
    styles = {"inform": "bold cyan", "rpc-sent": "green", "rpc-fault": "bold red", "session-end": "dim"}

    def news() -> bool:  # asked under the timeline's lock, at each event and wake-up
        return stop.is_set() or timeline.mark() > pos or (args.verbose and len(transcript) > xml_pos)

    try:
        while not stop.is_set():
            timeline.wait_until(news)
            # The XML is looked at at every wake-up, and a new entry is one: the HeMS writes a message's transcript
            # once it has answered, after its event (a session's end is the last one: no event comes after it).
            # Read before the events, so each event is printed before its XML.
            entries = hems.transcript(xml_pos) if args.verbose else []
            xml_pos += len(entries)
            events = timeline.events(pos)
            pos += len(events)
            for e in events:
                line = describe(e)
                if console is not None:
                    console.print(line, style=styles.get(e.kind, "red" if " !! " in line else ""))
                else:
                    print(line, file=out, flush=True)
            for t in entries:
                arrow = "<-" if t["direction"] == "in" else "->"
                print(f"   {arrow} HTTP {t['status']} {t['peer']}\n{t['xml'] or '(empty body)'}", file=out)
    finally:
        hems.stop()
        sock.close()
    return 0


def main(args: argparse.Namespace) -> int:
    stop = threading.Event()
    try:
        return run(args, stop)
    except KeyboardInterrupt:
        stop.set()
        return 0

"""One bench run: the topology, the unit under test, the timeline and the evidence folder `captures/<run-id>/`
(run.json, timeline.jsonl, report.html, a folder per test, a bug bundle per failed test)."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from bench.attribution import Attributor, UnitKey, bridge_macs, neighbour_macs
from bench.capture import Capture, CaptureFormatError, stop_together
from bench.errors import ConfigError
from bench.events import NtpKind, SecurityKind, Source, UnitKind
from bench.inventory import Inventory
from bench.network.topology import Topology
from bench.outer_link import Policy
from bench.outer_link import failures as outer_failures
from bench.outer_link import read as read_outer
from bench.outer_link import verdict as outer_verdict
from bench.plans import PlanSet, plan_set
from bench.report.redact import Redactor, redactor_for
from bench.report.units import write_index, write_junit
from bench.steps import Steps
from bench.timeline import Event, Timeline, UnitTimeline
from bench.unit import BenchUnit, default_ike_id, home_port
from bench.waivers import waiver_list

KEYLOG_PATTERNS = ("*.keylog", "*keylog*", "*tls-keys.log")
SOFTWARE_VERSION = ("SoftwareVersion",)
HARDWARE_VERSION = ("HardwareVersion",)


@functools.cache
def tool_version() -> str:
    try:
        return metadata.version("henb-bench")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def git_revision(where: Path | None = None) -> str | None:
    """The bench's git commit (with "-dirty" for local changes), or None outside a git checkout; asked once per
    process (a run with several units writes a summary per unit: two git commands each)."""
    cwd = where or Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("-dirty" if dirty else "") if rev else None


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def reported_identity(events: list[Event]) -> dict[str, str]:
    """DeviceId and firmware as the unit itself reported them in its first Inform."""
    inf = next((e for e in events if e.source == "hems" and e.kind == "inform"), None)
    if inf is None:
        return {}
    d = inf.data
    out = {k: str(d[k]) for k in ("manufacturer", "oui", "product_class", "serial") if d.get(k) is not None}
    for name, value in (d.get("params") or {}).items():
        leaf = str(name).rsplit(".", 1)[-1]
        if leaf in SOFTWARE_VERSION + HARDWARE_VERSION:
            out[leaf] = str(value)
    return out


def preparations(events: list[Event]) -> list[dict[str, Any]]:
    """How each unit whose flash the bench did not know reached the first state a test asked for (unit/prepared):
    used as configured, found factory-fresh, or factory-reset first; with the seconds it took."""
    keys = ("unit", "state", "path", "seconds", "detail")
    return [
        {k: e.data.get(k) for k in keys}
        for e in events
        if e.source == Source.UNIT and e.kind == UnitKind.PREPARED
    ]


def installed_plans() -> PlanSet | None:
    """The installed plans (bench/plans.py), or None when none load."""
    try:
        return plan_set()
    except ConfigError:
        return None


def clause_catalogue(plans: PlanSet | None = None) -> dict[str, Any]:
    """The clauses, their checks and expected figures from the plans (given, else the installed ones) for the
    report, if any."""
    plans = plans or installed_plans()
    return plans.catalogue() if plans is not None else {}


def waivers_of(inv: Inventory, units: list[str], plans: PlanSet | None = None) -> list[dict[str, Any]]:
    """The checks the lab waived for the run's units, with their reasons (bench/waivers.py)."""
    plans = plans or installed_plans()
    try:
        return waiver_list(plans.clauses, inv, units) if plans is not None else []
    except ConfigError:
        return []


class Evidence:
    """Per test, in one folder: the captures (outer, inner, inner-initial: docs/evidence.md), the timeline slice,
    HeMS transcripts, the console slice, TLS key logs and the power supply's trace; text is redacted of secrets."""

    def __init__(self, run: BenchRun | UnitRun, name: str) -> None:
        self.run = run
        self.dir = run.dir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mark = run.timeline.mark()
        n = run.topology.names
        # The unit's WAN link as its kind plugged it into the home link (a mock's veth, a physical unit's NIC).
        wan_ns, wan_link = run.unit.wan
        self.outer = Capture(wan_ns, wan_link, self.dir / "outer.pcapng", "outer")
        # Each SeGW's core side (the Initial one's: the discovery's private DNS and CWMP, 5.1.2.2); with several
        # units on the link, each unit's share of it: its inner addresses.
        self.inner, self.inner_initial = (
            Capture(n.ns(ns), n.link(end, "co"), self.dir / f"{file}.pcapng", file, hosts=run.inner_hosts)
            for ns, end, file in (("ssegw", "ss", "inner"), ("isegw", "is", "inner-initial"))
        )
        self.started = time.time()

    def start(self) -> None:
        for capture in (self.outer, self.inner, self.inner_initial):
            capture.start()

    def stop(self) -> None:
        """Every capture at once (bench.capture.stop_together)."""
        stop_together((self.outer, self.inner, self.inner_initial))

    def finish(self) -> None:
        self.stop()
        boot = self.run.unit.last_boot
        since = min(self.mark, boot.mark) if boot else self.mark
        tl = self.run.timeline
        tl.dump(self.dir / "timeline.jsonl", since)
        events = tl.events(since)
        start = events[0].t if events else self.started
        redact = self.run.redactor
        for name, hems in self.run.topology.hems.items():
            self._write_transcript(self.dir / f"{name}-transcript.txt", self.run.transcripts.of(hems), start)
        lines = [e for e in events if e.source == "console" and e.kind == "console-line"]
        with (self.dir / "console.log").open("w", encoding="utf-8") as fh:
            for e in lines:
                stamp = time.strftime("%H:%M:%S", time.localtime(e.t)) + f".{int(e.t * 1000) % 1000:03d}"
                fh.write(redact(f"{stamp} +{e.t - tl.t0:.3f}s {e.data.get('line', '')}") + "\n")
        samples = [e for e in events if e.source == "power" and e.kind in ("psu-sample", "psu-fault")]
        if samples:
            with (self.dir / "power.csv").open("w", encoding="utf-8") as fh:
                fh.write("t,seconds,kind,volts,amps\n")
                for e in samples:
                    volts, amps = e.data.get("volts", ""), e.data.get("amps", "")
                    fh.write(f"{e.t:.6f},{e.t - tl.t0:.3f},{e.kind},{volts},{amps}\n")
        self._copy_keylogs()

    def _write_transcript(self, path: Path, entries: list[tuple[float, str, str]], start: float) -> None:
        with path.open("w", encoding="utf-8") as fh:
            for t, peer, text in entries:
                if t >= start and self.run.owns_peer(peer):
                    fh.write(text)

    def _copy_keylogs(self) -> None:
        """TLS key logs the topology's services wrote (NSS key log format), for Wireshark to decrypt."""
        workdir = self.run.topology.workdir
        if not workdir.is_dir():
            return
        seen: set[Path] = set()
        for pattern in KEYLOG_PATTERNS:
            for path in workdir.rglob(pattern):
                if path.is_file() and path not in seen:
                    seen.add(path)
                    shutil.copy(path, self.dir / str(path.relative_to(workdir)).replace("/", "-"))

    def assert_no_cleartext(self, steps: Steps) -> None:
        """TS 33.320: no operator traffic (CWMP, S1, files, anything to or from the operator's ranges) outside
        the tunnel; DHCP, DNS, NTP, ICMP and IKE/ESP may cross the outer link. Other traffic goes on the
        timeline and fails only with operator.outer_link.strict. For a unit whose Initial HeMS is on the public
        internet (units.NAME.initial_hems_access: public, 5.1.2.3), its TLS session with it crosses the link too."""
        self.outer.stop()
        inv, tl = self.run.inv, self.run.timeline
        policy = Policy.of(
            inv.network, inv.operator, public=self.run.unit.cfg.initial_hems_access == "public"
        )
        link = read_outer(self.outer.path, policy.operator_ports)
        if link.cut is not None:  # the bench's own capture, cut: the bench's error, not the unit's
            raise CaptureFormatError(link.cut)
        verdict = outer_verdict(link.flows, policy)
        for p in link.ntp_queries:
            tl.add(Source.NTP, NtpKind.QUERY, at=p.t, peer=p.src, server=p.dst)
        tl.add(
            Source.SECURITY,
            SecurityKind.OUTER_LINK,
            strict=policy.strict,
            operator=verdict.operator_packets,
            allowed=dict(verdict.allowed),
            other=dict(verdict.other),
            capture=str(self.outer.path),
        )
        # Worded as the evidence judge words it (bench.evidence.judge_outer): the same rule, the same words.
        for expected, seen, _ in outer_failures(verdict, policy, str(self.outer.path), tl.t0)[:1]:
            steps.fail("security", expected, seen)


class Transcripts:
    """Each HeMS's transcript entries as the evidence writes them (redacted), made once per run: a test's
    transcript starts at the unit's boot, so most entries recur in every later test's (read and redacted anew,
    that grew with the run: 0.1 s per test by the end of `make demo` at load 20)."""

    def __init__(self, redact: Callable[[str], str], t0: float) -> None:
        self.redact, self.t0 = redact, t0
        # By the HeMS's id, with the HeMS itself kept: the id of one collected is never another's here.
        self._done: dict[int, tuple[Any, list[tuple[float, str, str]]]] = {}
        self._lock = threading.Lock()

    def of(self, hems: Any) -> list[tuple[float, str, str]]:
        """(time, peer, text) of each entry of `hems` so far; the header names the HeMS as its own name does."""
        with self._lock:
            done = self._done.setdefault(id(hems), (hems, []))[1]
            for e in hems.transcript(len(done)):
                arrow = "<- from" if e["direction"] == "in" else "-> to"
                head = (
                    f"=== +{e['t'] - self.t0:.3f}s HeMS {hems.name} {arrow} {e['peer']} HTTP {e['status']}\n"
                )
                done.append((e["t"], str(e["peer"]), head + self.redact(e["xml"] or "(empty body)") + "\n\n"))
            return list(done)


class BenchRun:
    """The run: one topology and timeline, and the units under test on it (one, or several at once; a run with
    several attributes every event to its unit and gives each unit a view of itself, `UnitRun`)."""

    inner_hosts: Callable[[], set[str]] | None = None  # one unit: the inner capture keeps every packet
    # One unit until start() says otherwise (also for a run folder made without namespaces, as tests do).
    unit_names: Sequence[str] = ()
    # Why the run stopped before its end ("Ctrl-C", "SIGTERM"), set by the plugin: run.json says so.
    interrupted: str | None = None
    views: Mapping[str, UnitRun] = MappingProxyType({})
    attributor: Attributor | None = None

    def __init__(
        self,
        inv: Inventory,
        unit_name: str | list[str] | None,
        out: Path,
        run_id: str,
        knobs: list[str] | None = None,
        inventory_path: Path | None = None,
    ) -> None:
        self.inv = inv
        self.inventory_path = inventory_path
        names: list[str | None] = (
            [unit_name] if unit_name is None or isinstance(unit_name, str) else [*unit_name] or [None]
        )
        self.unit_names = list(dict.fromkeys(inv.unit(n)[0] for n in names))
        self.unit_name, self.unit_cfg = inv.unit(self.unit_names[0])
        self.dir = out / run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self.knobs = knobs or []
        self.redactor: Redactor = redactor_for(inv)
        self.timeline = Timeline()
        self.timeline.line_filter = self.redactor.text if self.redactor else None
        self.timeline.attach(self.dir / "timeline.jsonl")
        self.transcripts = Transcripts(self.redactor, self.timeline.t0)
        workdir = inv.bench.state_dir / f"{inv.bench.prefix}work"
        self.topology = Topology(inv, workdir, self.timeline)
        self._unit: BenchUnit | None = None
        self.units: dict[str, BenchUnit] = {}
        self.results: list[dict[str, Any]] = []
        self.started = time.time()
        self.stopped = False
        self.closed = False

    @property
    def several(self) -> bool:
        """More than one unit under test: tests run once per unit, concurrently (bench/fleet.py)."""
        return len(self.unit_names) > 1

    def knobs_for(self, name: str) -> list[str]:
        """The mock knobs for unit `name`: `KNOB` is for every unit, `UNIT:KNOB` for that one."""
        out = []
        for knob in self.knobs:
            unit, sep, bare = knob.rpartition(":")
            if not sep or unit == name:
                out.append(bare)
        return out

    def owns_peer(self, peer: str) -> bool:
        return True

    def owns_address(self, addr: str) -> bool:
        """A connecting peer's address is the unit's (one unit: any address is)."""
        return True

    def start(self) -> None:
        """Topology up, the units on their ports; on failure everything started is torn down again (the
        summary is still written by close(), once the caller has recorded why)."""
        try:
            self.topology.up()
            if not self.several:
                self._unit = BenchUnit(self.unit_name, self.unit_cfg, self, 0, self.knobs_for(self.unit_name))
                self.units[self.unit_name] = self._unit
                return
            self._attribute()
            views: dict[str, UnitRun] = {}
            self.views = views
            for index, name in enumerate(self.unit_names):
                view = views[name] = UnitRun(self, name)
                view._unit = self.units[name] = BenchUnit(
                    name, self.inv.units[name], view, index, self.knobs_for(name)
                )
            self._unit = self.units[self.unit_name]
        except BaseException:
            self.stop()
            raise

    def _attribute(self) -> None:
        """Whose event is it: one attributor for the whole timeline, from what the inventory says of each unit
        and which home-bridge port its WAN link is on."""
        names = self.topology.names
        keys = []
        for index, name in enumerate(self.unit_names):
            cfg = self.inv.units[name]
            port = home_port(cfg, names, index)
            ident = cfg.identity
            keys.append(
                UnitKey(name, ident.oui, ident.serial_number, ident.ike_id or default_ike_id(cfg), port)
            )
        inet, segws = names.ns("inet"), self.topology.segw
        self.attributor = Attributor(
            keys,
            lambda: bridge_macs(inet),
            lambda: neighbour_macs(inet),
            lambda: [sa for segw in list(segws.values()) for sa in segw.sas()],
        )
        self.timeline.attributor = self.attributor

    @property
    def started_unit(self) -> BenchUnit | None:
        """The (first) unit, once start() has made it (None before, or when the start failed)."""
        return self._unit

    @property
    def unit(self) -> BenchUnit:
        assert self._unit is not None, "the bench run is not started"
        return self._unit

    def stop(self) -> None:
        """Units off and closed, topology down; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        try:
            for unit in reversed(list(self.units.values())):
                try:
                    unit.close()
                except Exception as exc:  # noqa: BLE001  # the other units and the topology still go down
                    print(f"henb-bench: warning: closing unit {unit.name}: {exc}", file=sys.stderr)
        finally:
            self.topology.down()

    def close(self) -> None:
        """stop(), then the run's summary and evidence; idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stop()
        finally:
            self.timeline.detach_all()
            self._keep_logs()
            self.write_summary()
            self.write_evidence()

    def test_dir(self, result: dict[str, Any]) -> Path:
        """Where a result's evidence is: `<run>/<test>/`, or `<run>/<unit>/<test>/` in a run with several units."""
        return self.dir / result["unit"] / result["test"] if result.get("unit") else self.dir / result["test"]

    def write_evidence(self) -> None:
        """Bundles for failed tests and report.html (one per unit in a run with several); a broken report must
        not hide the run's result."""
        from bench.report.bundle import build_bundle
        from bench.report.html import write_report

        for folder in (self.dir, *(self.dir / n for n in self.views)):
            for log in folder.glob("console-*.log"):
                self.redactor.file(log)
        try:
            for r in self.results:
                if r["outcome"] in ("failed", "error") and self.test_dir(r).is_dir():
                    build_bundle(self.test_dir(r).parent, r["test"])
            for unit in self.views:
                write_report(self.dir / unit, self.redactor)
            if self.several:
                prepared = {str(p["unit"]): str(p["detail"]) for p in preparations(self.timeline.events())}
                write_index(self.dir, self.run_id, self.unit_names, self.results, self.interrupted, prepared)
            else:
                write_report(self.dir, self.redactor)
        except Exception as exc:  # noqa: BLE001  # the evidence is still on disk; say what went wrong
            print(f"henb-bench: warning: report not written: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _keep_logs(self) -> None:
        """Daemon logs go with the evidence: the work folder is reused by the next run."""
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        for path in self.topology.workdir.glob("**/*"):
            if path.suffix in (".log", ".out") or path.name == "mock.json":
                rel = path.relative_to(self.topology.workdir)
                dest = logs / str(rel).replace("/", "-")
                shutil.copy(path, dest)
                self.redactor.file(dest)

    def measurements(self, unit: str | None = None) -> dict[str, float]:
        """The run's measurements from its first boot: the first test's slice, with its outer capture."""
        from bench.report.measure import measure

        for r in self.results:
            if r.get("measurements") and r.get("unit") == unit:
                return dict(r["measurements"])
        tl = self.views[unit].timeline if unit is not None else self.timeline
        return measure([_plain(e) for e in tl.events()])

    def write_summary(self) -> None:
        """run.json; in a run with several units also `<unit>/run.json`, `<unit>/timeline.jsonl` and
        `<unit>/junit.xml` per unit."""
        from bench.report.measure import measure

        parsed: dict[str, dict[str, Any]] = {}  # each line once: most recur in every later test's file
        for r in self.results:
            test_dir = self.test_dir(r)
            path = test_dir / "timeline.jsonl"
            if path.is_file() and "measurements" not in r:
                lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
                events = [parsed.get(line) or parsed.setdefault(line, json.loads(line)) for line in lines]
                r["measurements"] = measure(events, test_dir / "outer.pcapng")
        # The plans once for every summary: reading them imports every plan module anew (bench/plans.py).
        plans = installed_plans()
        catalogue = clause_catalogue(plans)
        summary = self._summary(self.unit_name, None, self.results, plans, catalogue)
        if self.several:
            summary["units"] = self.unit_names
        self._write_json(self.dir / "run.json", summary)
        for name, view in self.views.items():
            mine = [r for r in self.results if r.get("unit") == name]
            self._write_json(view.dir / "run.json", self._summary(name, name, mine, plans, catalogue))
            view.timeline.dump(view.dir / "timeline.jsonl")
            write_junit(view.dir / "junit.xml", name, mine)

    def _summary(
        self,
        name: str,
        unit: str | None,
        results: list[dict[str, Any]],
        plans: PlanSet | None,
        catalogue: dict[str, Any],
    ) -> dict[str, Any]:
        cfg = self.inv.units[name]
        tl = self.views[unit].timeline if unit is not None else self.timeline
        return {
            "run_id": self.run_id,
            "tool_version": tool_version(),
            "git_revision": git_revision(),
            "python": sys.version.split()[0],
            "host": socket.gethostname(),
            "inventory": str(self.inventory_path) if self.inventory_path else None,
            "inventory_sha256": file_sha256(self.inventory_path) if self.inventory_path else None,
            "bench": self.inv.bench.name,
            "unit": name,
            "identity": cfg.identity.model_dump(),
            "data_model": cfg.data_model.resolve().model_dump(),  # the paths the bench used
            "reported": reported_identity(tl.events()),
            "preparation": preparations(tl.events()),
            "knobs": self.knobs_for(name) if unit is not None else self.knobs,
            "t0": self.timeline.t0,
            "started": self.started,
            "ended": time.time(),
            "started_iso": _iso(self.started),
            "ended_iso": _iso(time.time()),
            "timings": {k: round(v, 3) for k, v in self.topology.timings.items()},
            "measurements": self.measurements(unit),
            "clauses": catalogue,
            "waivers": waivers_of(self.inv, [name] if unit is not None else list(self.unit_names), plans),
            "interrupted": self.interrupted,
            "results": results,
        }

    def _write_json(self, path: Path, summary: dict[str, Any]) -> None:
        clean = {k: v if k == "clauses" else self.redactor.obj(v) for k, v in summary.items()}
        path.write_text(json.dumps(clean, indent=1))


class UnitRun:
    """One unit's view of a run with several units, what a plan sees as `bench_run`: the shared topology and
    inventory, the unit's own timeline view (bench.timeline.UnitTimeline) and evidence folder `<run>/<unit>/`."""

    several = True  # a view exists only in a run with several units

    def __init__(self, run: BenchRun, name: str) -> None:
        assert run.attributor is not None
        self.run = run
        self.inv = run.inv
        self.inventory_path = run.inventory_path
        self.run_id = run.run_id
        self.unit_name, self.unit_cfg = name, run.inv.units[name]
        self.dir = run.dir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.knobs = run.knobs_for(name)
        self.redactor = run.redactor
        self.timeline = UnitTimeline(run.timeline, name)
        self.transcripts = run.transcripts
        self.topology = run.topology
        self.results = run.results
        self._unit: BenchUnit | None = None
        attributor = run.attributor
        self.inner_hosts: Callable[[], set[str]] | None = lambda: attributor.inner_addresses(name)
        self._addresses = lambda: attributor.addresses(name)
        self._unit_at = attributor.unit_at

    @property
    def unit(self) -> BenchUnit:
        assert self._unit is not None, "the bench run is not started"
        return self._unit

    @property
    def started_unit(self) -> BenchUnit | None:
        return self._unit

    def owns_peer(self, peer: str) -> bool:
        """A HeMS transcript entry's peer (an address, or a connection request's URL) is this unit's."""
        host = urlsplit(peer).hostname if "://" in peer else peer
        return host in self._addresses()

    def owns_address(self, addr: str) -> bool:
        """A connecting peer's address is this unit's WAN (or inner) address, found at once even before its
        lease's log line is read (bench.attribution.Attributor.unit_at): what a service that must treat this
        unit apart from the others (the Initial HeMS's certificate, 5.1.2.3) asks when the unit connects."""
        return self._unit_at(addr) == self.unit_name


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


def _plain(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "t": e.t, "source": e.source, "kind": e.kind, "data": e.data}

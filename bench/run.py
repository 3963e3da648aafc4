"""One bench run: the topology, the unit under test, the timeline and the evidence folder `captures/<run-id>/`
(run.json, timeline.jsonl, report.html, a folder per test, a bug bundle per failed test)."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.capture import Capture, describe
from bench.errors import ConfigError
from bench.events import NtpKind, SecurityKind, Source
from bench.inventory import Inventory
from bench.network.topology import Topology
from bench.outer_link import judge
from bench.plans import plan_set
from bench.report.redact import Redactor, redactor_for
from bench.steps import Steps
from bench.timeline import Event, Timeline
from bench.unit import BenchUnit

KEYLOG_PATTERNS = ("*.keylog", "*keylog*", "*tls-keys.log")
SOFTWARE_VERSION = ("SoftwareVersion",)
HARDWARE_VERSION = ("HardwareVersion",)


def tool_version() -> str:
    try:
        return metadata.version("henb-bench")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_revision(where: Path | None = None) -> str | None:
    """The bench's git commit (with "-dirty" for local changes), or None outside a git checkout."""
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


def clause_catalogue() -> dict[str, Any]:
    """The clauses, their checks and expected figures from the installed plans (for the report), if any."""
    try:
        return plan_set().catalogue()
    except ConfigError:
        return {}


class Evidence:
    """Per test, in one folder: outer and inner captures (pcapng), the timeline slice, HeMS transcripts, the
    console slice, TLS key logs and the power supply's trace; text is redacted of the inventory's secrets."""

    def __init__(self, run: BenchRun, name: str) -> None:
        self.run = run
        self.dir = run.dir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mark = run.timeline.mark()
        n = run.topology.names
        # The unit's WAN link as its kind plugged it into the home link (a mock's veth, a physical unit's NIC).
        wan_ns, wan_link = run.unit.wan
        self.outer = Capture(wan_ns, wan_link, self.dir / "outer.pcapng", "outer")
        self.inner = Capture(n.ns("ssegw"), n.link("ss", "co"), self.dir / "inner.pcapng", "inner")
        self.started = time.time()

    def start(self) -> None:
        self.outer.start()
        self.inner.start()

    def stop(self) -> None:
        self.outer.stop()
        self.inner.stop()

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
            self._write_transcript(self.dir / f"{name}-transcript.txt", hems.name, hems.transcript(), start)
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

    def _write_transcript(self, path: Path, name: str, entries: list[dict[str, Any]], start: float) -> None:
        t0 = self.run.timeline.t0
        redact = self.run.redactor
        with path.open("w", encoding="utf-8") as fh:
            for e in entries:
                if e["t"] < start:
                    continue
                arrow = "<- from" if e["direction"] == "in" else "-> to"
                fh.write(f"=== +{e['t'] - t0:.3f}s HeMS {name} {arrow} {e['peer']} HTTP {e['status']}\n")
                fh.write(redact(e["xml"] or "(empty body)") + "\n\n")

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
        inv = self.run.inv
        net, op, tl = inv.network, inv.operator, self.run.timeline
        exempt = {str(net.public_hems)} if self.run.unit.cfg.initial_hems_access == "public" else set()
        verdict = judge(
            self.outer.path,
            [net.core, net.transit, net.initial_pool, *net.serving_pools],
            {op.hems_port},
            exempt,
        )
        for p in verdict.ntp_queries:
            tl.add(Source.NTP, NtpKind.QUERY, at=p.t, peer=p.src, server=p.dst)
        tl.add(
            Source.SECURITY,
            SecurityKind.OUTER_LINK,
            strict=op.outer_link.strict,
            operator=len(verdict.operator),
            allowed=dict(verdict.allowed),
            other=dict(verdict.other),
            capture=str(self.outer.path),
        )
        if verdict.operator:
            shown = "; ".join(describe(p, tl.t0) for p in verdict.operator[:3])
            steps.fail(
                "security",
                f"no operator traffic outside the tunnel on the unit's outer link ({self.outer.path})",
                f"{len(verdict.operator)} cleartext operator packet(s): {shown}",
            )
        if verdict.other and op.outer_link.strict:
            steps.fail(
                "security",
                "only DHCP, DNS, NTP, ICMP and IKE/ESP on the unit's outer link (operator.outer_link.strict) "
                f"({self.outer.path})",
                f"other traffic: {verdict.other_text(tl.t0)}",
            )


class BenchRun:
    def __init__(
        self,
        inv: Inventory,
        unit_name: str | None,
        out: Path,
        run_id: str,
        knobs: list[str] | None = None,
        inventory_path: Path | None = None,
    ) -> None:
        self.inv = inv
        self.inventory_path = inventory_path
        self.unit_name, self.unit_cfg = inv.unit(unit_name)
        self.dir = out / run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self.knobs = knobs or []
        self.redactor: Redactor = redactor_for(inv)
        self.timeline = Timeline()
        self.timeline.line_filter = self.redactor.text if self.redactor else None
        self.timeline.attach(self.dir / "timeline.jsonl")
        workdir = inv.bench.state_dir / f"{inv.bench.prefix}work"
        self.topology = Topology(inv, workdir, self.timeline)
        self._unit: BenchUnit | None = None
        self.results: list[dict[str, Any]] = []
        self.started = time.time()
        self.stopped = False
        self.closed = False

    def start(self) -> None:
        """Topology up, the unit on its port; on failure everything started is torn down again (the summary
        is still written by close(), once the caller has recorded why)."""
        try:
            self.topology.up()
            self._unit = BenchUnit(self.unit_name, self.unit_cfg, self, 0, self.knobs)
        except BaseException:
            self.stop()
            raise

    @property
    def started_unit(self) -> BenchUnit | None:
        """The unit, once start() has made it (None before, or when the start failed)."""
        return self._unit

    @property
    def unit(self) -> BenchUnit:
        assert self._unit is not None, "the bench run is not started"
        return self._unit

    def stop(self) -> None:
        """Unit off and closed, topology down; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if self._unit is not None:
                self._unit.close()
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

    def write_evidence(self) -> None:
        """Bundles for failed tests and report.html; a broken report must not hide the run's result."""
        from bench.report.bundle import build_bundle
        from bench.report.html import write_report

        for name in self.dir.glob("*"):
            if name.is_file() and name.name.startswith("console-") and name.suffix == ".log":
                self.redactor.file(name)
        try:
            for r in self.results:
                if r["outcome"] in ("failed", "error") and (self.dir / r["test"]).is_dir():
                    build_bundle(self.dir, r["test"])
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

    def measurements(self) -> dict[str, float]:
        """The run's measurements from its first boot: the first test's slice, with its outer capture."""
        from bench.report.measure import measure

        for r in self.results:
            if r.get("measurements"):
                return dict(r["measurements"])
        return measure([_plain(e) for e in self.timeline.events()])

    def write_summary(self) -> None:
        from bench.report.measure import measure

        ident = self.unit_cfg.identity
        for r in self.results:
            test_dir = self.dir / r["test"]
            path = test_dir / "timeline.jsonl"
            if path.is_file() and "measurements" not in r:
                events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
                r["measurements"] = measure(events, test_dir / "outer.pcapng")
        summary = {
            "run_id": self.run_id,
            "tool_version": tool_version(),
            "git_revision": git_revision(),
            "python": sys.version.split()[0],
            "host": socket.gethostname(),
            "inventory": str(self.inventory_path) if self.inventory_path else None,
            "inventory_sha256": file_sha256(self.inventory_path) if self.inventory_path else None,
            "bench": self.inv.bench.name,
            "unit": self.unit_name,
            "identity": ident.model_dump(),
            "data_model": self.unit_cfg.data_model.resolve().model_dump(),  # the paths the bench used
            "reported": reported_identity(self.timeline.events()),
            "knobs": self.knobs,
            "t0": self.timeline.t0,
            "started": self.started,
            "ended": time.time(),
            "started_iso": _iso(self.started),
            "ended_iso": _iso(time.time()),
            "timings": {k: round(v, 3) for k, v in self.topology.timings.items()},
            "measurements": self.measurements(),
            "clauses": clause_catalogue(),
            "results": self.results,
        }
        clean = {k: v if k == "clauses" else self.redactor.obj(v) for k, v in summary.items()}
        text = json.dumps(clean, indent=1)
        (self.dir / "run.json").write_text(text)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


def _plain(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "t": e.t, "source": e.source, "kind": e.kind, "data": e.data}

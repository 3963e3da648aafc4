"""One bench run: the topology, the unit under test, the timeline and the evidence folder `captures/<run-id>/`."""

from __future__ import annotations

import ipaddress
import json
import shutil
import time
from pathlib import Path
from typing import Any

from bench.capture import Capture, cleartext_leaks, describe
from bench.inventory import Inventory
from bench.network.topology import Topology
from bench.steps import Steps
from bench.timeline import Timeline
from bench.unit import BenchUnit


class Evidence:
    """Per test: outer and inner captures, the timeline slice, HeMS transcripts, in one folder."""

    def __init__(self, run: BenchRun, name: str) -> None:
        self.run = run
        self.dir = run.dir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.mark = run.timeline.mark()
        topo = run.topology
        n = topo.names
        self.outer = Capture(n.ns("inet"), n.link("in", "u0"), self.dir / "outer.pcap", "outer")
        self.inner = Capture(n.ns("ssegw"), n.link("ss", "co"), self.dir / "inner.pcap", "inner")
        self.started = time.time()

    def start(self) -> None:
        self.outer.start()
        self.inner.start()

    def stop(self) -> None:
        self.outer.stop()
        self.inner.stop()

    def finish(self) -> None:
        self.stop()
        boot = self.run.unit.boot
        since = min(self.mark, boot.mark) if boot else self.mark
        self.run.timeline.dump(self.dir / "timeline.jsonl", since)
        for name, hems in self.run.topology.hems.items():
            hems.write_transcript(self.dir / f"{name}-transcript.txt")

    def assert_no_cleartext(self, steps: Steps) -> None:
        """Only DHCP, DNS and IKE/ESP may cross the unit's outer link: nothing in clear to the core."""
        self.outer.stop()
        net = self.run.inv.network
        # Link-local multicast (the home bridge's own IGMP reports) never leaves the link: not a leak.
        leaks = [
            p
            for p in cleartext_leaks(
                self.outer.path, [net.core, net.transit, net.initial_pool, *net.serving_pools]
            )
            if not ipaddress.IPv4Address(p.dst).is_multicast
        ]
        if leaks:
            shown = "; ".join(describe(p, self.run.timeline.t0) for p in leaks[:3])
            steps.fail(
                "security",
                f"only DHCP, DNS and IKE/ESP on the unit's outer link ({self.outer.path})",
                f"{len(leaks)} cleartext packet(s): {shown}",
            )


class BenchRun:
    def __init__(
        self, inv: Inventory, unit_name: str | None, out: Path, run_id: str, knobs: list[str] | None = None
    ) -> None:
        self.inv = inv
        self.unit_name, self.unit_cfg = inv.unit(unit_name)
        self.dir = out / run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self.knobs = knobs or []
        self.timeline = Timeline()
        self.timeline.attach(self.dir / "timeline.jsonl")
        workdir = inv.bench.state_dir / f"{inv.bench.prefix}work"
        self.topology = Topology(inv, workdir, self.timeline)
        self._unit: BenchUnit | None = None
        self.results: list[dict[str, Any]] = []
        self.started = time.time()
        self.closed = False

    def start(self) -> None:
        try:
            self.topology.up()
            self._unit = BenchUnit(self.unit_name, self.unit_cfg, self, 0, self.knobs)
        except BaseException:
            self.close()
            raise

    @property
    def unit(self) -> BenchUnit:
        assert self._unit is not None, "the bench run is not started"
        return self._unit

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self._unit is not None:
                try:
                    self._unit.power_off()
                finally:
                    self._unit.close()
        finally:
            self.topology.down()
            self.timeline.detach_all()
            self._keep_logs()
            self.write_summary()

    def _keep_logs(self) -> None:
        """Daemon logs go with the evidence: the work folder is reused by the next run."""
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        for path in self.topology.workdir.glob("**/*"):
            if path.suffix in (".log", ".out") or path.name == "mock.json":
                rel = path.relative_to(self.topology.workdir)
                shutil.copy(path, logs / str(rel).replace("/", "-"))

    def write_summary(self) -> None:
        ident = self.unit_cfg.identity
        summary = {
            "run_id": self.run_id,
            "unit": self.unit_name,
            "identity": ident.model_dump(),
            "knobs": self.knobs,
            "started": self.started,
            "ended": time.time(),
            "timings": {k: round(v, 3) for k, v in self.topology.timings.items()},
            "results": self.results,
        }
        (self.dir / "run.json").write_text(json.dumps(summary, indent=1))

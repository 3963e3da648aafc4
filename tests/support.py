"""Helpers for the bench's own tests: run the real CLI, skip without root."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from bench.errors import InfraError

if TYPE_CHECKING:
    from bench.inventory import Inventory

ROOT = Path(__file__).resolve().parents[1]
# One character per pytest-xdist worker (gw0..gw35), so no worker's prefix starts with another's.
WORKER_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def worker_prefix(base: str, worker: str | None) -> str:
    """The namespace prefix for one pytest-xdist worker: `hb-` and `gw3` give `hb3-`; no worker, `base` itself.

    Every name a test makes on the host (namespace, link, state file) starts with it, and `henb-bench clean`
    matches by prefix: worker prefixes are all one character longer than `base` and differ in that character,
    so none is a prefix of another's or of `base`."""
    if not re.fullmatch(r"[a-z][a-z0-9]{0,3}-", base):
        raise ValueError(
            f"HB_TEST_PREFIX={base!r}: expected a bench prefix like 'hb-' (^[a-z][a-z0-9]{{0,3}}-$)"
        )
    if not worker:
        return base
    index = int(worker.removeprefix("gw"))
    if len(base) > 4 or index >= len(WORKER_CHARS):
        raise ValueError(
            f"HB_TEST_PREFIX={base!r} with xdist worker {worker}: expected at most 3 characters before the '-'"
            f" and at most {len(WORKER_CHARS)} workers, so a per-worker prefix still fits ^[a-z][a-z0-9]{{0,3}}-$"
        )
    return f"{base[:-1]}{WORKER_CHARS[index]}-"


# Two people (or agents, or xdist workers) running the namespace tests at once must not share names.
PREFIX = worker_prefix(os.environ.get("HB_TEST_PREFIX", "hb-"), os.environ.get("PYTEST_XDIST_WORKER"))


# Waits for what must come are bounds, paid only when it does not: they allow for a machine at load 10 on
# two cores (the twins that fail by a timeout wait them out, in parallel with the rest under xdist).
FAST_BOUNDS = {"boot": 15, "step": 8, "address_change_inform": 8, "s1_init": 6, "alarm_inform": 3, "quiet": 1,
               "factory_reset": 8, "pm_interval": 1, "pm_tolerance": 0.6, "transfer_complete": 8}  # fmt: skip


# Seconds a session retry may come after TR-069's upper bound in the suite (operator.session_rules.retry.slack).
RETRY_SLACK = 5.0


def write_inventory(
    path: Path,
    bounds: dict[str, float] | None = None,
    operator: dict[str, object] | None = None,
    all_units: bool = False,
) -> Path:
    """The default inventory with the test prefix (and, given, other bounds or operator settings). Only its
    first unit unless `all_units`: a run drives every unit of its inventory, and most tests are about one."""
    data = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    data["bench"]["prefix"] = PREFIX
    # A retry's lateness is the mock's new connection and Digest round trip through kernel-libipsec on a loaded
    # host (3.45 s past TR-069's bound seen at load 24): the suite allows more than a real bench's default.
    data["operator"]["session_rules"] = {"retry": {"slack": RETRY_SLACK}}
    data["operator"].update(operator or {})
    if not all_units:
        first = next(iter(data["units"]))
        data["units"] = {first: data["units"][first]}
    if bounds:
        for unit in data["units"].values():
            unit["bounds"] = bounds
    path.write_text(yaml.safe_dump(data))
    return path


def unit_like(template: dict[str, Any], serial: str | None) -> dict[str, Any]:
    """A copy of an inventory's unit entry; with `serial`, another unit: that serial number and HeMS
    credentials of its own (OUI-serial, pw-serial), so units of one run are told apart."""
    unit = copy.deepcopy(template)
    if serial is not None:
        unit["identity"]["serial_number"] = serial
        unit["hems_credentials"] = {
            "username": f"{unit['identity']['oui']}-{serial}",
            "password": f"pw-{serial}",
        }
    return unit


def mock_flashes(inventory: Inventory, unit: str = "*") -> list[Path]:
    """The mock units' flash files in the inventory's state directory (bench/mock/device.py names them), of one
    unit or of all."""
    return sorted(inventory.bench.state_dir.glob(f"{inventory.bench.prefix}flash-{unit}-*.json"))


def wipe_flash(inventory: Inventory, unit: str = "*") -> None:
    """Mock units as they leave the factory: what a run before left in their flash is not the test's subject."""
    for flash in mock_flashes(inventory, unit):
        flash.unlink()


def needs_root() -> pytest.MarkDecorator:
    return pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")


# 5.1.3's refused Serving HeMS has nothing to refuse where the Serving HeMS is http:// (the default inventory's,
# operator.serving_hems_tls false): skipped there, saying so.
HTTP_SERVING_HEMS_SKIP = "test_refuses_serving_hems_it_must_not_trust"


def without_http_skip(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A run's results but that one skip (only it: any other skip still shows)."""
    return [r for r in results if (r.get("test"), r.get("outcome")) != (HTTP_SERVING_HEMS_SKIP, "skipped")]


def henb_bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real command line, as a user would."""
    return run_stopped_gently([sys.executable, "-m", "bench.cli", *args], timeout)


def run_stopped_gently(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """subprocess.run, but a command the test gives up on (timed out, interrupted) is stopped as a user stops
    it: SIGTERM, on which a run takes its namespaces and daemons down; killed only if it is still there a
    minute later (subprocess.run kills at once: a run killed so leaves its namespaces and mock units behind)."""
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            proc.terminate()
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


class FakeDevice:
    """A mock unit as its power sees it: start, stop, running; `fail` makes start raise InfraError."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[str] = []
        self._running = False
        self.fail = fail

    def start(self) -> None:
        self.calls.append("start")
        if self.fail:
            raise InfraError(self.fail)
        self._running = True

    def stop(self) -> None:
        self.calls.append("stop")
        self._running = False

    def running(self) -> bool:
        return self._running

    def leftovers(self) -> list[str]:
        return ["4242 charon"] if self._running else []


class NotInItsNamespaceYet(FakeDevice):
    """A unit just switched on whose process has not entered its namespace yet (`ip netns exec` on a loaded
    machine): asked whether anything runs there, the namespace says no."""

    def running(self) -> bool:
        return self.calls[-1:] != ["start"] and super().running()


class Straggler(FakeDevice):
    """A unit switched off with a process left in its namespace (one the power-off did not end)."""

    def leftovers(self) -> list[str]:
        return ["4242 charon"]


def run_results(out: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The one run folder under `out` (a `henb-bench run --out`) and the results its run.json records."""
    run_dir = next(out.iterdir())
    return run_dir, json.loads((run_dir / "run.json").read_text())["results"]

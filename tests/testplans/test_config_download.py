"""5.2.2 and 5.4.2 as a lab sets them up per unit: the unit's own configuration file, the FaultCodes of its TR-069
amendment, DownloadResponse Status 0, a reboot before TransferComplete, and the transfer protocols it lists.

Each test's unit is a unit of one of two runs of 5.2.2 on one operator network (docs/fleet.md): the units that
must pass, and the units that must fail, each judged on its own results, timeline and first failure in its
folder of the run (as a one-unit run with --exitfirst stopped at it), as the negative twins are
(docs/testing.md). Two runs of four units where each test made its own (eight runs); their tests on one
pytest-xdist worker (xdist_group), so each run is made once."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.mock import vendorfile
from tests.support import FAST_BOUNDS, henb_bench, needs_root, unit_like, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]

TAC = "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"
INTERVAL = "Device.ManagementServer.PeriodicInformInterval"
# A boot banner the console shows at every boot (the mock's reboot prints "boot: up again"): the reboot that
# applies the file is the plan's doing, not a crash.
BANNER = {"driver": "mock", "boot_banner": r"mock HeNB \S+ booting|boot: up again"}
SHARED = pytest.mark.xdist_group("config-download-runs")


def unit_inventory(base: Path, out: Path, **unit: Any) -> Path:
    """`base` with these keys set on its (only) unit."""
    data = yaml.safe_load(base.read_text())
    next(iter(data["units"].values())).update(unit)
    out.write_text(yaml.safe_dump(data))
    return out


def run_clauses(inventory: Path, out: Path, *clauses: str) -> tuple[int, str, dict[str, Any]]:
    """`henb-bench run` of the clauses: exit code, the summary and run.json."""
    args = [a for c in clauses for a in ("--clause", c)]
    res = henb_bench("--inventory", str(inventory), "run", *args, "--out", str(out))
    runs = sorted(out.iterdir()) if out.is_dir() else []
    run = json.loads((runs[-1] / "run.json").read_text()) if runs else {}
    return res.returncode, summary_of(res), run


def summary_of(res: subprocess.CompletedProcess[str]) -> str:
    """The run's summary: from its counts line on (the results history's line after it left out)."""
    text = "".join(
        line
        for line in (res.stdout + res.stderr).splitlines(True)
        if not line.startswith("henb-bench: results history")
    )
    found = [m.start() for m in re.finditer(r"henb-bench: \d+ test\(s\)", text)]
    return text[found[-1] :] if found else text[-3000:]


def outcomes(run: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["test"]: (r["outcome"], r.get("message") or "") for r in run["results"]}


@dataclass(frozen=True)
class Unit:
    """One test's unit: its inventory entry's settings on the default unit's (made in the run's folder, with the
    files they name) and the knobs it misbehaves by."""

    settings: Callable[[Path], Mapping[str, Any]]
    knobs: tuple[str, ...] = ()


def own_file(tmp: Path, tag: str, invalid: bool = False) -> dict[str, Any]:
    """A unit's own configuration file (TAC and the interval; with `invalid`, a variant with a TAC out of range
    beside the same interval) and the values read back after it."""
    own = tmp / f"{tag} own.cfg"  # a name the file server cannot serve as it is
    own.write_bytes(vendorfile.build({TAC: "4321", INTERVAL: "77"}))
    cfg: dict[str, Any] = {"path": str(own), "read_back": {TAC: "4321", INTERVAL: "77"}}
    if invalid:
        (tmp / f"{tag} invalid.cfg").write_bytes(vendorfile.build({TAC: "70000", INTERVAL: "77"}))
        cfg["invalid"] = str(tmp / f"{tag} invalid.cfg")
    return {"config_file": cfg}


AMENDMENT_1 = {"cwmp_amendment": 1, "mock": {"cwmp_ns": "urn:dslforum-org:cwmp-1-0"}}
# The runs' units by name. The first unit of the failing run is the inventory's own (henb-01): its words name it.
PASSING = {
    "t-status-0": Unit(lambda tmp: {"console": BANNER}, ("download_status_0",)),
    "t-reboots": Unit(lambda tmp: {"console": BANNER}, ("reboot_on_config_download",)),
    "t-amendment-1": Unit(lambda tmp: AMENDMENT_1),
    "t-own-file": Unit(lambda tmp: own_file(tmp, "good")),
}
FAILING = {
    "henb-01": Unit(lambda tmp: AMENDMENT_1, ("download_wrong_fault",)),
    "t-status-0-early": Unit(lambda tmp: {}, ("download_status_0", "transfer_complete_before_apply")),
    "t-own-file-early": Unit(lambda tmp: own_file(tmp, "early"), ("transfer_complete_before_apply",)),
    "t-partial": Unit(lambda tmp: own_file(tmp, "partial", invalid=True), ("partial_download",)),
}


@dataclass
class Run:
    """One run of 5.2.2 with a unit for each test: its command's result and each unit's folder."""

    res: subprocess.CompletedProcess[str]
    data: dict[str, Any]
    run_dir: Path

    @property
    def summary(self) -> str:
        return summary_of(self.res)

    def results(self, unit: str) -> dict[str, tuple[str, str]]:
        return outcomes(json.loads((self.run_dir / unit / "run.json").read_text()))

    def timeline(self, unit: str) -> list[dict[str, Any]]:
        """The unit's view of the run's timeline (its events and those of no unit)."""
        return [
            json.loads(line) for line in (self.run_dir / unit / "timeline.jsonl").read_text().splitlines()
        ]

    def first_failure(self, unit: str) -> str:
        """The unit's first failure (what a one-unit run with --exitfirst stopped at): its message, after the run's
        summary naming the unit's failure as a one-unit run's did."""
        results = json.loads((self.run_dir / unit / "run.json").read_text())["results"]
        bad = [r for r in results if r["outcome"] in ("failed", "error")]
        shown = "\n".join(f"{r['outcome']} {r['test']}: {r.get('message')}" for r in results)
        assert bad and bad[0]["outcome"] == "failed", f"unit {unit}: no failure of its own first:\n{shown}"
        assert re.search(rf"FAILED  ({re.escape(unit)} +)?5\.2\.2 ", self.summary), self.summary
        return str(bad[0]["message"])


def run_units(units: Mapping[str, Unit], tmp: Path) -> Run:
    """One run of 5.2.2 with these units (no --exitfirst: it would end the run at the first test any unit
    failed; each unit is judged on its own first failure)."""
    data = yaml.safe_load(write_inventory(tmp / "base.yaml", FAST_BOUNDS).read_text())
    ((default, template),) = data["units"].items()
    data["units"] = {}
    for i, (name, spec) in enumerate(units.items(), 1):
        unit = unit_like(template, None if name == default else f"CFG{i:04d}")
        unit.update(copy.deepcopy(dict(spec.settings(tmp))))
        unit.setdefault("mock", {})["misbehave"] = list(spec.knobs)
        data["units"][name] = unit
    inventory = tmp / "units.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp / "captures"
    res = henb_bench(
        "--inventory", str(inventory), "run", "--clause", "5.2.2", "--out", str(out), timeout=900
    )
    runs = sorted(out.iterdir()) if out.is_dir() else []
    assert runs, f"the run left no folder (exit {res.returncode}):\n{(res.stdout + res.stderr)[-4000:]}"
    return Run(res, data, runs[-1])


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_units(PASSING, tmp_path_factory.mktemp("passing"))


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_units(FAILING, tmp_path_factory.mktemp("failing"))


@SHARED
@pytest.mark.parametrize("knob", ["download_status_0", "reboot_on_config_download"])
def test_a_unit_that_applies_at_once_or_reboots_passes(knob: str, passing: Run) -> None:
    unit = next(name for name, u in PASSING.items() if u.knobs == (knob,))
    assert passing.res.returncode == 0, passing.summary
    assert {o for o, _ in passing.results(unit).values()} == {"passed"}, passing.summary
    events = passing.timeline(unit)
    tc = [e for e in events if e["data"].get("method") == "TransferComplete"]
    informs = [e["data"]["events"] for e in events if e["kind"] == "inform"]
    if knob == "download_status_0":
        assert not tc, "a Status 0 unit sent TransferComplete: the knob did not take"
    else:  # the TransferComplete came in the session of the Inform after the reboot
        assert ["1 BOOT", "M Download", "7 TRANSFER COMPLETE"] in informs, informs
        reboots = [e for e in events if e["source"] == "unit" and e["kind"] == "reboot"]
        assert len(reboots) == 4, reboots  # one per protocol
        assert all(e["data"]["fault_code"] == 0 for e in tc if e["data"]["command_key"].startswith("dl-http"))


@SHARED
def test_status_0_before_the_file_is_applied_fails(failing: Run) -> None:
    assert failing.res.returncode == 1, failing.summary
    message = failing.first_failure("t-status-0-early")
    assert (
        "TS 32.593 5.2.2 step 3: expected the downloaded configuration applied when the unit said so"
        in message
    )
    assert "(DownloadResponse Status 0 (applied))" in message and "read back" in message, message


@SHARED
def test_an_amendment_1_unit_reports_9010(passing: Run, failing: Run) -> None:
    assert passing.res.returncode == 0, passing.summary
    faults = {e["data"]["command_key"]: e["data"]["fault_code"] for e in passing.timeline("t-amendment-1")
              if e["data"].get("method") == "TransferComplete"}  # fmt: skip
    assert faults["dl-fail-missing"] == faults["dl-fail-corrupt"] == faults["dl-fail-invalid"] == 9010, faults
    assert faults["dl-fail-wrong-password"] == 9012, faults
    # The twin: the same unit reporting the Amendment 2 codes fails, naming the code its amendment has.
    assert failing.res.returncode == 1, failing.summary
    message = failing.first_failure("henb-01")
    for words in ("FaultCode 9010 for a missing file", "TR-069 Amendment 1 (CWMP 1.0)", "units.henb-01.cwmp_amendment",
                  "seen FaultCode 9016"):  # fmt: skip
        assert words in message, message


@SHARED
def test_the_units_own_file_is_served_as_it_is_and_read_back(passing: Run, failing: Run) -> None:
    assert passing.res.returncode == 0, passing.summary
    own = Path(passing.data["units"]["t-own-file"]["config_file"]["path"])
    results = passing.results("t-own-file")
    assert results["test_failing_download_reports_the_fault_and_changes_nothing[invalid]"][0] == "skipped"
    assert (
        "config_file.invalid"
        in results["test_failing_download_reports_the_fault_and_changes_nothing[invalid]"][1]
    )
    # 4 protocols, 3 failures (not the invalid file it names none of) and the untrusted file server's refusal.
    assert sum(o == "passed" for o, _ in results.values()) == 8, results
    events = passing.timeline("t-own-file")
    sizes = {
        e["data"].get("bytes") for e in events if e["source"] == "fileserver" and e["kind"] == "download"
    }
    assert len(own.read_bytes()) in sizes, sizes  # served as it is (HTTP; FTP and SFTP log no size)
    corrupted = [e for e in events if e["source"] == "bench" and e["kind"] == "corrupted-file"]
    assert corrupted and corrupted[0]["data"]["path"] == str(own), corrupted
    # The twin: a unit that says it is done before applying its own file fails on the inventory's read_back.
    assert failing.res.returncode == 1, failing.summary
    message = failing.first_failure("t-own-file-early")
    assert "applied when TransferComplete is sent" in message and "'77'" in message, message


def test_a_missing_config_file_is_a_config_error(fast_inventory: Path, tmp_path: Path) -> None:
    cfg = {"path": str(tmp_path / "nowhere.cfg"), "read_back": {TAC: "1"}}
    inventory = unit_inventory(fast_inventory, tmp_path / "missing.yaml", config_file=cfg)
    res = henb_bench("--inventory", str(inventory), "check")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "units.henb-01.config_file.path" in res.stderr and "expected a readable file" in res.stderr


def test_protocols_the_unit_does_not_list_are_skipped(fast_inventory: Path, tmp_path: Path) -> None:
    inventory = unit_inventory(fast_inventory, tmp_path / "https.yaml", transfer_protocols=["https"])
    rc, summary, run = run_clauses(inventory, tmp_path / "out", "5.2.2", "5.4.2")
    assert rc == 0, summary
    results = outcomes(run)
    for test, (outcome, message) in results.items():
        if "[https]" in test or "failing" in test or "untrusted" in test:  # the refusals are over HTTPS
            assert outcome == "passed", (test, message)
        else:
            assert outcome == "skipped", (test, outcome)
            assert "is not in units.henb-01.transfer_protocols (https)" in message, message
    assert sum("[https]" in t for t in results) == 2


@SHARED
def test_a_unit_applying_the_valid_lines_of_its_refused_own_file_fails(failing: Run) -> None:
    # The unit's own file sets TAC and the interval; its invalid variant carries a TAC out of range beside the same
    # interval. After the successful downloads the unit already has the file's interval: the plan sets every
    # parameter of the file to another value before each failing download, so applying the interval shows.
    assert "invalid" in failing.data["units"]["t-partial"]["config_file"]
    assert failing.res.returncode == 1, failing.summary
    results = failing.results("t-partial")
    outcome, message = results["test_failing_download_reports_the_fault_and_changes_nothing[invalid]"]
    assert outcome == "failed", results
    assert "TS 32.593 5.2.2 step 3: expected nothing applied after a failed download" in message, message
    assert f"'{INTERVAL}': '76'" in message and f"'{INTERVAL}': '77'" in message, message
    # Every other failing download moved the file's parameters away first too, and a unit that applied nothing
    # of those passes them (the file server's refusal included).
    for how in ("wrong-password", "missing", "corrupt"):
        assert (
            results[f"test_failing_download_reports_the_fault_and_changes_nothing[{how}]"][0] == "passed"
        ), results
    assert results["test_download_from_untrusted_file_server_is_refused"][0] == "passed", results

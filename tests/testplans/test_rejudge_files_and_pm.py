"""One judgement, two sources, for 5.2.2 (configuration by file download), 5.2.3 (its invalid set and its
connection requests) and 5.4 (PM upload): a live run's own evidence (its captures, the run's key logs, and the
`bench` events of each test's timeline: what only the bench knew) judged again gives the live verdict for every
step it can observe, and says which steps it cannot observe and why; a negative twin's run, judged from its
evidence alone, fails the same step with the same message (an event the message describes is shown as the
evidence has it: the live run numbers its timeline, a capture its frames; upload intervals measured from the
file server's clock or the capture's packets differ by milliseconds). One live run, and a twin run per group of
twins (units of one run each)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bench.evidence.cli import call, known_of, timeline_of
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, Judged
from bench.evidence.knowledge import with_knowledge
from bench.evidence.registry import JUDGES
from tests.support import FAST_BOUNDS, henb_bench, needs_root, run_results, write_inventory
from tests.testplans.test_negative_twins import TWINS, Group, run_group

pytestmark = [pytest.mark.netns, needs_root()]
CLAUSES = ("5.2.2", "5.2.3", "5.4.1", "5.4.2")
# Every twin of these clauses, by the runs they share. 5.2.3's connection requests rest on the bench's intent:
# which carried no credentials or a wrong password (step 1: the requests are HTTP Digest, their 401 answers alone
# do not say), and that a step's request carried the credentials the HeMS set at registration (step 2,
# ignore_cr_credentials: the unit answers every one 401, so no session and no RPC is in the evidence). The bench
# says it in a `bench/cr-probe` event before each goes out; a capture from the field has none, and those steps
# are not observable there, never another failure. A bound waited out is judged from the bound the bench's
# event carries.
JUDGED_TWINS = {
    "5.2.2": ("download_not_fetched", "transfer_complete_wrong_key", "transfer_complete_before_apply",
              "download_wrong_fault", "partial_download", "accept_untrusted_file_server"),
    "5.2.2-b": ("no_m_download_event", "transfer_complete_bad_times", "tls_refusal_as_contact_failure"),
    "5.2.3": ("partial_spv", "bad_spv_fault_codes", "accept_invalid_values", "cr_without_credentials",
              "cr_wrong_credentials", "ignore_cr_credentials"),
    "5.4.1": ("pm_upload_while_disabled", "accept_invalid_values", "partial_spv"),
    "5.4.2": ("pm_wrong_credentials", "pm_wrong_interval", "accept_untrusted_file_server"),
    "5.2.2-c": ("no_transfer_complete_after_reboot", "no_enb_config_update", "gpv_fault"),
    "5.2.2-reboot": ("status_1_no_m_reboot", "download_status_1_never_applied"),  # units.NAME.download_applied_at_reboot
    "5.2.3-b": ("spv_not_applied", "status_1_no_m_reboot", "gpv_fault", "no_enb_config_update",
                "stale_parameter_key"),
    "5.4.1-b": ("spv_not_applied",),
    "5.4.2-b": ("no_pm_upload", "pm_forced_period_not_uploaded", "pm_malformed_file", "refuse_pm_disable",
                "gpv_fault"),
}  # fmt: skip


def from_evidence(run_dir: Path, inventory: Path, r: dict[str, Any]) -> Judged | None:
    """Result `r`'s test judged from its folder: its captures with the run's key logs, and its bench events."""
    fn = JUDGES.get(r["clause"], {}).get(r["test"])
    if fn is None:
        return None
    base = run_dir / r["unit"] if r.get("unit") and (run_dir / r["unit"]).is_dir() else run_dir
    folder = base / r["test"]
    captures = [p for p in (folder / "outer.pcapng", folder / "inner.pcapng") if p.is_file()]
    keylogs = sorted((run_dir / "logs").glob("*tls-keys.log")) + sorted((run_dir / "logs").glob("*.keylog"))
    merged = folder.parent / f".{r['test']}-keys.txt"
    merged.write_text("".join(k.read_text() for k in keylogs))
    known = known_of(inventory)
    with tempfile.TemporaryDirectory(prefix="he-files-") as files:  # an FTP upload's file, from its capture
        tl, span = timeline_of(captures, merged, known, files=Path(files))
        tl = with_knowledge(tl, folder / "timeline.jsonl", r.get("mark"))
        merged.unlink()
        return call(r["clause"], fn, tl.events(), None, known, span)


def said(message: str) -> tuple[str, str]:
    """(expected, seen) of a failure message, without where its evidence is and without how an event it
    describes is numbered: the live `#seq +t s` and a capture's frames differ, the words before do not."""
    text = message.split("; evidence: ")[0]
    expected, _, seen = text.partition("; seen ")
    # Upload intervals are measured from when each upload began: the file server's clock, or the capture's
    # first packet of the connection (or the request's), a few milliseconds apart: the numbers are not compared.
    seen = re.sub(r"^uploads \[[0-9., ]+\] s apart$", "uploads [...] s apart", seen)
    # A file the unit uploaded is the file server's stored copy (a path on the bench host) or the path the
    # capture shows it uploaded to: its name is compared, and what is wrong in it.
    seen = re.sub(r"^/\S*/([^/\s]+): ", r"\1: ", seen)
    # What a wait saw last before its bound ran out is the live timeline's (console lines, every unit's
    # events) or the captures' packets: the words up to it are compared.
    # What the HeMS last heard from the unit, and when, is the live HeMS's note (or the capture's last message).
    return expected, re.split(r"#\d+ \+[0-9.]+s |fileserver/|hems/|last seen: |last from the unit: ", seen)[0]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("files-live")
    inventory = write_inventory(tmp / "inventory.yaml", FAST_BOUNDS)
    clauses = [a for c in CLAUSES for a in ("--clause", c)]
    res = henb_bench(
        "--inventory", str(inventory), "run", *clauses, "--out", str(tmp / "captures"), timeout=1800
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    run_dir, results = run_results(tmp / "captures")
    return run_dir, inventory, results


def test_rejudged_from_its_evidence_a_live_run_gives_its_verdicts(
    live: tuple[Path, Path, list[dict[str, Any]]],
) -> None:
    run_dir, inventory, results = live
    judged = {r["test"]: from_evidence(run_dir, inventory, r) for r in results}
    covered = {t: j for t, j in judged.items() if j is not None}
    assert len(covered) == 18, sorted(judged)  # every test of 5.2.2 and 5.4, and 5.2.3's two
    for test, j in covered.items():
        assert j.failed() is None, (test, j.failed())
        unseen = [v for v in j.verdicts if v.outcome == NOT_OBSERVABLE]
        assert all(v.why for v in unseen), (test, unseen)
        if test.endswith("[sftp]"):  # an SFTP transfer is encrypted: the capture cannot show it
            assert any("SFTP transfers are encrypted" in v.why for v in unseen), (test, j.verdicts)
    # the HTTP and FTP transfers are in the inner capture: their fetch and upload steps are judged
    for test in ("test_configuration_by_file_download[http]", "test_configuration_by_file_download[ftp]"):
        assert {v.step: v.outcome for v in covered[test].verdicts}["2"] == "passed", covered[test].verdicts
    res = henb_bench("rejudge", str(run_dir))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "DIFFERS" not in res.stdout, res.stdout
    assert "18 test(s) judged again, 0 differ" in res.stdout, res.stdout
    sftp = next(
        line for line in res.stdout.splitlines() if "test_configuration_by_file_download[sftp]" in line
    )
    assert sftp.startswith("  same ") and "step 2: not observable: SFTP transfers are encrypted" in sftp, sftp


def _group(name: str) -> Group:
    """The group's twins as units of one run: all with the same inventory settings (the operator's, or a
    unit setting the group's units share, as test_negative_twins groups them)."""
    clause = name.split("-")[0]
    twins = tuple(
        (step, twin) for c, step, twin in TWINS if c.id == clause and twin.knob in JUDGED_TWINS[name]
    )
    inventories = {repr(twin.inventory) for _, twin in twins}
    assert len(inventories) == 1, f"the twins of {name} need different inventories: {inventories}"
    clause_obj = next(c for c, _, _ in TWINS if c.id == clause)
    return Group(f"judged-twins-{name}", clause_obj, twins[0][1].inventory, twins)


@pytest.mark.parametrize("name", JUDGED_TWINS)
def test_a_twin_s_evidence_fails_the_same_step_with_the_same_message(name: str, tmp_path: Path) -> None:
    group = _group(name)
    assert len(group.twins) == len(JUDGED_TWINS[name]), [t.knob for _, t in group.twins]
    run = run_group(group, {t.knob for _, t in group.twins}, tmp_path)
    assert run.run_dir is not None and run.results, run.output()
    inventory = tmp_path / "twins.yaml"
    wrong = []
    for _, twin in group.twins:
        unit = group.unit(twin)
        first = next(r for r in run.results if r["unit"] == unit and r["outcome"] in ("failed", "error"))
        j = from_evidence(run.run_dir, inventory, first)
        failed = j.failed() if j is not None else None
        if failed is None or first["outcome"] != FAILED:
            wrong.append(f"{twin.knob}: live {first['message']}; evidence {j and j.verdicts}")
            continue
        live_step = re.match(r"TS 32.593 \S+ step (\S+):", first["message"])
        if (
            live_step is None
            or live_step.group(1) != failed.step
            or said(first["message"]) != said(failed.message(""))
        ):
            wrong.append(
                f"{twin.knob}:\n  live     {said(first['message'])}\n  evidence {said(failed.message(''))}"
            )
    assert not wrong, "\n".join(wrong)

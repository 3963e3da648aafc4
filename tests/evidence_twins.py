"""A negative twin's run judged again from its evidence alone (its test's captures, the run's TLS key logs, the
bench's SeGW logs and the bench's knowledge from the test's timeline.jsonl), as `henb-bench rejudge` does: where
the judge sees the twin's step, it fails that step with the twin's words; elsewhere it is not observable, never
another failure.
Called by tests/testplans/test_negative_twins.py on the twin runs it makes anyway (no run of its own)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from bench.evidence.cli import CAPTURES, call, known_of, timeline_of
from bench.evidence.judge_more import MORE_JUDGES
from bench.evidence.judge_segw_log import run_segw_logs
from bench.evidence.judges import FAILED, Judged
from bench.evidence.knowledge import with_knowledge

# Twins whose failing step the evidence shows (clause, knob): the evidence-only verdict must fail it. The others
# fail a step only the live bench sees (the bench's own pre-conditions and actions).
# 5.1.2.2's SeGW refusals (untrusted_cert, wrong_ike_id, weak_ike_proposal, ike_id_not_in_cert): charon's own
# words and the identity it accepted, inside the encrypted IKE_AUTH, are read from the run's SeGW logs
# (logs/isegw-charon.log, passed as rejudge passes them: bench/evidence/judge_segw_log.py); weak_ike_proposal's
# NO_PROPOSAL_CHOSEN is cleartext on the outer capture too. What runs inside the
# Initial SeGW's tunnel (the private DNS query, the Inform, the assignment, the session's release and end) is
# seen on its core side, inner-initial.pcapng (bench/evidence/judge_initial.py).
# 5.1.3's cell the bench did not unlock (wait_for_admin_state): no SCTP INIT on the inner capture within the bound
# the bench waited, named with the unit's inventory setting, both from the bench's bench/s1-wait event.
# The outer link's policy (step security of 5.1.2.2, 5.1.2.3, 5.1.3 and 5.2.4: leak_cleartext, and 5.1.2.2's
# other_traffic with operator.outer_link.strict) is judged from the outer capture's flows with the run's inventory
# (bench/evidence/judge_outer.py, the rule of bench/outer_link.py the live check uses).
# 5.2.4's Active notification (a SetParameterAttributes) answered with a Fault is CWMP on the inner capture.
# 5.3.2's GetParameterValues answered with a Fault in the plan's prepare (step pre): the same.
# 5.1.2.3's TLS connection to the public Initial HeMS kept open after the session's end: no FIN or RST of the
# unit's on the outer capture (decode's `closed`, judged as judge_initial.released judges 5.1.2.2's).
SEEN = {
    (c, "leak_cleartext") for c in ("5.1.2.2", "5.1.2.3", "5.1.3", "5.2.4")
} | {("5.1.2.2", "other_traffic")} | {
    ("5.1.2.3", k) for k in ("accept_untrusted_hems_ca", "accept_any_cert", "accept_expired_hems_cert",
                             "accept_cert_on_retry", "initial_segw_for_public_hems", "wrong_device_id",
                             "no_bootstrap", "reject_serving_assignment", "serving_segw_by_ip",
                             "ignore_serving_assignment", "hems_by_ip", "keep_session_open")
} | {
    ("5.1.3", k) for k in ("accept_untrusted_hems_ca", "accept_any_cert", "accept_expired_hems_cert",
                           "accept_cert_on_retry")  # the Serving HeMS over HTTPS: its TLS on the inner capture
} | {
    ("5.2.4", k) for k in ("no_inform_after_address_change", "inform_before_change", "old_address_in_inform",
                           "wrong_device_id_on_address_change", "ignore_notification_attributes",
                           "forget_events_after_failed_session", "refuse_notification_attributes")
} | {
    ("5.1.2.2", k) for k in ("segw_by_ip", "hems_dns_public", "serving_segw_by_ip", "accept_untrusted_segw_ca",
                             "accept_expired_segw_cert", "accept_wrong_segw_name", "accept_weak_ike_proposal",
                             "hems_by_ip", "wrong_device_id", "no_bootstrap", "wrong_hems_password",
                             "reject_serving_assignment", "keep_session_open", "ignore_serving_assignment",
                             "untrusted_cert", "wrong_ike_id", "weak_ike_proposal", "ike_id_not_in_cert")
} | {
    ("5.1.3", k) for k in ("wrong_device_id_at_registration", "ignore_serving_hems", "no_bootstrap_at_serving_hems",
                           "reject_s1_config", "no_s1_init", "s1_wrong_port", "s1_before_registration",
                           "s1_to_factory_address", "no_s1_setup", "s1_wrong_tac", "s1_wrong_plmn",
                           "s1_wrong_enb_id", "ignore_time_to_wait", "wait_for_admin_state", "accept_untrusted_segw_ca",
                           "accept_expired_segw_cert", "accept_wrong_segw_name", "accept_weak_ike_proposal",
                           "boot_event_every_session",
                           "forget_events_after_failed_session", "retry_storm", "retry_count_zero")
} | {("5.3.1", k) for k in ("spv_not_applied", "accept_invalid_values", "partial_spv")} | {
    ("5.3.2", k) for k in ("no_alarm_inform", "ignore_notification_attributes", "queued_alarm_immediate",
                           "logged_alarm_informed", "ignore_reporting_mechanism", "cleared_alarm_new_identifier",
                           "alarm_history_not_kept", "alarm_not_raised", "gpv_fault",
                           "alarm_command_refused")
}  # fmt: skip


def judged_again(
    run_dir: Path, inventory: dict[str, Any], unit: str, result: dict[str, Any]
) -> Judged | None:
    """The judge of the result's test on its folder's captures, or None when no judge of these clauses has it."""
    known = known_of(run_dir.parent.parent / "twins.yaml")  # the run's inventory (run_group writes it there)
    fn = MORE_JUDGES.get(result["clause"], {}).get(result["test"])
    folder = run_dir / unit / result["test"]
    folder = folder if folder.is_dir() else run_dir / result["test"]
    captures = [p for c in CAPTURES if (p := folder / c).is_file()]
    if fn is None or not captures:
        return None
    ident = inventory["units"][unit]["identity"]
    identity = (ident["oui"], ident["product_class"], ident["serial_number"])
    with tempfile.TemporaryDirectory(prefix="he-judge-") as tmp:
        keylog = Path(tmp) / "keylog.txt"
        keylog.write_text("".join(k.read_text() for k in sorted((run_dir / "logs").glob("*tls-keys.log"))))
        tl, span = timeline_of(captures, keylog, known, files=Path(tmp) / "files")
        # the bench's SeGWs' charon logs, as rejudge reads them (their refusals of the unit)
        span = dataclasses.replace(span, segw_logs=tuple(str(p) for p in run_segw_logs(run_dir)))
        tl = with_knowledge(tl, folder / "timeline.jsonl", result.get("mark"))
        return call(result["clause"], fn, tl.events(), identity, known, span)


def check(run_dir: Path, inventory: dict[str, Any], unit: str, first: dict[str, Any], step: str, knob: str,
          words: list[str]) -> None:  # fmt: skip
    """The twin's first failure, judged again from evidence: the same step with the twin's words where the
    evidence shows it (SEEN), else no failure of another step."""
    judged = judged_again(run_dir, inventory, unit, first)
    if judged is None:
        assert (first["clause"], knob) not in SEEN, f"no evidence judge for {first['test']}"
        return
    failed = judged.failed()
    shown = "\n".join(v.message("") for v in judged.verdicts)
    if (first["clause"], knob) in SEEN:
        assert failed is not None, f"unit {unit} ({knob}): the evidence-only verdict did not fail:\n{shown}"
        assert failed.step == step, (
            f"unit {unit} ({knob}): evidence fails step {failed.step}, the run {step}:\n{shown}"
        )
        text = failed.message("")
        missing = [w for w in words if w not in text]
        assert not missing, f"unit {unit} ({knob}): {missing} not in the evidence-only message:\n{text}"
        assert failed.outcome == FAILED
    else:
        assert failed is None or failed.step == step, (
            f"unit {unit} ({knob}): evidence fails another step:\n{shown}"
        )

"""The judges of 5.1.2.2, 5.1.2.3, 5.1.3 (with its refused Serving HeMS), 5.2.4 and 5.3 in one registry (judged beside judges.JUDGES), and what each takes of
the caller: the unit's identity and bounds (the inventory's first unit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.evidence import judge_address as address
from bench.evidence import judge_alarms as alarms
from bench.evidence import judge_discovery as discovery
from bench.evidence import judge_hems_certs as hems_certs
from bench.evidence import judge_impostor as impostor
from bench.evidence import judge_registration as registration
from bench.evidence import judge_session as session
from bench.evidence.judge_outer import judge_outer, unit_policy
from bench.evidence.judges import Judge, Judged, Span
from bench.outer_link import Policy
from bench.timeline import Event

MORE_JUDGES: dict[str, dict[str, Judge]] = {
    "5.1.2.2": {"test_discovery_via_initial_hems_in_private_network": registration.judge_5_1_2_2},
    "5.1.2.3": {
        "test_refuses_initial_hems_it_must_not_trust": discovery.judge_refusal,
        "test_discovery_via_initial_hems_on_public_internet": discovery.judge_5_1_2_3,
    },
    "5.1.3": {
        "test_registration_with_serving_hems": registration.judge_5_1_3,
        "test_session_retry_after_hems_restart": session.judge_session_retry,
        "test_refuses_impostor_serving_segw": impostor.judge_impostor_serving,
        hems_certs.SERVING_TEST: hems_certs.judge_serving_refusal,
    },
    "5.2.4": {
        "test_inform_after_ipsec_address_change": address.judge_5_2_4,
        "test_address_change_reported_after_hems_restart": address.judge_5_2_4_restart,
    },
    "5.3.1": {
        "test_reporting_mechanism_configuration": alarms.judge_mechanisms,
        "test_invalid_reporting_mechanism_changes_nothing": alarms.judge_invalid_mechanism,
    },
    "5.3.2": {
        "test_expedited_alarm_is_reported_at_once": alarms.judge_expedited,
        "test_queued_alarm_waits_for_the_next_inform": alarms.judge_queued,
        "test_logged_alarm_is_not_informed_but_kept": alarms.judge_logged,
        "test_disabled_alarm_is_not_reported": alarms.judge_disabled,
    },
}


# The judges of the tests whose live plan ends with the outer-link check (bench.run.Evidence.assert_no_cleartext):
# its "security" step follows theirs, judged by judge_outer where they failed nothing.
OUTER_LINK_JUDGES = (
    registration.judge_5_1_2_2,
    discovery.judge_5_1_2_3,
    registration.judge_5_1_3,
    address.judge_5_2_4,
)


def call_more(
    clause: str,
    fn: Judge,
    events: Sequence[Event],
    identity: tuple[str, str, str] | None,
    bounds: dict[str, float],
    span: Span,
    hosts: dict[str, str] | None = None,
    outer: Policy | None = None,
) -> Judged:
    """One of these judges with the unit's identity, the bound its test waits (the inventory's first unit's)
    and the operator's host names (`hosts`: FQDN -> the bench's name, decode.Names.hosts); then the outer link's
    policy `outer` (the unit's: cli.Known.outer_policy; None: the default inventory's, with the public Initial
    HeMS exempt) where the live plan checks it."""
    kw: dict[str, Any] = {"span": span}
    if clause in ("5.1.2.2", "5.1.2.3") or fn is hems_certs.judge_serving_refusal:
        kw["hosts"] = {name: fqdn for fqdn, name in (hosts or {}).items()}
    if fn in (
        address.judge_5_2_4,
        discovery.judge_5_1_2_3,
        registration.judge_5_1_2_2,
        registration.judge_5_1_3,
    ):
        kw["identity"] = identity
    if fn is registration.judge_5_1_3:
        kw["bound"] = bounds.get("s1_init", 60.0)
    elif fn is address.judge_5_2_4:
        kw["bound"] = bounds.get("address_change_inform", 30.0)
    elif fn is alarms.judge_expedited:
        kw["bound"] = bounds.get("alarm_inform", 30.0)
    elif fn in (alarms.judge_queued, alarms.judge_logged, alarms.judge_disabled):
        kw["quiet"] = bounds.get("quiet", 10.0)
    judged = fn(events, **kw)
    if fn in OUTER_LINK_JUDGES and judged.failed() is None:  # the live plan's last step
        policy = outer or unit_policy(None, None, None)
        judged.verdicts.append(judge_outer(clause, events, policy))
    return judged

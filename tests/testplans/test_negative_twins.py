"""Every check the TS 32.593 plans make can fail: the mock unit, told to misbehave in exactly one way, makes
exactly that check fail, with a message that names the clause, the step and the problem."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.knobs import HEALTH_KNOBS, KNOBS, PASSING_KNOBS, VARIANT_KNOBS
from testplans.ts32593.checks import CHECKS
from tests.support import henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]

# knob, clause, the step the failure must name, words the message must contain
TWINS = [
    ("no_bootstrap", "5.1.2.2", "2.1", ["0 BOOTSTRAP", "seen events ['1 BOOT']"]),
    ("wrong_device_id", "5.1.2.2", "2.1", ["DeviceId", "serial 'MOCK0001X' (expected 'MOCK0001')"]),
    ("segw_by_ip", "5.1.2.2", "1.1", ["query for isegw.operator.example at the public DNS"]),
    (
        "untrusted_cert",
        "5.1.2.2",
        "1.3",
        [
            "IKE SA from 00D0B7-MOCK0001.henb at the Initial SeGW",
            "isegw charon refused",
            "no trusted ECDSA public key found",
        ],
    ),
    (
        "wrong_ike_id",
        "5.1.2.2",
        "1.3",
        ["IKE SA from 00D0B7-MOCK0001.henb", "from other-00D0B7-MOCK0001.henb, not"],
    ),
    ("weak_ike_proposal", "5.1.2.2", "1.3", ["isegw charon refused", "MODP_4096"]),
    ("hems_dns_public", "5.1.2.2", "1.4", ["ihems.operator.example", "asked of the public DNS"]),
    (
        "hems_by_ip",
        "5.1.2.2",
        "1.4",
        ["query for ihems.operator.example at the private DNS", "no such query"],
    ),
    ("reject_serving_assignment", "5.1.2.2", "3.2", ["fault 9003", "SecGWServer1", "9007"]),
    ("ignore_serving_assignment", "5.1.2.2", "6.3", ["IKE SA from 00D0B7-MOCK0001.henb at the Serving SeGW"]),
    ("serving_segw_by_ip", "5.1.2.2", "6.1", ["query for ssegw.operator.example at the public DNS"]),
    ("leak_cleartext", "5.1.2.2", "security", ["cleartext operator packet", "10.180.0.20:7547 UDP"]),
    ("other_traffic", "5.1.2.2", "security", ["operator.outer_link.strict", "UDP port 514: 1 packet(s)"]),
    ("wrong_device_id_at_registration", "5.1.3", "1.1", ["DeviceId", "serial 'MOCK0001X'"]),
    ("reject_s1_config", "5.1.3", "2.2", ["fault 9003", "S1SigLinkServerList", "9007"]),
    ("no_s1_init", "5.1.3", "S1", ["SCTP INIT (S1 setup) to 10.180.0.30:36412", "nothing within"]),
    ("s1_wrong_port", "5.1.3", "S1", ["S1 setup toward 10.180.0.30:36412", "SCTP INIT to 10.180.0.30:36413"]),
    (
        "s1_to_factory_address",
        "5.1.3",
        "S1",
        ["S1 setup toward 10.180.0.30:36412", "SCTP INIT to 10.180.0.31:36412"],
    ),
    (
        "no_s1_setup",
        "5.1.3",
        "S1",
        ["an S1 Setup Request to 10.180.0.30 over the SCTP association", "nothing within"],
    ),
    ("s1_wrong_tac", "5.1.3", "S1", ["S1 Setup Request with TAC 1, PLMN 00101", "TAC [2] (expected 1)"]),
    ("s1_wrong_plmn", "5.1.3", "S1", ["PLMN 00199 broadcast ['00199'] (expected 00101)"]),
    (
        "no_enb_config_update",
        "5.2.2",
        "S1",
        ["eNB Configuration Update (or S1 Setup Request) with TAC", "nothing within"],
    ),
    (
        "no_enb_config_update",
        "5.2.3",
        "S1",
        ["eNB Configuration Update (or S1 Setup Request) with TAC", "nothing within"],
    ),
    (
        "s1_before_registration",
        "5.1.3",
        "S1",
        ["after the SetParameterValuesResponse", "SCTP INIT before it"],
    ),
    ("no_inform_after_address_change", "5.2.4", "1", ["4 VALUE CHANGE", "within 8 s of the address change"]),
    ("ignore_notification_attributes", "5.2.4", "1", ["4 VALUE CHANGE", "within 8 s of the address change"]),
    ("inform_before_change", "5.2.4", "1", ["it came before the change", "and none after"]),
    ("old_address_in_inform", "5.2.4", "1", ["(the new inner address)", "(the old address)"]),
    ("wrong_device_id_on_address_change", "5.2.4", "1", ["DeviceId", "serial 'MOCK0001X'"]),
    ("wrong_hems_password", "5.1.2.2", "2.1", ["an Inform to the Initial HeMS", "auth-failed"]),
    ("ignore_serving_hems", "5.1.3", "1.1", ["an Inform to the Serving HeMS", "nothing within"]),
    ("hems_by_ip", "5.1.2.3", "1.1", ["query for ihems.operator.example at the public DNS before the TLS"]),
    (
        "accept_any_cert",
        "5.1.2.3",
        "1.3",
        ["refuse the Initial HeMS's certificate for wrong-ihems", "an Inform"],
    ),
    ("wrong_device_id", "5.1.2.3", "2.1", ["DeviceId", "serial 'MOCK0001X'"]),
    ("no_bootstrap", "5.1.2.3", "2.1", ["0 BOOTSTRAP", "seen events ['1 BOOT']"]),
    ("reject_serving_assignment", "5.1.2.3", "3.2", ["fault 9003", "SecGWServer1"]),
    ("serving_segw_by_ip", "5.1.2.3", "5.1", ["query for ssegw.operator.example at the public DNS"]),
    ("ignore_serving_assignment", "5.1.2.3", "5.3", ["IKE SA from 00D0B7-MOCK0001.henb at the Serving SeGW"]),
    ("leak_cleartext", "5.1.2.3", "security", ["cleartext operator packet", "10.180.0.20:7547 UDP"]),
    ("download_not_fetched", "5.2.2", "2", ["fetched from the file server over http as user cm"]),
    ("transfer_complete_before_apply", "5.2.2", "3", ["applied when TransferComplete is sent", "still had"]),
    (
        "download_wrong_fault",
        "5.2.2",
        "3",
        ["FaultCode 9016 for a missing file", "TR-069 Amendment 2 (CWMP 1.1)", "seen FaultCode 9010"],
    ),
    (
        "no_transfer_complete_after_reboot",
        "5.2.2",
        "1",
        [
            "a TransferComplete with CommandKey dl-http-",
            "nothing within 8 s (units.henb-01.bounds.transfer_complete)",
        ],
    ),
    ("partial_download", "5.2.2", "3", ["nothing applied after a failed download"]),
    (
        "no_m_download_event",
        "5.2.2",
        "3",
        [
            "an Inform with 7 TRANSFER COMPLETE and M Download dl-http-",
            "events [('7 TRANSFER COMPLETE', '')]",
        ],
    ),
    ("spv_not_applied", "5.2.3", "2", ["the values just set, read back", "EPC.TAC"]),
    (
        "ignore_cr_credentials",
        "5.2.3",
        "2",
        [
            "a SetParameterValuesResponse and GetParameterValuesResponse from the unit",
            "answered HTTP 401",
            "credentials the HeMS set at registration, which the unit acknowledged",
        ],
    ),
    ("partial_spv", "5.2.3", "3", ["nothing changed by the refused set", "(part of the set was applied)"]),
    ("bad_spv_fault_codes", "5.2.3", "3", ["TAC 9007, SerialNumber 9008, NoSuchParameter 9005", "TAC 9002"]),
    ("spv_not_applied", "5.3.1", "2", ["the values just set, read back", "ReportingMechanism"]),
    (
        "no_alarm_inform",
        "5.3.2",
        "2",
        ["Expedited alarm Communications Alarm / S1 link failure (ExpeditedEvent)", "QueuedEvent"],
    ),
    (
        "ignore_notification_attributes",
        "5.3.2",
        "2",
        ["Expedited alarm Communications Alarm / S1 link failure (ExpeditedEvent)", "nothing within"],
    ),
    (
        "queued_alarm_immediate",
        "5.3.2",
        "2",
        ["Queued alarm Equipment Alarm / Transmitter failure held for the next Inform"],
    ),
    (
        "logged_alarm_informed",
        "5.3.2",
        "2",
        ["no Inform for the Logged alarm Environmental Alarm / High temperature"],
    ),
    (
        "cleared_alarm_new_identifier",
        "5.3.2",
        "2",
        [
            "ClearedAlarm event with the AlarmIdentifier the unit raised it under ('MOCK0001-alarm-1')",
            "'MOCK0001-alarm-1-cleared'",
        ],
    ),
    (
        "alarm_not_raised",
        "5.3.2",
        "2",
        [
            "the control raise of Processing Error Alarm / Software error",
            "silence under Disabled proves nothing",
        ],
    ),
    (
        "ignore_reporting_mechanism",
        "5.3.2",
        "2",
        ["held for the next Inform", "no Inform for the Disabled alarm"],
    ),
    (
        "alarm_history_not_kept",
        "5.3.2",
        "2",
        ["Logged alarm Environmental Alarm / High temperature in Device.FaultMgmt.HistoryEvent"],
    ),
    ("spv_not_applied", "5.4.1", "2", ["the values just set, read back", "PeriodicUploadInterval"]),
    ("pm_upload_while_disabled", "5.4.1", "3", ["no PM upload for 2.6 s (two intervals)", "an upload"]),
    ("no_pm_upload", "5.4.2", "1", ["a PM file uploaded over ftp to the file server", "nothing within"]),
    ("pm_wrong_credentials", "5.4.2", "1", ["the upload authenticated as pm with the configured password"]),
    ("pm_malformed_file", "5.4.2", "1", ["a valid TS 32.435 measCollecFile", "fileTrailer"]),
    ("pm_wrong_interval", "5.4.2", "1", ["uploads every 1 s (+-0.6 s)", "s apart"]),
]


# Twins whose words come from more than one test of the clause: the whole clause runs. The others stop at the
# clause's first failure, the one their words are checked against (the rest would only add time).
WHOLE_CLAUSE = {"no_alarm_inform", "ignore_reporting_mechanism", "alarm_not_raised"}


def test_every_knob_has_a_twin() -> None:
    assert {k for k, *_ in TWINS} == set(KNOBS) - HEALTH_KNOBS - VARIANT_KNOBS - PASSING_KNOBS


def test_the_check_table_matches_the_twins() -> None:
    listed = sorted((c.clause, c.step, k) for c in CHECKS for k in c.knobs)
    twins = sorted((clause, step, k) for k, clause, step, _ in TWINS)
    assert listed == twins


@pytest.mark.parametrize(("knob", "clause", "step", "words"), TWINS, ids=[f"{t[1]}-{t[0]}" for t in TWINS])
def test_misbehaving_unit_fails_the_check(
    knob: str,
    clause: str,
    step: str,
    words: list[str],
    fast_inventory: Path,
    fast_public_inventory: Path,
    tmp_path: Path,
) -> None:
    # 5.1.2.3 needs the Initial HeMS on the public internet, a deployment of its own.
    inventory = fast_public_inventory if clause == "5.1.2.3" else fast_inventory
    if knob == "other_traffic":  # other traffic fails only where the inventory says strict
        data = yaml.safe_load(inventory.read_text())
        data["operator"]["outer_link"] = {"strict": True}
        inventory = tmp_path / "strict.yaml"
        inventory.write_text(yaml.safe_dump(data))
    first = [] if knob in WHOLE_CLAUSE else ["--exitfirst"]
    res = henb_bench(
        "--inventory", str(inventory), "run", "--clause", clause, "--misbehave", knob, *first,
        "--out", str(tmp_path / "captures"),
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 1, f"expected exit 1 (unit failed), got {res.returncode}:\n{out[-3000:]}"
    summary = out[out.rfind("henb-bench:") :]
    assert f"FAILED  {clause}" in summary, summary
    assert f"TS 32.593 {clause} step {step}: expected" in summary, summary
    for w in words:
        assert w in summary, f"{w!r} not in the failure message:\n{summary}"
    assert "evidence: " in summary and "timeline.jsonl" in summary


def _run_5_2_3(inventory: Path, tmp_path: Path, unit: dict[str, object], *args: str) -> list[dict[str, Any]]:
    """Run 5.2.3 with the unit's inventory entry updated by `unit`; it must pass. Returns the timeline."""
    data = yaml.safe_load(inventory.read_text())
    next(iter(data["units"].values())).update(unit)
    path = tmp_path / "cr.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "captures"
    res = henb_bench("--inventory", str(path), "run", "--clause", "5.2.3", *args, "--out", str(out))
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    (timeline,) = out.glob("*/timeline.jsonl")
    return [json.loads(line) for line in timeline.read_text().splitlines()]


def _connection_requests(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["source"] == "hems" and e["kind"] == "connection-request"]


def test_a_rate_limiting_unit_passes_with_one_connection_request_per_step(
    fast_inventory: Path, tmp_path: Path
) -> None:
    # The unit refuses a request within 3 s of the last it accepted; the bench retries 4 s later. One request
    # per RPC would have a second accepted one in step 2 (SetParameterValues, then the read back).
    events = _run_5_2_3(
        fast_inventory, tmp_path, {"connection_request": {"retry_after": 4}}, "--misbehave", "cr_rate_limit"
    )
    crs = _connection_requests(events)
    accepted = Counter(d["purpose"] for d in crs if d["status"] in (200, 204))
    assert accepted == {"5.2.3 step 2": 1, "5.2.3 step pre": 1, "5.2.3 step 3": 1}, crs
    # The unit did refuse (HTTP 503), and the retry is on the timeline as the next attempt of that step.
    refused = [d for d in crs if d["status"] == 503]
    assert refused and all(d["attempt"] == 1 and d["attempts"] == 3 for d in refused), crs
    assert all(any(a["purpose"] == d["purpose"] and a["attempt"] == 2 for a in crs) for d in refused), crs


def test_a_unit_with_its_own_credentials_keeps_them(fast_inventory: Path, tmp_path: Path) -> None:
    own = {"username": "vendor-cr", "password": "vendor-factory-secret"}
    events = _run_5_2_3(fast_inventory, tmp_path, {"connection_request": {"own": own}})
    crs = _connection_requests(events)
    assert crs and all(d["status"] == 200 for d in crs), crs
    # The Serving HeMS never set credentials: the unit logs each parameter set on its console (on the timeline),
    # `param: ...ConnectionRequestUsername = ...` when the HeMS sets them (the default, `set`).
    assert any(e["kind"] == "console-line" and "param: " in e["data"]["line"] for e in events)
    assert not [e for e in events if "ConnectionRequestUsername" in json.dumps(e["data"])]

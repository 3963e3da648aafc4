"""The judges of 5.1.2.3, 5.2.4 and 5.3 on timelines made by hand: passed, failed with the live plan's wording, or
not observable with why; what only the live bench knows (the address change, the certificate presented, the
alarm raised) missing from the evidence makes a step not observable, never failed."""

from __future__ import annotations

from pathlib import Path

from bench.evidence.judge_address import judge_5_2_4, judge_5_2_4_restart
from bench.evidence.judge_alarms import (
    judge_disabled,
    judge_expedited,
    judge_invalid_mechanism,
    judge_logged,
    judge_mechanisms,
    judge_queued,
)
from bench.evidence.judge_discovery import judge_5_1_2_3, judge_refusal
from bench.evidence.judge_hems_certs import judge_serving_refusal
from bench.evidence.judge_registration import judge_asked_before
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED, Span
from bench.evidence.knowledge import with_knowledge
from bench.timeline import Event, Timeline

ADDR = "Device.IP.Interface.2.IPv4Address.1.IPAddress"
IDENTITY = ("00D0B7", "MockHeNB", "MOCK0001")
UNIT = {"serial": "MOCK0001", "oui": "00D0B7", "product_class": "MockHeNB"}
FM = "Device.FaultMgmt."
ALARM = {"event_type": "Communications Alarm", "probable_cause": "S1 link failure"}


class Tl:
    """A timeline written by hand, one event a second."""

    def __init__(self) -> None:
        self.tl, self.t = Timeline(), 1000.0

    def add(self, source: str, kind: str, **data: object) -> Event:
        self.t += 1
        return self.tl.add(source, kind, at=self.t, **data)

    def events(self) -> list[Event]:
        return self.tl.events()


def address_change(
    inform: str | None = "10.181.0.9", peer: str = "10.181.0.9", serial: str = "MOCK0001"
) -> Tl:
    tl = Tl()
    tl.add("hems", "inform", hems="serving-hems", peer="10.180.1.5", events=["1 BOOT"], params={}, **UNIT)
    tl.add("segw", "address-change", segw="ssegw", remote_id="x", old="10.180.1.5", pool="10.181.0.0/24")
    if inform is not None:
        tl.add("hems", "inform", hems="serving-hems", peer=peer, events=["4 VALUE CHANGE"], command_keys=[""], params={ADDR: inform},
               **{**UNIT, "serial": serial})  # fmt: skip
    return tl


def test_the_ip_change_inform_is_judged_as_the_live_plan_words_it() -> None:
    assert judge_5_2_4(address_change().events(), IDENTITY).outcome == PASSED
    old = judge_5_2_4(address_change(inform="10.180.1.5").events(), IDENTITY).failed()
    assert old is not None and old.step == "1"
    assert old.expected == f"{ADDR} = 10.181.0.9 (the new inner address) in the Inform"
    assert old.seen == f"{ADDR} = 10.180.1.5 (the old address)"
    wrong = judge_5_2_4(address_change(serial="MOCK0001X").events(), IDENTITY).failed()
    assert wrong is not None and wrong.seen == "DeviceId serial 'MOCK0001X' (expected 'MOCK0001')"
    none = judge_5_2_4(address_change(inform=None).events(), IDENTITY, bound=8).failed()
    assert none is not None and "within 8 s of the address change (10.180.1.5 -> ?)" in none.expected


def notified(answer: str) -> Tl:
    """The plan's Active notification on the inner address, answered (`answer`: rpc-response or rpc-fault)."""
    tl = Tl()
    tl.add("hems", "inform", hems="serving-hems", peer="10.180.1.5", events=["1 BOOT"], params={}, **UNIT)
    tl.add("hems", "rpc-sent", hems="serving-hems", method="SetParameterAttributes", id="a1",
           notifications={ADDR: 2})  # fmt: skip
    fault = {"fault_code": 9004, "fault_string": "Resources exceeded", "param_faults": []}
    tl.add("hems", answer, hems="serving-hems", method="SetParameterAttributes" if answer == "rpc-response" else None,
           id="a1", **(fault if answer == "rpc-fault" else {}))  # fmt: skip
    return tl


def test_a_refused_active_notification_fails_step_pre_in_the_live_words() -> None:
    refused = judge_5_2_4(notified("rpc-fault").events(), IDENTITY).failed()
    assert refused is not None and refused.step == "pre"
    assert refused.expected == f"SetParameterAttributesResponse to Active notification on {ADDR}"
    assert refused.seen == "fault 9004 Resources exceeded, per parameter []"
    again = judge_5_2_4_restart(notified("rpc-fault").events()).failed()
    assert again is not None and again.step == "kept" and "fault 9004" in again.seen
    tl = notified("rpc-response")  # a correct unit: its answer, the change and the Inform pass
    tl.add("segw", "address-change", segw="ssegw", remote_id="x", old="10.180.1.5", pool="10.181.0.0/24")
    tl.add("hems", "inform", hems="serving-hems", peer="10.181.0.9", events=["4 VALUE CHANGE"], command_keys=[""],
           params={ADDR: "10.181.0.9"}, **UNIT)  # fmt: skip
    assert judge_5_2_4(tl.events(), IDENTITY).outcome == PASSED


def test_an_absence_or_the_bench_s_knowledge_missing_is_not_observable() -> None:
    events = address_change(inform=None).events()
    cut = judge_5_2_4(events, IDENTITY, bound=8, span=Span(end=events[-1].t + 2, bound=8))
    assert cut.outcome == NOT_OBSERVABLE and "the evidence ends 2.0 s after" in cut.verdicts[0].why
    bare = [e for e in address_change().events() if e.kind != "address-change"]
    unknown = judge_5_2_4(bare, IDENTITY)
    assert unknown.outcome == NOT_OBSERVABLE and "bench's knowledge" in unknown.verdicts[0].why


def test_the_inform_after_a_failed_session_must_repeat_its_events() -> None:
    tl = address_change()
    tl.add("hems", "session-failed-on-purpose", hems="serving-hems", serial="MOCK0001", how="503")
    tl.add("hems", "inform", hems="serving-hems", peer="10.181.0.9", events=["6 CONNECTION REQUEST"], params={},
           **UNIT)  # fmt: skip
    lost = judge_5_2_4_restart(tl.events()).failed()
    assert lost is not None and lost.step == "kept"
    assert lost.seen.startswith("the Inform after the failed session did not repeat 4 VALUE CHANGE and did not "
                                f"repeat 4 VALUE CHANGE for {ADDR}")  # fmt: skip


def prepared(mechanism: str, tl: Tl | None = None, confirmed: bool = True) -> Tl:
    tl = tl or Tl()
    tl.add("hems", "rpc-response", hems="serving-hems", method="GetParameterValues", id="g0", values={})
    tl.add("hems", "rpc-sent", hems="serving-hems", method="SetParameterValues", id="s1", parameter_key="fm-5.3.1",
           values={f"{FM}SupportedAlarm.1.ReportingMechanism": mechanism})  # fmt: skip
    tl.add("hems", "rpc-response", hems="serving-hems", method="SetParameterValues", id="s1", status=0)
    tl.add("hems", "rpc-response", hems="serving-hems", method="GetParameterValues", id="g1",
           values={f"{FM}SupportedAlarm.1.ReportingMechanism": mechanism})  # fmt: skip
    tl.add("unit", "action", unit="u", action="raise alarm", method="console", sent="raise", values=ALARM)
    if confirmed:
        tl.add("unit", "action-confirmed", unit="u", action="raise alarm", line="alarm: raised")
    return tl


def alarm_inform(tl: Tl, table: str, kind: str = "NewAlarm", ident: str = "a-1") -> Event:
    fields = {"EventType": ALARM["event_type"], "ProbableCause": ALARM["probable_cause"], "NotificationType": kind,
              "AlarmIdentifier": ident}  # fmt: skip
    return tl.add("hems", "inform", hems="serving-hems", peer="p", events=["4 VALUE CHANGE"],
                  params={f"{FM}{table}.1.{k}": v for k, v in fields.items()}, **UNIT)  # fmt: skip


def test_alarms_are_judged_by_the_mechanism_set_before_the_raise() -> None:
    tl = prepared("0 Expedited")
    alarm_inform(tl, "ExpeditedEvent")
    tl.add("unit", "action", unit="u", action="clear alarm", method="console", sent="clear", values=ALARM)
    tl.add("unit", "action-confirmed", unit="u", action="clear alarm", line="alarm: cleared")
    alarm_inform(tl, "ExpeditedEvent", "ClearedAlarm", "a-1-cleared")
    bad = judge_expedited(tl.events(), bound=3).failed()
    assert bad is not None and bad.seen == "AlarmIdentifier 'a-1-cleared'"
    assert judge_expedited(prepared("0 Expedited").events(), bound=3).failed() is not None
    # a raise the unit did not confirm (its console command refused) fails the bench's step "alarm", as live
    refused = judge_expedited(prepared("0 Expedited", confirmed=False).events(), bound=3).failed()
    assert refused is not None and refused.step == "alarm"
    assert refused.expected == "the unit to confirm raise_alarm for Communications Alarm / S1 link failure"
    assert refused.seen.startswith("no confirmation of its console command 'raise'")
    # a manual action has no confirmation event: nothing to judge there
    manual = Tl()
    manual.add(
        "unit", "action", unit="u", action="raise alarm", method="manual", sent="press it", values=ALARM
    )
    assert judge_expedited(manual.events(), bound=3).failed() is None
    assert judge_queued(tl.events()).outcome == NOT_OBSERVABLE
    early = prepared("1 Queued")
    alarm_inform(early, "QueuedEvent")
    held = judge_queued(early.events(), quiet=1.5).failed()
    assert (
        held is not None
        and held.expected
        == "the Queued alarm Communications Alarm / S1 link failure held for the next Inform"
    )
    logged = prepared("2 Logged")
    alarm_inform(logged, "ExpeditedEvent")
    informed = judge_logged(logged.events(), quiet=3).failed()
    assert informed is not None and informed.expected.startswith(
        "no Inform for the Logged alarm Communications"
    )
    kept = prepared("2 Logged")
    kept.add("hems", "rpc-response", hems="serving-hems", method="GetParameterValues", id="g2", values={})
    nothing = judge_logged(kept.events(), quiet=0.5).failed()
    assert (
        nothing is not None
        and nothing.expected.endswith(f"in {FM}HistoryEvent")
        and nothing.seen == "no new entry for it"
    )


def test_a_gpv_answered_with_a_fault_before_the_raise_fails_step_pre() -> None:
    tl = Tl()
    names = [f"{FM}SupportedAlarm."]
    tl.add("hems", "rpc-sent", hems="serving-hems", method="GetParameterValues", id="g0", names=names)
    tl.add("hems", "rpc-fault", hems="serving-hems", method=None, id="g0", fault_code=9002,
           fault_string="Internal error", param_faults=[])  # fmt: skip
    for judge in (judge_expedited, judge_queued, judge_logged, judge_disabled):
        failed = judge(tl.events()).failed()
        assert failed is not None and failed.step == "pre"
        assert failed.expected == f"GetParameterValuesResponse for {names}"
        assert failed.seen == "fault 9002 Internal error, per parameter []"
    ok = Tl()  # a correct unit: its GetParameterValuesResponse, then the Expedited alarm reported
    ok.add("hems", "rpc-sent", hems="serving-hems", method="GetParameterValues", id="g0", names=names)
    prepared("0 Expedited", ok)
    alarm_inform(ok, "ExpeditedEvent")
    assert judge_expedited(ok.events(), bound=3).failed() is None


def test_a_disabled_alarm_needs_its_control_raise() -> None:
    tl = prepared("3 Disabled")
    tl.t += 20
    prepared("2 Logged", tl)
    tl.add("hems", "rpc-response", hems="serving-hems", method="GetParameterValues", id="g3",
           values={f"{FM}HistoryEvent.1.EventType": ALARM["event_type"],
                   f"{FM}HistoryEvent.1.ProbableCause": ALARM["probable_cause"]})  # fmt: skip
    assert judge_disabled(tl.events(), quiet=3).outcome == PASSED
    tl.tl.events()  # the same without the control's entry
    silent = prepared("3 Disabled")
    silent.t += 20
    prepared("2 Logged", silent)
    silent.add("hems", "rpc-response", hems="serving-hems", method="GetParameterValues", id="g3", values={})
    failed = judge_disabled(silent.events(), quiet=3).failed()
    assert failed is not None and "silence under Disabled proves nothing" in failed.expected


def test_mechanisms_set_read_back_and_an_invalid_one_refused() -> None:
    tl = prepared("1 Queued")
    assert judge_mechanisms(tl.events()).outcome == PASSED
    bad = Tl()
    path = f"{FM}SupportedAlarm.1.ReportingMechanism"
    bad.add(
        "hems",
        "rpc-response",
        hems="serving-hems",
        method="GetParameterValues",
        id="g0",
        values={path: "0 Expedited"},
    )
    bad.add("hems", "rpc-sent", hems="serving-hems", method="SetParameterValues", id="s", parameter_key="fm-5.3.1-invalid",
            values={path: "4 Sometimes"})  # fmt: skip
    bad.add("hems", "rpc-response", hems="serving-hems", method="SetParameterValues", id="s", status=0)
    accepted = judge_invalid_mechanism(bad.events()).failed()
    assert accepted is not None
    assert (
        accepted.expected
        == f"a SetParameterValues fault refusing the set with the invalid value {path} = '4 Sometimes'"
    )
    assert accepted.seen == "SetParameterValuesResponse Status 0: the invalid value accepted"


def discovery(bootstrap: bool = True, closed: bool = True) -> Tl:
    tl = Tl()
    tl.add("dhcp", "dhcpdiscover", server="capture", detail="")
    tl.add("dns", "query", dns="public-dns", name="ihems.operator.example", server="s", qtype="A", client="c")
    tl.add("hems", "inform", hems="initial-hems", peer="c", events=["0 BOOTSTRAP" if bootstrap else "1 BOOT"],
           params={}, **UNIT)  # fmt: skip
    tl.add(
        "hems",
        "rpc-sent",
        hems="initial-hems",
        method="SetParameterValues",
        id="1",
        values={},
        parameter_key="",
    )
    tl.add("hems", "rpc-response", hems="initial-hems", method="SetParameterValues", id="1", status=0)
    # the unit's FIN on the TLS connection half a second after the HeMS's empty answer (decode's `closed`)
    tl.add("hems", "session-end", hems="initial-hems", peer="c", **({"closed": tl.t + 1.5} if closed else {}))
    tl.add("dns", "query", dns="public-dns", name="ssegw.operator.example", server="s", qtype="A", client="c")
    tl.add("segw", "ike-up", segw="ssegw")
    return tl


def test_public_discovery_and_the_refused_untrusted_hems() -> None:
    assert judge_5_1_2_3(discovery().events(), IDENTITY).outcome == PASSED
    boot = judge_5_1_2_3(discovery(bootstrap=False).events(), IDENTITY).failed()
    assert boot is not None and (boot.step, boot.seen) == ("2.1", "events ['1 BOOT']")
    assert judge_refusal(discovery().events()).outcome == NOT_OBSERVABLE  # no certificate the bench presented
    # the TLS connection to the public Initial HeMS kept open: step 4, though the unit goes on to IKE (no tunnel
    # that IKE could take the connection down with)
    kept = judge_5_1_2_3(discovery(closed=False).events(), IDENTITY).failed()
    assert kept is not None and kept.step == "4"
    assert kept.expected.startswith(
        "the unit to release the TR-069 session with the initial-hems (TR-069 3.7.1.4)"
    )
    assert kept.seen.startswith(
        "the unit kept its connection to the initial-hems open after the session ended"
    )
    events = discovery(closed=False).events()
    cut = judge_5_1_2_3(events, IDENTITY, span=Span(end=events[-1].t, bound=10))  # captures end too soon
    assert cut.failed() is None
    by_ip = [e for e in discovery().events() if e.data.get("name") != "ssegw.operator.example"]
    tl = Tl()
    for e in by_ip[:-1]:  # the IKE SA not seen up (no ESP yet): its IKE_SA_INIT is
        tl.add(e.source, e.kind, **e.data)
    tl.add(
        "segw",
        "ike-message",
        segw="192.0.2.9",
        exchange="IKE_SA_INIT",
        response=False,
        notify=[],
        remote_host="c",
    )
    no_query = judge_5_1_2_3(tl.events(), IDENTITY).failed()
    assert no_query is not None and (no_query.step, no_query.seen) == ("5.1", "no such query")
    tl = Tl()
    tl.add(
        "bench",
        "hems-cert",
        hems="initial-hems",
        cert="untrusted-ca",
        name="a certificate from an untrusted CA",
    )
    tl.add("dns", "query", dns="public-dns", name="ihems.operator.example", server="s", qtype="A", client="c")
    tl.add("hems", "inform", hems="initial-hems", peer="c", events=["0 BOOTSTRAP"], params={}, **UNIT)
    refused = Tl()
    refused.add("bench", "hems-cert", hems="initial-hems", cert="expired", name="an expired certificate")
    refused.add(
        "hems", "tls-handshake-failed", hems="initial-hems", peer="c", reason="", alert="certificate expired"
    )
    assert judge_refusal(refused.events()).outcome == PASSED
    accepted = judge_refusal(tl.events()).failed()
    assert accepted is not None and accepted.step == "1.3"
    assert accepted.seen.startswith("the unit sent an Inform to the Initial HeMS presenting a certificate from an "
                                    "untrusted CA: ")  # fmt: skip


def serving_rounds(accept: str | None = None) -> Tl:
    """5.1.3's Serving HeMS over HTTPS: each bad certificate refused with the unit's alert (or, at `accept`, an
    Inform instead), then its own certificate and the Inform."""
    tl = Tl()
    tl.add(
        "dns", "query", dns="private-dns", name="shems.operator.example", server="s", qtype="A", client="v"
    )
    kinds = ("untrusted-ca", "expired", "wrong-name", "wrong-name")
    for n, kind in enumerate(kinds):
        tl.add("bench", "hems-cert", hems="serving-hems", cert=kind, name=f"bad {kind}", unit="henb-01")
        if kind == accept and (n == 3 or kind != "wrong-name"):
            tl.add("hems", "inform", hems="serving-hems", peer="v", events=["1 BOOT"], params={}, **UNIT)
        else:
            tl.add(
                "hems",
                "tls-handshake-failed",
                hems="serving-hems",
                peer="v",
                reason="",
                alert="bad certificate",
            )
    tl.add("bench", "hems-cert", hems="serving-hems", cert="right", name="its own", unit="henb-01")
    tl.add("hems", "inform", hems="serving-hems", peer="v", events=["1 BOOT"], params={}, **UNIT)
    return tl


def test_the_refused_serving_hems() -> None:
    good = judge_serving_refusal(serving_rounds().events(), IDENTITY)
    assert good.outcome == PASSED and [(v.step, v.outcome) for v in good.verdicts] == [
        ("TLS", PASSED),
        ("1.1", PASSED),
    ]
    # An Initial HeMS's certificates (5.1.2.3) are not the Serving HeMS's: nothing of this test to judge.
    initial = [e for e in serving_rounds().events() if e.kind != "hems-cert"]
    assert judge_serving_refusal(initial, IDENTITY).outcome == NOT_OBSERVABLE
    expired = judge_serving_refusal(serving_rounds("expired").events(), IDENTITY).failed()
    assert expired is not None and expired.step == "TLS", expired
    assert expired.seen.startswith("the unit sent an Inform to the Serving HeMS presenting bad expired: ")
    assert "it was given shems.operator.example by the Initial HeMS" in expired.expected
    again = judge_serving_refusal(serving_rounds("wrong-name").events(), IDENTITY).failed()
    assert again is not None and "bad wrong-name again, when it tried again" in again.expected, again
    # The CWMP with the Serving HeMS unread (TLS without its key log): neither a failure nor a pass.
    unread = [
        e for e in serving_rounds("expired").events() if e.kind not in ("inform", "tls-handshake-failed")
    ]
    assert judge_serving_refusal(unread, IDENTITY).outcome == NOT_OBSERVABLE


def test_rejudge_reads_the_bench_s_knowledge_from_the_run_s_timeline(tmp_path: Path) -> None:
    live = address_change().tl
    live.dump(tmp_path / "timeline.jsonl")
    captured = Timeline()
    for e in live.events():
        if e.kind != "address-change":
            captured.add(e.source, e.kind, at=e.t, **e.data)
    assert judge_5_2_4(captured.events(), IDENTITY).outcome == NOT_OBSERVABLE
    merged = with_knowledge(captured, tmp_path / "timeline.jsonl")
    assert [e.kind for e in merged.events()] == ["inform", "address-change", "inform"]
    assert judge_5_2_4(merged.events(), IDENTITY).outcome == PASSED


def test_the_live_plan_knows_its_boot_where_a_capture_may_not() -> None:
    """5.1.2.2 step 1.1 with no query: not observable in evidence without the boot's DHCP (it may begin later),
    failed live (a unit reset on the bench keeps its lease: no DHCP after the reset, yet the boot is seen)."""
    tl = Tl()
    ike = tl.add("segw", "ike-up", segw="isegw")
    assert (
        judge_asked_before("5.1.2.2", "1.1", tl.events(), "isegw.operator.example", ike).outcome
        == NOT_OBSERVABLE
    )
    live = judge_asked_before("5.1.2.2", "1.1", tl.events(), "isegw.operator.example", ike, 1.0, booted=True)
    assert (
        live.outcome == FAILED
        and live.seen == "no such query (the unit used an address it was not given by DNS)"
    )

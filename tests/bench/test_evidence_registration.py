"""The judges of 5.1.2.2, 5.1.3 and 5.1.3's session rules on timelines made by hand: a failure where the evidence
shows the step, in the live plan's words; not observable where it cannot (inside the Initial SeGW's tunnel, the
inner capture not given, the evidence ending too soon)."""

from __future__ import annotations

from typing import Any

from bench.evidence.judge_impostor import judge_impostor_serving
from bench.evidence.judge_registration import judge_5_1_2_2, judge_5_1_3
from bench.evidence.judge_session import judge_session_retry
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED, Span
from bench.timeline import Event, Timeline

ID = ("00D0B7", "MockHeNB", "MOCK0001")
HEMS = {"hems": "serving-hems", "peer": "10.182.0.1", "serial": "MOCK0001"}
INNER = "/run/x/test/inner.pcapng"
OUTER = Span(end=1e9, captures=("/run/x/test/outer.pcapng",))  # the outer link alone, running on
P = "Device.Services.FAPService.1."
VALUES = {
    P + "FAPControl.LTE.Gateway.S1SigLinkServerList": "10.180.0.30",
    P + "CellConfig.LTE.EPC.TAC": "1",
    P + "CellConfig.LTE.EPC.PLMNList.1.PLMNID": "00101",
    P + "CellConfig.LTE.RAN.Common.CellIdentity": "257",
}
GOOD_REQUEST = {
    "tacs": [1],
    "plmn": "00101",
    "broadcast_plmns": ["00101"],
    "enb_id": 257,
    "enb_id_type": "homeENB-ID",
}


def discovery(ihems_public: bool = False, ssegw_query: bool = True, serving: bool = True) -> list[Event]:
    tl, t = Timeline(), 100.0
    tl.add("dhcp", "dhcpack", at=t, server="capture", detail="")
    tl.add("dns", "query", at=t + 0.1, dns="public-dns", name="isegw.operator.example", server="198.51.100.1")
    tl.add("segw", "ike-up", at=t + 0.2, segw="isegw")
    if ihems_public:
        tl.add(
            "dns", "query", at=t + 0.3, dns="public-dns", name="ihems.operator.example", server="198.51.100.1"
        )
    if ssegw_query:
        tl.add(
            "dns", "query", at=t + 1.0, dns="public-dns", name="ssegw.operator.example", server="198.51.100.1"
        )
    if serving:
        tl.add("segw", "ike-message", at=t + 1.1, segw="198.51.100.9" if not ssegw_query else "ssegw",
               exchange="IKE_SA_INIT", response=False)  # fmt: skip
        tl.add("segw", "ike-up", at=t + 1.2, segw="198.51.100.9" if not ssegw_query else "ssegw")
    return tl.events()


def test_discovery_in_the_private_network_from_the_outer_link() -> None:
    assert judge_5_1_2_2(discovery(), ID, span=OUTER).outcome == PASSED
    public = judge_5_1_2_2(discovery(ihems_public=True), ID, span=OUTER).failed()
    assert public is not None and public.step == "1.4"
    assert "the query for ihems.operator.example at the private DNS only" in public.message("")
    assert "asked of the public DNS 198.51.100.1" in public.message("")
    by_ip = judge_5_1_2_2(discovery(ssegw_query=False), ID, span=OUTER).failed()
    assert by_ip is not None and by_ip.step == "6.1" and "query for ssegw.operator.example" in by_ip.expected


def test_no_serving_tunnel_is_not_observable_from_the_outer_link() -> None:
    """Step 6.3 waits from the end of the session inside the Initial SeGW's tunnel: a unit still in that session
    (a wrong password, a session kept open) has no Serving SeGW tunnel either, and the outer link cannot say."""
    judged = judge_5_1_2_2(discovery(serving=False), ID, span=Span(end=200.0, bound=8.0))
    assert judged.failed() is None
    assert {v.step: v.outcome for v in judged.verdicts}["6.3"] == NOT_OBSERVABLE


def registration(request: dict[str, Any] | None = None, init: dict[str, Any] | None = None, more: bool = True,
                 events: tuple[str, ...] = ("0 BOOTSTRAP", "1 BOOT")) -> list[Event]:  # fmt: skip
    tl, t = Timeline(), 100.0
    tl.add("segw", "ike-up", at=t, segw="isegw")
    tl.add("segw", "ike-up", at=t + 1, segw="ssegw")
    tl.add(
        "hems",
        "inform",
        at=t + 1.1,
        **HEMS,
        events=list(events),
        oui=ID[0],
        product_class=ID[1],
        capture=INNER,
    )
    tl.add("hems", "rpc-sent", at=t + 1.2, **HEMS, method="SetParameterValues", id="s-1", values=VALUES,
           parameter_key="registration", capture=INNER)  # fmt: skip
    tl.add(
        "hems",
        "rpc-response",
        at=t + 1.3,
        **HEMS,
        method="SetParameterValues",
        id="s-1",
        status=0,
        capture=INNER,
    )
    if not more:
        return tl.events()
    tl.add(
        "mme",
        "sctp-init",
        at=t + 1.4,
        **{"dst": "10.180.0.30", "dport": 36412, **(init or {})},
        capture=INNER,
    )
    tl.add("mme", "s1ap", at=t + 1.5, direction="uplink", message="S1SetupRequest", local="10.180.0.30",
           **{**GOOD_REQUEST, **(request or {})}, capture=INNER)  # fmt: skip
    tl.add("mme", "s1ap", at=t + 1.6, direction="downlink", message="S1SetupFailure", time_to_wait="v2s",
           capture=INNER)  # fmt: skip
    tl.add("mme", "s1ap", at=t + 4.0, direction="uplink", message="S1SetupRequest", local="10.180.0.30",
           **GOOD_REQUEST, capture=INNER)  # fmt: skip
    return tl.events()


def test_registration_and_s1_setup_from_the_inner_capture() -> None:
    assert judge_5_1_3(registration(), ID).failed() is None
    cases = {
        "SCTP INIT to 10.180.0.30:36413": registration(init={"dport": 36413}),
        "SCTP INIT to 10.180.0.31:36412": registration(init={"dst": "10.180.0.31"}),
        "TAC [2] (expected 1)": registration({"tacs": [2]}),
        "PLMN 00199 broadcast ['00199'] (expected 00101)": registration(
            {"plmn": "00199", "broadcast_plmns": ["00199"]}
        ),
        "eNB ID homeENB-ID 258 (expected homeENB-ID 257)": registration({"enb_id": 258}),
        "events ['1 BOOT']": registration(events=("1 BOOT",)),
    }
    for words, events in cases.items():
        failed = judge_5_1_3(events, ID).failed()
        assert failed is not None and words in failed.message(""), (words, failed)


def test_an_s1_setup_request_again_within_time_to_wait() -> None:
    events = registration()
    early = Timeline()
    for e in events:
        early.add(e.source, e.kind, at=e.t if e.seq < len(events) - 1 else e.t - 2.0, **e.data)
    failed = judge_5_1_3(early.events(), ID).failed()
    assert failed is not None and failed.step == "S1"
    assert (
        "within the S1 Setup Failure's TimeToWait v2s" in failed.expected
        and "again 0.4 s after" in failed.seen
    )
    cut = judge_5_1_3(events[:-1], ID, span=Span(end=events[-2].t + 1.0, bound=8.0))
    assert cut.failed() is None and cut.verdicts[-1].outcome == NOT_OBSERVABLE


def test_no_s1_setup_is_a_failure_only_with_the_inner_capture_running_on() -> None:
    events = registration(more=False)
    last = events[-1].t
    failed = judge_5_1_3(
        events, ID, bound=6.0, span=Span(end=last + 7.0, bound=8.0, captures=(INNER,))
    ).failed()
    assert failed is not None and "an SCTP INIT (S1 setup) to 10.180.0.30:36412" in failed.expected
    assert failed.seen.startswith("nothing within 6 s")
    soon = judge_5_1_3(events, ID, bound=6.0, span=Span(end=last + 2.0, bound=8.0, captures=(INNER,)))
    assert soon.failed() is None


def retry_session(
    retry_after: float = 1.2, count: int = 1, boot_every: bool = False, keep: bool = True
) -> list[Event]:
    tl, t = Timeline(), 100.0
    boot = ["1 BOOT"] if boot_every else []
    cr = [*boot, "6 CONNECTION REQUEST"]
    keys = {"command_keys": [""] * len(cr)}
    tl.add("hems", "inform", at=t, **HEMS, events=cr, **keys, retry_count=0, capture=INNER)
    tl.add("hems", "rpc-sent", at=t + 0.1, **HEMS, method="SetParameterValues", id="r", parameter_key="retry",
           values={"Device.ManagementServer.CWMPRetryMinimumWaitInterval": "1",
                   "Device.ManagementServer.CWMPRetryIntervalMultiplier": "1500"}, capture=INNER)  # fmt: skip
    tl.add("hems", "inform", at=t + 1, **HEMS, events=cr, **keys, retry_count=0, capture=INNER)
    tl.add("hems", "session-failed-on-purpose", at=t + 1.01, **HEMS, how="503", events=cr)
    again = cr if keep else boot
    tl.add("hems", "inform", at=t + 1 + retry_after, **HEMS, events=again, command_keys=[""] * len(again),
           retry_count=count, capture=INNER)  # fmt: skip
    return tl.events()


def test_session_rules_from_the_inner_capture_and_the_failed_sessions() -> None:
    span = Span(end=120.0, bound=8.0, captures=("/x/outer.pcapng", INNER))
    assert judge_session_retry(retry_session(), span=span).failed() is None
    storm = judge_session_retry(retry_session(retry_after=0.2), span=span).failed()
    assert storm is not None and "retry 1 came after 0." in storm.seen
    assert "TR-069 allows 1.0-1.5 s with m=1, k=1500" in storm.seen
    zero = judge_session_retry(retry_session(count=0), span=span).failed()
    assert zero is not None and "RetryCount 1 in the Inform of retry 1 of a failed session" in zero.expected
    boot = judge_session_retry(retry_session(boot_every=True), span=span).failed()
    assert boot is not None and boot.step == "boot" and "'1 BOOT', '6 CONNECTION REQUEST'" in boot.seen
    lost = judge_session_retry(retry_session(keep=False), span=span).failed()
    assert lost is not None and lost.step == "kept" and "did not repeat 6 CONNECTION REQUEST" in lost.seen
    # Without the outer capture a boot between the sessions cannot be ruled out: 1 BOOT is not judged.
    inner_only = judge_session_retry(
        retry_session(boot_every=True), span=Span(end=120.0, bound=8.0, captures=(INNER,))
    )
    assert inner_only.failed() is None
    assert (
        judge_session_retry(retry_session()[:2]).outcome == NOT_OBSERVABLE
    )  # no failed session: bench knowledge
    assert FAILED not in {v.outcome for v in judge_session_retry([]).verdicts}


def test_a_tunnel_used_while_an_impostor_was_presented() -> None:
    """Which impostor the bench presented, and until when, is its knowledge; the unit's ESP after the IKE_AUTH
    response meanwhile is on its outer capture. A round without ESP is not observable (the refusal is encrypted)."""

    def rounds(used: bool) -> list[Event]:
        tl, t = Timeline(), 100.0
        what = "a certificate from an untrusted CA (CN=rogue)"
        tl.add(
            "bench", "impostor", at=t, segw="ssegw", impostor="untrusted_ca", what=what, action="presented"
        )
        tl.add("segw", "ike-message", at=t + 1, segw="ssegw", exchange="IKE_AUTH", response=False, frames=[7])
        tl.add(
            "segw", "ike-message", at=t + 1.1, segw="ssegw", exchange="IKE_AUTH", response=True, frames=[8]
        )
        if used:
            tl.add("segw", "ike-up", at=t + 1.2, segw="ssegw", frames=[8, 9], capture="/r/outer.pcapng")
        tl.add("bench", "impostor", at=t + 5, segw="ssegw", impostor="untrusted_ca", action="withdrawn")
        tl.add("segw", "ike-up", at=t + 6, segw="ssegw", frames=[20, 21], capture="/r/outer.pcapng")
        return tl.events()

    failed = judge_impostor_serving(rounds(used=True)).failed()
    assert failed is not None and failed.step == "IPsec"
    assert (
        "the unit completed IKE_AUTH with the Serving SeGW presenting a certificate from an untrusted CA"
        in failed.seen
    )
    assert "the outer capture outer.pcapng shows the unit's IKE_AUTH request at frame 7" in failed.seen
    refused = judge_impostor_serving(rounds(used=False))
    assert refused.failed() is None and [v.outcome for v in refused.verdicts] == [NOT_OBSERVABLE, PASSED]
    assert judge_impostor_serving([]).outcome == NOT_OBSERVABLE  # no knowledge: a capture from the field


def test_a_configured_unit_reset_by_the_hems_is_judged_from_its_discovery_on() -> None:
    """A unit that began the test configured: its session before the HeMS's FactoryReset, and the S1 setup of
    that boot, are not the registration's (the capture shows one IKE SA up per SeGW address: the Serving SeGW's
    tunnel after the discovery may not show as up)."""

    def reset_then(registered: list[Event]) -> list[Event]:
        tl, t = Timeline(), 90.0
        tl.add("segw", "ike-up", at=t, segw="ssegw")
        tl.add(
            "hems",
            "inform",
            at=t + 0.1,
            **HEMS,
            events=["1 BOOT"],
            oui=ID[0],
            product_class=ID[1],
            capture=INNER,
        )
        tl.add("mme", "sctp-init", at=t + 0.2, dst="10.180.0.31", dport=36412, capture=INNER)
        tl.add("hems", "rpc-sent", at=t + 0.3, **HEMS, method="FactoryReset", id="f", capture=INNER)
        for e in registered:
            tl.add(e.source, e.kind, at=e.t, **e.data)
        return tl.events()

    failed = judge_5_1_3(reset_then(registration(events=("1 BOOT",))), ID).failed()
    assert failed is not None and failed.step == "1.1" and "events ['1 BOOT']" in failed.seen
    assert judge_5_1_3(reset_then(registration()), ID).failed() is None


def test_an_impostor_offering_weak_proposals_answered_without_refusal() -> None:
    """IKE_SA_INIT is cleartext: an impostor accepting only weak proposals that answered the unit's offer with
    a chosen group (no NO_PROPOSAL_CHOSEN, no INVALID_KE_PAYLOAD) shows the unit offered one."""

    def weak(refused: bool) -> list[Event]:
        tl, t = Timeline(), 100.0
        what = "only IKE proposals outside operator.ike_proposals (aes128-sha1-modp1024)"
        tl.add(
            "bench", "impostor", at=t, segw="isegw", impostor="weak_proposal", what=what, action="presented"
        )
        tl.add("segw", "ike-message", at=t + 1, segw="isegw", exchange="IKE_SA_INIT", response=False, dh=[19, 2],
               notify=[], frames=[3], capture="/r/outer.pcapng")  # fmt: skip
        tl.add("segw", "ike-message", at=t + 1.1, segw="isegw", exchange="IKE_SA_INIT", response=True,
               dh=[] if refused else [2], notify=["14"] if refused else [], frames=[4], capture="/r/outer.pcapng")  # fmt: skip
        tl.add("bench", "impostor", at=t + 2, segw="isegw", impostor="weak_proposal", action="withdrawn")
        return tl.events()

    failed = judge_5_1_2_2(weak(refused=False), ID).failed()
    assert failed is not None and failed.step == "1.3" and "IKE SA with MODP_1024" in failed.seen
    assert "request at frame 3 offering ECP_256, MODP_1024" in failed.seen
    assert judge_5_1_2_2(weak(refused=True), ID).failed() is None


def test_the_real_segw_answering_before_the_withdrawal_is_said_is_not_the_impostor() -> None:
    """A unit refused by the weak impostor retries at once: the real SeGW's answer may come before the bench's
    withdrawal event (CI, load 7). The bench said the impostor's proposals: a response choosing a group none of
    them has (ECP_256 from the policy) is the real SeGW's, never a failure; one choosing MODP_1024 fails."""

    def retried(chosen: int, proposals: list[str]) -> list[Event]:
        tl, t = Timeline(), 100.0
        what = "only IKE proposals outside operator.ike_proposals (aes128-sha1-modp1024)"
        tl.add("bench", "impostor", at=t, segw="isegw", impostor="weak_proposal", what=what, action="presented",
               proposals=proposals)  # fmt: skip
        for n, (dh, notify) in enumerate((([], ["14"]), ([chosen], []))):
            tl.add("segw", "ike-message", at=t + 1 + n, segw="isegw", exchange="IKE_SA_INIT", response=False,
                   dh=[19], notify=[], frames=[3 + 2 * n], capture="/r/outer.pcapng")  # fmt: skip
            tl.add("segw", "ike-message", at=t + 1.1 + n, segw="isegw", exchange="IKE_SA_INIT", response=True,
                   dh=dh, notify=notify, frames=[4 + 2 * n], capture="/r/outer.pcapng")  # fmt: skip
        tl.add("bench", "impostor", at=t + 3, segw="isegw", impostor="weak_proposal", action="withdrawn")
        return tl.events()

    assert judge_5_1_2_2(retried(19, ["aes128-sha1-modp1024"]), ID).failed() is None
    failed = judge_5_1_2_2(retried(2, ["aes128-sha1-modp1024"]), ID).failed()
    assert failed is not None and failed.step == "1.3" and "IKE SA with MODP_1024" in failed.seen
    # Evidence from before the bench said the proposals: any answer inside the round is the impostor's.
    assert judge_5_1_2_2(retried(19, []), ID).failed() is not None


def with_s1_wait(events: list[Event], at: float, **data: Any) -> list[Event]:
    """`events` with the bench's s1-wait event (its knowledge, as rejudge merges it) at `at`, in time order."""
    wait = {"unit": "henb-01", "serial": ID[2], "s1": "10.180.0.30", "port": 36412, "unlocked": False,
            "how": "units.henb-01.unlock_at_registration is false", "bound": 6.0,
            "bound_key": "units.henb-01.bounds.s1_init", **data}  # fmt: skip
    rows = [(e.t, e.source, e.kind, e.data) for e in events] + [(at, "bench", "s1-wait", wait)]
    tl = Timeline()
    for t, source, kind, d in sorted(rows, key=lambda r: r[0]):
        tl.add(source, kind, at=t, **d)
    return tl.events()


def test_no_s1_setup_of_a_cell_the_bench_left_locked() -> None:
    """wait_for_admin_state's twin: no SCTP INIT within the bound the bench waited (its s1-wait event), worded
    as the live wait, naming the unit's setting that left the cell locked; not observable when the inner
    capture ends before that bound; a unit that set S1 up passes whatever the event says."""
    events = registration(more=False)
    start = events[-1].t + 0.5
    locked = with_s1_wait(events, start)
    failed = judge_5_1_3(locked, ID, bound=60.0, span=Span(end=start + 7.0, captures=(INNER,))).failed()
    assert failed is not None and failed.step == "S1", failed
    text = failed.message("")
    for words in ("an SCTP INIT (S1 setup) to 10.180.0.30:36412", "nothing within 6 s "
                  "(units.henb-01.bounds.s1_init)", "the bench did not unlock the cell (units.henb-01."
                  "unlock_at_registration is false)", "FAPControl.LTE.AdminState"):  # fmt: skip
        assert words in text, (words, text)
    soon = judge_5_1_3(locked, ID, span=Span(end=start + 2.0, captures=(INNER,)))
    assert soon.failed() is None and soon.verdicts[-1].outcome == NOT_OBSERVABLE
    unlocked = with_s1_wait(events, start, unlocked=True, how="")
    plain = judge_5_1_3(unlocked, ID, span=Span(end=start + 7.0, captures=(INNER,))).failed()
    assert (
        plain is not None
        and "did not unlock" not in plain.seen
        and "(units.henb-01.bounds.s1_init)" in plain.seen
    )
    good = registration()
    assert judge_5_1_3(with_s1_wait(good, good[4].t + 0.05), ID).failed() is None


def test_no_s1_setup_from_the_field_names_only_what_the_capture_shows() -> None:
    """Without the bench's event (a capture from the field, another unit's event): the inventory's bound, and a
    registration whose values set no AdminState true is named so; one that unlocked the cell is not."""
    events = registration(more=False)
    span = Span(end=events[-1].t + 7.0, bound=8.0, captures=(INNER,))
    other = with_s1_wait(events, events[-1].t + 0.5, serial="OTHER")
    for field in (events, other):
        failed = judge_5_1_3(field, ID, bound=6.0, span=span).failed()
        assert failed is not None and failed.seen.startswith("nothing within 6 s;"), failed
        assert "the registration's SetParameterValues did not unlock the cell" in failed.seen
        assert "the bench" not in failed.seen
    tl = Timeline()
    for e in events:
        d = e.data
        if e.kind == "rpc-sent":
            d = {**d, "values": {**VALUES, P + "FAPControl.LTE.AdminState": "true"}}
        tl.add(e.source, e.kind, at=e.t, **d)
    unlocked = judge_5_1_3(tl.events(), ID, bound=6.0, span=span).failed()
    assert unlocked is not None and unlocked.seen == "nothing within 6 s"

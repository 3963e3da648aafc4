"""Judges of 5.1.2.2 (Serving HeMS discovery via an Initial HeMS in the operator's private network, Figure 5-3)
and 5.1.3 (registration with the Serving HeMS, Figure 5-5), and the verdicts the live plans take from here (one
judgement, two sources: the live plan words a failure as these functions do). 5.1.2.2's outer link shows the
public DNS queries and both tunnels; its private DNS and CWMP with the Initial HeMS run inside the Initial SeGW's
tunnel, shown in clear by that SeGW's core side (inner-initial.pcapng, bench/evidence/judge_initial.py). 5.1.3's
inner capture (the Serving SeGW's core side) shows the Inform, the SetParameterValues and S1 setup in clear; what
the HeMS set there is what S1 setup must carry."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from bench.events import BenchKind, DnsKind, HemsKind, MmeKind, SegwKind, Source
from bench.evidence.decode import is_initial_inner, is_inner
from bench.evidence.judge_common import Identity, after, cwmp_seen, device_id, host_names, is_inform
from bench.evidence.judge_impostor import after_impostors, judge_impostors
from bench.evidence.judge_initial import INITIAL_UNSEEN, initial_inner_read, judge_initial_session
from bench.evidence.judge_segw_log import UNSEEN, refused, wrong_identity
from bench.evidence.judges import (
    ESP_ONLY,
    FAILED,
    LIVE,
    NOT_OBSERVABLE,
    PASSED,
    Judged,
    Span,
    Verdict,
    absent,
    judge_spv_response,
    missing,
)
from bench.timeline import Event

Describe = Callable[[Event], str]
BOOTSTRAP = "0 BOOTSTRAP"
# What S1 setup must carry, by the leaf of the parameter the Serving HeMS set at registration (both profiles).
S1_FAR_END, TAC, PLMN, CELL_IDENTITY = ".S1SigLinkServerList", ".TAC", ".PLMNID", ".CellIdentity"
S1_PORT = 36412
ADMIN_STATE = ".FAPControl.LTE.AdminState"  # TR-196: the cell locked (false) until the HeMS unlocks it


def frames(e: Event) -> str:
    """An event of a capture, named by its frames."""
    return f"frame {e.data.get('frames')}"


def ike_id(identity: Identity | None) -> str:
    """The unit's IKE identity as the bench's units present it (OUI-SERIAL.henb)."""
    return f"{identity[0]}-{identity[2]}.henb" if identity else "the unit"


def _first(
    events: Sequence[Event], pred: Callable[[Event], bool], since: Event | None = None
) -> Event | None:
    return next(iter(after(events, pred, since)), None)


def _query(name: str, dns: str) -> Callable[[Event], bool]:
    return lambda e: (
        e.source == Source.DNS and e.kind == DnsKind.QUERY and e.data.get("name") == name
        and e.data.get("dns") == dns
    )  # fmt: skip


def _ike_up(segw: str | None = None, but: str | None = None) -> Callable[[Event], bool]:
    """An IKE SA up at `segw` (or at any SeGW but `but`)."""
    return lambda e: (
        e.source == Source.SEGW and e.kind == SegwKind.IKE_UP and not e.data.get("impostor")
        and (segw is None or e.data.get("segw") == segw) and (but is None or e.data.get("segw") != but)
    )  # fmt: skip


def _ike_init(e: Event) -> bool:
    return (e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE and e.data.get("exchange") == "IKE_SA_INIT"
            and not e.data.get("response"))  # fmt: skip


def _serving_inner(capture: str) -> bool:
    return is_inner(capture) and not is_initial_inner(capture)


def inner_read(events: Sequence[Event], span: Span) -> bool:
    """Whether the evidence has the inner capture (the Serving SeGW's core side): a live timeline has all."""
    return (
        span.end is None
        or any(_serving_inner(c) for c in span.captures)
        or any(_serving_inner(str(e.data.get("capture", ""))) for e in events)
    )


# 5.1.2.2: discovery via an Initial HeMS in the operator's private network


def judge_asked_before(
    clause: str,
    step: str,
    events: Sequence[Event],
    name: str,
    ike: Event,
    late: float = 0.0,
    booted: bool = False,
) -> Verdict:
    """`name` asked of the public DNS before the IKE SA `ike` (a query stamped up to `late` s after it still
    counts: the live bench reads dnsmasq's log late); with no query, not observable when the evidence may
    begin after the unit's boot (no DHCP in it) unless `booted` (the live plan knows its events are the boot's:
    a unit reset on the bench may keep its lease). The live 5.1.2.2 plan calls it for step 1.1."""
    q = _first(events, lambda e: _query(name, "public-dns")(e) and e.t <= ike.t + late)
    if q is not None:
        return Verdict(clause, step, PASSED, events=(q,))
    if not booted and _first(events, lambda e: e.source == Source.DHCP and e.t <= ike.t) is None:
        return Verdict(
            clause, step, NOT_OBSERVABLE, why="the evidence begins after the unit's boot (no DHCP)"
        )
    return Verdict(clause, step, FAILED, f"a query for {name} at the public DNS before the IKE SA",
                   "no such query (the unit used an address it was not given by DNS)", (ike,))  # fmt: skip


def private_only(
    clause: str, step: str, name: str, public: Event | None, before: Event | None = None
) -> Verdict:
    """The Initial HeMS's FQDN `name` asked of the private DNS only (learned over IKE): `public`, a query for it
    at the public DNS, fails. The live 5.1.2.2 plan calls it for step 1.4."""
    if public is None:
        return Verdict(clause, step, PASSED, events=(before,) if before is not None else ())
    return Verdict(clause, step, FAILED, f"the query for {name} at the private DNS only",
                   f"it was asked of the public DNS {public.data.get('server')} (the Initial HeMS is inside the "
                   "operator network)", (public,))  # fmt: skip


def _initial_segw(events: Sequence[Event]) -> str | None:
    """The Initial SeGW as the evidence names it: `isegw` (its address answered by DNS), else the first SeGW
    other than the Serving one the unit tried (a unit that never asked DNS for it; a configured unit's evidence
    begins with the Serving SeGW until the HeMS resets it)."""
    if any(e.source == Source.SEGW and e.data.get("segw") == "isegw" for e in events):
        return "isegw"
    first = _first(events, lambda e: _ike_init(e) and e.data.get("segw") != "ssegw")
    return None if first is None else str(first.data.get("segw"))


def judge_5_1_2_2(
    events: Sequence[Event],
    identity: Identity | None = None,
    hosts: dict[str, str] | None = None,
    span: Span = LIVE,
) -> Judged:
    """test_discovery_via_initial_hems_in_private_network: the outer link shows the public DNS queries (for the
    Initial SeGW before its tunnel, never for the Initial HeMS; for the Serving SeGW before its tunnel) and both
    tunnels; the private DNS and CWMP with the Initial HeMS run inside the Initial SeGW's tunnel, judged from its
    core side (inner-initial.pcapng) when the evidence has it, else not observable."""
    names = host_names(hosts)
    clause = "5.1.2.2"
    out = Judged(clause, "test_discovery_via_initial_hems_in_private_network")
    add = out.verdicts.append
    # 1.3 from the Initial SeGW's charon log where given: an IKE SA under another identity than the unit's.
    attempt = f"an IKE SA from {ike_id(identity)} at the Initial SeGW {names['isegw']}"
    wrong = wrong_identity(clause, "1.3", events, span, "isegw", identity, attempt)
    if wrong is not None:
        add(wrong)
        return out
    # 1.3, before the real Initial SeGW: the impostors the bench presented (its knowledge), each refused.
    impostors = judge_impostors(clause, "1.3", events, "isegw")
    out.verdicts += impostors
    if out.failed():
        return out
    initial = _initial_segw(events)
    since = after_impostors(events, "isegw")
    ike = _first(events, _ike_up(initial), since) if initial else None
    auth = [e for e in after(events, lambda e: e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE
                             and e.data.get("segw") == initial and e.data.get("exchange") == "IKE_AUTH", since)
            if initial and e.data.get("response")]  # fmt: skip
    # 1.1 needs no ESP: the SA came up at the SeGW with its IKE_AUTH response (a capture stopped by the live
    # plan's failure may end before the unit's first ESP).
    anchor = ike or (auth[-1] if auth else None)
    if anchor is not None:
        add(judge_asked_before(clause, "1.1", events, names["isegw"], anchor))
        if out.failed():
            return out
    if ike is None:
        # the SeGW's refusal: charon's words in its log, or a NO_PROPOSAL_CHOSEN the capture shows in clear
        answered = any(e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE and e.data.get("segw") == initial
                       and e.data.get("exchange") == "IKE_AUTH" and e.data.get("response") for e in events)  # fmt: skip
        seen = "no IKE SA up (" + ("no ESP after an IKE_AUTH response)" if answered else "no IKE_AUTH)")
        said = refused(clause, "1.3", events, span, "isegw", identity, attempt, seen)
        if said is not None:
            add(said)
        elif auth:
            add(missing(clause, "1.3", f"an IKE SA at the Initial SeGW {names['isegw']}",
                        f"IKE messages but no ESP after an IKE_AUTH response ({UNSEEN})", auth[-1], span))  # fmt: skip
        else:
            add(Verdict(clause, "1.3", NOT_OBSERVABLE, why="no IKE with the Initial SeGW in the evidence (the "
                        "outer capture of the test's boot is needed)"))  # fmt: skip
        return out
    add(Verdict(clause, "1.3", PASSED, events=(ike,)))
    sike = _first(events, _ike_up(but=initial), ike)
    public = _first(events, lambda e: _query(names["initial-hems"], "public-dns")(e)
                    and (sike is None or e.seq < sike.seq))  # fmt: skip
    add(private_only(clause, "1.4", names["initial-hems"], public))
    if out.failed():
        return out
    end: Event | None = None
    if initial_inner_read(events, span):  # the Initial SeGW's core side: steps 1.4 to 4 in clear
        end = judge_initial_session(out, events, identity, names, ike, span)
        if end is None or out.failed():
            return out
    else:
        inner = f"the Initial HeMS is reached inside the Initial SeGW's tunnel: {ESP_ONLY} ({INITIAL_UNSEEN})"
        for step in ("1.4", "2.1", "3.2", "4"):
            add(Verdict(clause, step, NOT_OBSERVABLE, why=inner))
    tried = _first(events, lambda e: _ike_init(e) and e.data.get("segw") != initial, ike)
    expected = f"an IKE SA from {ike_id(identity)} at the Serving SeGW {names['ssegw']} after the session"
    if sike is None and tried is None and end is not None:
        add(missing(clause, "6.3", expected, f"nothing within {span.bound:g} s", end, span))
        return out
    if sike is None and tried is None:
        # Step 6.3's wait starts at the session's end, inside the Initial SeGW's tunnel: whether the session
        # ended, and what it assigned, the outer link does not show.
        add(Verdict(clause, "6.3", NOT_OBSERVABLE, expected, why="none in the evidence, and the session it follows "
                    f"(its end, the assignment) is inside the Initial SeGW's tunnel: {ESP_ONLY}"))  # fmt: skip
        return out
    if sike is None:
        assert tried is not None
        add(Verdict(clause, "6.3", NOT_OBSERVABLE, why=f"IKE with {tried.data.get('segw')} seen ({frames(tried)}), "
                    "no ESP after its IKE_AUTH response in the evidence (the capture shows one IKE SA up per SeGW "
                    "address)"))  # fmt: skip
    else:
        add(Verdict(clause, "6.3", PASSED, events=(sike,)))
    first = min((e for e in (sike, tried) if e is not None), key=lambda e: e.seq)
    q = _first(events, lambda e: _query(names["ssegw"], "public-dns")(e) and e.seq < first.seq, ike)
    if q is None:
        add(Verdict(clause, "6.1", FAILED, f"a query for {names['ssegw']} at the public DNS before the IKE SA",
                    "no such query", (first,)))  # fmt: skip
    else:
        add(Verdict(clause, "6.1", PASSED, events=(q,)))
    return out


# 5.1.3: registration with the Serving HeMS


def judge_s1_after_response(
    clause: str,
    step: str,
    events: Sequence[Event],
    response: Event,
    since: Event | None = None,
    describe: Describe = frames,
) -> Verdict:
    """No SCTP INIT (S1 setup) before the registration's SetParameterValuesResponse (after `since`); both are
    stamped on arrival (the HeMS, the MME stand-in or the capture). The live 5.1.3 plan calls it, `describe`
    its own way of naming an event."""
    early = next((e for e in events if e.source == Source.MME and e.kind == MmeKind.SCTP_INIT and e.t < response.t
                  and (since is None or e.seq > since.seq)), None)  # fmt: skip
    if early is not None:
        return Verdict(clause, step, FAILED, "S1 setup after the SetParameterValuesResponse",
                       f"SCTP INIT before it: {describe(early)}", (early,))  # fmt: skip
    return Verdict(clause, step, PASSED, events=(response,))


def bootstrap_at_new_acs(clause: str, step: str, first: Event, discovered: Event, how: str) -> Verdict:
    """TR-069: the first Inform to a new ACS URL (the Serving HeMS's, set in the discovery `discovered`, `how`
    words it) carries 0 BOOTSTRAP. The live 5.1.3 plan calls it (session_rules.check_bootstrap_at_new_acs)."""
    if BOOTSTRAP in first.data.get("events", ()):
        return Verdict(clause, step, PASSED, events=(discovered, first))
    return Verdict(clause, step, FAILED, f"{BOOTSTRAP} in the first Inform to the Serving HeMS (a new ACS URL: "
                   f"{how})", f"events {first.data.get('events')}", (first,))  # fmt: skip


def s1_toward(clause: str, step: str, init: Event, s1: str, port: int) -> Verdict:
    """The SCTP INIT goes to the S1 far end the HeMS set, at the S1 port."""
    if init.data.get("dst") != s1 or init.data.get("dport") != port:
        return Verdict(clause, step, FAILED, f"S1 setup toward {s1}:{port}",
                       f"SCTP INIT to {init.data.get('dst')}:{init.data.get('dport')}", (init,))  # fmt: skip
    return Verdict(clause, step, PASSED, events=(init,))


def s1_setup_carries(
    clause: str, step: str, request: Event, tac: int, plmn: str, cell_identity: int
) -> Verdict:
    """The S1 Setup Request carries what the HeMS configured: TAC, PLMN (Global eNB ID and broadcast), and the
    cell identity as the 28-bit Home eNB ID. The live 5.1.3 plan calls it (check_s1_setup)."""
    d = request.data
    wrong = []
    if d.get("tacs") != [tac]:
        wrong.append(f"TAC {d.get('tacs')} (expected {tac})")
    if d.get("plmn") != plmn or d.get("broadcast_plmns") != [plmn]:
        wrong.append(f"PLMN {d.get('plmn')} broadcast {d.get('broadcast_plmns')} (expected {plmn})")
    if d.get("enb_id") != cell_identity or d.get("enb_id_type") != "homeENB-ID":
        wrong.append(f"eNB ID {d.get('enb_id_type')} {d.get('enb_id')} (expected homeENB-ID {cell_identity})")
    if wrong:
        return Verdict(clause, step, FAILED, f"an S1 Setup Request with TAC {tac}, PLMN {plmn}, Home eNB ID "
                       f"{cell_identity} (as the HeMS set them)", "; ".join(wrong), (request,))  # fmt: skip
    return Verdict(clause, step, PASSED, events=(request,))


def _s1ap(message: str, direction: str = "uplink") -> Callable[[Event], bool]:
    return lambda e: (
        e.source == Source.MME and e.kind == MmeKind.S1AP and e.data.get("message") == message
        and e.data.get("direction") == direction
    )  # fmt: skip


def time_to_wait(
    clause: str,
    step: str,
    events: Sequence[Event],
    failure: Event,
    wait: str,
    describe: Describe = frames,
    span: Span = LIVE,
) -> Verdict:
    """TS 36.413 8.7.3.3: after an S1 Setup Failure with TimeToWait `wait` (v1s ... v60s), no S1 Setup Request
    to that MME before the time has passed. The live 5.1.3 plan calls it once it waited that long."""
    until = failure.t + float(wait[1:-1])
    expected = (f"no S1 Setup Request again within the S1 Setup Failure's TimeToWait {wait} (TS 36.413 8.7.3.3; "
                "operator.s1_time_to_wait)")  # fmt: skip
    early = _first(events, lambda e: _s1ap("S1SetupRequest")(e) and e.t < until, failure)
    if early is not None:
        return Verdict(clause, step, FAILED, expected, f"S1 Setup Request again {early.t - failure.t:.1f} s after "
                       f"the S1 Setup Failure: {describe(early)}", (early,))  # fmt: skip
    if span.end is not None and span.end < until:
        return Verdict(clause, step, NOT_OBSERVABLE, expected, why=f"the evidence ends {span.end - failure.t:.1f} s "
                       f"after the S1 Setup Failure, before its TimeToWait {wait} passed")  # fmt: skip
    return Verdict(clause, step, PASSED, expected, events=(failure,))


def _value(values: dict[str, str], leaf: str) -> str | None:
    return next((v for n, v in values.items() if n.endswith(leaf)), None)


def _discovery(events: Sequence[Event]) -> Event | None:
    """The unit's discovery in the evidence: its tunnel to the Initial SeGW, or its Inform to the Initial HeMS."""
    return _first(events, lambda e: _ike_up("isegw")(e) or is_inform("initial-hems")(e))


def _registration_inform(
    events: Sequence[Event], identity: Identity | None, span: Span, add: Callable[[Verdict], None]
) -> Event | None:
    """Step 1.1's Inform (the first to the Serving HeMS after a boot; after the discovery when the evidence has
    one: a configured unit's session before the HeMS reset it is not the registration), or its verdict."""
    inf = _first(events, lambda e: is_inform("serving-hems")(e)
                 and bool({BOOTSTRAP, "1 BOOT"} & set(e.data.get("events", []))), _discovery(events))  # fmt: skip
    if inf is not None:
        add(device_id("5.1.3", "1.1", inf, identity))
        return inf
    sike = _first(events, _ike_up("ssegw"))
    if cwmp_seen(events, "serving-hems"):
        why = "no boot Inform to the Serving HeMS: the evidence begins after the registration"
    elif sike is not None and inner_read(events, span):
        # The unit's tunnel to the Serving SeGW is up and its core side is captured: an Inform would be there.
        vip = next((e.data.get("client") or e.data.get("peer") for e in after(events, lambda e: _serving_inner(str(
            e.data.get("capture", ""))) and bool(e.data.get("client") or e.data.get("peer")), sike)), None)  # fmt: skip
        src = f" from the unit's inner address {vip}" if vip else ""
        add(missing("5.1.3", "1.1", f"an Inform to the Serving HeMS{src}", f"nothing within {span.bound:g} s of "
                    f"the IKE SA at the Serving SeGW ({frames(sike)}) on the inner capture", sike, span))  # fmt: skip
        return None
    else:
        why = f"no CWMP with the Serving HeMS in the evidence ({ESP_ONLY}; or TLS without a key log)"
    for step in ("1.1", "2.2"):
        add(Verdict("5.1.3", step, NOT_OBSERVABLE, why=why))
    return None


def judge_5_1_3(
    events: Sequence[Event],
    identity: Identity | None = None,
    bound: float = 60.0,
    port: int = S1_PORT,
    span: Span = LIVE,
) -> Judged:
    """test_registration_with_serving_hems: the Inform with the DeviceId (0 BOOTSTRAP after a discovery), the
    SetParameterValues answered, then S1 setup toward the S1 far end it set, at `port`, within `bound`
    (bounds.s1_init), after the response, carrying the TAC, PLMN and cell identity it set; after an S1 Setup
    Failure, no request again within its TimeToWait."""
    out = Judged("5.1.3", "test_registration_with_serving_hems")
    add = out.verdicts.append
    inf = _registration_inform(events, identity, span, add)
    if out.failed() or inf is None:
        return out
    discovered = _discovery(events)
    if discovered is not None and discovered.seq < inf.seq:
        how = f"set in the discovery through the Initial SeGW ({frames(discovered)})"
        add(bootstrap_at_new_acs("5.1.3", "1.1", inf, discovered, how))
        if out.failed():
            return out
    sent = _first(events, lambda e: e.source == Source.HEMS and e.kind == HemsKind.RPC_SENT
                  and e.data.get("hems") == "serving-hems" and e.data.get("method") == "SetParameterValues", inf)  # fmt: skip
    if sent is None:
        add(missing("5.1.3", "2.2", "SetParameterValues from the Serving HeMS", "nothing", inf, span))
        return out
    answered = judge_spv_response("5.1.3", "2.2", events, sent, span)
    if answered.outcome == FAILED and answered.seen.startswith("fault"):
        answered = dataclasses.replace(answered, expected="SetParameterValuesResponse to the S1 far-end address "
                                       "and IPsec usage indicator")  # fmt: skip
    add(answered)
    if answered.outcome != PASSED:
        return out
    response = answered.events[-1]
    # S1 setup goes through the unit's tunnel to the Serving SeGW: an INIT since it came up counts, or since
    # the discovery (the capture shows one IKE SA up per SeGW address: a configured unit's before the HeMS reset
    # it may be the one seen).
    tunnel = next((e for e in reversed(after(events, _ike_up("ssegw"), None)) if e.seq < inf.seq), None)
    since = max((e for e in (tunnel, discovered) if e is not None and e.seq < inf.seq), key=lambda e: e.seq,
                default=None)  # fmt: skip
    add(judge_s1_after_response("5.1.3", "S1", events, response, since))
    if out.failed():
        return out
    values: dict[str, str] = sent.data.get("values") or {}
    s1 = (_value(values, S1_FAR_END) or "").split(",")[0].strip()
    if not s1:
        add(
            Verdict(
                "5.1.3", "S1", NOT_OBSERVABLE, why="the registration set no S1 far end (S1SigLinkServerList)"
            )
        )
        return out
    out.verdicts += judge_s1(events, response, s1, values, bound, port, span, identity)
    return out


def not_unlocked(how: str, who: str = "the bench") -> str:
    """Why a unit may not have started S1: `who` did not unlock its cell (TR-196 AdminState), `how` says why.
    The live 5.1.3 plan's words (its wait for S1 setup), and the evidence judge's (s1_absent)."""
    return (f"; {who} did not unlock the cell ({how}): a unit locked after a factory reset (TR-196 "
            f"FAPControl.LTE.AdminState false) starts S1 only once the HeMS sets AdminState true")  # fmt: skip


def unlocks(values: dict[str, str]) -> bool:
    """Whether a SetParameterValues' values set the cell's AdminState true (unlocked)."""
    return any(n.endswith(ADMIN_STATE) and str(v).strip().lower() in ("true", "1") for n, v in values.items())


def s1_wait(events: Sequence[Event], response: Event, identity: Identity | None) -> Event | None:
    """The bench's bench/s1-wait event after the registration's response: the bound the live plan waited for
    S1 setup, its inventory key, whether the bench unlocked the cell and why not (the unit's setting)."""
    serial = identity[2] if identity else None
    return _first(events, lambda e: e.source == Source.BENCH and e.kind == BenchKind.S1_WAIT
                  and (serial is None or e.data.get("serial") in (None, serial)), response)  # fmt: skip


def s1_absent(events: Sequence[Event], response: Event, expected: str, values: dict[str, str], bound: float,
              span: Span, identity: Identity | None = None) -> Verdict:  # fmt: skip
    """No SCTP INIT after the registration's response: as the live wait words it where the bench's s1-wait
    event says its bound and why the cell stayed locked (the unit's inventory setting); else (a capture from the
    field) from the inventory's `bound`, naming what the capture shows: a registration that set no AdminState
    true."""
    wait = s1_wait(events, response, identity)
    if wait is not None and wait.data.get("bound"):
        seconds, key = float(wait.data["bound"]), str(wait.data.get("bound_key") or "")
        verdict = absent("5.1.3", "S1", expected, events, response, wait, seconds, key, span)
        note = "" if wait.data.get("unlocked", True) else not_unlocked(str(wait.data.get("how")))
    else:
        within = Span(span.end, bound) if span.end is not None else span
        verdict = missing("5.1.3", "S1", expected, f"nothing within {bound:g} s", response, within)
        sent = next((e for e in reversed(events) if e.seq < response.seq and e.source == Source.HEMS
                     and e.kind == HemsKind.RPC_SENT and e.data.get("id") == response.data.get("id")), None)  # fmt: skip
        where = f", {frames(sent)}" if sent is not None and sent.data.get("frames") else ""
        how = f"no {ADMIN_STATE[1:]} true among its values{where}"
        note = "" if unlocks(values) else not_unlocked(how, "the registration's SetParameterValues")
    if verdict.outcome != FAILED:
        return verdict
    return dataclasses.replace(verdict, seen=verdict.seen + note, events=(response,))


def judge_s1(
    events: Sequence[Event],
    response: Event,
    s1: str,
    values: dict[str, str],
    bound: float,
    port: int,
    span: Span,
    identity: Identity | None = None,
) -> list[Verdict]:
    """5.1.3's S1 steps after the registration's SetParameterValuesResponse, up to the first failure."""
    if not inner_read(events, span) and not any(e.source == Source.MME for e in events):
        return [Verdict("5.1.3", "S1", NOT_OBSERVABLE, why=f"no SCTP in the evidence ({ESP_ONLY})")]
    within = Span(span.end, bound) if span.end is not None else span
    init = _first(
        events, lambda e: e.source == Source.MME and e.kind == MmeKind.SCTP_INIT and e.t >= response.t
    )
    if init is None:
        return [s1_absent(events, response, f"an SCTP INIT (S1 setup) to {s1}:{port}", values, bound, span,
                          identity)]  # fmt: skip
    toward = s1_toward("5.1.3", "S1", init, s1, port)
    if toward.outcome == FAILED:
        return [toward]
    request = _first(events, lambda e: _s1ap("S1SetupRequest")(e) and e.data.get("local") == s1, init)
    if request is None:
        return [missing("5.1.3", "S1", f"an S1 Setup Request to {s1} over the SCTP association",
                        f"nothing within {bound:g} s", init, within)]  # fmt: skip
    out = [toward]
    tac, plmn, cell = _value(values, TAC), _value(values, PLMN), _value(values, CELL_IDENTITY)
    if tac is not None and plmn is not None and cell is not None and tac.isdigit() and cell.isdigit():
        out.append(s1_setup_carries("5.1.3", "S1", request, int(tac), plmn, int(cell)))
        if out[-1].outcome == FAILED:
            return out
    answer = _first(events, lambda e: _s1ap("S1SetupResponse", "downlink")(e) or _s1ap("S1SetupFailure", "downlink")(e),
                    request)  # fmt: skip
    if answer is None:
        out.append(missing("5.1.3", "S1", "the MME's S1SetupResponse", "nothing", request, span))
        return out
    out.append(Verdict("5.1.3", "S1", PASSED, events=(request, answer)))
    wait = answer.data.get("time_to_wait")
    if answer.data.get("message") == "S1SetupFailure" and isinstance(wait, str) and wait[1:-1].isdigit():
        out.append(time_to_wait("5.1.3", "S1", events, answer, wait, span=span))
    return out

"""Judges of 5.1.2.3 (Serving HeMS discovery via an Initial HeMS on the public internet, Figure 5-4): the unit's
TLS session with the Initial HeMS crosses the outer link, so its CWMP is seen there with the HeMS's key log; and
a unit refuses an Initial HeMS whose certificate it must not trust (judged as 5.1.3's Serving HeMS over HTTPS is,
bench/evidence/judge_hems_certs.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.events import DnsKind, HemsKind, SegwKind, Source
from bench.evidence.judge_common import (
    Identity,
    after,
    cwmp_seen,
    device_id,
    host_names,
    is_inform,
    knowledge_missing,
)
from bench.evidence.judge_hems_certs import judge_rounds, shown_certs, tls_unseen
from bench.evidence.judge_initial import released
from bench.evidence.judges import (
    FAILED,
    LIVE,
    NOT_OBSERVABLE,
    PASSED,
    Judged,
    Span,
    Verdict,
    missing,
)
from bench.timeline import Event

CLAUSE = "5.1.2.3"
TLS_UNSEEN = tls_unseen("initial-hems")


def _query(name: str) -> Callable[[Event], bool]:
    return lambda e: (
        e.source == Source.DNS and e.kind == DnsKind.QUERY and e.data.get("name") == name
        and e.data.get("dns") == "public-dns"
    )  # fmt: skip


def _ike_up(segw: str) -> Callable[[Event], bool]:
    return lambda e: e.source == Source.SEGW and e.kind == SegwKind.IKE_UP and e.data.get("segw") == segw


def _ike_id(identity: Identity | None) -> str:
    return f"{identity[0]}-{identity[2]}.henb" if identity else "the unit"


def judge_5_1_2_3(
    events: Sequence[Event],
    identity: Identity | None = None,
    hosts: dict[str, str] | None = None,
    span: Span = LIVE,
) -> Judged:
    """test_discovery_via_initial_hems_on_public_internet: DNS for the Initial HeMS, the Inform over TLS with the
    DeviceId and 0 BOOTSTRAP, the SetParameterValues answered, the session ended, then DNS for the Serving
    SeGW and its IKE SA."""
    names = host_names(hosts)
    out = Judged(CLAUSE, "test_discovery_via_initial_hems_on_public_internet")
    add = out.verdicts.append
    end: Event | None = None
    inf = next(iter(after(events, is_inform("initial-hems"), None)), None)
    if inf is None:
        why = (
            TLS_UNSEEN
            if not cwmp_seen(events, "initial-hems")
            else "no Inform to the Initial HeMS in the evidence"
        )
        for step in ("1.1", "2.1", "3.2", "4"):
            add(Verdict(CLAUSE, step, NOT_OBSERVABLE, why=why))
    else:
        q = next((e for e in events if _query(names["initial-hems"])(e) and e.seq < inf.seq), None)
        if q is None and not any(e.source == Source.DHCP for e in events if e.seq < inf.seq):
            add(
                Verdict(
                    CLAUSE, "1.1", NOT_OBSERVABLE, why="the evidence begins after the unit's boot (no DHCP)"
                )
            )
        elif q is None:
            add(Verdict(CLAUSE, "1.1", FAILED, f"a query for {names['initial-hems']} at the public DNS before the TLS "
                        "session", "no such query (the unit used an address it was not given by DNS)", (inf,)))  # fmt: skip
            return out
        else:
            add(Verdict(CLAUSE, "1.1", PASSED, events=(q,)))
        add(device_id(CLAUSE, "2.1", inf, identity))
        if out.failed():
            return out
        if "0 BOOTSTRAP" not in inf.data.get("events", []):
            add(Verdict(CLAUSE, "2.1", FAILED, "event 0 BOOTSTRAP in the first Inform to the Initial HeMS",
                        f"events {inf.data.get('events')}", (inf,)))  # fmt: skip
            return out
        add(Verdict(CLAUSE, "2.1", PASSED, events=(inf,)))
        sent = next(iter(after(events, lambda e: e.source == Source.HEMS and e.kind == HemsKind.RPC_SENT
                               and e.data.get("hems") == "initial-hems" and e.data.get("method") == "SetParameterValues",
                               inf)), None)  # fmt: skip
        answer = sent and next(iter(after(events, lambda e: e.source == Source.HEMS and e.kind in (
            HemsKind.RPC_RESPONSE, HemsKind.RPC_FAULT) and e.data.get("id") == sent.data.get("id"), sent)), None)  # fmt: skip
        if answer is not None and answer.kind == HemsKind.RPC_FAULT:
            d = answer.data
            add(Verdict(CLAUSE, "3.2", FAILED, "SetParameterValuesResponse to the Serving SeGW/HeMS assignment",
                        f"fault {d.get('fault_code')} {d.get('fault_string')}, per parameter {d.get('param_faults')}",
                        (answer,)))  # fmt: skip
            return out
        add(Verdict(CLAUSE, "3.2", PASSED if answer else NOT_OBSERVABLE, events=(answer,) if answer else (),
                    why="" if answer else "no SetParameterValues to the Initial HeMS answered in the evidence"))  # fmt: skip
        end = next(iter(after(events, lambda e: e.source == Source.HEMS and e.kind == HemsKind.SESSION_END
                              and e.data.get("hems") == "initial-hems", inf)), None)  # fmt: skip
        if end is None:
            add(missing(CLAUSE, "4", "the session with the Initial HeMS to end", "nothing", inf, span))
            return out
        add(released(events, end, str(inf.data.get("peer")), span, CLAUSE, tunnel=False))
        if out.failed():
            return out
    # 5.3 and 5.1: the IKE SA at the Serving SeGW (up: ESP after its IKE_AUTH response), and before the unit's
    # first IKE with a SeGW other than the Initial one, its query for the Serving SeGW.
    sike = next(iter(after(events, _ike_up("ssegw"), end)), None)
    tried = next(iter(after(events, _ike_init, end)), None)
    if sike is None and tried is None:
        if end is None:
            add(Verdict(CLAUSE, "5.3", NOT_OBSERVABLE, why="no IKE SA at the Serving SeGW in the evidence"))
        else:
            add(missing(CLAUSE, "5.3", f"an IKE SA from {_ike_id(identity)} at the Serving SeGW {names['ssegw']} "
                        "after the session", "nothing", end, span))  # fmt: skip
        return out
    if sike is None:
        assert tried is not None
        add(Verdict(CLAUSE, "5.3", NOT_OBSERVABLE, why=f"IKE with {tried.data.get('segw')} seen (frames "
                    f"{tried.data.get('frames')}), no ESP after it: whether its SA came up is not"))  # fmt: skip
    else:
        add(Verdict(CLAUSE, "5.3", PASSED, events=(sike,)))
    first = min((e for e in (sike, tried) if e is not None), key=lambda e: e.seq)
    q = next((e for e in after(events, _query(names["ssegw"]), end) if e.seq < first.seq), None)
    if q is None:
        add(Verdict(CLAUSE, "5.1", FAILED, f"a query for {names['ssegw']} at the public DNS before the IKE SA",
                    "no such query", (first,)))  # fmt: skip
    else:
        add(Verdict(CLAUSE, "5.1", PASSED, events=(q,)))
    return out


def _ike_init(e: Event) -> bool:
    """The unit's IKE_SA_INIT request to a SeGW other than the Initial one."""
    return (e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE and e.data.get("exchange") == "IKE_SA_INIT"
            and not e.data.get("response") and e.data.get("segw") != "isegw")  # fmt: skip


def judge_refusal(events: Sequence[Event], hosts: dict[str, str] | None = None, span: Span = LIVE) -> Judged:
    """test_refuses_initial_hems_it_must_not_trust: the unit turns to its Initial HeMS (not the Initial SeGW),
    and sends no Inform while the HeMS presents a certificate it must not trust (bench/hems-cert)."""
    names = host_names(hosts)
    out = Judged(CLAUSE, "test_refuses_initial_hems_it_must_not_trust")
    add = out.verdicts.append
    shown = shown_certs(events, "initial-hems")
    if not shown:  # not this test's evidence, or a capture from the field: neither step is judged
        out.verdicts += knowledge_missing(
            CLAUSE, ("pre", "1.3"), "which certificate the Initial HeMS presented, when"
        )
        return out
    turned = next((e for e in events if _query(names["initial-hems"])(e) or _query(names["isegw"])(e)
                   or (e.source == Source.SEGW and e.kind in (SegwKind.IKE_MESSAGE, SegwKind.IKE_UP)
                       and e.data.get("segw") == "isegw")), None)  # fmt: skip
    if turned is not None and not _query(names["initial-hems"])(turned):
        add(Verdict(CLAUSE, "pre", FAILED, f"the factory-fresh unit looking up {names['initial-hems']} at the public "
                    "DNS (its Initial HeMS is on the public internet: TLS straight to it, no IPsec for that leg)",
                    f"it turned to the Initial SeGW {names['isegw']} instead: {turned.describe(events[0].t)}",
                    (turned,)))  # fmt: skip
        return out
    if turned is not None:
        add(Verdict(CLAUSE, "pre", PASSED, events=(turned,)))
    judge_rounds(out, events, shown, "initial-hems", "1.3", f"it was programmed with {names['initial-hems']}")
    return out

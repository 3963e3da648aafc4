"""The impostor SeGWs' rounds (TS 33.320; testplans/ts32593/impostor.py) judged from the unit's outer capture:
which impostor the bench presented to the unit, and until when, is the bench's knowledge (bench/impostor
events); the capture shows the unit's IKE with that SeGW address. A tunnel the unit used while an impostor with
a bad certificate was presented (an IKE_AUTH response, then ESP from the unit) is a failure; its refusal
(AUTHENTICATION_FAILED, DELETE) is encrypted, so a round without ESP is not observable. IKE_SA_INIT is cleartext:
an impostor offering only weak proposals that answered the unit's offer without refusing it (NO_PROPOSAL_CHOSEN,
INVALID_KE_PAYLOAD) chose one of them, and its Diffie-Hellman group is named."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bench.events import BenchKind, SegwKind, Source
from bench.evidence.judge_common import knowledge_missing
from bench.evidence.judges import FAILED, LIVE, NOT_OBSERVABLE, PASSED, Judged, Span, Verdict, missing
from bench.timeline import Event

TITLES = {"isegw": "Initial SeGW", "ssegw": "Serving SeGW"}
# IKEv2 Diffie-Hellman groups (RFC 7296, IANA) as strongSwan names them; the SeGW's refusals of an offer
GROUPS = {1: "MODP_768", 2: "MODP_1024", 5: "MODP_1536", 14: "MODP_2048", 15: "MODP_3072", 16: "MODP_4096",
          17: "MODP_6144", 18: "MODP_8192", 19: "ECP_256", 20: "ECP_384", 21: "ECP_521", 31: "CURVE_25519"}  # fmt: skip
REFUSED = {"14", "17"}  # NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD
BY_NAME = {name.replace("_", "").lower(): group for group, name in GROUPS.items()}  # strongSwan's: modp1024


def groups_of(proposals: Sequence[str]) -> set[int]:
    """The Diffie-Hellman groups of strongSwan proposals (aes128-sha1-modp1024 -> {2})."""
    return {BY_NAME[t] for p in proposals for t in str(p).lower().split("-") if t in BY_NAME}


def _init(e: Event, response: bool) -> bool:
    return (e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE and e.data.get("exchange") == "IKE_SA_INIT"
            and bool(e.data.get("response")) == response)  # fmt: skip


def weak_proposal(
    clause: str,
    step: str,
    events: Sequence[Event],
    during: Callable[[Event], bool],
    title: str,
    what: str,
    proposals: Sequence[str] = (),
) -> Verdict:
    """The impostor accepting only proposals outside the policy: an IKE_SA_INIT it answered without refusing
    (its response chose a Diffie-Hellman group, cleartext) means the unit offered one of them. Where the bench
    said which proposals the impostor had, a response choosing a group none of them has is the real SeGW's."""
    expected = f"the unit to refuse the {title} presenting {what}: an IKE_SA_INIT offering only operator.ike_proposals"
    inits = [e for e in events if during(e) and (_init(e, True) or _init(e, False))]
    weak = groups_of(proposals)

    def impostors(e: Event) -> bool:
        chosen = set(e.data.get("dh") or [])
        return not weak or not chosen or bool(chosen & weak)

    done = next((e for e in inits if _init(e, True) and not REFUSED & set(e.data.get("notify") or [])
                 and impostors(e)), None)  # fmt: skip
    if done is None:
        refused = [e for e in inits if _init(e, True)]
        if refused:
            return Verdict(clause, step, PASSED, expected, events=tuple(refused))
        return Verdict(
            clause, step, NOT_OBSERVABLE, expected, why="no IKE_SA_INIT answered while it was presented"
        )
    request = next((e for e in reversed(inits) if _init(e, False) and e.seq < done.seq), None)
    chosen = ", ".join(GROUPS.get(g, f"group {g}") for g in done.data.get("dh") or []) or "?"
    offered = (
        ", ".join(GROUPS.get(g, f"group {g}") for g in (request.data.get("dh") or [])) if request else "?"
    )
    capture = Path(str(done.data.get("capture"))).name
    shows = (
        f"the unit's IKE_SA_INIT request at frame {(request.data.get('frames') or ['?'])[0]} offering "
        f"{offered}, "
        if request
        else ""
    ) + f"the SeGW's response at frame {(done.data.get('frames') or ['?'])[0]}"
    return Verdict(clause, step, FAILED, expected, f"the unit completed IKE_SA_INIT with the {title} presenting "
                   f"{what}: IKE SA with {chosen}; the outer capture {capture} shows {shows}", (done,))  # fmt: skip


def rounds(events: Sequence[Event], segw: str) -> list[tuple[Event, Event | None]]:
    """Each impostor the bench presented at `segw`, and the bench's next impostor event there (its end)."""
    shown = [e for e in events if e.source == Source.BENCH and e.kind == BenchKind.IMPOSTOR
             and e.data.get("segw") == segw]  # fmt: skip
    return [
        (e, nxt)
        for e, nxt in zip(shown, [*shown[1:], None], strict=False)
        if e.data.get("action") == "presented"
    ]


def after_impostors(events: Sequence[Event], segw: str) -> Event | None:
    """The bench's last impostor event at `segw` (the real SeGW is presented again after it), or None."""
    shown = [e for e in events if e.source == Source.BENCH and e.kind == BenchKind.IMPOSTOR
             and e.data.get("segw") == segw]  # fmt: skip
    return shown[-1] if shown else None


def judge_impostors(clause: str, step: str, events: Sequence[Event], segw: str) -> list[Verdict]:
    """The unit refused each impostor the bench presented at `segw`: a tunnel it used meanwhile fails `step`,
    worded as the live plan words it, quoting the outer capture's frames."""
    title = TITLES.get(segw, segw)
    presented = rounds(events, segw)
    if not presented:
        return knowledge_missing(clause, (step,), f"which impostor {title} the bench presented, when")
    out: list[Verdict] = []
    for shown, end in presented:
        what = shown.data.get("what")
        expected = f"the unit to refuse the {title} presenting {what}"

        def during(e: Event, shown: Event = shown, end: Event | None = end) -> bool:
            return e.seq > shown.seq and (end is None or e.seq < end.seq) and e.data.get("segw") == segw

        if shown.data.get("impostor") == "weak_proposal":
            proposals = shown.data.get("proposals") or ()
            out.append(weak_proposal(clause, step, events, during, title, str(what), proposals))
            if out[-1].outcome == FAILED:
                return out
            continue
        up = next(
            (e for e in events if during(e) and e.source == Source.SEGW and e.kind == SegwKind.IKE_UP), None
        )
        if up is None:
            out.append(Verdict(clause, step, NOT_OBSERVABLE, expected + ": its AUTHENTICATION_FAILED notify or its "
                               "DELETE of the IKE SA", why="no ESP from the unit after an IKE_AUTH response while it "
                               "was presented; the refusal itself is encrypted (IKE_AUTH, INFORMATIONAL)"))  # fmt: skip
            continue
        auth = [e for e in events if during(e) and e.seq < up.seq and e.source == Source.SEGW
                and e.kind == SegwKind.IKE_MESSAGE and e.data.get("exchange") == "IKE_AUTH"]  # fmt: skip
        request = next((e for e in reversed(auth) if not e.data.get("response")), None)
        frames = up.data.get("frames") or []
        capture = Path(str(up.data.get("capture"))).name
        shows = (
            f"the unit's IKE_AUTH request at frame {(request.data.get('frames') or ['?'])[0]}, "
            if request
            else ""
        ) + f"the SeGW's IKE_AUTH response at frame {frames[0] if frames else '?'}, then ESP from the "
        shows += f"unit at frame {frames[-1] if frames else '?'}"  # fmt: skip
        out.append(Verdict(clause, step, FAILED, expected + ": its AUTHENTICATION_FAILED notify or its DELETE of the "
                           "IKE SA", f"the unit completed IKE_AUTH with the {title} presenting {what}, and used the "
                           f"tunnel; the outer capture {capture} shows {shows}", (up,)))  # fmt: skip
        return out
    return out


def judge_impostor_serving(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """test_refuses_impostor_serving_segw: the configured unit, powered on, refuses each impostor Serving SeGW,
    then comes up at the real one."""
    out = Judged("5.1.3", "test_refuses_impostor_serving_segw")
    out.verdicts += judge_impostors("5.1.3", "IPsec", events, "ssegw")
    since = after_impostors(events, "ssegw")
    if out.failed() or since is None:
        return out
    real = next((e for e in events if e.seq > since.seq and e.source == Source.SEGW and e.kind == SegwKind.IKE_UP
                 and e.data.get("segw") == "ssegw"), None)  # fmt: skip
    if real is None:
        out.verdicts.append(missing("5.1.3", "IPsec", "an IKE SA at the real Serving SeGW after the impostors",
                                    "nothing", since, span))  # fmt: skip
    else:
        out.verdicts.append(Verdict("5.1.3", "IPsec", PASSED, events=(real,)))
    return out

"""Judges of a unit refusing an HTTPS HeMS it must not trust (testplans/ts32593/untrusted_hems.py): 5.1.2.3's
Initial HeMS on the internet (its TLS on the outer capture) and 5.1.3's Serving HeMS with
operator.serving_hems_tls (its TLS on the inner capture). Which certificate the HeMS presented to the unit, when,
is the bench's knowledge (bench/hems-cert events, from the test's timeline.jsonl); an Inform while a bad one was
presented is a failure; a refusal is the unit's TLS alert in the handshake (a TLS 1.3 alert is read with the key
log only; a close without an alert is seen by the HeMS alone)."""

from __future__ import annotations

from collections.abc import Sequence

from bench.events import BenchKind, HemsKind, Source
from bench.evidence.judge_common import after, cwmp_seen, is_inform
from bench.evidence.judges import FAILED, LIVE, NOT_OBSERVABLE, PASSED, Judged, Span, Verdict
from bench.timeline import Event

TITLES = {"initial-hems": "Initial HeMS", "serving-hems": "Serving HeMS"}
SERVING_TEST = "test_refuses_serving_hems_it_must_not_trust"


def shown_certs(events: Sequence[Event], hems: str) -> list[Event]:
    """The bench's bench/hems-cert events of `hems`: which certificate it presented the unit from when."""
    return [e for e in events if e.source == Source.BENCH and e.kind == BenchKind.HEMS_CERT
            and e.data.get("hems", "initial-hems") == hems]  # fmt: skip


def tls_unseen(hems: str) -> str:
    return f"the session with the {TITLES[hems]} is TLS: without its key log its CWMP is not observable"


def judge_rounds(
    out: Judged, events: Sequence[Event], shown: list[Event], hems: str, step: str, why: str
) -> bool:
    """The rounds of bad certificates `shown` at `hems`, judged at `step` into `out`: failed at the first Inform
    while a bad one was presented (`why`: how the unit knows the HeMS's name), passed when the unit's TLS alert
    is in the evidence while each was presented, else not observable. Returns whether no Inform failed it."""
    add, title = out.verdicts.append, TITLES[hems]
    if not cwmp_seen(events, hems):
        add(Verdict(out.clause, step, NOT_OBSERVABLE, why=tls_unseen(hems)))
        return True
    seen_kinds: set[str] = set()
    for i, cert in enumerate(shown):
        kind = str(cert.data.get("cert"))
        if kind == "right":
            continue
        until = shown[i + 1] if i + 1 < len(shown) else None
        retry = " again, when it tried again" if kind in seen_kinds else ""
        seen_kinds.add(kind)
        inf = next(
            (e for e in after(events, is_inform(hems), cert) if until is None or e.seq < until.seq), None
        )
        if inf is not None:
            what = cert.data.get("name")
            add(Verdict(out.clause, step, FAILED, f"the unit to refuse the {title} presenting {what}{retry} ({why}, "
                        "the operator CA, and the name must match exactly)",
                        f"the unit sent an Inform to the {title} presenting {what}: {inf.describe(events[0].t)}",
                        (inf,)))  # fmt: skip
            return False
    # The refusals: the unit's TLS alert while each bad certificate was presented (readable with the key log).
    refusals = [e for e in events if e.source == Source.HEMS and e.kind == HemsKind.TLS_FAILED
                and e.data.get("hems") == hems]  # fmt: skip
    bad = [
        (c, nxt) for c, nxt in zip(shown, [*shown[1:], None], strict=True) if c.data.get("cert") != "right"
    ]
    unseen = [str(c.data.get("cert")) for c, nxt in bad
              if not any(r.seq > c.seq and (nxt is None or r.seq < nxt.seq) for r in refusals)]  # fmt: skip
    if refusals and not unseen:
        add(Verdict(out.clause, step, PASSED, events=tuple(refusals)))
    else:
        add(Verdict(out.clause, step, NOT_OBSERVABLE, why=f"no Inform while a bad certificate was presented; no "
                    f"refusal (the unit's TLS alert in the handshake) in the evidence while {', '.join(unseen)} was "
                    "presented (a TLS 1.3 alert is read with the key log only; a close without alert is seen by "
                    "the HeMS alone)"))  # fmt: skip
    return True


def judge_serving_refusal(
    events: Sequence[Event],
    identity: tuple[str, str, str] | None = None,
    span: Span = LIVE,
    hosts: dict[str, str] | None = None,
) -> Judged:
    """5.1.3 test_refuses_serving_hems_it_must_not_trust: no Inform at the Serving HeMS while it presented a bad
    certificate, each refused (step TLS); then an Inform once it presented its own (step 1.1). `hosts`: the
    bench's names -> the operator's FQDNs."""
    out = Judged("5.1.3", SERVING_TEST)
    shown = shown_certs(events, "serving-hems")
    if not shown:  # a run over http:// skipped the test; a capture from the field lacks the bench's knowledge
        why = ("no certificate the Serving HeMS presented in the evidence: the test runs only with the Serving HeMS "
               "over HTTPS (operator.serving_hems_tls; skipped over http://), and which certificate it presented, "
               "when, is the bench's knowledge (henb-bench rejudge reads it from the run's timeline)")  # fmt: skip
        out.verdicts.append(Verdict("5.1.3", "TLS", NOT_OBSERVABLE, why=why))
        return out
    fqdn = (hosts or {}).get("serving-hems", "shems.operator.example")
    if not judge_rounds(
        out, events, shown, "serving-hems", "TLS", f"it was given {fqdn} by the Initial HeMS"
    ):
        return out
    own = next((c for c in reversed(shown) if c.data.get("cert") == "right"), None)
    inf = next(iter(after(events, is_inform("serving-hems"), own)), None) if own is not None else None
    if inf is not None:
        out.verdicts.append(Verdict("5.1.3", "1.1", PASSED, events=(inf,)))
    else:
        out.verdicts.append(Verdict("5.1.3", "1.1", NOT_OBSERVABLE, why="no Inform to the Serving HeMS after it "
                                    "presented its own certificate in the evidence"))  # fmt: skip
    return out

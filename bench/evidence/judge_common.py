"""What the judges of 5.1.2.3, 5.2.4 and 5.3 share: the DeviceId check as the live plans word it, an Inform at a
HeMS, and an absence judged against how far the evidence goes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.events import HemsKind, Source
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED, Judged, Span, Verdict
from bench.evidence.knowledge import KNOWLEDGE
from bench.steps import Steps
from bench.timeline import Event

Identity = tuple[str, str, str]  # OUI, ProductClass, SerialNumber
# The default inventory's operator names, by the bench's name for each host (a capture judged without an inventory).
HOSTS = {
    "isegw": "isegw.operator.example",
    "ssegw": "ssegw.operator.example",
    "initial-hems": "ihems.operator.example",
}


def host_names(hosts: dict[str, str] | None) -> dict[str, str]:
    """The bench's name -> FQDN: the given ones over the default inventory's."""
    return {**HOSTS, **(hosts or {})}


def is_inform(hems: str, event: str | None = None) -> Callable[[Event], bool]:
    """An Inform at `hems` (with `event` among its events, given)."""
    return lambda e: (
        e.source == Source.HEMS and e.kind == HemsKind.INFORM and e.data.get("hems") == hems
        and (event is None or event in e.data.get("events", []))
    )  # fmt: skip


def cwmp_seen(events: Sequence[Event], hems: str) -> bool:
    """Whether the evidence shows CWMP with `hems` (the bench's knowledge of a session it failed is not)."""
    return any(
        e.source == Source.HEMS and e.data.get("hems") == hems and (e.source, e.kind) not in KNOWLEDGE
        for e in events
    )


def after(events: Sequence[Event], pred: Callable[[Event], bool], since: Event | None) -> list[Event]:
    return [e for e in events if pred(e) and (since is None or e.seq > since.seq)]


def device_id(clause: str, step: str, inform: Event, identity: Identity | None) -> Verdict:
    """The Inform's DeviceId is the unit's, worded as testplans' check_device_id words it."""
    if identity is None:
        return Verdict(clause, step, NOT_OBSERVABLE, why="the unit's identity is the inventory's: give "
                       "--unit-identity OUI-CLASS-SERIAL")  # fmt: skip
    want = dict(zip(("oui", "product_class", "serial"), identity, strict=True))
    seen = {k: inform.data.get(k) for k in want}
    if seen == want:
        return Verdict(clause, step, PASSED, events=(inform,))
    wrong = ", ".join(f"{k} {seen[k]!r} (expected {v!r})" for k, v in want.items() if seen[k] != v)
    return Verdict(clause, step, FAILED, "the Inform's DeviceId to be the unit's ({}-{}-{})".format(*identity),
                   f"DeviceId {wrong}", (inform,))  # fmt: skip


def quiet_after(
    clause: str,
    step: str,
    events: Sequence[Event],
    pred: Callable[[Event], bool],
    since: Event,
    quiet: float,
    expected: str,
    seen: Callable[[Event], str],
    span: Span,
    origin: Event | None = None,
) -> Verdict:
    """Nothing matching `pred` after `since` within `quiet` s of `origin` (`since` when None: a plan starts its
    quiet wait once the unit confirmed the stimulus): passed when the evidence runs that long (a live
    timeline: the plan waited), failed naming the first that came, else not observable."""
    origin = origin or since
    hit = next((e for e in after(events, pred, since) if e.t - origin.t <= quiet), None)
    if hit is not None:
        return Verdict(clause, step, FAILED, expected, seen(hit), (hit,))
    if span.end is not None and span.end - origin.t < quiet:
        return Verdict(clause, step, NOT_OBSERVABLE, expected, why=f"the evidence ends {span.end - origin.t:.1f} s "
                       f"after {origin.source}/{origin.kind}, before the {quiet:g} s of quiet it needs")  # fmt: skip
    return Verdict(clause, step, PASSED, expected, events=(since,))


def knowledge_missing(clause: str, steps: Sequence[str], what: str) -> list[Verdict]:
    """Steps that rest on what only the live bench knows, judged from evidence without it."""
    why = f"{what} is the bench's knowledge: not in the captures (henb-bench rejudge reads it from the run's timeline)"
    return [Verdict(clause, s, NOT_OBSERVABLE, why=why) for s in steps]


def judged(steps: Steps, step: str, verdict: Verdict) -> None:
    """A judge function's failed verdict fails the live step `step` (its own) with the same message."""
    assert verdict.step == step, f"a judge of step {verdict.step} called for step {step}"
    if verdict.outcome == FAILED:
        steps.fail(step, verdict.expected, verdict.seen, verdict.events[-1] if verdict.events else None)


def judged_all(steps: Steps, verdicts: Judged) -> None:
    """The first failed verdict of a judged test fails its live step, with the same message."""
    failed = verdicts.failed()
    if failed is not None:
        judged(steps, failed.step, failed)

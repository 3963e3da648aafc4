"""The outer link's policy (TS 33.320: no operator traffic outside the tunnel) judged from evidence: the unit's
outer capture read into flows as the live check reads it (bench.outer_link.read), each flow a
`security/outer-flow` event with its first frames, and the capture itself a `security/outer-capture` event; the
"security" step is the live check's rule (bench.outer_link.sort) and words (bench.outer_link.failures) on those
events, with the inventory's ranges (cli.Known.outer)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from bench import outer_link
from bench.events import SecurityKind, Source
from bench.evidence.decode import Found, is_inner
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED, Verdict
from bench.timeline import Event

STEP = "security"
MAX_FLOWS = 10_000  # flows of one outer capture kept as events (a correct unit's night: a few dozen)
Identity = tuple[str, str, str]


def outer_found(capture: Path, keep: frozenset[int] | None = None) -> tuple[list[Found], str | None]:
    """The events of the outer link of `capture` (any capture but the inner one, by its name: decode.is_inner),
    its ports `keep` the operator's (None: the default inventory's), and a note when the capture is cut or not
    one the reader understands (the flows before it are kept)."""
    if is_inner(str(capture)):
        return [], None
    keep = default_policy()[0].operator_ports if keep is None else keep
    link = outer_link.read(capture, keep, MAX_FLOWS)
    note = (
        f"{capture}: the outer link is read only up to where the reader stopped ({link.cut}): what came after "
        "is not observable"
        if link.cut
        else None
    )
    found = [Found(f.t, Source.SECURITY, SecurityKind.OUTER_FLOW, {**f.data(), "capture": str(capture)})
             for f in link.flows]  # fmt: skip
    if link.flows:  # a capture with no IPv4 packet shows no outer link (the tshark reader says why)
        first, last = min(f.t for f in link.flows), max(f.t for f in link.flows)
        found.append(Found(last, Source.SECURITY, SecurityKind.OUTER_CAPTURE, {
            "capture": str(capture), "first": first, "flows": len(link.flows),
            "packets": sum(f.packets for f in link.flows), "cut": link.cut, "overflow": link.overflow,
            "frames": sorted(set(link.span)),
        }))  # fmt: skip
    return found, note


@functools.cache
def default_policy() -> tuple[outer_link.Policy, str]:
    """The default inventory's policy and public Initial HeMS address (a capture judged without an inventory)."""
    from bench.inventory.operator import Network, Operator

    return outer_link.Policy.of(Network(), Operator()), str(Network().public_hems)


def unit_policy(
    policy: outer_link.Policy | None,
    public_hems: str | None,
    public: bool | None,
) -> outer_link.Policy:
    """The policy for one unit: the public Initial HeMS exempt where the unit's Initial HeMS is public, or
    where which access the unit has is not known (the evidence cannot prove such a session is a leak). None:
    the default inventory's."""
    policy = policy or default_policy()[0]
    public_hems = public_hems or default_policy()[1]
    if public is False:
        return policy
    return outer_link.Policy(
        policy.operator_nets, policy.operator_ports, frozenset({public_hems}), policy.strict
    )


def judge_outer(clause: str, events: Sequence[Event], policy: outer_link.Policy) -> Verdict:
    """The "security" step: failed as the live check fails it (naming the flows' frames), passed when the
    evidence holds the unit's outer capture whole, else not observable."""
    captures = [e for e in events if (e.source, e.kind) == (Source.SECURITY, SecurityKind.OUTER_CAPTURE)]
    if not captures:
        return Verdict(clause, STEP, NOT_OBSERVABLE, why="no capture of the unit's outer link (outer.pcapng, or "
                       "a capture not named inner) with IPv4 packets among the evidence")  # fmt: skip
    flow_events = [e for e in events if (e.source, e.kind) == (Source.SECURITY, SecurityKind.OUTER_FLOW)]
    by_id = {}
    flows = []
    for e in flow_events:
        flow = outer_link.Flow.of_data(e.t, e.data)
        by_id[id(flow)] = e
        flows.append(flow)
    where = ", ".join(sorted({str(e.data.get("capture")) for e in captures}))
    t0 = min(
        float(e.data.get("first", e.t)) for e in captures
    )  # offsets as Wireshark's from the first packet
    verdict = outer_link.verdict(flows, policy)
    failed = outer_link.failures(verdict, policy, where, t0)
    if failed:
        expected, seen, named = failed[0]
        return Verdict(clause, STEP, FAILED, expected, seen, tuple(by_id[id(f)] for f in named))
    cut = [e for e in captures if e.data.get("cut")]
    if cut:
        return Verdict(clause, STEP, NOT_OBSERVABLE, why=f"{cut[0].data['capture']} is cut ({cut[0].data['cut']}): "
                       "the outer link after the cut is not observable")  # fmt: skip
    over = [e for e in captures if e.data.get("overflow")]
    if over:
        return Verdict(clause, STEP, NOT_OBSERVABLE, why=f"{over[0].data['capture']} has more than {MAX_FLOWS} "
                       f"flows: those from frame {over[0].data['overflow']} on are not judged")  # fmt: skip
    return Verdict(clause, STEP, PASSED, events=tuple(captures))

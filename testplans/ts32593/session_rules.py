"""The TR-069 session rules the plans hold a unit to (docs/session-rules.md): a new ACS means 0 BOOTSTRAP,
1 BOOT only after a boot, events kept until an InformResponse acknowledged them, and the session retry backoff
of TR-069 3.2.1.1. Stimulus (the HeMS failing sessions on purpose, fast retry parameters) and judgement (what
the unit's Informs carried, when) are kept apart: the judging functions read only events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bench.events import HemsKind, SegwKind, Source
from bench.evidence.judge_address import kept_verdict
from bench.evidence.judge_common import judged
from bench.evidence.judge_registration import bootstrap_at_new_acs
from bench.evidence.judge_session import no_boot, retry_count, retry_wait
from bench.evidence.judge_session import retry_window as retry_window  # the plan's waits use it too
from bench.evidence.judges import FAILED
from bench.steps import Steps
from bench.timeline import Event, Predicate
from testplans.ts32593.flows import inform
from testplans.ts32593.procedures import session, set_values

if TYPE_CHECKING:
    from bench.run import BenchRun

BOOTSTRAP, BOOT, VALUE_CHANGE = "0 BOOTSTRAP", "1 BOOT", "4 VALUE CHANGE"


def hems_restart(bench_run: BenchRun, clause: str) -> str:
    """How the Serving HeMS fails a session in `clause` (operator.session_rules.hems_restart): 503, close, off."""
    return bench_run.inv.operator.session_rules.hems_restart.get(clause, "off")


def failed_on_purpose(serial: str) -> Predicate:
    """A session of the unit `serial` that the Serving HeMS failed on purpose."""
    return lambda e: (
        e.source == Source.HEMS and e.kind == HemsKind.SESSION_FAILED and e.data.get("hems") == "serving-hems"
        and e.data.get("serial") == serial
    )  # fmt: skip


def unit_inform(serial: str) -> Predicate:
    """An Inform of the unit `serial` at the Serving HeMS."""
    return lambda e: inform("serving-hems")(e) and e.data.get("serial") == serial


def retry_parameters(bench_run: BenchRun) -> tuple[str, str]:
    """The unit's CWMPRetryMinimumWaitInterval and CWMPRetryIntervalMultiplier paths (its data-model profile)."""
    ms = bench_run.unit.paths.management_server
    return ms + "CWMPRetryMinimumWaitInterval", ms + "CWMPRetryIntervalMultiplier"


@contextmanager
def retry_parameters_set(bench_run: BenchRun, steps: Steps, step: str, m: int, k: int) -> Iterator[None]:
    """The unit's session retry parameters set to `m` and `k` (read first, in the same session), and set back
    to what they were when the block ends; not after a failure (the failed unit is power-cycled and judged
    again from its boot on, its values left as the test found them would be a second verdict)."""
    names = retry_parameters(bench_run)
    with session(bench_run, steps, step) as s:
        before = s.get_values(list(names))
        s.set_values({names[0]: (str(m), "xsd:unsignedInt"), names[1]: (str(k), "xsd:unsignedInt")}, "retry")
    old = before.values
    yield
    set_values(
        bench_run, steps, step, {n: (old[n], "xsd:unsignedInt") for n in names if n in old}, "restored"
    )


def check_session_released(
    bench_run: BenchRun, steps: Steps, step: str, hems: str, inf: Event, end: Event
) -> None:
    """TS 32.593 5.1.2.2 step 4 (5.1.2.3 the same): the HeNB releases the TR-069 session (TR-069 3.7.1.4). The
    HeMS's empty answer (`end`) says it has nothing more; the unit's release is its connection closed, from the
    address its Inform `inf` came from, within bounds.step, or the tunnel that address was in taken down (no
    connection outlives it: the FIN the unit sent just before its IKE DELETE may be dropped with the SA by the
    SeGW's userspace ESP, so the HeMS never sees the close)."""
    unit, peer, tl = bench_run.unit, str(inf.data.get("peer")), bench_run.timeline
    server = bench_run.topology.hems[hems]

    def tunnel_down(e: Event) -> bool:
        return (
            e.source == Source.SEGW
            and e.kind == SegwKind.IKE_DOWN
            and peer in (e.data.get("remote_vips") or ())
        )

    deadline = time.monotonic() + unit.bounds.step
    while True:
        if server.wait_closed(peer, 0.0) or tl.first(tunnel_down, end.seq) is not None:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    steps.fail(
        step,
        f"the unit to release the TR-069 session with the {hems} (TR-069 3.7.1.4): its connection from {peer} "
        f"closed within {unit.bounds.step:g} s (units.{unit.name}.bounds.step) of the HeMS's empty answer",
        f"the unit kept its connection to the {hems} open after the session ended ({steps.describe(end)})",
        end,
    )


def check_bootstrap_at_new_acs(
    bench_run: BenchRun, steps: Steps, step: str, first: Event, since: int
) -> None:
    """TR-069 (the Inform's event codes): the first Inform to a new ACS URL carries 0 BOOTSTRAP. The Serving
    HeMS is one when the Initial HeMS set ManagementServer.URL in this boot (since timeline mark `since`)."""
    serial = first.data.get("serial")
    discovered = bench_run.timeline.first(
        lambda e: inform("initial-hems")(e) and e.data.get("serial") == serial and e.seq < first.seq, since
    )
    if discovered is not None:  # judged by the function `henb-bench judge` calls on captures
        how = f"the Initial HeMS set it at {steps.describe(discovered)}"
        judged(steps, step, bootstrap_at_new_acs(steps.clause, step, first, discovered, how))


def check_no_boot_without_boot(steps: Steps, step: str, inf: Event, boot: str) -> None:
    """1 BOOT only in the first session after a boot: not in `inf`, a session the bench asked for since (the
    verdict `henb-bench judge` gives from captures)."""
    judged(steps, step, no_boot(steps.clause, step, inf, boot, steps.describe))


def check_events_repeated(steps: Steps, step: str, failed: Event, again: Event, failure: Event) -> None:
    """The Inform after the session the HeMS failed (`failure`, whose Inform was `failed`) carries the same
    events with the same CommandKeys, and, for 4 VALUE CHANGE, the same parameters: the judge `henb-bench
    judge` calls on captures (bench/evidence/judge_address.py)."""
    verdict = kept_verdict(steps.clause, step, failed, again, failure, steps.describe(failure))
    if verdict.outcome == FAILED:
        steps.fail(step, verdict.expected, verdict.seen, again)


def retry_began(failure: Event, retry: Event) -> float:
    """When the unit tried again: the first request of the retry's attempt as the HeMS recorded it (the Inform
    it challenged for authentication, bench.hems.failures.SessionStarts), else the Inform's arrival."""
    began = retry.data.get("session_started")
    return began if isinstance(began, float) and failure.t <= began <= retry.t else retry.t


def check_retry_wait(
    steps: Steps, step: str, n: int, failure: Event, retry: Event, m: int, k: int, early: float, slack: float
) -> None:
    """Retry `n` came within TR-069 3.2.1.1's window after the failure: not sooner than its lower bound (less
    `early`), not later than its upper bound plus `slack` (the new connection, load). The wait ends at the
    retry's first request (retry_began): an authentication round trip after it is not the unit's wait."""
    verdict = retry_wait(
        steps.clause, step, n, failure, retry, retry_began(failure, retry), m, k, early, slack
    )
    judged(steps, step, verdict)  # as `henb-bench judge` words it from captures


def check_retry_count(steps: Steps, step: str, n: int, inf: Event) -> None:
    """TR-069 A.3.3.1: an Inform's RetryCount is the number of prior attempts of its session: 0 on a first
    attempt (also the first after a successful session), `n` on retry `n` (as `henb-bench judge` words it)."""
    judged(steps, step, retry_count(steps.clause, step, n, inf, steps.describe))

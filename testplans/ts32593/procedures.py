"""Steps the plans share: RPCs from the Serving HeMS, reading values back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest

from bench.cwmp import CwmpFault, Done, GpvResult, RpcResult, SpvResult
from bench.errors import DeviceError
from bench.events import BenchKind, HemsKind, Source
from bench.evidence.judge_common import judged
from bench.evidence.judge_cr import NONE, REGISTERED, WRONG, answer_words, probe_failure, session_expected
from bench.evidence.judges import boot_inform
from bench.run import BenchRun
from bench.steps import Steps
from bench.timeline import Event
from testplans.ts32593.flows import inform, s1ap


class Reply:
    """One RPC of a step's session: its result, once the session is over (after the `with` block)."""

    def __init__(self, method: str) -> None:
        self.method = method
        self._result: RpcResult | None = None

    @property
    def result(self) -> RpcResult:
        if self._result is None:
            raise RuntimeError(
                f"the {self.method} result is read before its session ran (read it after the `with` block)"
            )
        return self._result

    @property
    def values(self) -> dict[str, str]:
        """A GetParameterValues result's values (the session checked it is one)."""
        result = self.result
        return result.values if isinstance(result, GpvResult) else {}

    def resolve(self, result: RpcResult) -> None:
        self._result = result


class Session:
    """The RPCs of one procedure step, queued and sent in the one session that a single connection request
    opens, as an ACS does (a unit may refuse a connection request per RPC). Results and checks come, in the
    order the RPCs were queued, when the `with session(...)` block ends."""

    def __init__(self, bench_run: BenchRun, steps: Steps, step: str, timeout: float | None = None) -> None:
        self.bench_run, self.steps, self.step = bench_run, steps, step
        self.timeout = timeout
        self._rpcs: list[tuple[str, dict[str, Any]]] = []
        self._replies: list[Reply] = []
        self._checks: list[Callable[[], None]] = []

    def rpc(self, method: str, **args: Any) -> Reply:
        reply = Reply(method)
        self._rpcs.append((method, args))
        self._replies.append(reply)
        return reply

    def set_values(self, values: dict[str, tuple[str, str]], key: str) -> Reply:
        """SetParameterValues, which must be acknowledged (values: name -> (value, xsd type))."""
        reply = self.rpc(
            "SetParameterValues", params=[(n, v, t) for n, (v, t) in values.items()], parameter_key=key
        )

        def check() -> None:
            if not isinstance(reply.result, SpvResult):
                self.steps.fail(
                    self.step,
                    f"SetParameterValuesResponse to {sorted(values)}",
                    describe_result(reply.result),
                )

        self._checks.append(check)
        return reply

    def get_values(self, names: list[str]) -> Reply:
        """GetParameterValues, which must be answered; `.values` after the block."""
        reply = self.rpc("GetParameterValues", names=names)

        def check() -> None:
            if not isinstance(reply.result, GpvResult):
                self.steps.fail(
                    self.step, f"GetParameterValuesResponse for {names}", describe_result(reply.result)
                )

        self._checks.append(check)
        return reply

    def read_back(self, expected: dict[str, str]) -> None:
        """GetParameterValues shows every value in `expected`."""
        reply = self.get_values(sorted(expected))

        def check() -> None:
            got = reply.values
            wrong = {n: got.get(n) for n, v in expected.items() if got.get(n) != v}
            if wrong:
                self.steps.fail(
                    self.step,
                    "the values just set, read back: " + ", ".join(f"{n} = {expected[n]}" for n in wrong),
                    "read back " + ", ".join(f"{n} = {v}" for n, v in wrong.items()),
                )

        self._checks.append(check)

    def run(self) -> None:
        unit = self.bench_run.unit
        hems = self.bench_run.topology.hems["serving-hems"]
        # The connection request it sends, said before it goes out (bench/evidence/judge_cr.py).
        if self._rpcs:
            cr = unit.cr_policy
            cr_probe(self.bench_run, f"{self.steps.clause} step {self.step}", REGISTERED, attempts=cr.attempts,
                     retry_after=cr.retry_after, rpcs=[method for method, _ in self._rpcs], note=unit.cr_note())  # fmt: skip
        try:
            results = hems.session(
                unit.device,
                self._rpcs,
                unit.bounds.step if self.timeout is None else self.timeout,
                unit.cr_policy,
                f"{self.steps.clause} step {self.step}",
            )
        except DeviceError as exc:
            note = unit.cr_note() if "connection request" in str(exc) else ""
            self.steps.fail(self.step, session_expected([method for method, _ in self._rpcs]),
                            str(exc) + (f" (with {note})" if note else ""))  # fmt: skip
        for reply, result in zip(self._replies, results, strict=True):
            reply.resolve(result)
        for check in self._checks:
            check()


@contextmanager
def session(bench_run: BenchRun, steps: Steps, step: str, timeout: float | None = None) -> Iterator[Session]:
    """One session with the unit for a procedure step: `with session(...) as s: s.set_values(...);
    s.read_back(...)` queues them; the block's end sends one connection request and checks the answers, each
    awaited within `timeout` (default bounds.step)."""
    s = Session(bench_run, steps, step, timeout)
    yield s
    s.run()


def rpc(
    bench_run: BenchRun, steps: Steps, step: str, method: str, timeout: float | None = None, **args: Any
) -> RpcResult:
    """`method` on the unit from the Serving HeMS, now, alone in a session (a connection request opens it); its
    response within `timeout` (default bounds.step)."""
    with session(bench_run, steps, step, timeout) as s:
        reply = s.rpc(method, **args)
    return reply.result


def set_values(
    bench_run: BenchRun, steps: Steps, step: str, values: dict[str, tuple[str, str]], key: str
) -> None:
    """SetParameterValues, which must be acknowledged (values: name -> (value, xsd type))."""
    with session(bench_run, steps, step) as s:
        s.set_values(values, key)


def get_values(bench_run: BenchRun, steps: Steps, step: str, names: list[str]) -> dict[str, str]:
    with session(bench_run, steps, step) as s:
        reply = s.get_values(names)
    return reply.values


def read_back(bench_run: BenchRun, steps: Steps, step: str, expected: dict[str, str]) -> None:
    """GetParameterValues shows every value in `expected`."""
    with session(bench_run, steps, step) as s:
        s.read_back(expected)


def next_inform(bench_run: BenchRun, steps: Steps, step: str) -> Event:
    """The unit's next Inform, which a connection request asks for (sent again while the unit refuses)."""
    unit = bench_run.unit
    hems = bench_run.topology.hems["serving-hems"]
    cr = unit.cr_policy
    try:
        return hems.connect(
            unit.device,
            cr.username,
            cr.password,
            timeout=unit.bounds.step,
            attempts=cr.attempts,
            retry_after=cr.retry_after,
            purpose=f"{steps.clause} step {step}",
        )
    except DeviceError as exc:
        steps.fail(step, "the next Inform (after a connection request)", str(exc))


# The connection requests a unit must refuse (TR-069 3.2.2): (probe, send credentials, a wrong password).
CR_PROBES = (("no credentials", False, False), ("wrong credentials", True, True))


def cr_probe(bench_run: BenchRun, purpose: str, credentials: str, **data: Any) -> None:
    """Say on the timeline what the Serving HeMS's next connection request(s) to the unit carry, before they go
    out: a capture shows each request and its answer, not whether its password was wrong (bench/cr-probe)."""
    unit, hems = bench_run.unit, bench_run.topology.hems["serving-hems"]
    bench_run.timeline.add(Source.BENCH, BenchKind.CR_PROBE, hems=hems.name, unit=unit.name,
                           device=str(unit.device),
                           serial=unit.serial, url=hems.connection_request_url(unit.device),
                           credentials=credentials, purpose=purpose, **data)  # fmt: skip


def connection_request_needs_credentials(bench_run: BenchRun, steps: Steps, step: str) -> None:
    """TR-069 3.2.2: a connection request with no credentials, and one with the right user name and a wrong
    password, each answered HTTP 401 and starting no session (none within bounds.quiet after them); the
    step's own request, with the right ones, then opens its session. Two requests and one quiet wait."""
    unit = bench_run.unit
    hems = bench_run.topology.hems["serving-hems"]
    cr, tl = unit.cr_policy, bench_run.timeline
    mark = tl.mark()
    answers = []
    for probe, credentials, wrong in CR_PROBES:
        cr_probe(bench_run, f"{steps.clause} step {step}", WRONG if wrong else NONE, probe=probe,
                 quiet=float(unit.bounds.quiet))  # fmt: skip
        try:
            result = hems.request_connection(
                unit.device, cr.username, cr.password + "-wrong" if wrong else cr.password,
                timeout=min(float(unit.bounds.step), 10.0), credentials=credentials,
                purpose=f"{steps.clause} step {step}", probe=probe,
            )  # fmt: skip
        except DeviceError as exc:
            steps.fail(step, f"a connection request with {probe} answered HTTP 401", str(exc))
        answers.append((probe, result))
    opened: Event | None = None
    with suppress(DeviceError):
        opened = tl.wait_for(
            inform("serving-hems", event="6 CONNECTION REQUEST"), unit.bounds.quiet, "", mark
        )
    accepted = [(probe, r) for probe, r in answers if r.status != 401]
    if (
        opened is not None
        and not accepted
        and _answered_elsewhere(bench_run, opened, f"{steps.clause} step {step}")
    ):
        opened = None
    if not accepted and opened is None:
        return
    probe, r = accepted[0] if accepted else answers[-1]
    all_answers = "; ".join(f"{p}: HTTP {a.status}" for p, a in answers)
    expected, seen = probe_failure(probe, answer_words(r.status, r.error),
                                   steps.describe(opened) if opened is not None else None,
                                   float(unit.bounds.quiet), all_answers)  # fmt: skip
    steps.fail(step, expected, seen, opened)


def _answered_elsewhere(bench_run: BenchRun, opened: Event, purpose: str) -> bool:
    """The session `opened` is owed to a connection request of the bench's, not a probe: one accepted whose
    session had not begun by then (the factory reset's request, sent aside to a unit that rebooted at once,
    reaches it once it is back up, registered; on a loaded host its session can start after the probes, and
    its answer can reach the timeline after the session's Inform)."""
    serial, tl = bench_run.unit.serial, bench_run.timeline
    owed = inform("serving-hems", event="6 CONNECTION REQUEST")
    for request in tl.events():
        if not (
            request.source == Source.HEMS and request.kind == HemsKind.CONNECTION_REQUEST
            and not request.data.get("probe") and request.data.get("serial") == serial
            and request.data.get("status") in (200, 204) and request.data.get("purpose") != purpose
        ):  # fmt: skip
            continue
        if request.seq > opened.seq or not any(owed(e) for e in tl.events(request.seq + 1, opened.seq)):
            return True
    return False


def describe_result(result: RpcResult) -> str:
    if isinstance(result, CwmpFault):
        return f"fault {result.fault_code} {result.fault_string}, per parameter {result.param_faults}"
    return repr(result)


def s1_carries(bench_run: BenchRun, steps: Steps, step: str, tac: int, since: int) -> None:
    """After a change of the TAC, S1 must carry it: an eNB Configuration Update with it, or a new S1 Setup
    Request with it (a unit that restarts its cell)."""
    if bench_run.inv.operator.s1_far_end is None:
        return
    steps.wait(
        step,
        lambda e: (
            (s1ap("ENBConfigurationUpdate")(e) or s1ap("S1SetupRequest")(e)) and e.data.get("tacs") == [tac]
        ),
        bench_run.unit.cfg.bounds.step,
        f"an eNB Configuration Update (or S1 Setup Request) with TAC {tac} at the MME",
        since,
    )


def offered_protocol(bench_run: BenchRun, proto: str) -> None:
    """Skip a file transfer test over `proto` unless the unit lists it (units.NAME.transfer_protocols)."""
    protocols = bench_run.unit.cfg.transfer_protocols
    if proto not in protocols:
        pytest.skip(
            f"{proto} is not in units.{bench_run.unit.name}.transfer_protocols ({', '.join(protocols)})"
        )


def check_read_back(steps: Steps, step: str, expected: dict[str, str], got: dict[str, str]) -> None:
    """The values just set equal what GetParameterValues read back (the message Session.read_back gives)."""
    wrong = {n: got.get(n) for n, v in expected.items() if got.get(n) != v}
    if wrong:
        steps.fail(
            step,
            "the values just set, read back: " + ", ".join(f"{n} = {expected[n]}" for n in wrong),
            "read back " + ", ".join(f"{n} = {v}" for n, v in wrong.items()),
        )


def reboot(bench_run: BenchRun, steps: Steps, step: str, key: str, why: str) -> Event:
    """A Reboot RPC with CommandKey `key` (to apply what the unit committed with Status 1), then the unit's
    next Inform to the Serving HeMS, within bounds.boot, which must carry `1 BOOT` and `M Reboot` with the key
    (TR-069 3.7.1.5 and the Inform event codes). Returns that Inform."""
    unit, tl = bench_run.unit, bench_run.timeline
    unit.rebooted_on_request(f"{steps.clause} step {step}: Reboot {key} ({why})")
    before = tl.mark()
    result = rpc(bench_run, steps, step, "Reboot", command_key=key)
    if not isinstance(result, Done):
        steps.fail(step, f"a RebootResponse to Reboot {key}", describe_result(result))
    # The next Inform is the first after the RebootResponse (the unit may be quick to boot).
    answered = tl.first(
        lambda e: e.source == Source.HEMS and e.kind == HemsKind.RPC_RESPONSE and e.data.get("method") == "Reboot"
        and e.data.get("hems") == "serving-hems",
        before,
    )  # fmt: skip
    mark = answered.seq + 1 if answered is not None else before
    booted = steps.wait(
        step,
        lambda e: inform("serving-hems")(e) and e.data.get("serial") == unit.serial,
        unit.bounds.boot,
        f"the unit's Inform to the Serving HeMS after Reboot {key}",
        mark,
    )
    judged(steps, step, boot_inform(steps.clause, step, booted, key))  # as `henb-bench judge` judges it
    return booted


def check_parameter_key(bench_run: BenchRun, steps: Steps, step: str, key: str) -> Event:
    """TR-069 A.3.2.1: the ParameterKey of the last successful SetParameterValues is what the next Inform
    reports as ManagementServer.ParameterKey (a forced Inform parameter). One connection request."""
    path = bench_run.unit.paths.parameter_key
    informed = next_inform(bench_run, steps, step)
    got = informed.data.get("params", {}).get(path)
    if got != key:
        seen = "no such parameter in it" if got is None else f"{path} = {got!r}"
        steps.fail(step, f"the next Inform reporting {path} = {key!r}, the ParameterKey of the SetParameterValues "
                   f"(TR-069 A.3.2.1)", seen, informed)  # fmt: skip
    return informed

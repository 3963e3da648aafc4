"""The unit refuses impostor SeGWs (TS 33.320): the bench's SeGW presents each impostor (bench/impostors.py) to
the unit in turn, before the real one. Judged from the timeline: refused is the unit's AUTHENTICATION_FAILED
notify, its DELETE or close of an IKE SA it sent nothing through (for proposals: the SeGW's NO_PROPOSAL_CHOSEN to
an offer of the policy's only); accepted is the IKE SA staying up, or traffic through it (ESP in at its CHILD SA,
or the unit's events from its inner address), whatever comes after. Corroborated on the unit's outer capture
(bench/ike_capture.py): its IKE_AUTH to the impostor's address and what it sent after it, and no ESP from it to
that address; a failure quotes what the capture shows, with frame numbers."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from types import TracebackType

from bench import clauses as cl
from bench.capture import Capture
from bench.clauses import LIFELINES
from bench.errors import ConfigError, DeviceError, InfraError
from bench.events import DhcpKind, SecurityKind, SegwKind, Source
from bench.ike import ike_id_matches
from bench.ike_capture import Account, account
from bench.impostors import Impostor
from bench.pki import ROGUE_CA_NAME
from bench.run import BenchRun
from bench.services.segw import refusals_on
from bench.steps import Steps
from bench.timeline import Event, UnitTimeline
from bench.unit import BenchUnit
from testplans.ts32593.flows import segw_refusal

REFUSED = (SegwKind.PEER_AUTH_FAILED, SegwKind.PEER_DELETE, SegwKind.IKE_DOWN)
# After the unit's last IKE SA with an impostor went down without its AUTHENTICATION_FAILED or DELETE (the SeGW
# closed it): how long another of its IKE SAs may take to come up there before the close counts as a refusal.
REPLACED = 5.0
# How long the outer capture may lag the SeGW's account of an IKE SA (its sniffer thread) before the bench says
# its capture missed what the SeGW saw.
CAPTURE_LAG = 3.0


def check_key(clause: str, step: str, impostor: str) -> str:
    """The check's id, as a waiver names it: CLAUSE/STEP/IMPOSTOR."""
    return f"{clause}/{step}/{impostor}"


def impostor_checks(step: str, segw: str) -> tuple[cl.Check, ...]:
    """The checks that the unit refuses each impostor SeGW (bench/impostors.py) at `step`, and their twins: a
    unit told to accept that impostor. `segw` is the SeGW's title (Initial SeGW)."""
    done = f"the unit completed IKE_AUTH with the {segw} presenting"
    return (
        cl.Check(step, f"refuses an impostor {segw} with a certificate from a CA it does not trust (TS 33.320): "
              "its AUTHENTICATION_FAILED or DELETE, no CHILD SA used", (
            cl.Twin("accept_untrusted_segw_ca", (f"{done} a certificate from an untrusted CA (CN={ROGUE_CA_NAME}",
                                                 "the outer capture outer.pcapng shows", "IKE_AUTH request at frame")),
        ), key="untrusted_ca"),
        cl.Check(step, f"refuses an impostor {segw} with an expired certificate from the operator CA", (
            cl.Twin("accept_expired_segw_cert", (f"{done} an expired certificate (valid until",
                                                 "the outer capture outer.pcapng shows", "IKE_AUTH request at frame")),
        ), key="expired"),
        cl.Check(step, f"refuses an impostor {segw} with a certificate for another name than the FQDN it resolved", (
            cl.Twin("accept_wrong_segw_name", (f"{done} a certificate for another name than", "CN 'other-",
                                               "the outer capture outer.pcapng shows")),
        ), key="wrong_name"),
        cl.Check(step, f"refuses an impostor {segw} accepting only IKE proposals outside operator.ike_proposals: "
              "it offers none (the SeGW's NO_PROPOSAL_CHOSEN)", (
            cl.Twin("accept_weak_ike_proposal", (f"the unit completed IKE_SA_INIT with the {segw} presenting only IKE "
                                              "proposals outside operator.ike_proposals", "MODP_1024",
                                              "the outer capture outer.pcapng shows")),
        ), key="weak_proposal"),
    )  # fmt: skip


class Impostors:
    """`with Impostors(run, steps, "isegw", "1.3", evidence.outer) as imp:` presents the first impostor to the
    run's unit now (before it boots); `imp.refused(since)` judges each in turn (and on the unit's outer capture,
    when given) and presents the next; the block's end brings the real SeGW back. A waived impostor is not
    presented; one the lab cannot give fails as a ConfigError naming the inventory key, unless waived."""

    def __init__(
        self, bench_run: BenchRun, steps: Steps, segw: str, step: str, outer: Capture | None = None
    ) -> None:
        self.run, self.steps, self.step, self.outer = bench_run, steps, step, outer
        self.unit: BenchUnit = bench_run.unit
        self.key = segw
        self.segw = bench_run.topology.segw[segw]
        self.title = LIFELINES[segw]
        made, missing = bench_run.topology.impostors[segw]
        ids = {i.key: check_key(steps.clause, step, i.key) for i in made}
        ids |= {m.key: check_key(steps.clause, step, m.key) for m in missing}
        for m in missing:
            if self.unit.waiver(ids[m.key]) is None:
                raise ConfigError(
                    f"{m.why}: the impostor {self.title} cannot present it; give it, or waive check {ids[m.key]} "
                    f"for the unit (units.{self.unit.name}.waivers)"
                )
        self.rounds: list[Impostor] = [i for i in made if self.unit.waiver(ids[i.key]) is None]
        self.address: str | None = None
        self.since = time.time()  # when the impostor being judged was presented

    def __enter__(self) -> Impostors:
        self.since = time.time()
        if self.rounds and not self.rounds[0].proposals:
            self.segw.present(self.unit.name, self.unit.ike_id, self.rounds[0], None)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.segw.withdraw(self.unit.name)

    def refused(self, since: int) -> int:
        """Each impostor refused by the unit, in turn; returns the timeline mark after the last (from which the
        real SeGW is presented again). Fails the step, saying what the unit accepted."""
        tl, bounds = self.run.timeline, self.unit.bounds
        mark = since
        for n, impostor in enumerate(self.rounds):
            if n or impostor.proposals:
                if impostor.proposals:
                    self.address = self.address or self._wan_address(since)
                mark, self.since = tl.mark(), time.time()
                self.segw.present(self.unit.name, self.unit.ike_id, impostor, self.address)
            timeout = bounds.boot if n == 0 else bounds.ike_retry
            self._judge(impostor, mark, timeout)
        # The mark before the real SeGW is back: the unit's next attempt may be up at it before withdraw()
        # returns (its address back at the real connection, then the impostor's unloaded: a busy host took the
        # unit's whole IKE exchange in between); an impostor's own SAs are told apart by their `impostor`.
        real = self.run.timeline.mark()
        self.segw.withdraw(self.unit.name)
        return real

    def _mine(self, impostor: Impostor) -> str:
        return f"the {self.title} presenting {impostor.what}"

    def _judge(self, impostor: Impostor, mark: int, timeout: float) -> None:
        tl, steps, bounds = self.run.timeline, self.steps, self.unit.bounds
        segw = self.key

        def at_segw(e: Event) -> bool:
            return e.source == Source.SEGW and e.data.get("segw") == segw

        def offered(e: Event) -> bool:
            """The impostor's IKE SA came up, the SeGW refused the unit, or the unit came up at the real SeGW
            under another identity than identity.ike_id (the impostor waits for that one)."""
            if not at_segw(e):
                return False
            if e.kind == SegwKind.IKE_UP:
                return e.data.get("impostor") in (impostor.key, None)
            # refused at the impostor, or its proposals in IKE_SA_INIT (before any connection was chosen; other
            # refusals then are of an attempt that met the bench switching impostors, which the unit repeats)
            return e.kind == SegwKind.REFUSED and (
                e.data.get("impostor") == impostor.key
                or (e.data.get("conn") in (None, "(unnamed)") and "proposal" in str(e.data.get("reason")))
            )

        expected = (
            f"the unit to refuse {self._mine(impostor)}"
            + (": an IKE_SA_INIT offering only operator.ike_proposals" if impostor.proposals
               else ": its AUTHENTICATION_FAILED notify or its DELETE of the IKE SA")
        )  # fmt: skip
        ike_id = self.unit.ike_id
        attempt = f"an IKE SA from {ike_id} at the {self.title} (presenting {impostor.what} first)"
        first = steps.wait(
            self.step, offered, timeout, attempt, mark, why=segw_refusal(self.run, segw, mark, ike_id)
        )
        self.address = self.address or first.data.get("remote_host")
        if first.kind == SegwKind.IKE_UP and not first.data.get("impostor"):
            steps.fail(
                self.step,
                attempt,
                f"IKE SAs at {segw} from {first.data.get('remote_id')}, not identity.ike_id {ike_id!r}",
                first,
            )
        if first.kind == SegwKind.REFUSED:
            reason = str(first.data.get("reason", ""))
            if impostor.proposals and "proposal" in reason:
                # the SeGW found nothing in the unit's offer it would take: the unit offered only the policy
                self._corroborate(impostor, expected, mark, first)
                return
            # charon logs a refusal in several lines: each becomes an event; a moment for the rest of them.
            with contextlib.suppress(DeviceError):
                sa = first.data.get("unique_id")
                tl.wait_for(
                    lambda e: at_segw(e) and e.kind == SegwKind.REFUSED and e.data.get("unique_id") == sa,
                    1.0,
                    "",
                    first.seq + 1,
                )
            said = refusals_on(tl.events(mark)).get(segw) or [reason]
            steps.fail(
                self.step,
                attempt,
                f"the {segw} charon refused the unit: {' | '.join(said)}; the impostor was not judged",
                first,
            )
        if impostor.proposals:
            steps.fail(
                self.step,
                expected,
                f"the unit completed IKE_SA_INIT with {self._mine(impostor)}: IKE SA {first.data.get('proposal')}"
                + self._shows(impostor, mark),
                first,
            )
        seen = self._outcome(impostor, mark, first, bounds.step)
        if seen is None:
            steps.fail(
                self.step,
                expected,
                f"the unit completed IKE_AUTH with {self._mine(impostor)}: the IKE SA stayed up for "
                f"{bounds.step:g} s ({bounds.step.key}), neither refused nor deleted"
                + self._shows(impostor, mark),
                first,
            )
        if at_segw(seen) and seen.kind in REFUSED:
            self._corroborate(impostor, expected, mark, seen)
            return
        steps.fail(
            self.step,
            expected,
            f"the unit completed IKE_AUTH with {self._mine(impostor)}, and used the tunnel: {steps.describe(seen)}"
            + self._shows(impostor, mark),
            seen,
        )

    def _account(self, impostor: Impostor, mark: int) -> Account | None:
        """What the outer capture shows of the unit's exchanges with the impostor (None without a capture): the
        IKE SAs the SeGW had up with it since `mark`, found by their initiator SPI. The capture may lag the
        SeGW's log a moment (its sniffer thread): read again as packets come, up to CAPTURE_LAG."""
        if self.outer is None:
            return None
        outer, segw, tl = self.outer, self.segw.outer_ip, self.run.timeline
        spis = {
            str(e.data["spi_i"])
            for e in tl.events(mark)
            if e.source == Source.SEGW and e.kind == SegwKind.IKE_UP and e.data.get("segw") == self.key
            and e.data.get("impostor") == impostor.key and e.data.get("spi_i")
            and ike_id_matches(self.unit.ike_id, e.data.get("remote_id"))
        }  # fmt: skip

        def read(path: Path) -> Account:
            return account(path, segw, self.since, spis, bool(impostor.proposals), tl.t0)

        # Every packet that crossed the link by now in the file (the ESP it shows).
        outer.caught_up(CAPTURE_LAG)
        seen = outer.read(read)
        deadline = time.monotonic() + CAPTURE_LAG
        while not seen.found and (left := deadline - time.monotonic()) > 0:
            seen = outer.read(read, more=1, timeout=left)
        return seen

    def _shows(self, impostor: Impostor, mark: int) -> str:
        seen = self._account(impostor, mark)
        return f"; {self._capture()} shows {seen.text}" if seen is not None else ""

    def _capture(self) -> str:
        return f"the outer capture {self.outer.path.name}" if self.outer is not None else ""

    def _corroborate(self, impostor: Impostor, expected: str, mark: int, refusal: Event) -> None:
        """The refusal the SeGW saw, on the unit's outer capture: no ESP from the unit to the impostor's address
        (a failure of the unit, quoting the frames), and its IKE_AUTH there (else the capture missed what the
        SeGW saw: an InfraError). What it shows goes on the timeline."""
        seen = self._account(impostor, mark)
        if seen is None:
            return
        tl = self.run.timeline
        tl.add(Source.SECURITY, SecurityKind.IMPOSTOR_CAPTURE, segw=self.key, unit=self.unit.name,
               impostor=impostor.key, shows=seen.text, capture=str(self.outer and self.outer.path))  # fmt: skip
        if seen.used:
            self.steps.fail(
                self.step,
                expected + ", and no ESP from it to that address on the outer capture",
                f"the {self.key} saw the unit refuse it ({self.steps.describe(refusal)}), but {self._capture()} "
                f"shows {seen.text}",
                refusal,
            )
        if not seen.found:
            raise InfraError(
                f"{self._capture()} shows {seen.text}, though the {self.key} saw the unit's IKE SA there "
                f"({self.steps.describe(refusal)}): the capture of the unit's WAN link missed it"
            )

    def _outcome(self, impostor: Impostor, mark: int, first: Event, bound: float) -> Event | None:
        """What the unit did with its IKE SAs at the impostor, the first (`first`, up at the SeGW once it sent
        its IKE_AUTH response, before the unit checked it) and any it made after (a unit may try again while an
        attempt is still under way): None when one stayed up for `bound` (accepted); the unit's traffic through
        one (accepted and used, even if it then released the SA: the SeGW's ESP packets in at its CHILD SA's
        close, or an event of the unit from its inner address since `mark`: the SeGW may report the SA's
        coming up after what the unit did through it); else, once it holds none, its refusal: its
        AUTHENTICATION_FAILED, DELETE or close. An IKE SA the SeGW closed because another of the unit's came
        up (charon's uniqueness policy) is no refusal, nor is another unit's (an impostor's events name their
        unit)."""
        tl = self.run.timeline
        segw, ike_id, unit = self.key, self.unit.ike_id, self.unit.name
        several = isinstance(tl, UnitTimeline)

        def at_impostor(e: Event) -> bool:
            return (
                e.source == Source.SEGW
                and e.data.get("segw") == segw
                and e.data.get("impostor") == impostor.key
                and e.data.get("unit") in (unit, None)
                and ike_id_matches(ike_id, e.data.get("remote_id"))
            )

        held: dict[str, set[str]] = {
            str(first.data.get("unique_id")): set(first.data.get("remote_vips") or ())
        }
        known = set(held)  # every IKE SA of the unit at the impostor, held or closed
        counted: set[str] = set()  # those whose CHILD SA's close said how much came in through it
        vips = set().union(*held.values())
        said: Event | None = None  # the unit's AUTHENTICATION_FAILED or DELETE
        closed: Event | None = None  # the last of its IKE SAs there went down

        def through(e: Event) -> bool:
            return bool(vips) and (e.data.get("client") in vips or e.data.get("peer") in vips)

        # What the unit did through the tunnel before the SeGW's report of it reached the timeline: only events
        # that are surely the unit's (an address may have been another unit's before).
        early = tl.first(lambda e: e.source != Source.SEGW and through(e) and (e.unit == unit or not several),
                         mark, first.seq)  # fmt: skip
        if early is not None:
            return early

        def relevant(e: Event) -> bool:
            if e.source != Source.SEGW:
                return through(e)  # traffic through the impostor's tunnel: the unit went on with it
            if e.data.get("segw") != segw:
                return False
            sa = str(e.data.get("unique_id"))
            if e.kind == SegwKind.IKE_UP:
                return at_impostor(e) and sa not in known
            if e.kind == SegwKind.CHILD_DOWN:
                return sa in known
            return e.kind in REFUSED and sa in held

        deadline = time.monotonic() + bound
        settle: float | None = None  # when the unit held none: the moment to judge by (REPLACED)
        cursor = first.seq + 1
        while True:
            if not held and (said is not None and said.kind == SegwKind.PEER_AUTH_FAILED or counted >= known):
                return said or closed  # it refused in IKE_AUTH, or every CHILD SA closed unused
            left = deadline - time.monotonic() if settle is None else settle - time.monotonic()
            try:
                e = tl.wait_for(relevant, max(left, 0.0), "", cursor)
            except DeviceError:
                return None if held else (said or closed)
            cursor = e.seq + 1
            if e.source != Source.SEGW:
                return e
            sa = str(e.data.get("unique_id"))
            if e.kind == SegwKind.CHILD_DOWN:
                if int(e.data.get("packets_in") or 0) > 0:
                    return e
                counted.add(sa)
            elif e.kind == SegwKind.IKE_UP:
                held[sa] = set(e.data.get("remote_vips") or ())
                known.add(sa)
                vips |= held[sa]
                settle = None
            else:
                held.pop(sa, None)
                if e.kind in (SegwKind.PEER_AUTH_FAILED, SegwKind.PEER_DELETE):
                    said = said or e
                closed = e
                if not held and settle is None:
                    settle = min(deadline, time.monotonic() + REPLACED)

    def _wan_address(self, since: int) -> str | None:
        """The unit's outer address: where its last IKE attempt came from, else its DHCP lease."""
        tl = self.run.timeline
        for e in reversed(tl.events(0)):
            if e.source == Source.SEGW and e.data.get("remote_host"):
                return str(e.data["remote_host"])
            if e.source == Source.DHCP and e.kind == DhcpKind.ACK:
                words = str(e.data.get("detail", "")).split()
                if words:
                    return words[0]
        return None

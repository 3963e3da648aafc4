"""The unit refuses a HeMS it must not trust: an HTTPS HeMS (5.1.2.3's Initial HeMS on the internet, 5.1.3's
Serving HeMS with operator.serving_hems_tls) presents to the unit, one attempt at a time, a certificate from a CA it
does not trust, an expired one and one for another name (bench/network/hems_certs.py), before its own. Each
refusal is proven by what the unit did: it aborted the handshake (a TLS alert, or it closed the connection), seen
by the HeMS, which records the certificate that handshake was shown. A unit retries a failed session (TR-069
3.2.1.1): each retry meets the next bad certificate, and the last one's retry must be refused too."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from bench import clauses as cl
from bench.clauses import LIFELINES
from bench.errors import DeviceError
from bench.run import BenchRun
from bench.steps import Steps
from bench.timeline import Event
from testplans.ts32593.flows import hems_refusal, inform, tls_failed

# The certificates the HeMS presents, one per attempt of the unit, before its own: from a CA the unit does not
# trust, expired, for another name (the last also on the unit's retry).
BAD_CERTS = ("untrusted-ca", "expired", "wrong-name")
# Attempts judged at most: a unit that tries again before the bench puts up the next certificate sees one twice.
ATTEMPTS = 8


def untrusted_hems_checks(
    step: str, title: str, fqdn: str, inventory: Mapping[str, Any]
) -> tuple[cl.Check, ...]:
    """The checks that the unit refuses each bad certificate of the HeMS `title` (its FQDN in the default inventory
    `fqdn`) at `step`, and their twins: a unit told to accept that certificate, under the twins' `inventory`."""
    sent = f"the unit sent an Inform to the {title} presenting"
    a = f"{'an' if title[0] in 'AEIOU' else 'a'} {title}"
    return (
        cl.Check(step, f"a unit refuses {a} whose certificate comes from a CA it does not trust: its TLS alert "
                 "or close in the handshake", (
            cl.Twin("accept_untrusted_hems_ca", (f"{sent} a certificate from an untrusted CA (CN={fqdn}, issuer "
                                                 "CN=henb-bench rogue CA",), inventory=inventory),
            cl.Twin("accept_any_cert", (f"refuse the {title} presenting a certificate from an untrusted CA",
                                        "the unit sent an Inform"), inventory=inventory),
        ), key="untrusted_ca"),
        cl.Check(step, f"a unit refuses {a} whose certificate has expired: its TLS alert or close in the "
                 "handshake", (
            cl.Twin("accept_expired_hems_cert", (f"{sent} an expired certificate (CN={fqdn}, issuer CN=henb-bench "
                                                 "operator CA, notAfter",), inventory=inventory),
        ), key="expired"),
        cl.Check(step, f"a unit refuses {a} whose certificate does not name it exactly, and again when it "
                 "tries again: its TLS alert or close in the handshake", (
            cl.Twin("accept_cert_on_retry", ("again, when it tried again",
                                             f"{sent} a certificate for another name (CN=wrong-{fqdn}"),
                    inventory=inventory),
        ), key="wrong_name"),
    )  # fmt: skip


class UntrustedHems:
    """`with UntrustedHems(bench_run, steps, "initial-hems", "1.3", why) as bad:` shows the run's unit the first
    bad certificate of `hems` now (before it boots; every one is made first, so a bench that cannot make one says
    so before the unit starts); `bad.refused(since, first)` judges the unit's attempts in turn, showing the next
    certificate after each refusal; the block's end shows the HeMS's own certificate again. `why` says how the
    unit knows the HeMS's name, for a failure ("it was programmed with ...")."""

    def __init__(self, bench_run: BenchRun, steps: Steps, hems: str, step: str, why: str) -> None:
        self.run, self.steps, self.hems, self.step, self.why = bench_run, steps, hems, step, why
        self.title = LIFELINES[hems]
        for kind in BAD_CERTS:
            bench_run.topology.hems_bad_cert(kind, hems)
        self.shown = ""  # how a failure describes what the HeMS presents the unit now

    def show(self, kind: str | None) -> str:
        """The HeMS presents `kind` (None: its own) to this unit only, known by its address."""
        run = self.run
        self.shown = run.topology.present_hems_cert(run.unit.name, kind, run.owns_address, self.hems)
        return self.shown

    def __enter__(self) -> UntrustedHems:
        self.show(BAD_CERTS[0])
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.show(None)

    def refused(self, since: int, first: float, first_key: str) -> int:
        """Each bad certificate refused by the unit in turn, from timeline mark `since`: its first attempt within
        `first` seconds (`first_key` names the bound), each next within bounds.quiet + step. Returns the mark
        after the last attempt judged; after the third refusal, a unit that does not come back for the retry
        within quiet + step passes (it refused positively three times already). Fails the step, saying what
        the unit accepted."""
        unit, tl, steps, hems = self.run.unit, self.run.timeline, self.steps, self.hems
        bounds = unit.bounds
        attempt = lambda e: inform(hems)(e) or tls_failed(hems)(e)  # noqa: E731
        refused: dict[str, Event] = {}
        again = False
        waited, key = first, first_key
        for _ in range(ATTEMPTS):
            try:
                seen = tl.wait_for(attempt, waited, "", since)
            except DeviceError:
                if again:
                    return tl.mark()  # refused each one, and did not come back for the last
                steps.fail(self.step, f"the unit to refuse the {self.title} presenting {self.shown}: a TLS alert or "
                           "its close during the handshake, seen by the HeMS",
                           f"no TLS handshake from the unit within {waited:g} s ({key})"
                           f"{hems_refusal(self.run, hems, since)()}")  # fmt: skip
            if inform(hems)(seen):
                retry = " again, when it tried again" if again else ""
                steps.fail(self.step, f"the unit to refuse the {self.title} presenting {self.shown}{retry} ({self.why}, "
                           "the operator CA, and the name must match exactly)",
                           f"the unit sent an Inform to the {self.title} presenting {self.shown}: "
                           f"{steps.describe(seen)}", seen)  # fmt: skip
            refused.setdefault(str(seen.data.get("cert", "")), seen)
            since = seen.seq + 1
            left = [k for k in BAD_CERTS if k not in refused]
            if not left and again:
                return since  # its retry refused as well
            again = not left
            self.show(left[0] if left else BAD_CERTS[-1])
            waited, key = bounds.quiet + bounds.step, f"units.{unit.name}.bounds.quiet + step"
        steps.fail(self.step, f"each of the {self.title}'s bad certificates ({', '.join(BAD_CERTS)}) refused once",
                   f"refused only {sorted(refused)} in {ATTEMPTS} attempts")  # fmt: skip

"""TS 32.593 5.1.2.3: Serving HeMS discovery via an Initial HeMS on the public internet (Figure 5-4): the
Initial HeMS's FQDN from the public DNS, TLS straight to it (no IPsec for that leg), Inform, SetParameterValues
with the Serving SeGW and HeMS, release, IPsec to the Serving SeGW; and a unit must refuse an Initial HeMS whose
certificate does not name exactly the identity it was programmed with."""

from __future__ import annotations

import pytest

from bench import clauses as cl
from bench.cwmp import CwmpFault
from bench.errors import DeviceError
from bench.inventory import is_ip
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Event
from bench.unit import BenchUnit, State
from testplans.ts32593.flows import (
    before,
    dns_first,
    dns_query,
    hems_refusal,
    ike_up,
    inform,
    segw_refusal,
    session_end,
    tls_failed,
)
from testplans.ts32593.identity import check_device_id
from testplans.ts32593.session_rules import check_session_released

# The certificates the Initial HeMS presents, one per attempt of the unit, before its own: from a CA the unit does
# not trust, expired, for another name (the last also on the unit's retry). bench.network.topology makes them.
BAD_CERTS = ("untrusted-ca", "expired", "wrong-name")
# Attempts judged at most: a unit that tries again before the bench puts up the next certificate sees one twice.
ATTEMPTS = 8


# Not `together`: the HeMS shows each unit its own certificate, chosen by the unit's address when it connects
# (bench.network.topology.present_hems_cert), so each unit's sequence runs alone while the others discover.
@pytest.mark.clause("5.1.2.3")
def test_refuses_initial_hems_it_must_not_trust(
    bench_run: BenchRun, evidence: Evidence, steps: Steps
) -> None:
    unit, op, tl = bench_run.unit, bench_run.inv.operator, bench_run.timeline
    topo = bench_run.topology
    bounds = unit.bounds
    for kind in BAD_CERTS:  # all made before the unit starts (a bench that cannot make one says so now)
        topo.hems_bad_cert(kind)

    def show(kind: str | None) -> str:  # to this unit only, known by its address
        return topo.present_hems_cert(unit.name, kind, bench_run.owns_address)

    try:
        shown = show(BAD_CERTS[0])
        # Factory-fresh only now: the unit must meet the bad certificates on its way to the Initial HeMS.
        boot = unit.transition(State.FACTORY_FRESH)
        assert boot is not None
        # The unit is about to connect once it has asked for the Initial HeMS's address (or it connects at once:
        # that it asks DNS is step 1.1 of the discovery test). One that turns to the Initial SeGW instead takes
        # the private network's way (5.1.2.2), not this deployment's: it fails here, at once.
        isegw = lambda e: dns_query(op.initial_segw, "public-dns")(e) or ike_up("isegw", unit.ike_id)(e)  # noqa: E731
        turned = steps.wait("pre", lambda e: dns_query(op.initial_hems, "public-dns")(e) or tls_failed("initial-hems")(e)
                            or isegw(e), unit.bounds.boot, f"the unit looking up {op.initial_hems}", boot.mark)  # fmt: skip
        if isegw(turned):
            steps.fail("pre", f"the factory-fresh unit looking up {op.initial_hems} at the public DNS (its Initial "
                       "HeMS is on the public internet: TLS straight to it, no IPsec for that leg)",
                       f"it turned to the Initial SeGW {op.initial_segw} instead: {steps.describe(turned)}",
                       turned)  # fmt: skip
        # Each refusal is proven by what the unit did: it aborted the handshake (a TLS alert, or it closed the
        # connection), seen by the HeMS, which records the certificate that handshake was shown. A unit retries
        # a failed session (TR-069 3.2.1.1): each retry meets the next bad certificate, and the last one's
        # retry must be refused too; after that (only) a unit that does not try again has quiet + step to show
        # an Inform.
        attempt = lambda e: inform("initial-hems")(e) or tls_failed("initial-hems")(e)  # noqa: E731
        refused: dict[str, Event] = {}
        since, again = boot.mark, False
        for _ in range(ATTEMPTS):
            waited = bounds.quiet + bounds.step
            try:
                seen = tl.wait_for(attempt, waited, "", since)
            except DeviceError:
                if again:
                    return  # refused each one, and did not come back for the last
                steps.fail("1.3", f"the unit to refuse the Initial HeMS presenting {shown}: a TLS alert or its "
                           "close during the handshake, seen by the HeMS",
                           f"no TLS handshake from the unit within {waited:g} s (units.{unit.name}.bounds.quiet + "
                           f"step){hems_refusal(bench_run, 'initial-hems', since)()}")  # fmt: skip
            if inform("initial-hems")(seen):
                retry = " again, when it tried again" if again else ""
                steps.fail("1.3", f"the unit to refuse the Initial HeMS presenting {shown}{retry} (it was "
                           f"programmed with {op.initial_hems}, the operator CA, and the name must match exactly)",
                           f"the unit sent an Inform to the Initial HeMS presenting {shown}: "
                           f"{steps.describe(seen)}", seen)  # fmt: skip
            kind = str(seen.data.get("cert", ""))
            refused.setdefault(kind, seen)
            since = seen.seq + 1
            left = [k for k in BAD_CERTS if k not in refused]
            if not left and again:
                return  # its retry refused as well
            again = not left
            shown = show(left[0] if left else BAD_CERTS[-1])
        steps.fail("1.3", f"each of the Initial HeMS's bad certificates ({', '.join(BAD_CERTS)}) refused once",
                   f"refused only {sorted(refused)} in {ATTEMPTS} attempts")  # fmt: skip
    finally:
        unit.transition(State.OFF)  # a unit that refused its Initial HeMS keeps trying it: start it afresh
        show(None)  # the right certificate again for this unit, once it is off


@pytest.mark.clause("5.1.2.3")
def test_discovery_via_initial_hems_on_public_internet(
    bench_run: BenchRun, request: pytest.FixtureRequest, evidence: Evidence, steps: Steps
) -> None:
    unit: BenchUnit = request.getfixturevalue("factory_fresh_unit")
    op = bench_run.inv.operator
    bounds = unit.bounds
    boot = unit.boot

    # 1.1-1.3 and 2.1: the Inform arrives over TLS at the Initial HeMS on the internet.
    inf = steps.wait("2.1", inform("initial-hems"), bounds.boot,
                     f"an Inform over TLS to the Initial HeMS {op.initial_hems} on the public internet", boot.mark,
                     why=hems_refusal(bench_run, "initial-hems", boot.mark))  # fmt: skip
    if not is_ip(op.initial_hems):
        q = dns_first(
            bench_run, lambda e: dns_query(op.initial_hems, "public-dns")(e) and before(e, inf), boot.mark
        )
        if q is None:
            steps.fail("1.1", f"a query for {op.initial_hems} at the public DNS before the TLS session",
                       "no such query (the unit used an address it was not given by DNS)", inf)  # fmt: skip
    check_device_id(steps, "2.1", inf, unit.cfg.identity)
    if "0 BOOTSTRAP" not in inf.data["events"]:
        steps.fail("2.1", "event 0 BOOTSTRAP in the first Inform to the Initial HeMS", f"events {inf.data['events']}",
                   inf)  # fmt: skip

    # 3.1-3.2, 4: the Serving SeGW and HeMS assigned and acknowledged, the session released.
    result = boot.initial_spv.result(bounds.step)
    if isinstance(result, CwmpFault):
        steps.fail("3.2", "SetParameterValuesResponse to the Serving SeGW/HeMS assignment",
                   f"fault {result.fault_code} {result.fault_string}, per parameter {result.param_faults}")  # fmt: skip
    end = steps.wait(
        "4", session_end("initial-hems"), bounds.step, "the session with the Initial HeMS to end", inf.seq
    )
    check_session_released(bench_run, steps, "4", "initial-hems", inf, end)

    # 5.1-5.3 (= 5.1.2.2 6.1-6.3): DNS for the Serving SeGW, then IPsec to it.
    sike = steps.wait("5.3", lambda e: ike_up("ssegw", unit.ike_id)(e) and before(end, e), bounds.step,
                      f"an IKE SA from {unit.ike_id} at the Serving SeGW {op.serving_segw} after the session",
                      boot.mark, why=segw_refusal(bench_run, "ssegw", end.seq, unit.ike_id))  # fmt: skip
    if (
        not is_ip(op.serving_segw)
        and dns_first(
            bench_run,
            lambda e: dns_query(op.serving_segw, "public-dns")(e) and before(end, e) and before(e, sike),
            boot.mark,
        )
        is None
    ):
        steps.fail(
            "5.1", f"a query for {op.serving_segw} at the public DNS before the IKE SA", "no such query", sike
        )
    evidence.assert_no_cleartext(steps)


# The clause as the bench reads it: `henb-bench list`, the report's coverage and expected ladder, the twins.
CLAUSE = cl.Clause(
    id="5.1.2.3",
    title="Serving HeMS discovery via an Initial HeMS on the public internet (Figure 5-4)",
    applies={"initial_hems_access": "public"},  # units whose Initial HeMS is on the public internet
    figure=cl.Figure(
        "Figure 5-4: Serving HeMS discovery via an Initial HeMS on the public internet",
        (
            cl.dns_query("Initial HeMS", "public-dns"),
            cl.inform("initial-hems"),
            cl.inform_response("initial-hems"),
            *cl.rpc("SetParameterValues", "Serving SeGW/HeMS", "initial-hems"),
            cl.session_end("initial-hems"),
            cl.dns_query("Serving SeGW", "public-dns"),
            cl.ike_up("ssegw"),
        ),
    ),
    tests={
        "test_refuses_initial_hems_it_must_not_trust": cl.Figure(
            "Figure 5-4, refused: no Inform may reach an Initial HeMS the unit must not trust; each bad certificate "
            "refused in the handshake",
            (
                cl.dns_query("Initial HeMS", "public-dns"),
                cl.tls_refused("initial-hems", "untrusted-ca", "TLS refused: certificate from an untrusted CA"),
                cl.tls_refused("initial-hems", "expired", "TLS refused: expired certificate"),
                cl.tls_refused("initial-hems", "wrong-name", "TLS refused: certificate for another name"),
            ),
        ),
    },
    inventory={"operator": {"initial_hems_access": "public"}},  # the Initial HeMS on the public internet
    checks=(
        cl.Check("1.1", "the Initial HeMS's FQDN asked of the public DNS before the TLS session", (
            cl.Twin("hems_by_ip", ("query for ihems.operator.example at the public DNS before the TLS",)),
        )),
        cl.Check("1.3", "a unit refuses an Initial HeMS whose certificate comes from a CA it does not trust: its "
                 "TLS alert or close in the handshake", (
            cl.Twin("accept_untrusted_hems_ca", (
                "the unit sent an Inform to the Initial HeMS presenting a certificate from an untrusted CA "
                "(CN=ihems.operator.example, issuer CN=henb-bench rogue CA",)),
            cl.Twin("accept_any_cert", ("refuse the Initial HeMS presenting a certificate from an untrusted CA",
                                        "the unit sent an Inform")),
        )),
        cl.Check("1.3", "a unit refuses an Initial HeMS whose certificate has expired: its TLS alert or close in "
                 "the handshake", (
            cl.Twin("accept_expired_hems_cert", (
                "the unit sent an Inform to the Initial HeMS presenting an expired certificate "
                "(CN=ihems.operator.example, issuer CN=henb-bench operator CA, notAfter",)),
        )),
        cl.Check("1.3", "a unit refuses an Initial HeMS whose certificate does not name it exactly, and again when "
                 "it tries again: its TLS alert or close in the handshake", (
            cl.Twin("accept_cert_on_retry", ("again, when it tried again", "the unit sent an Inform to the Initial "
                                             "HeMS presenting a certificate for another name (CN=wrong-ihems")),
        )),
        cl.Check("2.1", "an Inform over TLS with the unit's DeviceId and 0 BOOTSTRAP", (
            cl.Twin("wrong_device_id", ("DeviceId", "serial '{serial}X'")),
            cl.Twin("no_bootstrap", ("0 BOOTSTRAP", "seen events ['1 BOOT']")),
        )),
        cl.Check("3.2", "SetParameterValuesResponse to the Serving SeGW/HeMS assignment", (
            cl.Twin("reject_serving_assignment", ("fault 9003", "SecGWServer1")),
        )),
        cl.Check("pre", "the factory-fresh unit turns to its Initial HeMS on the public internet (its FQDN asked of "
                 "the public DNS, or a TLS handshake with it), not to the Initial SeGW", (
            cl.Twin("initial_segw_for_public_hems", ("the factory-fresh unit looking up ihems.operator.example",
                                                     "it turned to the Initial SeGW")),
        )),
        cl.Check("4", "the unit releases the session: the HeMS's empty answer, then the unit's connection closed "
                 "(TR-069 3.7.1.4)", (
            cl.Twin("keep_session_open", ("release the TR-069 session with the initial-hems",
                                          "kept its connection to the initial-hems open")),
        )),
        cl.Check("5.1", "the Serving SeGW's FQDN asked of the public DNS", (
            cl.Twin("serving_segw_by_ip", ("query for ssegw.operator.example at the public DNS",)),
        )),
        cl.Check("5.3", "an IKE SA at the Serving SeGW after the session ends", (
            cl.Twin("ignore_serving_assignment", ("IKE SA from {oui}-{serial}.henb at the Serving SeGW",)),
        )),
        cl.no_cleartext_check("no operator traffic outside the tunnel but the TLS session with the Initial HeMS"),
    ),
)  # fmt: skip

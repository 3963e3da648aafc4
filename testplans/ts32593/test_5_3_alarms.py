"""TS 32.593 5.3: alarm reporting. 5.3.1 (Figure 5-9): ReportingMechanism set per alarm by SetParameterValues
and read back. 5.3.2 (Figure 5-10): an Expedited alarm is reported in an Inform at once, a Queued one in the
next Inform and not before; Logged and Disabled ones give no Inform (Logged ones are in HistoryEvent)."""

from __future__ import annotations

import pytest

from bench.errors import DeviceError
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Event
from bench.unit import BenchUnit
from testplans.ts32593.procedures import get_values, next_inform, session

FM = "Device.FaultMgmt."
# The mock unit's SupportedAlarm instances; its console raises them with `alarm raise N`.
MECHANISMS = {1: "0 Expedited", 2: "1 Queued", 3: "2 Logged", 4: "3 Disabled"}


def mechanism(n: int) -> str:
    return f"{FM}SupportedAlarm.{n}.ReportingMechanism"


def configure(bench_run: BenchRun, steps: Steps, step: str) -> None:
    values = {mechanism(n): m for n, m in MECHANISMS.items()}
    with session(bench_run, steps, step) as s:
        s.set_values({n: (v, "xsd:string") for n, v in values.items()}, "fm-5.3.1")
        s.read_back(values)


def raise_alarm(bench_run: BenchRun, n: int) -> tuple[int, str]:
    """Raise alarm `n` from the unit's console, as an engineer would; returns (timeline mark, identifier)."""
    unit = bench_run.unit
    mark = bench_run.timeline.mark()
    unit.console.write(f"alarm clear {n}\n")  # a fresh NewAlarm even if an earlier test left it raised
    unit.console.write(f"alarm raise {n}\n")
    return mark, f"{unit.serial}-alarm-{n}"


def reports(ident: str, table: str) -> object:
    """An Inform at the Serving HeMS carrying a `table` entry (ExpeditedEvent, QueuedEvent...) for `ident`."""

    def match(e: Event) -> bool:
        if e.source != "hems" or e.kind != "inform" or e.data.get("hems") != "serving-hems":
            return False
        params = e.data.get("params", {})
        return any(f".{table}." in name and v == ident for name, v in params.items())

    return match


def reports_any(ident: str) -> object:
    def match(e: Event) -> bool:
        return e.source == "hems" and e.kind == "inform" and ident in e.data.get("params", {}).values()

    return match


def quiet(bench_run: BenchRun, pred: object, since: int) -> Event | None:
    """The event matching `pred` within the quiet bound, or None (which is what the plan wants)."""
    try:
        return bench_run.timeline.wait_for(pred, bench_run.unit.bounds.quiet, "", since)  # type: ignore[arg-type]
    except DeviceError:
        return None


def raise_unreported(bench_run: BenchRun, steps: Steps, n: int, mechanism: str) -> str:
    """Raise alarm `n`, which must not be reported in any Inform (Logged, Disabled); returns its identifier."""
    mark, ident = raise_alarm(bench_run, n)
    early = quiet(bench_run, reports_any(ident), mark)
    if early is not None:
        steps.fail("2", f"no Inform for the {mechanism} alarm {ident}",
                   f"an Inform carrying it: {steps.describe(early)}", early)  # fmt: skip
    return ident


@pytest.mark.clause("5.3.1")
def test_reporting_mechanism_configuration(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    configure(bench_run, steps, "2")


@pytest.mark.clause("5.3.2")
def test_expedited_alarm_is_reported_at_once(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    configure(bench_run, steps, "pre")
    mark, ident = raise_alarm(bench_run, 1)
    bound = bench_run.unit.bounds.alarm_inform
    steps.wait("2", reports(ident, "ExpeditedEvent"), bound,  # type: ignore[arg-type]
               f"an Inform carrying the Expedited alarm {ident} (ExpeditedEvent) within {bound:g} s", mark)  # fmt: skip


@pytest.mark.clause("5.3.2")
def test_queued_alarm_waits_for_the_next_inform(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    configure(bench_run, steps, "pre")
    mark, ident = raise_alarm(bench_run, 2)
    early = quiet(bench_run, reports_any(ident), mark)
    if early is not None:
        steps.fail("2", f"the Queued alarm {ident} held for the next Inform",
                   f"an Inform carrying it at once: {steps.describe(early)}", early)  # fmt: skip
    nxt = next_inform(bench_run, steps, "2")
    if not reports(ident, "QueuedEvent")(nxt):  # type: ignore[operator]
        steps.fail("2", f"the next Inform carrying the Queued alarm {ident} (QueuedEvent)",
                   f"an Inform with {len(nxt.data.get('params', {}))} parameters, none of them it", nxt)  # fmt: skip


@pytest.mark.clause("5.3.2")
def test_logged_alarm_is_not_informed_but_kept(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    configure(bench_run, steps, "pre")
    ident = raise_unreported(bench_run, steps, 3, "Logged")
    history = get_values(bench_run, steps, "2", [FM + "HistoryEvent."])
    if ident not in history.values():
        steps.fail("2", f"the Logged alarm {ident} in {FM}HistoryEvent",
                   f"{sum(1 for n in history if n.endswith('.AlarmIdentifier'))} history entries, none of it")  # fmt: skip


@pytest.mark.clause("5.3.2")
def test_disabled_alarm_is_not_reported(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    configure(bench_run, steps, "pre")
    raise_unreported(bench_run, steps, 4, "Disabled")

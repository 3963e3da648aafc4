"""TS 32.593 5.3: alarm reporting. 5.3.1 (Figure 5-9): ReportingMechanism set per alarm by SetParameterValues
and read back. 5.3.2 (Figure 5-10): an Expedited alarm is reported in an Inform at once, a Queued one in the
next Inform and not before; Logged and Disabled ones give no Inform (Logged ones are in HistoryEvent).

The alarms are SupportedAlarm entries the unit reports (the inventory's units.NAME.alarms, or the first four);
they are raised and cleared through the unit's own templates (units.NAME.actions.raise_alarm / clear_alarm),
and reports are recognised by EventType and ProbableCause, whatever the unit's AlarmIdentifier format."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench import clauses as cl
from bench.cwmp import CwmpFault
from bench.errors import ConfigError, DeviceError, InfraError
from bench.events import HemsKind, Source
from bench.evidence.judge_alarms import AlarmId, entries  # the FaultMgmt tables as the judges read them
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Event
from bench.unit import BenchUnit
from testplans.ts32593.invalid_set import invalid_set_changes_nothing
from testplans.ts32593.procedures import get_values, next_inform, session

MECHANISMS = ["0 Expedited", "1 Queued", "2 Logged", "3 Disabled"]
EXPEDITED, QUEUED, LOGGED, DISABLED = range(4)
# How Expedited and Queued events reach the HeMS (TR-181 FaultMgmt): a new entry's values count as changed
# for value-change notification, so the HeMS sets Active notification on the Expedited table and Passive on
# the Queued one, and on their NumberOfEntries as well. The report the plan accepts is the entry itself
# (EventType, ProbableCause, AlarmIdentifier) in the Inform: a count alone does not say which alarm it was.
NOTIFICATION = {"ExpeditedEvent": 2, "QueuedEvent": 1}


@dataclass(frozen=True)
class Alarm(AlarmId):
    """A SupportedAlarm entry of the unit: what identifies it, and its instance path."""

    specific_problem: str
    perceived_severity: str
    path: str

    @property
    def values(self) -> dict[str, str]:
        """The action templates' placeholders."""
        return {
            "event_type": self.event_type,
            "probable_cause": self.probable_cause,
            "specific_problem": self.specific_problem,
            "perceived_severity": self.perceived_severity,
        }


def fm(bench_run: BenchRun) -> str:
    """The unit's FaultMgmt object, from its data-model profile (units.NAME.data_model)."""
    return bench_run.unit.paths.fault_mgmt


def supported(bench_run: BenchRun, steps: Steps, step: str) -> list[Alarm]:
    """The alarms the plan raises: the inventory's units.NAME.alarms found in the unit's SupportedAlarm table
    (by EventType, ProbableCause and, given, SpecificProblem), or the first four the unit reports."""
    table = entries(get_values(bench_run, steps, step, [fm(bench_run) + "SupportedAlarm."]), "SupportedAlarm")
    alarms = [
        Alarm(
            *(f.get(k, "") for k in ("EventType", "ProbableCause", "SpecificProblem", "PerceivedSeverity")),
            path=path,
        )
        for path, f in sorted(table.items(), key=lambda kv: int(kv[0].rstrip(".").rsplit(".", 1)[1]))
    ]
    if not alarms:
        steps.fail(step, f"at least one {fm(bench_run)}SupportedAlarm entry", "an empty table")
    unit = bench_run.unit
    if not unit.cfg.alarms:
        return alarms[:4]
    chosen = []
    for i, ref in enumerate(unit.cfg.alarms):
        found = [
            a for a in alarms
            if (a.event_type, a.probable_cause) == (ref.event_type, ref.probable_cause)
            and ref.specific_problem in (None, a.specific_problem)
        ]  # fmt: skip
        if not found:
            steps.fail(step, f"a {fm(bench_run)}SupportedAlarm entry {ref.event_type} / {ref.probable_cause} "
                       f"(units.{unit.name}.alarms[{i}])", "the unit supports " + "; ".join(map(str, alarms)))  # fmt: skip
        chosen.append(found[0])
    return chosen


def mechanism(alarm: Alarm) -> str:
    return alarm.path + "ReportingMechanism"


def configure(bench_run: BenchRun, steps: Steps, step: str, wanted: dict[str, str]) -> None:
    """ReportingMechanism per alarm (SetParameterValues), read back, in one session."""
    with session(bench_run, steps, step) as s:
        s.set_values({n: (v, "xsd:string") for n, v in wanted.items()}, "fm-5.3.1")
        s.read_back(wanted)


def prepare(bench_run: BenchRun, steps: Steps, which: int) -> Alarm:
    """The alarm for mechanism `which`, set to it, with the event tables' notification set as the HeMS wants."""
    if bench_run.unit.cfg.actions.raise_alarm is None or bench_run.unit.cfg.actions.clear_alarm is None:
        pytest.skip(f"units.{bench_run.unit.name}.actions.raise_alarm and clear_alarm are not given: "
                    "5.3.2 raises alarms on the unit through them")  # fmt: skip
    alarms = supported(bench_run, steps, "pre")
    alarm = alarms[which % len(alarms)]
    wanted = {mechanism(alarm): MECHANISMS[which]}
    attributes = [(fm(bench_run) + f"{t}.", level) for t, level in NOTIFICATION.items()]
    attributes += [(fm(bench_run) + f"{t}NumberOfEntries", level) for t, level in NOTIFICATION.items()]
    with session(bench_run, steps, "pre") as s:  # one connection request for the step
        s.set_values({n: (v, "xsd:string") for n, v in wanted.items()}, "fm-5.3.1")
        s.read_back(wanted)
        spa = s.rpc("SetParameterAttributes", attributes=attributes)
    result = spa.result
    if isinstance(result, CwmpFault):
        steps.fail("pre", "SetParameterAttributesResponse to Active notification on the ExpeditedEvent table "
                   "and Passive on the QueuedEvent table",
                   f"fault {result.fault_code} {result.fault_string}, per parameter {result.param_faults}")  # fmt: skip
    return alarm


def act(bench_run: BenchRun, steps: Steps, action: str, alarm: Alarm) -> int:
    """Run the unit's `action` template for `alarm`; returns the timeline mark before it."""
    try:
        return bench_run.unit.act(action, alarm.values).mark
    except DeviceError as exc:
        steps.fail("alarm", f"the unit to confirm {action} for {alarm}", str(exc))


@contextlib.contextmanager
def raised(bench_run: BenchRun, steps: Steps, alarm: Alarm) -> Iterator[int]:
    """The alarm raised through the unit's template (yields the timeline mark before it), cleared after; a
    clear the unit does not confirm fails a test that passed, and is only tried after one that failed."""
    mark = act(bench_run, steps, "raise_alarm", alarm)
    try:
        yield mark
    except BaseException:
        with contextlib.suppress(DeviceError, ConfigError, InfraError):
            bench_run.unit.act("clear_alarm", alarm.values)
        raise
    act(bench_run, steps, "clear_alarm", alarm)


def reports(alarm: Alarm, table: str, kind: str = "NewAlarm") -> object:
    """An Inform at the Serving HeMS carrying a `kind` `table` entry (ExpeditedEvent, QueuedEvent) for it."""

    def match(e: Event) -> bool:
        if e.source != Source.HEMS or e.kind != HemsKind.INFORM or e.data.get("hems") != "serving-hems":
            return False
        return bool(reported(e, alarm, table, kind))

    return match


def reported(e: Event, alarm: Alarm, table: str, kind: str) -> list[dict[str, str]]:
    """The `kind` entries of `table` for the alarm in the Inform `e` (NotificationType NewAlarm when absent)."""
    found = entries(e.data.get("params", {}), table).values()
    return [f for f in found if alarm.is_in(f) and f.get("NotificationType", "NewAlarm") == kind]


def mentions(alarm: Alarm) -> object:
    """An Inform carrying any FaultMgmt entry for the alarm."""

    def match(e: Event) -> bool:
        if e.source != Source.HEMS or e.kind != HemsKind.INFORM:
            return False
        params = e.data.get("params", {})
        tables = ("ExpeditedEvent", "QueuedEvent", "HistoryEvent", "CurrentAlarm")
        return any(alarm.is_in(f) for t in tables for f in entries(params, t).values())

    return match


def quiet(bench_run: BenchRun, pred: object, since: int) -> Event | None:
    """The event matching `pred` within the quiet bound, or None (which is what the plan wants)."""
    try:
        return bench_run.timeline.wait_for(pred, bench_run.unit.bounds.quiet, "", since)  # type: ignore[arg-type]
    except DeviceError:
        return None


def not_reported(bench_run: BenchRun, steps: Steps, alarm: Alarm, name: str, mark: int) -> None:
    early = quiet(bench_run, mentions(alarm), mark)
    if early is not None:
        steps.fail("2", f"no Inform for the {name} alarm {alarm}",
                   f"an Inform carrying it: {steps.describe(early)}", early)  # fmt: skip


def kept(
    bench_run: BenchRun,
    steps: Steps,
    alarm: Alarm,
    tables: tuple[str, ...],
    before: dict[str, dict[str, str]],
) -> dict[str, dict[str, str]]:
    """Entries for the alarm in the unit's `tables` that were not there `before` (a GetParameterValues)."""
    got = get_values(bench_run, steps, "2", [fm(bench_run) + t + "." for t in tables])
    now = {p: f for t in tables for p, f in entries(got, t).items()}
    return {p: f for p, f in now.items() if alarm.is_in(f) and before.get(p) != f}


def snapshot(bench_run: BenchRun, steps: Steps, tables: tuple[str, ...]) -> dict[str, dict[str, str]]:
    got = get_values(bench_run, steps, "pre", [fm(bench_run) + t + "." for t in tables])
    return {p: f for t in tables for p, f in entries(got, t).items()}


@pytest.mark.clause("5.3.1")
def test_reporting_mechanism_configuration(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    alarms = supported(bench_run, steps, "2")
    # Every mechanism once, on as many alarms as the unit has (one SetParameterValues per round).
    for start in range(0, len(MECHANISMS), len(alarms)):
        rnd = MECHANISMS[start : start + len(alarms)]
        configure(bench_run, steps, "2", {mechanism(a): m for a, m in zip(alarms, rnd, strict=False)})


@pytest.mark.clause("5.3.1")
def test_invalid_reporting_mechanism_changes_nothing(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    """A ReportingMechanism outside its enumeration, beside a valid change of another alarm's: the set refused
    with a fault, and nothing changed (read back in the same session)."""
    alarms = supported(bench_run, steps, "2")
    valid: dict[str, tuple[str, str]] = {}
    if len(alarms) > 1:
        now = get_values(bench_run, steps, "2", [mechanism(alarms[1])]).get(mechanism(alarms[1]))
        valid[mechanism(alarms[1])] = (next(m for m in MECHANISMS if m != now), "xsd:string")
    invalid = {mechanism(alarms[0]): ("4 Sometimes", "xsd:string")}
    invalid_set_changes_nothing(bench_run, steps, "2", valid, invalid, "fm-5.3.1-invalid")


@pytest.mark.clause("5.3.2")
def test_expedited_alarm_is_reported_at_once(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    alarm = prepare(bench_run, steps, EXPEDITED)
    bound = bench_run.unit.bounds.alarm_inform
    with raised(bench_run, steps, alarm) as mark:
        new = steps.wait("2", reports(alarm, "ExpeditedEvent"), bound,  # type: ignore[arg-type]
                         f"an Inform carrying the Expedited alarm {alarm} (ExpeditedEvent) within {bound:g} s", mark)  # fmt: skip
    # Cleared (on leaving `raised`): the clearing event is Expedited too, under the identifier the unit gave it.
    ident = reported(new, alarm, "ExpeditedEvent", "NewAlarm")[-1].get("AlarmIdentifier", "")
    cleared = steps.wait("2", reports(alarm, "ExpeditedEvent", "ClearedAlarm"), bound,  # type: ignore[arg-type]
                         f"an Inform carrying the clearing of the Expedited alarm {alarm} within {bound:g} s",
                         new.seq + 1)  # fmt: skip
    idents = [f.get("AlarmIdentifier") for f in reported(cleared, alarm, "ExpeditedEvent", "ClearedAlarm")]
    if ident not in idents:
        steps.fail("2", f"the ClearedAlarm event with the AlarmIdentifier the unit raised it under ({ident!r})",
                   f"AlarmIdentifier {', '.join(map(repr, idents))}", cleared)  # fmt: skip


@pytest.mark.clause("5.3.2")
def test_queued_alarm_waits_for_the_next_inform(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    alarm = prepare(bench_run, steps, QUEUED)
    with raised(bench_run, steps, alarm) as mark:
        early = quiet(bench_run, mentions(alarm), mark)
        if early is not None:
            steps.fail("2", f"the Queued alarm {alarm} held for the next Inform",
                       f"an Inform carrying it at once: {steps.describe(early)}", early)  # fmt: skip
        nxt = next_inform(bench_run, steps, "2")
        if not reports(alarm, "QueuedEvent")(nxt):  # type: ignore[operator]
            steps.fail("2", f"the next Inform carrying the Queued alarm {alarm} (QueuedEvent)",
                       f"an Inform with {len(nxt.data.get('params', {}))} parameters, none of them it", nxt)  # fmt: skip


@pytest.mark.clause("5.3.2")
def test_logged_alarm_is_not_informed_but_kept(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    alarm = prepare(bench_run, steps, LOGGED)
    before = snapshot(bench_run, steps, ("HistoryEvent",))
    with raised(bench_run, steps, alarm) as mark:
        not_reported(bench_run, steps, alarm, "Logged", mark)
        new = kept(bench_run, steps, alarm, ("HistoryEvent",), before)
        if not new:
            steps.fail("2", f"the Logged alarm {alarm} in {fm(bench_run)}HistoryEvent", "no new entry for it")


@pytest.mark.clause("5.3.2")
def test_disabled_alarm_is_not_reported(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    alarm = prepare(bench_run, steps, DISABLED)
    with raised(bench_run, steps, alarm) as mark:
        not_reported(bench_run, steps, alarm, "Disabled", mark)
    # Silence proves something only if the template raises alarms on this unit: the same alarm, Logged now,
    # raised the same way, must show in its tables.
    configure(bench_run, steps, "pre", {mechanism(alarm): MECHANISMS[LOGGED]})
    tables = ("CurrentAlarm", "HistoryEvent")
    before = snapshot(bench_run, steps, tables)
    with raised(bench_run, steps, alarm):
        if not kept(bench_run, steps, alarm, tables, before):
            steps.fail("2", f"the control raise of {alarm} (ReportingMechanism 2 Logged, same template) in "
                       f"{fm(bench_run)}CurrentAlarm or HistoryEvent: without it the silence under Disabled proves nothing",
                       "no new entry for it in either")  # fmt: skip


# The clauses as the bench reads them: `henb-bench list`, the report's coverage and expected ladders, the twins.
_FIGURE_5_10 = "Figure 5-10: Alarm reporting"
CLAUSES = [
    cl.Clause(
        id="5.3.1",
        title="Alarm reporting mechanism configuration (Figure 5-9)",
        figure=cl.Figure(
            "Figure 5-9: Alarm reporting mechanism configuration",
            (*cl.rpc("SetParameterValues", "alarm mechanisms"), *cl.rpc("GetParameterValues", "read back")),
        ),
        checks=(
            cl.Check("2", "ReportingMechanism per alarm set and read back", (
                cl.Twin("spv_not_applied", ("the values just set, read back", "ReportingMechanism")),
            )),
            cl.Check("2", "an invalid ReportingMechanism (beside a valid change) refused with a fault", (
                cl.Twin("accept_invalid_values", ("a SetParameterValues fault refusing the set with the invalid "
                                                  "value", "'4 Sometimes'", "Status 0: the invalid value accepted")),
            ), key="invalid-refused"),
            cl.Check("2", "a refused set changes nothing, its valid values neither (TR-069 A.3.2.1): read back", (
                cl.Twin("partial_spv", ("nothing changed by the refused set", "part of the set was applied")),
            ), key="invalid-nothing-changed"),
        ),
    ),
    cl.Clause(
        id="5.3.2",
        title="Alarm reporting for Expedited and Queued alarms (Figure 5-10)",
        figure=cl.Figure(
            f"{_FIGURE_5_10} (Expedited)",
            (
                cl.alarm_raised(),
                cl.Step("Inform (4 VALUE CHANGE) ExpeditedEvent", "henb", cl.SERVING, "hems", "inform",
                        {"hems": cl.SERVING, "events": "4 VALUE CHANGE", "params": ".ExpeditedEvent."}),
                cl.inform_response(),
            ),
        ),
        tests={
            "test_queued_alarm_waits_for_the_next_inform": cl.Figure(
                f"{_FIGURE_5_10} (Queued: in the next Inform, not at once)",
                (
                    cl.alarm_raised(),
                    cl.connection_request(),
                    cl.Step("Inform (4 VALUE CHANGE) QueuedEvent", "henb", cl.SERVING, "hems", "inform",
                            {"hems": cl.SERVING, "events": "4 VALUE CHANGE", "params": ".QueuedEvent."}),
                    cl.inform_response(),
                ),
            ),
            "test_logged_alarm_is_not_informed_but_kept": cl.Figure(
                f"{_FIGURE_5_10} (Logged: no Inform, kept in HistoryEvent)",
                (cl.alarm_raised(), *cl.rpc("GetParameterValues", "HistoryEvent")),
            ),
            "test_disabled_alarm_is_not_reported": cl.Figure(
                f"{_FIGURE_5_10} (Disabled: no Inform)",
                (*cl.rpc("SetParameterValues", "alarm mechanisms"), *cl.rpc("GetParameterValues", "read back")),
            ),
        },
        checks=(
            cl.Check("2", "an Expedited alarm in an Inform at once; a Queued one in the next Inform (as the HeMS "
                     "set the event tables' notification)", (
                cl.Twin("no_alarm_inform", ("Expedited alarm Communications Alarm / S1 link failure "
                                            "(ExpeditedEvent)", "QueuedEvent"), whole_clause=True),
                cl.Twin("ignore_notification_attributes", (
                    "Expedited alarm Communications Alarm / S1 link failure (ExpeditedEvent)", "nothing within")),
            )),
            cl.Check("2", "a Queued alarm not sent at once; Logged and Disabled ones never sent", (
                cl.Twin("queued_alarm_immediate", (
                    "Queued alarm Equipment Alarm / Transmitter failure held for the next Inform",)),
                cl.Twin("logged_alarm_informed", (
                    "no Inform for the Logged alarm Environmental Alarm / High temperature",)),
                cl.Twin("ignore_reporting_mechanism", ("held for the next Inform",
                                                       "no Inform for the Disabled alarm"), whole_clause=True),
            )),
            cl.Check("2", "an Expedited alarm's clearing reported at once, under the AlarmIdentifier it was raised "
                     "with", (
                cl.Twin("cleared_alarm_new_identifier", (
                    "ClearedAlarm event with the AlarmIdentifier the unit raised it under ('{serial}-alarm-1')",
                    "'{serial}-alarm-1-cleared'")),
            )),
            cl.Check("2", "a Logged alarm kept in FaultMgmt.HistoryEvent", (
                cl.Twin("alarm_history_not_kept", (
                    "Logged alarm Environmental Alarm / High temperature in", "FaultMgmt.HistoryEvent")),
            )),
            cl.Check("2", "the raise_alarm template raises alarms: the Disabled one, Logged now, shows in "
                     "CurrentAlarm or HistoryEvent", (
                cl.Twin("alarm_not_raised", ("the control raise of Processing Error Alarm / Software error",
                                             "silence under Disabled proves nothing"), whole_clause=True),
            )),
            cl.Check("pre", "before an alarm is raised: SupportedAlarm read, its ReportingMechanism set and read "
                     "back, the event tables' notification set", (
                cl.Twin("gpv_fault", ("GetParameterValuesResponse for", "fault 9002 Internal error")),
            )),
            cl.Check("alarm", "the unit confirms the raise_alarm and clear_alarm actions (their expect)", (
                cl.Twin("alarm_command_refused", ("the unit to confirm raise_alarm for",)),
            )),
        ),
    ),
]  # fmt: skip

"""The mock unit's alarms (TS 32.593 5.5, TR-069 FaultMgmt): raised and cleared from its console, kept in
CurrentAlarm and the event tables, reported to the HeMS as each alarm's ReportingMechanism says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bench.knobs import Knob
from bench.mock.datamodel import NOTIFY_ACTIVE, DataModel

EVENT_TABLE_SIZE = 32
EVENT_FIELDS = (
    "EventTime",
    "AlarmIdentifier",
    "NotificationType",
    "ManagedObjectInstance",
    "EventType",
    "ProbableCause",
    "SpecificProblem",
    "PerceivedSeverity",
    "AdditionalText",
    "AdditionalInformation",
)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Alarms:
    """`model` gives the unit's current data model (a factory reset replaces it); `notify(events, params,
    at_once)` queues an Inform; `dialect` is the console's (bench or vendor)."""

    def __init__(
        self,
        model: Callable[[], DataModel],
        fm: str,
        knobs: set[str],
        dialect: str,
        serial: str,
        log: Callable[[str], None],
        notify: Callable[[dict[str, str], list[str], bool], None],
    ) -> None:
        self.model = model
        self.fm = fm
        self.knobs = knobs
        self.dialect = dialect
        self.serial = serial
        self.log = log
        self.notify = notify

    def find(self, event_type: str, cause: str, problem: str | None = None) -> int | None:
        """The SupportedAlarm instance with this EventType and ProbableCause (and SpecificProblem, given)."""
        for n in self.model().instances(self.fm + "SupportedAlarm."):
            b, g = f"{self.fm}SupportedAlarm.{n}.", self.model().get
            if (g(b + "EventType"), g(b + "ProbableCause")) == (event_type, cause) and problem in (
                None,
                g(b + "SpecificProblem"),
            ):
                return n
        return None

    def alarm(self, action: str, n: int) -> None:
        """Raise or clear SupportedAlarm instance `n`, as the console command does."""
        m = self.model()
        sup = f"{self.fm}SupportedAlarm.{n}."
        if sup not in m.objects:
            self.log(f"alarm: no SupportedAlarm {n} (see `alarm list`)")
            return
        mech = m.get(sup + "ReportingMechanism")
        if Knob.IGNORE_REPORTING_MECHANISM in self.knobs:
            mech = "0 Expedited"
        # Each CLI has its own AlarmIdentifier format: nothing but the unit's reports may tell the bench.
        ident = f"0x{0x1000 + n:04x}" if self.dialect == "vendor" else f"{self.serial}-alarm-{n}"
        current = [
            i
            for i in m.instances(self.fm + "CurrentAlarm.")
            if m.get(f"{self.fm}CurrentAlarm.{i}.AlarmIdentifier") == ident
        ]
        what = f"{m.get(sup + 'EventType')} / {m.get(sup + 'ProbableCause')}"
        if mech == "3 Disabled" or Knob.ALARM_NOT_RAISED in self.knobs:
            if mech != "3 Disabled":
                self.log(f"bug: alarm {n} confirmed on the console, never raised")
            self.said(action, n, ident, what, mech, "ignored")
            return
        t = now_iso()
        fields = {
            "EventTime": t,
            "AlarmIdentifier": ident,
            "ManagedObjectInstance": m.root + "Services.FAPService.1",
            "EventType": m.get(sup + "EventType"),
            "ProbableCause": m.get(sup + "ProbableCause"),
            "SpecificProblem": m.get(sup + "SpecificProblem"),
            "AdditionalText": f"raised from the console of {self.serial}",
            "AdditionalInformation": "",
        }
        if action == "raise":
            if current:
                vendor = f"% FM: alarm {ident} already asserted"
                self.log(vendor if self.dialect == "vendor" else f"alarm: {n} is already raised ({ident})")
                return
            fields.update(NotificationType="NewAlarm", PerceivedSeverity=m.get(sup + "PerceivedSeverity"))
            ca = f"{self.fm}CurrentAlarm.{m.add_internal(self.fm + 'CurrentAlarm.')}."
            # CurrentAlarm has the event's fields but its time and type (it has Raised/ChangedTime instead).
            for k in EVENT_FIELDS:
                if k not in ("EventTime", "NotificationType"):
                    m.params[ca + k].value = fields[k]
            m.params[ca + "AlarmRaisedTime"].value = t
            m.params[ca + "AlarmChangedTime"].value = t
        else:
            if not current:
                self.log(
                    f"% FM: alarm {ident} not active"
                    if self.dialect == "vendor"
                    else f"alarm: {n} is not raised"
                )
                return
            fields.update(NotificationType="ClearedAlarm", PerceivedSeverity="Cleared")
            if Knob.CLEARED_ALARM_NEW_IDENTIFIER in self.knobs:
                fields["AlarmIdentifier"] = f"{ident}-cleared"
            for i in current:
                m.delete(f"{self.fm}CurrentAlarm.{i}.")
        if Knob.ALARM_HISTORY_NOT_KEPT not in self.knobs:
            self.add_event("HistoryEvent", fields)
        where = "HistoryEvent"
        if Knob.NO_ALARM_INFORM in self.knobs:
            self.log("bug: alarm recorded but never reported to the HeMS")
            mech = mech if mech != "2 Logged" else "3 none"
            if mech in ("0 Expedited", "1 Queued"):
                where = self.add_event("ExpeditedEvent" if mech == "0 Expedited" else "QueuedEvent", fields)
        elif mech in ("0 Expedited", "1 Queued"):
            table = "ExpeditedEvent" if mech == "0 Expedited" else "QueuedEvent"
            where = entry = self.add_event(table, fields)
            # TR-181: the new entry's values count as changed; they reach the HeMS as the notification
            # attributes it set on the table (or its NumberOfEntries) say: Active at once, Passive next Inform.
            count = f"{self.fm}{table}NumberOfEntries"
            names = [entry + f for f in EVENT_FIELDS if entry + f in m.params]
            level = max(m.params[n].notification for n in [*names, count] if n in m.params)
            if m.params[count].notification:
                names.append(count)
            if level == 0:
                where += " (no notification set: not reported)"
            else:
                at_once = level == NOTIFY_ACTIVE or Knob.QUEUED_ALARM_IMMEDIATE in self.knobs
                self.notify({"4 VALUE CHANGE": ""}, names, at_once)
        elif mech == "2 Logged" and Knob.LOGGED_ALARM_INFORMED in self.knobs:
            hist = f"{self.fm}HistoryEvent.{m.instances(self.fm + 'HistoryEvent.')[-1]}."
            self.notify({"4 VALUE CHANGE": ""}, [hist + f for f in EVENT_FIELDS], True)
        self.said(action, n, ident, f"{what} / {fields['PerceivedSeverity']}", mech, where)

    def said(self, action: str, n: int, ident: str, what: str, mech: str, where: str) -> None:
        """The console's confirmation of an alarm command, in the unit's dialect."""
        if self.dialect == "vendor":
            verb = "asserted" if action == "raise" else "ceased"
            self.log(f"FM-OK: alarm {ident} {verb} [{what}] report={mech.split()[-1].lower()}")
        else:
            done = "raised" if action == "raise" else "cleared"
            self.log(f"alarm: {done} {n} {ident} ({what}) via {mech}: {where}")

    def add_event(self, table: str, fields: dict[str, str]) -> str:
        m = self.model()
        tbl = f"{self.fm}{table}."
        existing = m.instances(tbl)
        if len(existing) >= EVENT_TABLE_SIZE:
            m.delete(f"{tbl}{existing[0]}.")
        entry = f"{tbl}{m.add_internal(tbl)}."
        for k in EVENT_FIELDS:
            if entry + k in m.params:
                m.params[entry + k].value = fields[k]
        return entry

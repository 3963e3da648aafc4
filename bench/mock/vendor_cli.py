"""A vendor-style CLI for the mock's console (`mock.console_dialect: vendor`): its own prompt, commands and
confirmations, so the inventory's action templates are tested against a CLI the plans do not know."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.mock.henb import MockHeNB

PROMPT = "FAP-200> "
HELP = (
    "fm alarm show | fm alarm set|reset --event-type T --cause C [--specific-problem P] | show status | "
    "pm rop close | sys reboot | sys restore-defaults"
)


class _Refused(Exception):
    pass


class _Args(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _Refused(message)


_ALARM = _Args(prog="fm alarm", add_help=False)
_ALARM.add_argument("--event-type", required=True)
_ALARM.add_argument("--cause", required=True)
_ALARM.add_argument("--specific-problem")


def vendor_command(unit: MockHeNB, line: str) -> None:
    """One command line typed on the console; the prompt follows its output."""
    try:
        _command(unit, shlex.split(line))
    except (ValueError, _Refused) as exc:
        unit.log(f"% Invalid input: {exc}")
    sys.stdout.write(PROMPT)
    sys.stdout.flush()


def _command(unit: MockHeNB, words: list[str]) -> None:
    m, fm = unit.model, unit.fm
    if words == ["show", "status"]:
        unit.log(f"Operational state: {unit.state}; tunnel address {unit.vip or '-'}")
    elif words == ["sys", "reboot"]:
        unit.log("SYS: system going down for reboot")
        unit.restart("console")
    elif words == ["sys", "restore-defaults"]:
        unit.log("SYS: restoring factory defaults, system going down")
        unit.restart("factory")
    elif words == ["pm", "rop", "close"]:
        closed = unit.pm.force()
        unit.log(
            f"PM-OK: ROP closed, {closed} file(s) queued for upload" if closed else "% PM: no active job"
        )
    elif words == ["fm", "alarm", "show"]:
        for n in m.instances(fm + "SupportedAlarm."):
            b = f"{fm}SupportedAlarm.{n}."
            unit.log(
                f"  {m.get(b + 'EventType'):28} {m.get(b + 'ProbableCause'):24} {m.get(b + 'ReportingMechanism')}"
            )
    elif words[:2] == ["fm", "alarm"] and len(words) > 2 and words[2] in ("set", "reset"):
        a = _ALARM.parse_args(words[3:])
        found = unit.alarms.find(a.event_type, a.cause, a.specific_problem)
        if found is None:
            unit.log(f"% FM: unknown alarm type {a.event_type!r}/{a.cause!r}")
            return
        unit.alarms.alarm("raise" if words[2] == "set" else "clear", found)
    else:
        unit.log(f"% Unknown command: {' '.join(words)} (try: {HELP})")

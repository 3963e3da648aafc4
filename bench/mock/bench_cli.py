"""The mock console's own CLI (`mock.console_dialect: bench`, the default): status, alarms, set, PM flush,
reboot, factory-reset; the vendor dialect is vendor_cli.py."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from bench.knobs import Knob

if TYPE_CHECKING:
    from bench.mock.henb import MockHeNB

HELP = (
    "commands: status | alarm list | alarm raise|clear ID | alarm raise|clear 'EVENT TYPE' 'PROBABLE CAUSE' "
    "['SPECIFIC PROBLEM'] | set NAME VALUE | pm flush | reboot | factory-reset | help "
    "(ID = SupportedAlarm instance number)"
)


def bench_command(unit: MockHeNB, cmd: str) -> None:
    """One command line of the bench dialect."""
    words = cmd.split()
    if words == ["status"]:
        current = len(unit.model.instances(unit.fm + "CurrentAlarm."))
        unit.log(
            f"status: state={unit.state} inner={unit.vip} serial={unit.device_id.serial_number} "
            f"hems={unit.model.get(unit.ms + 'URL')} alarms={current} knobs={sorted(unit.knobs) or 'none'}"
        )
    elif words == ["factory-reset"]:
        unit.restart("factory")
    elif words == ["reboot"]:
        unit.log("reboot: restarting")
        unit.restart("console")
    elif words == ["pm", "flush"]:
        closed = unit.pm.force()
        unit.log(
            f"pm: flushed {closed} period(s), uploading" if closed else "pm: nothing to flush (no PM enabled)"
        )
    elif words == ["help"]:
        unit.log(HELP)
    elif words == ["alarm", "list"]:
        for n in unit.model.instances(unit.fm + "SupportedAlarm."):
            b = f"{unit.fm}SupportedAlarm.{n}."
            g = unit.model.get
            unit.log(
                f"alarm {n}: {g(b + 'EventType')} / {g(b + 'ProbableCause')} / {g(b + 'PerceivedSeverity')} "
                f"-> {g(b + 'ReportingMechanism')}"
            )
    elif len(words) >= 2 and words[0] == "set":
        unit.change(words[1], " ".join(words[2:]))
    elif (
        len(words) >= 3
        and words[0] == "alarm"
        and words[1] in ("raise", "clear")
        and (Knob.ALARM_COMMAND_REFUSED in unit.knobs)
    ):
        unit.log("alarm: busy")
    elif len(words) == 3 and words[0] == "alarm" and words[1] in ("raise", "clear") and words[2].isdigit():
        unit.alarms.alarm(words[1], int(words[2]))
    elif len(words) >= 3 and words[0] == "alarm" and words[1] in ("raise", "clear"):
        try:
            what = shlex.split(cmd)[2:]
        except ValueError as exc:
            unit.log(f"alarm: cannot read {cmd!r}: {exc}")
            return
        found = unit.alarms.find(*what[:3]) if 2 <= len(what) <= 3 else None
        if found is None:
            unit.log(f"alarm: no SupportedAlarm {' / '.join(what)} (see `alarm list`)")
        else:
            unit.alarms.alarm(words[1], found)
    else:
        unit.log(f"unknown command: {cmd} ({HELP})")

"""Unit actions: what only the unit can do (raise or clear an alarm, reboot, force a PM period, factory
reset), run from the inventory's per-unit templates over its console, its shell or the operator's hands.
Errors name the action, the template and what was seen."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.errors import ConfigError, DeviceError, InfraError, driver_calls
from bench.events import Source, UnitKind
from bench.inventory import PLACEHOLDERS, ConsoleAction, ManualAction, ShellAction
from bench.timeline import Bound, Event

if TYPE_CHECKING:
    from bench.unit.lifecycle import BenchUnit

Action = ConsoleAction | ShellAction | ManualAction


@dataclass(frozen=True)
class Done:
    """An action the unit confirmed: `seen` is the console line or shell output that did (None for a manual
    action without `expect`: what the plan waits for next is the evidence); `mark` is where it starts on the
    timeline."""

    action: str
    key: str
    sent: str
    seen: str | None
    mark: int

    @property
    def confirmed(self) -> bool:
        return self.seen is not None


class _Values(dict[str, str]):
    def __init__(self, values: dict[str, str], key: str) -> None:
        super().__init__(values)
        self.key = key

    def __missing__(self, name: str) -> str:
        raise ConfigError(
            f"{self.key}: placeholder {{{name}}} has no value for this action "
            f"(it gets {', '.join('{' + n + '}' for n in self) or 'none'})"
        )


def fill(template: str, values: dict[str, str], key: str) -> str:
    """The template with its placeholders filled; a placeholder the action has no value for is a ConfigError."""
    return template.format_map(_Values({k: v for k, v in values.items() if k in PLACEHOLDERS}, key))


def run_action(
    unit: BenchUnit,
    name: str,
    action: Action,
    key: str,
    default: Bound,
    values: dict[str, str] | None = None,
) -> Done:
    """Run `action` (named `name`, given at inventory key `key`) on `unit`, waiting `action.timeout` or
    `default` for its confirmation. DeviceError when the unit does not confirm it."""
    timeout = Bound(action.timeout, f"{key}.timeout") if action.timeout is not None else default
    vals = values or {}
    tl = unit.run.timeline
    mark = tl.mark()
    if isinstance(action, ManualAction):
        text = fill(action.instructions, vals, f"{key}.instructions")
        tl.add(
            Source.UNIT, UnitKind.ACTION, unit=unit.name, action=name, method="manual", sent=text, values=vals
        )
        wait = f"; waiting up to {timeout:g} s ({timeout.key}) for it" if action.expect else ""
        unit.say(f"\nhenb-bench: unit {unit.name} needs the operator ({key} is manual):\n  {text}{wait}\n")
        if action.expect is None:
            return Done(name, key, text, None, mark)
        try:
            line = _console_line(unit, action.expect, timeout, mark, None)
        except DeviceError as exc:
            raise InfraError(f"{name} ({key}: manual) not done: {exc}") from None
        return Done(name, key, text, line, mark)
    cmd = fill(action.command, vals, f"{key}.command")
    tl.add(
        Source.UNIT, UnitKind.ACTION, unit=unit.name, action=name, method=action.method, sent=cmd, values=vals
    )
    if isinstance(action, ConsoleAction):
        with driver_calls():
            unit.console.write(cmd + "\n")
        try:
            line = _console_line(unit, action.expect, timeout, mark, cmd)
        except DeviceError as exc:
            raise DeviceError(f"{name} not confirmed ({key}: console {cmd!r}): {exc}") from None
        tl.add(Source.UNIT, UnitKind.ACTION_CONFIRMED, unit=unit.name, action=name, line=line)
        return Done(name, key, cmd, line, mark)
    if unit.shell is None:  # the inventory requires a shell for a shell action; a unit built without one
        raise ConfigError(f"{key}: method shell needs units.{unit.name}.shell")
    with driver_calls():
        res = unit.shell.run(cmd, timeout=timeout, check=False)
    out = (res.stdout + res.stderr).strip()
    tail = out[-400:] or "(no output)"
    if not res.ok:
        raise DeviceError(
            f"{name} failed ({key}: shell {cmd!r}): exit status {res.exit_status}; output: {tail}"
        )
    if action.expect is not None and not re.search(action.expect, res.stdout):
        raise DeviceError(
            f"{name} not confirmed ({key}: shell {cmd!r}, expect {action.expect!r}): output: {tail}"
        )
    tl.add(Source.UNIT, UnitKind.ACTION_CONFIRMED, unit=unit.name, action=name, line=out[-200:])
    return Done(name, key, cmd, out, mark)


def _console_line(unit: BenchUnit, expect: str, timeout: float, mark: int, echo: str | None) -> str:
    """The first console line of the unit after `mark` matching `expect`, other than the echo of `echo`."""
    regex = re.compile(expect)

    def confirms(e: Event) -> bool:
        line = str(e.data.get("line", ""))
        return (
            e.source == "console"
            and e.kind == "console-line"
            and e.data.get("unit") == unit.name
            and not (echo and echo in line)
            and regex.search(line) is not None
        )

    def said(e: Event) -> bool:
        return e.source == "console" and e.kind == "console-line" and e.data.get("unit") == unit.name

    ev = unit.run.timeline.wait_for(confirms, timeout, f"console line matching {expect!r}", mark, said)
    return str(ev.data["line"])

"""What only the unit can do, as the templates a lab writes for it (`units.NAME.actions`): raise and clear an
alarm, reboot, factory reset, close a PM period; by console, shell or the operator's hand."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from bench.inventory.fields import Strict


class HemsReset(Strict):
    """The Serving HeMS sends FactoryReset while the unit is registered (TR-069 RPC)."""

    method: Literal["hems"] = "hems"


PLACEHOLDERS = ("event_type", "probable_cause", "specific_problem", "perceived_severity")
ACTION_TIMEOUT = Field(
    None, gt=0, description="seconds to wait for the confirmation (default: the unit's bounds.step)"
)


def _placeholders(v: str) -> set[str]:
    import string

    try:
        return {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
    except ValueError as exc:
        raise ValueError(f"not a template: {exc}") from None


def _template(v: str) -> str:
    """A template names only the placeholders the bench fills ({event_type}, ...); {{ and }} are literal braces."""
    unknown = _placeholders(v) - set(PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in sorted(unknown))}, "
            f"expected some of {', '.join('{' + n + '}' for n in PLACEHOLDERS)}"
        )
    return v


def _regex(v: str) -> str:
    import re

    try:
        re.compile(v)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return v


class ConsoleAction(Strict):
    """A command typed on the unit's console; a console line matching `expect` (a regex) confirms it."""

    method: Literal["console"]
    command: Annotated[str, Field(min_length=1)]
    expect: Annotated[str, Field(min_length=1)]
    timeout: float | None = ACTION_TIMEOUT

    _checked = field_validator("command")(classmethod(lambda cls, v: _template(v)))
    _checked_re = field_validator("expect")(classmethod(lambda cls, v: _regex(v)))


class ShellAction(Strict):
    """A command through the unit's shell (units.NAME.shell); exit status 0 (and `expect` in its output,
    when given) confirms it."""

    method: Literal["shell"]
    command: Annotated[str, Field(min_length=1)]
    expect: str | None = None
    timeout: float | None = ACTION_TIMEOUT

    _checked = field_validator("command")(classmethod(lambda cls, v: _template(v)))
    _checked_re = field_validator("expect")(classmethod(lambda cls, v: v if v is None else _regex(v)))


class ManualAction(Strict):
    """The bench prints `instructions` for the operator; with `expect`, it waits for a console line matching
    it, else it goes on and what the plan waits for next is the evidence."""

    method: Literal["manual"]
    instructions: Annotated[str, Field(min_length=1)]
    expect: str | None = None
    timeout: float | None = ACTION_TIMEOUT

    _checked = field_validator("instructions")(classmethod(lambda cls, v: _template(v)))
    _checked_re = field_validator("expect")(classmethod(lambda cls, v: v if v is None else _regex(v)))


# A factory reset's console and shell ways are the generic ones (their timeout defaults to bounds.factory_reset).
ConsoleReset = ConsoleAction
ShellReset = ShellAction


class ManualReset(ManualAction):
    """The bench prints `instructions` and waits (bounds.factory_reset) for the unit to come back factory-fresh."""

    instructions: str = "Factory-reset the unit (e.g. hold its reset button), then leave it powered."


ActionConfig = Annotated[ConsoleAction | ShellAction | ManualAction, Field(discriminator="method")]
FactoryResetConfig = Annotated[
    HemsReset | ConsoleAction | ShellAction | ManualReset, Field(discriminator="method")
]


class Actions(Strict):
    """What only the unit can do, as templates a lab writes for its unit (console, shell or manual).
    raise_alarm and clear_alarm get {event_type}, {probable_cause}, {specific_problem} and {perceived_severity}
    of a SupportedAlarm entry the unit reported."""

    raise_alarm: ActionConfig | None = None
    clear_alarm: ActionConfig | None = None
    reboot: ActionConfig | None = None
    factory_reset: FactoryResetConfig | None = None
    force_pm_period: ActionConfig | None = Field(
        None,
        description="close the current PM collection period now and upload its file (a unit's `close ROP` or "
        "`flush PM`): 5.4.2 then checks the first file at once instead of waiting a whole interval for it",
    )

    @field_validator("reboot", "force_pm_period", "factory_reset")
    @classmethod
    def _no_values(cls, v: object) -> object:
        field = "command" if hasattr(v, "command") else "instructions"
        text = getattr(v, field, None) or ""
        if names := _placeholders(text):
            raise ValueError(
                f"{field} {text!r} names {', '.join('{' + n + '}' for n in sorted(names))}, but this action gets "
                "no values (only raise_alarm and clear_alarm do; write {{ and }} for a literal brace)"
            )
        return v

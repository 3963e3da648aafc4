"""Unit actions (bench/unit/actions.py): the inventory's templates, and running them over a console, a shell
or the operator, with errors that name the action, the template and what was seen."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import pmfile
from bench.cwmp import SpvResult
from bench.errors import ConfigError, DeviceError, InfraError
from bench.inventory import (
    ConsoleAction,
    HemsReset,
    ManualAction,
    ShellAction,
    load_inventory,
    parse_inventory,
)
from bench.run import BenchRun
from bench.timeline import Bound, Timeline
from bench.unit import State
from bench.unit.actions import fill, run_action
from drivers.shell.base import CommandResult
from tests.bench.test_inventory import error_for
from tests.support import ROOT, henb_bench, needs_root, wipe_flash, write_inventory

ALARM = {"event_type": "Equipment Alarm", "probable_cause": "Transmitter failure", "specific_problem": "RF off",
         "perceived_severity": "Critical"}  # fmt: skip
STEP = Bound(2.0, "units.u.bounds.step")


def default() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    return data


def unit_of(data: dict[str, Any]) -> dict[str, Any]:
    unit: dict[str, Any] = data["units"]["henb-01"]
    return unit


# -- the inventory -----------------------------------------------------------------------------------------


def test_default_inventory_has_console_templates_for_the_mock() -> None:
    unit = parse_inventory(default(), Path("inv.yaml")).units["henb-01"]
    assert (
        isinstance(unit.actions.raise_alarm, ConsoleAction)
        and "{event_type}" in unit.actions.raise_alarm.command
    )
    assert unit.reset == (HemsReset(), "actions.factory_reset")


def test_factory_reset_in_its_older_place_still_works() -> None:
    data = default()
    unit_of(data)["factory_reset"] = {"method": "console", "command": "factory-reset", "expect": "restored"}
    unit = parse_inventory(data, Path("inv.yaml")).units["henb-01"]
    how, where = unit.reset
    assert isinstance(how, ConsoleAction) and where == "factory_reset"


def test_factory_reset_in_both_places_is_refused() -> None:
    data = default()
    unit_of(data)["factory_reset"] = {"method": "hems"}
    unit_of(data)["actions"]["factory_reset"] = {"method": "hems"}
    assert "factory_reset and actions.factory_reset both given" in error_for(data)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"method": "console", "command": "fm set {cause}", "expect": "OK"},
         "units.henb-01.actions.raise_alarm.command: found 'fm set {cause}'; unknown placeholder(s) {cause}"),
        ({"method": "console", "command": "fm set", "expect": "(OK"},
         "units.henb-01.actions.raise_alarm.expect: found '(OK'; not a regular expression"),
        ({"method": "console", "command": "fm set"}, "units.henb-01.actions.raise_alarm.expect: required key"),
        ({"method": "telnet", "command": "x"}, "units.henb-01.actions.raise_alarm.method: found 'telnet'"),
        ({"method": "shell", "command": "fm-set"}, "raise_alarm method shell needs a shell entry"),
        ({"method": "manual", "instructions": "Press {button}"}, "unknown placeholder(s) {button}"),
    ],
)  # fmt: skip
def test_bad_templates_are_named(action: dict[str, Any], expected: str) -> None:
    data = default()
    unit_of(data)["actions"]["raise_alarm"] = action
    assert expected in error_for(data)


def test_force_pm_period_is_an_optional_action_template() -> None:
    unit = parse_inventory(default(), Path("inv.yaml")).units["henb-01"]
    assert unit.actions.force_pm_period == ConsoleAction(
        method="console", command="pm flush", expect="pm: flushed "
    )
    data = default()
    del unit_of(data)["actions"]["force_pm_period"]
    assert parse_inventory(data, Path("inv.yaml")).units["henb-01"].actions.force_pm_period is None
    unit_of(data)["actions"]["force_pm_period"] = {"method": "manual", "instructions": "Press PM flush"}
    how = parse_inventory(data, Path("inv.yaml")).units["henb-01"].actions.force_pm_period
    assert isinstance(how, ManualAction) and how.expect is None


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"method": "console", "command": "pm flush"}, "units.henb-01.actions.force_pm_period.expect: required key"),
        ({"method": "console", "command": "pm flush", "expect": "flushed ["},
         "units.henb-01.actions.force_pm_period.expect: found 'flushed ['; not a regular expression"),
        ({"method": "snmp", "command": "x"}, "units.henb-01.actions.force_pm_period.method: found 'snmp'"),
        ({"method": "shell", "command": "pmctl flush"}, "force_pm_period method shell needs a shell entry"),
        ({"method": "console", "command": "pm flush {event_type}", "expect": "OK"},
         "units.henb-01.actions.force_pm_period: command 'pm flush {event_type}' names {event_type}, but this "
         "action gets no values"),
        ({"method": "manual", "instructions": "Close the {rop}"},
         "units.henb-01.actions.force_pm_period.instructions: found 'Close the {rop}'; unknown placeholder(s) {rop}"),
        ("pm flush", "units.henb-01.actions.force_pm_period: found 'pm flush'"),
    ],
)  # fmt: skip
def test_bad_force_pm_period_templates_are_named(action: Any, expected: str) -> None:
    data = default()
    unit_of(data)["actions"]["force_pm_period"] = action
    assert expected in error_for(data)


def test_alarms_to_raise_are_named_by_what_identifies_them() -> None:
    data = default()
    unit_of(data)["alarms"] = [{"event_type": "Equipment Alarm", "probable_cause": "Transmitter failure"}]
    unit = parse_inventory(data, Path("inv.yaml")).units["henb-01"]
    assert unit.alarms[0].event_type == "Equipment Alarm" and unit.alarms[0].specific_problem is None
    unit_of(data)["alarms"] = [{"event_type": "Equipment Alarm"}]
    assert "units.henb-01.alarms.0.probable_cause: required key" in error_for(data)


def test_fill_quotes_nothing_and_names_a_missing_placeholder() -> None:
    assert fill("fm set '{event_type}' {{x}}", ALARM, "k") == "fm set 'Equipment Alarm' {x}"
    with pytest.raises(
        ConfigError, match=r"units.u.actions.reboot.command: placeholder \{event_type\} has no value"
    ):
        fill("reboot {event_type}", {}, "units.u.actions.reboot.command")


# -- running them ------------------------------------------------------------------------------------------


class FakeConsole:
    """A unit's console on the timeline: what is written is echoed, then `answer(command)` lines follow."""

    def __init__(self, tl: Timeline, answer: Any) -> None:
        self.tl, self.answer, self.written = tl, answer, []  # type: list[str]

    def write(self, data: str) -> None:
        self.written.append(data)
        cmd = data.strip()

        def reply() -> None:
            self.tl.add("console", "console-line", unit="u", line=f"FAP-200> {cmd}")  # the echo
            for line in self.answer(cmd):
                self.tl.add("console", "console-line", unit="u", line=line)

        threading.Thread(target=reply).start()


class FakeShell:
    def __init__(self, result: CommandResult) -> None:
        self.result, self.ran = result, []  # type: list[str]

    def run(self, command: str, timeout: float = 30.0, check: bool = False) -> CommandResult:
        self.ran.append(command)
        return self.result


class FakeRun:
    def __init__(self) -> None:
        self.timeline = Timeline()


class FakeUnit:
    def __init__(self, answer: Any = lambda cmd: [], shell: FakeShell | None = None) -> None:
        self.name = "u"
        self.run = FakeRun()
        self.console = FakeConsole(self.run.timeline, answer)
        self.shell = shell
        self.said: list[str] = []
        self.say = self.said.append


def test_console_action_is_confirmed_by_its_pattern_not_by_the_echo() -> None:
    unit = FakeUnit(lambda cmd: ["FM-OK: alarm 0x1002 asserted"] if cmd.startswith("fm alarm set") else [])
    action = ConsoleAction(method="console", command="fm alarm set --event-type '{event_type}'",
                           expect="alarm set|asserted")  # fmt: skip
    done = run_action(unit, "raise alarm", action, "units.u.actions.raise_alarm", STEP, ALARM)  # type: ignore[arg-type]
    assert unit.console.written == ["fm alarm set --event-type 'Equipment Alarm'\n"]
    assert done.seen == "FM-OK: alarm 0x1002 asserted" and done.confirmed
    assert [e.kind for e in unit.run.timeline.events() if e.source == "unit"] == [
        "action",
        "action-confirmed",
    ]


def test_console_action_without_its_confirmation_names_action_template_and_what_was_seen() -> None:
    unit = FakeUnit(lambda cmd: ['% Unknown command: alarm raise "Equipment Alarm"'])
    action = ConsoleAction(method="console", command="alarm raise '{event_type}'", expect="alarm: raised ",
                           timeout=0.5)  # fmt: skip
    with pytest.raises(DeviceError) as exc:
        run_action(unit, "raise alarm", action, "units.u.actions.raise_alarm", STEP, ALARM)  # type: ignore[arg-type]
    msg = str(exc.value)
    assert (
        "raise alarm not confirmed (units.u.actions.raise_alarm: console \"alarm raise 'Equipment Alarm'\")"
        in msg
    )
    assert "0.5 s (units.u.actions.raise_alarm.timeout)" in msg and "'alarm: raised '" in msg
    assert "% Unknown command" in msg


def test_shell_action_exit_status_and_expect() -> None:
    ok = FakeShell(CommandResult("x", 0, "alarm 7 raised\n", ""))
    unit = FakeUnit(shell=ok)
    action = ShellAction(method="shell", command="fmcli raise '{probable_cause}'", expect=r"alarm \d+ raised")
    done = run_action(unit, "raise alarm", action, "units.u.actions.raise_alarm", STEP, ALARM)  # type: ignore[arg-type]
    assert ok.ran == ["fmcli raise 'Transmitter failure'"] and done.confirmed
    unit = FakeUnit(shell=FakeShell(CommandResult("x", 0, "nothing to do\n", "")))
    with pytest.raises(
        DeviceError, match=r"not confirmed \(units.u.actions.raise_alarm: shell .*output: nothing"
    ):
        run_action(unit, "raise alarm", action, "units.u.actions.raise_alarm", STEP, ALARM)  # type: ignore[arg-type]
    unit = FakeUnit(shell=FakeShell(CommandResult("x", 127, "", "fmcli: not found")))
    with pytest.raises(DeviceError, match=r"raise alarm failed .*exit status 127; output: fmcli: not found"):
        run_action(unit, "raise alarm", action, "units.u.actions.raise_alarm", STEP, ALARM)  # type: ignore[arg-type]


def test_manual_action_asks_the_operator_and_waits_for_its_pattern() -> None:
    unit = FakeUnit()
    action = ManualAction(method="manual", instructions="Pull the RF cable ({probable_cause})")
    done = run_action(unit, "raise alarm", action, "units.u.actions.raise_alarm", STEP, ALARM)  # type: ignore[arg-type]
    assert not done.confirmed and "Pull the RF cable (Transmitter failure)" in unit.said[0]
    waited = ManualAction(method="manual", instructions="Pull the RF cable", expect="RF lost", timeout=0.3)
    with pytest.raises(InfraError, match=r"raise alarm \(units.u.actions.raise_alarm: manual\) not done"):
        run_action(unit, "raise alarm", waited, "units.u.actions.raise_alarm", STEP, ALARM)  # type: ignore[arg-type]
    assert "waiting up to 0.3 s (units.u.actions.raise_alarm.timeout)" in unit.said[-1]


# -- on a mock unit speaking a vendor's CLI ----------------------------------------------------------------


@pytest.mark.netns
@needs_root()
def test_vendor_cli_forces_a_pm_period_reboots_and_factory_resets_through_its_templates(
    tmp_path: Path,
) -> None:
    from tests.testplans.test_unit_action_templates import VENDOR

    path = write_inventory(tmp_path / "inventory.yaml", {"boot": 20, "step": 5, "factory_reset": 10})
    data = yaml.safe_load(path.read_text())
    unit_of(data).update(VENDOR)
    path.write_text(yaml.safe_dump(data))
    inv = load_inventory(path)
    wipe_flash(inv, "henb-01")
    run = BenchRun(inv, None, tmp_path / "captures", "run")
    run.start()
    try:
        unit, tl = run.unit, run.timeline
        unit.transition(State.REGISTERED)
        # A forced PM period: `pm rop close`, confirmed in the vendor's words, and that period's file uploaded.
        fs = run.topology.fileserver
        assert fs is not None
        fs.add_user("pm", "pm-secret")
        fs.local("pm", "/pm/").mkdir(parents=True, exist_ok=True)
        pm, op = unit.paths.pm_config, inv.operator
        values = {"URL": fs.url("http", "/pm/"), "Username": "pm", "Password": "pm-secret",
                  "PeriodicUploadInterval": "600", "Enable": "true"}  # fmt: skip
        res = run.topology.hems["serving-hems"].call(
            unit.serial, "SetParameterValues", params=[(pm + k, v, "xsd:string") for k, v in values.items()],
            timeout=20, connection_request=True, cr_username=op.cr_username, cr_password=op.cr_password,
        )  # fmt: skip
        assert isinstance(res, SpvResult), res
        done = unit.act("force_pm_period")
        assert done.seen is not None and "PM-OK: ROP closed, 1 file(s) queued for upload" in done.seen
        up = tl.wait_for(
            lambda e: e.source == "fileserver" and e.kind == "upload", 5, "the ROP's file", done.mark
        )
        assert up.data["user"] == "pm" and pmfile.validate(Path(up.data["stored"]).read_bytes()) == []
        done = unit.act("reboot")
        assert done.seen is not None and "SYS: system going down for reboot" in done.seen
        run.topology.hems["serving-hems"].wait_inform(unit.serial, ["1 BOOT"], 20, done.mark)
        with pytest.raises(ConfigError, match=r"units.henb-01.actions.raise_alarm.command: placeholder"):
            unit.act("raise_alarm", {})  # a template needs its values
        unit.transition(State.BOOTING)
        boot = unit.transition(State.FACTORY_FRESH)  # configured in flash: reset by `sys restore-defaults`
        assert boot is not None
        resets = [e for e in tl.events() if e.source == "unit" and e.kind == "factory-reset"]
        assert resets and resets[-1].data["method"] == "console", resets
        confirmed = [e for e in tl.events() if e.source == "unit" and e.kind == "action-confirmed"]
        assert "restoring factory defaults" in confirmed[-1].data["line"]
        run.topology.hems["initial-hems"].wait_inform(unit.serial, ["0 BOOTSTRAP"], 20, boot.mark)
    finally:
        run.close()


# -- by hand: `henb-bench action` ------------------------------------------------------------------------


class LineServer:
    """A console on socket:// (as ser2net gives one), 127.0.0.1 and a port the OS picks: it echoes each line
    typed and answers `answer(line)`."""

    def __init__(self, answer: Any) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.typed: list[str] = []
        self.answer = answer
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as lines:
            for raw in lines:
                line = raw.decode().strip()
                self.typed.append(line)
                conn.sendall(f"{line}\r\n{self.answer(line)}\r\nFAP-200> ".encode())

    def close(self) -> None:
        self.sock.close()


def test_action_command_runs_a_template_by_hand(tmp_path: Path) -> None:
    server = LineServer(lambda line: "alarm: raised 2 X-alarm-2" if line.startswith("alarm raise") else "?")
    try:
        res = henb_bench("--inventory", str(ROOT / "inventory.yaml"), "action", "henb-01", "raise_alarm",
                         "--set", "event_type=Equipment Alarm", "--set", "probable_cause=Transmitter failure",
                         "--url", f"socket://127.0.0.1:{server.port}", "--log", str(tmp_path / "c.log"))  # fmt: skip
    finally:
        server.close()
    assert res.returncode == 0, res.stdout + res.stderr
    assert server.typed == ["alarm raise 'Equipment Alarm' 'Transmitter failure'"]
    assert "henb-01: raise_alarm confirmed: alarm: raised 2 X-alarm-2" in res.stdout


def test_action_command_forces_a_pm_period_by_hand(tmp_path: Path) -> None:
    server = LineServer(lambda line: "pm: flushed 1 period(s), uploading" if line == "pm flush" else "?")
    try:
        res = henb_bench("--inventory", str(ROOT / "inventory.yaml"), "action", "henb-02", "force_pm_period",
                         "--url", f"socket://127.0.0.1:{server.port}", "--log", str(tmp_path / "c.log"))  # fmt: skip
    finally:
        server.close()
    assert res.returncode == 0, res.stdout + res.stderr
    assert server.typed == ["pm flush"]
    assert "henb-02: force_pm_period confirmed: pm: flushed 1 period(s), uploading" in res.stdout


def test_action_command_names_what_did_not_confirm_it(tmp_path: Path) -> None:
    server = LineServer(lambda line: "% Unknown command")
    inv = write_inventory(tmp_path / "inventory.yaml", {"step": 1})  # the wait for what never comes: short
    try:
        res = henb_bench("--inventory", str(inv), "action", "henb-01", "reboot",
                         "--url", f"socket://127.0.0.1:{server.port}", "--log", str(tmp_path / "c.log"))  # fmt: skip
    finally:
        server.close()
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "reboot not confirmed (units.henb-01.actions.reboot: console 'reboot')" in out
    assert "% Unknown command" in out
    res = henb_bench("--inventory", str(ROOT / "inventory.yaml"), "action", "henb-01", "raise_alarm",
                     "--set", "cause=x", "--url", "socket://127.0.0.1:9")  # fmt: skip
    assert res.returncode == 2 and "--set 'cause=x': expected KEY=VALUE" in res.stderr

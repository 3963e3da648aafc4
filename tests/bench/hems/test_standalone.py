"""Tests for bench/hems/standalone.py: the HeMS on its own, its script rules and its one-line output."""

from __future__ import annotations

import argparse
import io
import socket
import threading
import time
from pathlib import Path

import pytest

from bench import cwmp
from bench.errors import ConfigError
from bench.hems.server import Transcript
from bench.hems.standalone import add_parser, load_script, run
from bench.timeline import Event, Timeline
from tests.bench.hems.cpe import NS1, Cpe

SCRIPT = """
- when: {events: ["1 BOOT"], serial: "SN-*"}
  once: true
  rpcs:
    - GetParameterValues: {names: [Device.DeviceInfo.SoftwareVersion]}
    - SetParameterValues:
        params: [[Device.ManagementServer.PeriodicInformInterval, "300", xsd:unsignedInt]]
        parameter_key: k1
- when: {events: ["2 PERIODIC"]}
  rpcs:
    - Reboot: {command_key: nightly}
"""


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers())
    return p.parse_args(["hems", *argv])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serving:
    def __init__(self, *argv: str) -> None:
        self.port = free_port()
        self.out = io.StringIO()
        self.stop = threading.Event()
        args = parse("--listen", f"127.0.0.1:{self.port}", "--plain", *argv)
        self.thread = threading.Thread(target=run, args=(args, self.stop, self.out))
        self.thread.start()
        deadline = time.monotonic() + 30  # generous bounds where output is expected: a loaded machine stalls
        while "listening" not in self.out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)

    def lines(self, n: int) -> list[str]:
        deadline = time.monotonic() + 30
        while len(self.out.getvalue().splitlines()) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.out.getvalue().splitlines()

    def text_with(self, *needles: str) -> str:
        """The output once it holds every needle (lines from two sessions' threads may come in any order)."""
        deadline = time.monotonic() + 30
        while not all(n in self.out.getvalue() for n in needles) and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.out.getvalue()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def test_without_a_script_it_answers_informs_and_ends_sessions():
    s = Serving("-v")
    try:
        cpe = Cpe(s.port)
        cpe.inform(events=("0 BOOTSTRAP", "1 BOOT"))
        assert cpe.empty() == (204, b"")
        text = s.text_with("-> end of session (empty response)", "(empty body)")
        assert (
            "SN-A             hems/inform <- Inform [0 BOOTSTRAP, 1 BOOT] CWMP 1.1 from 127.0.0.1: "
            "OUI 00259E ProductClass FAP-1 Manufacturer Acme"
        ) in text
        assert "SN-A             hems/session-end -> end of session (empty response)" in text
        assert "<cwmp:InformResponse>" in text and "(empty body)" in text  # -v prints the XML
    finally:
        s.close()


def test_the_xml_of_a_sessions_end_written_after_its_line_is_printed(monkeypatch: pytest.MonkeyPatch):
    # The HeMS writes a message's transcript once it has answered, after the message's event: here the session's
    # end is written only once its line is printed (a busy machine's order). Read only when an event came, the
    # empty body was never printed: no event comes after it; the entry's writing wakes the printer.
    exchange = Transcript.exchange
    printed_first: list[bool] = []

    def late(
        self: Transcript, t_in: float, t_out: float, peer: str, status: int, body: bytes, out: bytes
    ) -> None:
        if not body and not out:
            deadline = time.monotonic() + 30
            while "end of session" not in s.out.getvalue() and time.monotonic() < deadline:
                time.sleep(0.02)
            printed_first.append("end of session" in s.out.getvalue())
        exchange(self, t_in, t_out, peer, status, body, out)

    monkeypatch.setattr(Transcript, "exchange", late)
    s = Serving("-v")
    try:
        cpe = Cpe(s.port)
        cpe.inform(events=("1 BOOT",))
        assert cpe.empty() == (204, b"")
        assert printed_first == [True]
        assert "(empty body)" in s.text_with("(empty body)")
    finally:
        s.close()


def test_it_waits_for_news_instead_of_looking_on_a_clock(monkeypatch: pytest.MonkeyPatch):
    # Woken by an event, a transcript entry (-v) or the stop, never by a clock: it used to look every 0.2 s.
    looks: list[float] = []
    events = Timeline.events

    def counted(self: Timeline, since: int = 0, until: int | None = None) -> list[Event]:
        looks.append(time.monotonic())
        return events(self, since, until)

    monkeypatch.setattr(Timeline, "events", counted)
    s = Serving("-v")
    try:
        cpe = Cpe(s.port)
        cpe.inform(events=("1 BOOT",))
        assert cpe.empty() == (204, b"")
        s.text_with("(empty body)")
        idle = len(looks)
        time.sleep(1.0)  # nothing comes: nothing to look at
        assert len(looks) == idle, f"{len(looks) - idle} looks in 1 s of quiet"
    finally:
        s.close()
    assert not s.thread.is_alive()  # the stop woke it


def test_script_rules_queue_rpcs_per_inform(tmp_path: Path):
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    s = Serving("--script", str(script))
    try:
        cpe = Cpe(s.port, serial="SN-1", ns=NS1)
        methods = []
        for events in (("1 BOOT",), ("1 BOOT",), ("2 PERIODIC",)):
            cpe.inform(events=events)
            status, data = cpe.empty()
            while status == 200:
                env = cwmp.parse_envelope(data)
                methods.append(env.method)
                fields = {"status": 0} if env.method == "SetParameterValues" else {}
                if env.method == "GetParameterValues":
                    fields = {"params": [("Device.DeviceInfo.SoftwareVersion", "9", "xsd:string")]}
                status, data = cpe.post(cwmp.response(NS1, env.id, env.method, **fields))
        # `once`: the second boot gets nothing; the periodic rule has no serial filter.
        assert methods == ["GetParameterValues", "SetParameterValues", "Reboot"]
        text = "\n".join(s.lines(12))
        assert "-> SetParameterValues (ID hems-2)" in text
        assert "<- GetParameterValuesResponse {'values': {'Device.DeviceInfo.SoftwareVersion': '9'}}" in text
    finally:
        s.close()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- rpcs: [{Reboot: {key: 1}}]", r"rule 1: Reboot takes .*unknown \['key'\]"),
        ("- rpcs: [{Kick: {}}]", "rule 1: 'Kick' is not an ACS RPC"),
        ("- when: {event: [x]}\n  rpcs: []", "rule 1: when takes events, serial, oui and product_class"),
        ("{a: 1}", "expected a list of rules"),
        ("- rpcs: [Reboot, FactoryReset]", "each rpc is a one-key mapping"),
    ],
)
def test_bad_scripts_are_config_errors(tmp_path: Path, text: str, message: str):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_script(path)


def test_bad_listen_and_auth_arguments(tmp_path: Path):
    from bench.hems.standalone import build
    from bench.timeline import Timeline

    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        build(parse("--listen", "7547"), Timeline())
    with pytest.raises(ConfigError, match="expected USER:PASS"):
        build(parse("--listen", "127.0.0.1:0", "--auth", "nobody"), Timeline())


def test_rules_match_the_whole_device_id(tmp_path: Path):
    script = tmp_path / "s.yaml"
    script.write_text(
        '- when: {oui: "00259E", product_class: "FAP-*", serial: "SN-*"}\n  rpcs: [{Reboot: {}}]\n'
    )
    (rule,) = load_script(script)
    assert rule.matches(cwmp.DeviceKey("00259E", "FAP-1", "SN-1"), ["1 BOOT"])
    assert not rule.matches(cwmp.DeviceKey("0090D0", "FAP-1", "SN-1"), ["1 BOOT"])
    assert not rule.matches(cwmp.DeviceKey("00259E", "ATA-1", "SN-1"), ["1 BOOT"])

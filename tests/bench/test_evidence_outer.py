"""The outer link's policy judged from evidence (bench/evidence/judge_outer.py) on captures made in the test: a
correct unit's outer capture passes, a cleartext leak fails naming its frame with the live check's words, other
traffic fails only where the policy is strict, a cut capture is judged up to the cut, the inner capture is not
the outer link; and `henb-bench judge` on the unit-side capture alone says the leak's frame."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter

from bench import outer_link
from bench.events import SecurityKind, Source
from bench.evidence.cli import Known, known_of, timeline_of
from bench.evidence.decode import Names
from bench.evidence.judge_more import call_more
from bench.evidence.judge_outer import default_policy, judge_outer, outer_found
from bench.evidence.judge_registration import judge_5_1_3
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED
from bench.outer_link import Policy
from bench.timeline import Event, Timeline
from tests.support import henb_bench

UNIT, GW, SEGW, PUBLIC_HEMS = "198.51.100.75", "198.51.100.1", "203.0.113.6", "203.0.113.100"
NTP_REQUEST = bytes([0x23]) + bytes(47)
LEAK = IP(src=UNIT, dst="10.180.0.20") / UDP(sport=40000, dport=7547) / b"cleartext cwmp"
SYSLOG = IP(src=UNIT, dst=GW) / UDP(sport=40001, dport=514) / b"<14>henb: booted"


def _correct() -> list[IP]:
    """What a correct unit's WAN carries: DHCP, DNS, NTP, IKE, ESP in UDP, ESP, an ICMP error, IGMP."""
    late = IP(src=SEGW, dst=UNIT) / UDP(sport=4500, dport=4500) / (b"\x00\x00\x00\x01" + b"e" * 40)
    return [
        IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) / b"dhcp",
        IP(src=UNIT, dst=GW) / UDP(sport=40100, dport=53) / b"dns",
        IP(src=UNIT, dst=GW) / UDP(sport=40101, dport=123) / NTP_REQUEST,
        IP(src=UNIT, dst=SEGW) / UDP(sport=500, dport=500) / b"ike",
        IP(src=UNIT, dst=SEGW) / UDP(sport=4500, dport=4500) / (b"\x00\x00\x00\x02" + b"e" * 40),
        IP(src=UNIT, dst=SEGW, proto=50) / ESP(spi=1, seq=1, data=b"e" * 10),
        IP(src=UNIT, dst=SEGW) / ICMP(type=3, code=3) / bytes(late)[:28],
        IP(src=GW, dst="224.0.0.1", proto=2) / b"igmp",
    ]


def _pcapng(path: Path, pkts: list[IP]) -> Path:
    with PcapNgWriter(str(path)) as w:
        for i, p in enumerate(pkts):
            frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p
            frame.time = 1000.0 + i
            w.write(frame)
    return path


def _events(*captures: Path) -> list[Event]:
    tl = Timeline()
    for capture in captures:
        found, _ = outer_found(capture)
        for f in sorted(found, key=lambda f: f.t):
            tl.add(f.source, f.kind, at=f.t, **f.data)
    return tl.events()


def _strict(strict: bool = True) -> outer_link.Policy:
    return dataclasses.replace(default_policy()[0], strict=strict)


def test_a_correct_units_outer_capture_passes(tmp_path: Path) -> None:
    events = _events(_pcapng(tmp_path / "outer.pcapng", _correct()))
    flows = [e for e in events if e.kind == SecurityKind.OUTER_FLOW]
    assert len(flows) == 7 and all(e.source == Source.SECURITY for e in events)  # the IGMP is not counted
    v = judge_outer("5.1.3", events, _strict())
    assert v.outcome == PASSED, v


def test_a_cleartext_leak_fails_naming_its_frame_with_the_live_checks_words(tmp_path: Path) -> None:
    capture = _pcapng(tmp_path / "outer.pcapng", [*_correct()[:3], LEAK, *_correct()[3:]])
    v = judge_outer("5.1.3", _events(capture), default_policy()[0])
    assert v.outcome == FAILED and v.step == "security"
    assert "cleartext operator packet" in v.seen and "10.180.0.20:7547 UDP" in v.seen, v.seen
    assert (
        "1 cleartext operator packet(s): frame 4: +3.000s 198.51.100.75:40000 -> 10.180.0.20:7547 UDP"
        in v.seen
    )
    assert [e.data["frames"] for e in v.events] == [[4]]
    assert str(capture) in v.expected
    # The live check's rule and words on the same capture (bench.run.Evidence.assert_no_cleartext words its
    # failure with outer_link.failures on outer_link.read's flows): the same text but the time offset's origin.
    live = outer_link.judge(capture, list(default_policy()[0].operator_nets), {7547})
    ((expected, seen, _),) = outer_link.failures(live, default_policy()[0], str(capture), 1000.0)
    assert (expected, seen) == (v.expected, v.seen)


def test_other_traffic_fails_only_a_strict_policy(tmp_path: Path) -> None:
    events = _events(_pcapng(tmp_path / "outer.pcapng", [*_correct(), SYSLOG]))
    assert judge_outer("5.1.2.2", events, _strict(False)).outcome == PASSED
    v = judge_outer("5.1.2.2", events, _strict())
    assert v.outcome == FAILED
    assert "operator.outer_link.strict" in v.expected and "UDP port 514: 1 packet(s)" in v.seen, v
    assert "first frame 9:" in v.seen and [e.data["frames"] for e in v.events] == [[9]]


def test_the_public_initial_hems_is_exempt_for_a_public_unit_only(tmp_path: Path) -> None:
    tls = IP(src=UNIT, dst=PUBLIC_HEMS) / TCP(sport=40200, dport=7547, flags="S")
    events = _events(_pcapng(tmp_path / "outer.pcapng", [*_correct(), tls]))
    ident = ("00D0B7", "MockHeNB", "MOCK0001")
    known = dataclasses.replace(known_of(tmp_path / "none.yaml"), public_units={ident: False})
    assert judge_outer("5.1.3", events, known.outer_policy("5.1.3", ident)).outcome == FAILED
    # 5.1.2.3's units have their Initial HeMS on the internet; a unit the inventory does not know, maybe
    assert judge_outer("5.1.2.3", events, known.outer_policy("5.1.2.3", ident)).outcome == PASSED
    assert judge_outer("5.1.3", events, known.outer_policy("5.1.3", None)).outcome == PASSED


def test_a_cut_capture_is_judged_up_to_the_cut(tmp_path: Path) -> None:
    whole = _pcapng(tmp_path / "whole.pcapng", _correct())
    cut = tmp_path / "outer.pcapng"
    cut.write_bytes(whole.read_bytes()[:-30])
    found, note = outer_found(cut)
    assert note is not None and "reader stopped" in note and "truncated" in note
    v = judge_outer("5.1.3", _events(cut), _strict())
    assert v.outcome == NOT_OBSERVABLE and "cut" in v.why, v
    leaked = _pcapng(tmp_path / "leak.pcapng", [LEAK, *_correct()])
    cut.write_bytes(leaked.read_bytes()[:-30])
    assert (
        judge_outer("5.1.3", _events(cut), _strict()).outcome == FAILED
    )  # what came before the cut is shown


def test_no_outer_capture_is_not_observable_and_the_inner_one_is_not_the_outer_link(tmp_path: Path) -> None:
    inner = _pcapng(tmp_path / "inner.pcapng", [LEAK])  # the operator side carries the operator's traffic
    assert outer_found(inner) == ([], None)
    v = judge_outer("5.1.3", _events(inner), _strict())
    assert v.outcome == NOT_OBSERVABLE and "outer link" in v.why


def test_a_clause_judge_ends_with_the_outer_link_where_its_plan_does(tmp_path: Path) -> None:
    """judge_5_1_3 on the outer capture alone: its CWMP steps are not observable, its security step failed;
    a judge whose live plan has no outer-link check (5.3.2's) does not add it."""
    capture = _pcapng(tmp_path / "outer.pcapng", [LEAK, *_correct()])
    known = Known(Names())
    tl, span = timeline_of([capture], None, known)
    judged = call_more(
        "5.1.3", judge_5_1_3, tl.events(), None, {}, span, None, known.outer_policy("5.1.3", None)
    )
    failed = judged.failed()
    assert failed is not None and failed.step == "security", judged.verdicts
    assert "frame 1:" in failed.seen
    from bench.evidence.judge_alarms import judge_queued

    queued = call_more("5.3.2", judge_queued, tl.events(), None, {}, span)
    assert all(v.step != "security" for v in queued.verdicts)


@pytest.mark.parametrize("leak", [True, False])
def test_judge_on_the_unit_side_capture_alone(tmp_path: Path, leak: bool) -> None:
    """`henb-bench judge outer.pcapng`: a leak is a failure naming its frame and the Wireshark command; a
    correct unit's capture fails nothing."""
    pkts = [*_correct()[:2], LEAK, *_correct()[2:]] if leak else _correct()
    capture = _pcapng(tmp_path / "outer.pcapng", pkts)
    res = henb_bench(
        "judge", str(capture), "--clause", "5.1.3", "--out", str(tmp_path / "judged"), timeout=120
    )
    assert res.returncode == (1 if leak else 0), res.stdout + res.stderr
    if leak:
        assert "step security: failed" in res.stdout, res.stdout
        assert (
            "10.180.0.20:7547 UDP" in res.stdout
            and f"wireshark -r {capture} -Y frame.number==3" in res.stdout
        )
    else:
        assert "step security: passed" in res.stdout and "FAILED" not in res.stdout, res.stdout


def test_a_clients_ports_make_one_flow_but_a_port_the_rule_names_is_kept(tmp_path: Path) -> None:
    """A night of DNS queries from new source ports is one flow (one event); a packet from an allowed port to
    the operator's HeMS port is still operator traffic, quoted with its own ports."""
    queries = [IP(src=UNIT, dst=GW) / UDP(sport=40000 + i, dport=53) / b"dns" for i in range(50)]
    sneaky = IP(src=UNIT, dst=GW) / UDP(sport=123, dport=7547) / b"cwmp from the NTP port"
    events = _events(_pcapng(tmp_path / "outer.pcapng", [*queries, sneaky]))
    flows = [e.data for e in events if e.kind == SecurityKind.OUTER_FLOW]
    assert [(f["dport"], f["packets"], f["frames"][:2]) for f in flows] == [(53, 50, [1, 2]), (7547, 1, [51])]
    v = judge_outer("5.1.3", events, default_policy()[0])
    assert (
        v.outcome == FAILED and "frame 51: +50.000s 198.51.100.75:123 -> 198.51.100.1:7547 UDP" in v.seen
    ), v


def test_more_flows_than_kept_fail_what_they_show_and_else_are_not_observable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.evidence import judge_outer as module

    monkeypatch.setattr(module, "MAX_FLOWS", 3)
    scan = [IP(src=UNIT, dst=f"192.0.2.{i}") / UDP(sport=53, dport=53) / b"dns" for i in range(1, 6)]
    v = judge_outer("5.1.3", _events(_pcapng(tmp_path / "outer.pcapng", scan)), _strict())
    assert v.outcome == NOT_OBSERVABLE and "more than 3 flows: those from frame 4 on" in v.why, v
    v = judge_outer("5.1.3", _events(_pcapng(tmp_path / "leak.pcapng", [LEAK, *scan])), _strict())
    assert v.outcome == FAILED, v


def test_a_passed_step_names_the_frames_the_capture_runs_over(tmp_path: Path) -> None:
    from bench.evidence.cli import hint

    capture = _pcapng(tmp_path / "outer.pcapng", [*_correct(), SYSLOG])
    v = judge_outer("5.1.3", _events(capture), _strict(False))
    assert v.outcome == PASSED and [e.data["frames"] for e in v.events] == [
        [1, 9]
    ]  # the IGMP (8) not counted
    assert hint(v).endswith(f"wireshark -r {capture} -Y frame.number==1"), hint(v)


@pytest.mark.parametrize("knob", ["leak_cleartext", "other_traffic"])
def test_the_live_check_and_the_evidence_judge_say_the_same(tmp_path: Path, knob: str) -> None:
    """bench.run.Evidence.assert_no_cleartext on a capture and judge_outer on its events: the same step, the same
    message (the live timeline's t0 put at the capture's first packet, as the evidence counts offsets)."""
    from types import SimpleNamespace

    from bench.errors import DeviceError
    from bench.inventory import parse_inventory
    from bench.run import Evidence
    from bench.steps import Steps

    data = yaml.safe_load((Path(__file__).parents[2] / "inventory.yaml").read_text())
    data["operator"]["outer_link"] = {"strict": True}
    inv = parse_inventory(data, Path("inv.yaml"))
    capture = _pcapng(tmp_path / "outer.pcapng", [*_correct(), LEAK if knob == "leak_cleartext" else SYSLOG])
    tl = Timeline()
    tl.t0 = 1000.0
    evidence = Evidence.__new__(Evidence)  # only what the check reads: the run's inventory, unit, timeline
    evidence.run = SimpleNamespace(
        inv=inv, unit=SimpleNamespace(cfg=next(iter(inv.units.values()))), timeline=tl
    )
    evidence.outer = SimpleNamespace(path=capture, stop=lambda: None)
    with pytest.raises(DeviceError) as live:
        evidence.assert_no_cleartext(Steps("5.1.2.2", tl, tmp_path))
    v = judge_outer("5.1.2.2", _events(capture), Policy.of(inv.network, inv.operator))
    assert str(live.value).split("; evidence: ")[0] == v.message("").split("; evidence: ")[0]

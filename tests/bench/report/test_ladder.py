"""Tests for bench/report/ladder.py and sequences.py: events become arrows, matched in order against a figure."""

from __future__ import annotations

from typing import Any

from bench.report.ladder import expected_svg, first_deviation, match, messages, observed_svg
from bench.report.sequences import FIGURES


def _ev(seq: int, source: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"seq": seq, "t": 100.0 + seq / 10, "source": source, "kind": kind, "data": data}


def _discovery(with_serving: bool = True) -> list[dict[str, Any]]:
    evs = [
        _ev(1, "power", "power", action="on"),
        _ev(2, "console", "console-line", line="booting"),
        _ev(3, "dns", "query", dns="public-dns", name="isegw.example", qtype="A"),
        _ev(4, "segw", "ike-up", segw="isegw", remote_vips=["10.181.0.1"]),
        _ev(5, "segw", "child-up", segw="isegw"),
        _ev(6, "dns", "query", dns="private-dns", name="ihems.example", qtype="A"),
        _ev(7, "hems", "inform", hems="initial-hems", events=["0 BOOTSTRAP"]),
        _ev(8, "hems", "rpc-sent", hems="initial-hems", method="SetParameterValues"),
        _ev(9, "hems", "rpc-response", hems="initial-hems", method="SetParameterValues"),
        _ev(10, "hems", "session-end", hems="initial-hems"),
    ]
    if with_serving:
        evs += [
            _ev(11, "dns", "query", dns="public-dns", name="ssegw.example", qtype="A"),
            _ev(12, "segw", "ike-up", segw="ssegw", remote_vips=["10.182.0.1"]),
        ]
    return evs


def test_events_become_arrows_between_lanes() -> None:
    msgs = messages(_discovery())
    assert [(m.seq, m.src, m.dst, m.label) for m in msgs[:4]] == [
        (1, "henb", "henb", "power on"),
        (3, "henb", "dns", "DNS A? isegw.example"),
        (4, "henb", "segw", "IKE SA up (isegw)"),
        (6, "henb", "dns", "DNS A? ihems.example"),
    ]
    inform, response = msgs[4], msgs[5]
    assert (inform.label, inform.dst) == ("Inform [0 BOOTSTRAP]", "hems")
    assert (response.label, response.src, response.seq, response.derived) == (
        "InformResponse",
        "hems",
        7,
        True,
    )
    assert all(m.source != "console" and m.kind != "child-up" for m in msgs)


def test_the_discovery_figure_matches_in_order() -> None:
    matches = match(FIGURES["5.1.2.2"], messages(_discovery()))
    assert [m.status for m in matches] == ["ok"] * 10
    assert [m.message.seq for m in matches if m.message] == [3, 4, 6, 7, 7, 8, 9, 10, 11, 12]
    assert first_deviation(matches) is None


def test_a_missing_message_is_the_first_deviation_and_the_rest_is_not_reached() -> None:
    matches = match(FIGURES["5.1.2.2"], messages(_discovery(with_serving=False)))
    dev = first_deviation(matches)
    assert dev is not None and dev.status == "missing"
    assert dev.step.label.startswith("DNS query Serving SeGW")
    assert dev.note == "not seen after #10"  # the Initial SeGW's query was already matched to step 1
    assert matches[-1].status == "not-reached"


def test_a_message_out_of_order_is_named_with_its_entry() -> None:
    evs = _discovery()
    # The private DNS query comes before the tunnel: step 3 is seen, but before step 2.
    evs[3], evs[5] = evs[5], evs[3]
    matches = match(FIGURES["5.1.2.2"], messages(evs))
    dev = first_deviation(matches)
    assert dev is not None and dev.status == "out-of-order"
    assert dev.message is not None and dev.message.kind == "query" and "before IKE SA up" in dev.note


def test_svg_links_every_arrow_to_its_timeline_entry_and_marks_the_deviation() -> None:
    msgs = messages(_discovery(with_serving=False))
    svg = observed_svg(msgs, 100.0, "ev0-", {9}, "observed")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="arrow') == len(msgs)
    assert 'href="#ev0-4"' in svg and 'class="arrow bad"' in svg
    exp = expected_svg(FIGURES["5.1.2.2"], match(FIGURES["5.1.2.2"], msgs), "ev0-")
    assert exp.count('class="arrow exp-ok"') == 8 and exp.count('class="arrow bad"') == 1
    assert "not seen after #10" in exp

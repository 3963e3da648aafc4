"""Tests for bench/report/ladder.py: events become arrows between the figures' lifelines in their true direction,
matched in order against a figure, limited to the test's own procedure."""

from __future__ import annotations

from typing import Any

import pytest

from bench.clauses import LIFELINES
from bench.plans import plan_set
from bench.report.ladder import (
    expected_svg,
    first_deviation,
    lifelines,
    match,
    messages,
    observed_svg,
    own_procedure,
)

FIGURES = {cid: c.figure for cid, c in plan_set().clauses.items()}


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
        (3, "henb", "public-dns", "DNS A? isegw.example"),
        (4, "henb", "isegw", "IKE SA up"),
        (6, "henb", "private-dns", "DNS A? ihems.example"),
    ]
    inform, response = msgs[4], msgs[5]
    assert (inform.label, inform.dst) == ("Inform [0 BOOTSTRAP]", "initial-hems")
    assert (response.label, response.src, response.seq, response.derived) == (
        "InformResponse",
        "initial-hems",
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
    # One lifeline per DNS, SeGW and HeMS, as Figure 5-3 draws them.
    names = ["HeNB", "public DNS", "private DNS", "Initial SeGW", "Serving SeGW", "Initial HeMS"]
    assert [n for n in names if f">{n}</text>" in exp] == names


# source, kind, data, (from, to) as the spec draws it: every kind of arrow the bench's sources add.
DIRECTIONS = [
    ("dhcp", "dhcpdiscover", {"server": "public-dns"}, ("henb", "public-dns")),
    ("dhcp", "dhcpack", {"server": "public-dns"}, ("public-dns", "henb")),
    ("dns", "query", {"dns": "private-dns", "name": "shems.example"}, ("henb", "private-dns")),
    ("segw", "ike-up", {"segw": "ssegw"}, ("henb", "ssegw")),
    ("segw", "ike-down", {"segw": "isegw"}, ("henb", "isegw")),
    ("segw", "address-change", {"segw": "ssegw", "old": "10.182.0.1"}, ("ssegw", "henb")),
    ("hems", "inform", {"hems": "serving-hems", "events": ["1 BOOT"]}, ("henb", "serving-hems")),
    ("hems", "rpc-sent", {"hems": "serving-hems", "method": "Download"}, ("serving-hems", "henb")),
    ("hems", "rpc-response", {"hems": "serving-hems", "method": "Download"}, ("henb", "serving-hems")),
    ("hems", "rpc-fault", {"hems": "serving-hems", "method": "Download"}, ("henb", "serving-hems")),
    ("hems", "cpe-rpc", {"hems": "serving-hems", "method": "TransferComplete"}, ("henb", "serving-hems")),
    ("hems", "unsupported-rpc", {"hems": "serving-hems", "method": "X"}, ("henb", "serving-hems")),
    ("hems", "bad-message", {"hems": "serving-hems"}, ("henb", "serving-hems")),
    ("hems", "session-end", {"hems": "initial-hems"}, ("initial-hems", "henb")),
    ("hems", "connection-request", {"hems": "serving-hems", "status": 200}, ("serving-hems", "henb")),
    (
        "hems",
        "auth-challenge",
        {"hems": "initial-hems", "reason": "no Authorization"},
        ("initial-hems", "henb"),
    ),
    ("hems", "auth-failed", {"hems": "initial-hems", "reason": "bad digest"}, ("initial-hems", "henb")),
    ("hems", "version-mismatch", {"hems": "serving-hems"}, ("serving-hems", "henb")),
    ("hems", "defect", {"hems": "serving-hems"}, ("serving-hems", "serving-hems")),
    ("mme", "sctp-init", {"dst": "10.180.0.30", "dport": 36412}, ("henb", "mme")),
    ("mme", "s1ap", {"direction": "uplink", "message": "S1SetupRequest"}, ("henb", "mme")),
    ("mme", "s1ap", {"direction": "downlink", "message": "S1SetupResponse"}, ("mme", "henb")),
    ("fileserver", "download", {"proto": "http", "path": "/cm/x.xml"}, ("henb", "files")),
    ("fileserver", "upload", {"proto": "ftp", "path": "/pm/A.xml"}, ("henb", "files")),
    ("fileserver", "auth-failed", {"proto": "ftp", "user": "pm"}, ("files", "henb")),
]


@pytest.mark.parametrize(
    ("source", "kind", "data", "ends"), DIRECTIONS, ids=[f"{d[0]}-{d[1]}" for d in DIRECTIONS]
)
def test_every_arrow_points_the_way_the_message_goes(
    source: str, kind: str, data: dict[str, Any], ends: tuple[str, str]
) -> None:
    (first, *_) = messages([_ev(1, source, kind, **data)])
    assert (first.src, first.dst) == ends, first.label


def test_the_ladder_is_limited_to_the_tests_own_procedure() -> None:
    # Boot and discovery, then the test (mark 13): address change, the unit back, its Inform, session end.
    evs = [
        *_discovery(),
        _ev(13, "hems", "connection-request", hems="serving-hems", status=200),
        _ev(14, "segw", "address-change", segw="ssegw", old="10.182.0.1"),
        _ev(15, "segw", "ike-up", segw="ssegw", remote_vips=["10.182.1.1"]),
        _ev(16, "hems", "inform", hems="serving-hems", events=["4 VALUE CHANGE"]),
        _ev(17, "hems", "session-end", hems="serving-hems"),
    ]
    msgs = messages(evs)
    figure = FIGURES["5.2.4"]
    assert figure is not None
    matches = match(figure, msgs)
    assert first_deviation(matches) is None
    own = own_procedure(msgs, matches, mark=13)
    assert [m.seq for m in msgs[own.start :]][0] == 14  # the figure's first message, after the start mark
    assert own.earlier == "\u2026 11 earlier messages: power-on, bootstrap, configuration"
    lanes = lifelines(figure, msgs[own.start :])
    assert lanes == ["henb", "ssegw", "serving-hems"]
    svg = observed_svg(msgs[own.start :], 100.0, "ev0-", set(), "observed", lanes, own.earlier)
    assert "11 earlier messages" in svg and ">Serving SeGW<" in svg and ">Initial HeMS<" not in svg
    # Nothing of the figure seen: from the test's start mark; a message a failure points at is never hidden.
    assert own_procedure(msgs, [], mark=13).start == [m.seq for m in msgs].index(13)
    assert own_procedure(msgs, [], mark=13, highlight={6}).start == [m.seq for m in msgs].index(6)
    assert own_procedure(msgs, [], mark=None).start == 0


def test_the_lifelines_are_the_spec_figures_and_nothing_else() -> None:
    """The figures of TS 32.593 clause 5 draw these entities, in this order; every figure a clause declares and
    every arrow the bench's events make stays on them."""
    assert list(LIFELINES.values()) == [
        "HeNB", "public DNS", "private DNS", "Initial SeGW", "Serving SeGW", "Initial HeMS", "Serving HeMS",
        "file server", "MME",
    ]  # fmt: skip
    figures = [f for c in plan_set().clauses.values() for f in (c.figure, *c.tests.values()) if f is not None]
    off = {f"{f.title}: {lane}" for f in figures for lane in f.lifelines() if lane not in LIFELINES}
    assert figures and not off, off
    drawn = {lane for _, _, _, ends in DIRECTIONS for lane in ends}
    assert drawn == set(LIFELINES), drawn ^ set(LIFELINES)  # every lifeline has its arrows, none is extra


def test_a_session_failed_on_purpose_is_the_hems_answer_not_an_inform_response() -> None:
    evs = [
        _ev(1, "hems", "inform", hems="serving-hems", events=["4 VALUE CHANGE"], failed_on_purpose="503"),
        _ev(2, "hems", "session-failed-on-purpose", hems="serving-hems", how="503", nth=1, of=1),
        _ev(3, "hems", "inform", hems="serving-hems", events=["4 VALUE CHANGE"]),
    ]
    arrows = [(m.src, m.dst, m.label) for m in messages(evs)]
    assert arrows == [
        ("henb", "serving-hems", "Inform [4 VALUE CHANGE]"),
        ("serving-hems", "henb", "HTTP 503 (HeMS restart, on purpose)"),
        ("henb", "serving-hems", "Inform [4 VALUE CHANGE]"),
        ("serving-hems", "henb", "InformResponse"),
    ]
    figure = plan_set().clauses["5.2.4"].tests["test_address_change_reported_after_hems_restart"]
    evs += [
        _ev(0, "segw", "address-change", segw="ssegw"),
        _ev(4, "hems", "session-end", hems="serving-hems"),
    ]
    evs.sort(key=lambda e: e["seq"])
    assert [m.status for m in match(figure, messages(evs))] == ["ok"] * len(figure.steps)

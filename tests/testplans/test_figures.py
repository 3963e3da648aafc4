"""The expected figures the plan modules declare (CLAUSE.figure, and per test where the flows differ): each
matches a realistic timeline of a passing test, and a missing step is the first deviation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bench.clauses import Figure
from bench.plans import plan_set
from bench.report.ladder import first_deviation, match, messages

CLAUSES = plan_set().clauses
FIGURES = {cid: c.figure for cid, c in CLAUSES.items() if c.figure is not None}
TESTS = {name: f for c in CLAUSES.values() for name, f in c.tests.items()}


def figure_for(clause: str | None, test: str) -> Figure | None:
    found = CLAUSES.get(clause or "")
    return found.figure_for(test) if found else None


SERVING = "serving-hems"
Events = list[dict[str, Any]]


class Timeline:
    """Events as the bench writes them, numbered in order."""

    def __init__(self) -> None:
        self.events: Events = []

    def add(self, source: str, kind: str, **data: Any) -> int:
        seq = len(self.events) + 3
        self.events.append({"seq": seq, "t": 100.0 + seq / 10, "source": source, "kind": kind, "data": data})
        return seq

    def registered(self) -> Timeline:
        """Boot and registration: every test's timeline starts with them (it starts at the unit's boot)."""
        self.add("power", "power", action="on")
        self.add("segw", "ike-up", segw="ssegw", remote_vips=["10.182.0.1"])
        self.add("hems", "inform", hems=SERVING, events=["0 BOOTSTRAP", "1 BOOT"], params={})
        self.session_rpc("SetParameterValues", status=0)
        self.add("hems", "session-end", hems=SERVING)
        self.add("mme", "sctp-init", dst="10.180.0.30", dport=36412)
        self.s1ap("S1SetupRequest", tacs=[1], plmn="00101", broadcast_plmns=["00101"], enb_id=257)
        self.s1ap("S1SetupResponse", "downlink", mme_name="mme")
        return self

    def s1ap(self, message: str, direction: str = "uplink", **fields: Any) -> None:
        self.add("mme", "s1ap", message=message, direction=direction, **fields)

    def s1_update(self, tac: int) -> None:
        self.s1ap("ENBConfigurationUpdate", tacs=[tac], broadcast_plmns=["00101"])
        self.s1ap("ENBConfigurationUpdateAcknowledge", "downlink")

    def session_rpc(self, method: str, **fields: Any) -> None:
        self.add("hems", "rpc-sent", hems=SERVING, method=method)
        self.add("hems", "rpc-response", hems=SERVING, method=method, **fields)

    def rpc(self, method: str, fault: bool = False, **fields: Any) -> None:
        """An RPC from the Serving HeMS, now: connection request, Inform, the RPC, its answer, session end."""
        self.session((method, fault, fields))

    def session(self, *rpcs: tuple[str, bool, dict[str, Any]]) -> None:
        """A procedure step's RPCs (method, fault, response fields) in the session one connection request opens."""
        self.add("hems", "connection-request", hems=SERVING, status=200)
        self.add("hems", "inform", hems=SERVING, events=["6 CONNECTION REQUEST"], params={})
        for method, fault, fields in rpcs:
            if fault:
                self.add("hems", "rpc-sent", hems=SERVING, method=method)
                self.add("hems", "rpc-fault", hems=SERVING, method=method, fault_code=9003)
            else:
                self.session_rpc(method, **fields)
        self.add("hems", "session-end", hems=SERVING)

    def console(self, line: str) -> int:
        return self.add("console", "console-line", line=line)

    def alarm_inform(self, table: str, n: int, events: list[str]) -> int:
        entry = f"Device.FaultMgmt.{table}.1."
        params = {entry + "AlarmIdentifier": f"MOCK0001-alarm-{n}", entry + "NotificationType": "NewAlarm"}
        seq = self.add("hems", "inform", hems=SERVING, events=events, params=params)
        self.add("hems", "session-end", hems=SERVING)
        return seq


def public_discovery() -> Events:
    tl = Timeline()
    tl.add("power", "power", action="on")
    tl.add("dns", "query", dns="public-dns", name="ihems.operator.example", qtype="A")
    tl.add("hems", "inform", hems="initial-hems", events=["0 BOOTSTRAP", "1 BOOT"], params={})
    tl.add("hems", "rpc-sent", hems="initial-hems", method="SetParameterValues")
    tl.add("hems", "rpc-response", hems="initial-hems", method="SetParameterValues", status=0)
    tl.add("hems", "session-end", hems="initial-hems")
    tl.add("dns", "query", dns="public-dns", name="ssegw.operator.example", qtype="A")
    tl.add("segw", "ike-up", segw="ssegw", remote_vips=["10.182.0.1"])
    return tl.events


def refused_certificate() -> Events:
    tl = Timeline()
    tl.add("power", "power", action="on")
    tl.add("dns", "query", dns="public-dns", name="ihems.operator.example", qtype="A")
    for cert, alert in (("untrusted-ca", "unknown ca"), ("expired", "certificate expired"),
                        ("wrong-name", "bad certificate"), ("wrong-name", "bad certificate")):  # fmt: skip
        tl.add("hems", "tls-handshake-failed", hems="initial-hems", cert=cert, alert=alert, reason="alert")
    tl.console("tls: certificate for wrong-ihems.operator.example refused")
    return tl.events


def refused_serving_certificate() -> Events:
    """5.1.3 with the Serving HeMS over HTTPS: the configured unit's tunnel, each bad certificate refused, then
    its registration at the Serving HeMS presenting its own."""
    tl = Timeline()
    tl.add("power", "power", action="on")
    tl.add("segw", "ike-up", segw="ssegw", remote_vips=["10.182.0.1"])
    tl.add("dns", "query", dns="private-dns", name="shems.operator.example", qtype="A")
    for cert in ("untrusted-ca", "expired", "wrong-name", "wrong-name"):
        tl.add(
            "hems", "tls-handshake-failed", hems=SERVING, cert=cert, alert="bad certificate", reason="alert"
        )
    tl.add("hems", "inform", hems=SERVING, events=["1 BOOT"], params={})
    tl.session_rpc("SetParameterValues", status=0)
    tl.add("hems", "session-end", hems=SERVING)
    return tl.events


def refused_download() -> Events:
    tl = Timeline().registered()
    tl.rpc("GetParameterValues")
    tl.rpc("Download", status=1)
    tl.add("fileserver", "tls-handshake-failed", proto="https", port=8443, alert="unknown ca")
    tl.add("hems", "inform", hems=SERVING, events=["7 TRANSFER COMPLETE", "M Download"], params={})
    tl.add("hems", "cpe-rpc", hems=SERVING, method="TransferComplete", command_key="dl-1", fault_code=9012)
    tl.session_rpc("GetParameterValues")
    tl.add("hems", "session-end", hems=SERVING)
    tl.rpc("GetParameterValues")  # read back
    return tl.events


def refused_pm_upload() -> Events:
    tl = Timeline().registered()
    tl.rpc("SetParameterValues", status=0)
    tl.add("fileserver", "tls-handshake-failed", proto="https", port=8443, alert="unknown ca")
    tl.rpc("SetParameterValues", status=0)  # uploads stopped
    return tl.events


def configure_with_probes(fault: bool = False) -> Events:
    """5.2.3's first test: the connection requests the unit must refuse (TR-069 3.2.2), then the set."""
    tl = Timeline().registered()
    for probe in ("no credentials", "wrong credentials"):
        tl.add("hems", "connection-request", hems=SERVING, status=401, probe=probe)
    tl.session(("SetParameterValues", fault, {"status": 0}), ("GetParameterValues", False, {}))
    if not fault:
        tl.s1_update(7)
        tl.session()  # the next Inform, with the ParameterKey the set gave (TR-069 A.3.2.1)
    return tl.events


def registration() -> Events:
    tl = Timeline()
    tl.add("power", "power", action="on")
    tl.add("segw", "ike-up", segw="ssegw", remote_vips=["10.182.0.1"])
    tl.add("dns", "query", dns="private-dns", name="shems.operator.example", qtype="A")
    events = tl.events + Timeline().registered().events[2:]
    return [{**e, "seq": i + 3, "t": 100.0 + i / 10} for i, e in enumerate(events)]


def download(proto: str = "http", fault: int = 0, fetched: str = "download") -> Events:
    tl = Timeline().registered()
    tl.rpc("GetParameterValues")  # a failing test reads the values first
    tl.rpc("Download", status=1)
    tl.add("dns", "query", dns="private-dns", name="files.operator.example", qtype="A")
    tl.add("fileserver", fetched, proto=proto, path=f"/cm/{proto}-1.xml", user="cm", status=200)
    tl.add("hems", "inform", hems=SERVING, events=["7 TRANSFER COMPLETE", "M Download"], params={})
    tl.add("hems", "cpe-rpc", hems=SERVING, method="TransferComplete", command_key="dl-1", fault_code=fault)
    tl.session_rpc("GetParameterValues")
    tl.add("hems", "session-end", hems=SERVING)
    if not fault:
        tl.s1_update(7)
    tl.rpc("GetParameterValues")  # read back
    return tl.events


def failing_download() -> Events:
    events = download(fault=9012, fetched="auth-failed")
    return events


def configure(fault: bool = False) -> Events:
    tl = Timeline().registered()
    tl.session(("SetParameterValues", fault, {"status": 0}), ("GetParameterValues", False, {}))
    if not fault:
        tl.s1_update(7)
    return tl.events


def invalid_set() -> Events:
    tl = Timeline().registered()
    tl.rpc("GetParameterValues")
    tl.session(("SetParameterValues", True, {}), ("GetParameterValues", False, {}))
    return tl.events


def alarm(n: int, table: str | None = None, history: bool = False, confirmed: bool = True) -> Events:
    tl = Timeline().registered()
    tl.session(("SetParameterValues", False, {"status": 0}), ("GetParameterValues", False, {}))
    tl.add("unit", "action", unit="henb-01", action="raise alarm", method="console", sent="fm alarm set")
    tl.console(f"[    3.369] FM-OK: alarm 0x100{n} asserted")
    if confirmed:
        tl.add(
            "unit", "action-confirmed", unit="henb-01", action="raise alarm", line=f"FM-OK: alarm 0x100{n}"
        )
    if table == "ExpeditedEvent":
        tl.alarm_inform(table, n, ["4 VALUE CHANGE"])
    elif table == "QueuedEvent":
        tl.add("hems", "connection-request", hems=SERVING, status=200)
        tl.alarm_inform(table, n, ["4 VALUE CHANGE", "6 CONNECTION REQUEST"])
    if history:
        tl.rpc("GetParameterValues")
    return tl.events


def disabled_alarm() -> Events:
    tl = Timeline().registered()
    tl.rpc("SetParameterValues", status=0)
    tl.rpc("GetParameterValues")
    tl.add("unit", "action", unit="henb-01", action="raise alarm", method="console", sent="fm alarm set")
    tl.console("[    5.973] FM-OK: alarm 0x1004 asserted report=disabled")
    return tl.events


def pm_uploads(proto: str = "ftp", count: int = 3) -> Events:
    tl = Timeline().registered()
    tl.rpc("SetParameterValues", status=0)
    tl.rpc("GetParameterValues")
    for i in range(count):
        tl.add("fileserver", "upload", proto=proto, path=f"/pm-{proto}/A{i}.xml", user="pm", stored="/x")
    tl.rpc("SetParameterValues", status=0)  # uploads stopped
    return tl.events


def without(events: Events, pred: Callable[[dict[str, Any]], bool], last: bool = False) -> Events:
    """`events` less the first (or last) one `pred` picks."""
    hits = [i for i, e in enumerate(events) if pred(e)]
    assert hits, "the event to drop is not in the list"
    drop = hits[-1] if last else hits[0]
    return [e for i, e in enumerate(events) if i != drop]


def kind(source: str, k: str, **data: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda e: (
        e["source"] == source and e["kind"] == k and all(e["data"].get(a) == v for a, v in data.items())
    )


# clause, test, a realistic timeline of a passing test
CASES: list[tuple[str, str, Callable[[], Events]]] = [
    ("5.1.3", "test_registration_with_serving_hems", registration),
    ("5.1.2.3", "test_discovery_via_initial_hems_on_public_internet", public_discovery),
    ("5.1.2.3", "test_refuses_initial_hems_it_must_not_trust", refused_certificate),
    ("5.1.3", "test_refuses_serving_hems_it_must_not_trust", refused_serving_certificate),
    ("5.2.2", "test_download_from_untrusted_file_server_is_refused", refused_download),
    ("5.4.2", "test_pm_upload_to_untrusted_file_server_is_refused", refused_pm_upload),
    *[
        ("5.2.2", f"test_configuration_by_file_download[{p}]", lambda p=p: download(p))
        for p in ("http", "https", "ftp", "sftp")
    ],
    (
        "5.2.2",
        "test_failing_download_reports_the_fault_and_changes_nothing[wrong-password]",
        failing_download,
    ),
    ("5.2.3", "test_configuration_by_set_parameter_values", configure_with_probes),
    ("5.2.3", "test_invalid_set_is_refused_as_a_whole", invalid_set),
    ("5.3.1", "test_reporting_mechanism_configuration", configure),
    ("5.3.2", "test_expedited_alarm_is_reported_at_once", lambda: alarm(1, "ExpeditedEvent")),
    ("5.3.2", "test_queued_alarm_waits_for_the_next_inform", lambda: alarm(2, "QueuedEvent")),
    ("5.3.2", "test_logged_alarm_is_not_informed_but_kept", lambda: alarm(3, history=True)),
    ("5.3.2", "test_disabled_alarm_is_not_reported", disabled_alarm),
    ("5.4.1", "test_disabled_pm_uploads_nothing", configure),
    *[
        ("5.4.2", f"test_pm_files_uploaded_at_the_interval[{p}]", lambda p=p: pm_uploads(p))
        for p in ("ftp", "sftp", "http", "https")
    ],
]


@pytest.mark.parametrize(("clause", "test", "events"), CASES, ids=[c[1] for c in CASES])
def test_each_sequence_matches_a_passing_tests_timeline(
    clause: str, test: str, events: Callable[[], Events]
) -> None:
    figure = figure_for(clause, test)
    assert figure is not None
    matches = match(figure, messages(events()))
    assert first_deviation(matches) is None, [(m.step.label, m.status, m.note) for m in matches]
    assert all(m.status == "ok" for m in matches)
    seqs = [m.message.seq for m in matches if m.message]
    assert seqs == sorted(seqs)


# clause, test, a timeline with one step missing, the step that must be the first deviation
MISSING: list[tuple[str, str, Callable[[], Events], str]] = [
    ("5.1.2.3", "test_discovery_via_initial_hems_on_public_internet",
     lambda: without(public_discovery(), kind("segw", "ike-up")), "IKE SA up, Serving SeGW"),
    ("5.1.2.3", "test_discovery_via_initial_hems_on_public_internet",
     lambda: without(public_discovery(), kind("hems", "session-end")), "session end (HTTP 204)"),
    ("5.1.2.3", "test_refuses_initial_hems_it_must_not_trust",
     lambda: without(refused_certificate(), kind("dns", "query")), "DNS query Initial HeMS (public DNS)"),
    ("5.1.2.3", "test_refuses_initial_hems_it_must_not_trust",
     lambda: without(refused_certificate(), kind("hems", "tls-handshake-failed", cert="expired")),
     "TLS refused: expired certificate"),
    ("5.1.3", "test_refuses_serving_hems_it_must_not_trust",
     lambda: without(refused_serving_certificate(), kind("hems", "tls-handshake-failed", cert="untrusted-ca")),
     "TLS refused: certificate from an untrusted CA"),
    ("5.2.2", "test_download_from_untrusted_file_server_is_refused",
     lambda: without(refused_download(), kind("fileserver", "tls-handshake-failed")),
     "TLS refused: file server certificate from an untrusted CA"),
    ("5.2.3", "test_configuration_by_set_parameter_values",
     lambda: without(configure_with_probes(), kind("hems", "connection-request", probe="wrong credentials")),
     "Connection Request, wrong credentials: HTTP 401"),
    ("5.2.2", "test_configuration_by_file_download[http]",
     lambda: without(download("http"), kind("fileserver", "download")), "file fetched over http"),
    ("5.2.2", "test_configuration_by_file_download[sftp]",
     lambda: download("sftp", fetched="auth-failed"), "file fetched over sftp"),
    ("5.2.2", "test_configuration_by_file_download[ftp]",
     lambda: download("http"), "file fetched over ftp"),  # fetched, but not over the protocol under test
    ("5.2.2", "test_configuration_by_file_download[https]",
     lambda: without(download("https"), kind("hems", "cpe-rpc")), "TransferComplete"),
    ("5.2.2", "test_failing_download_reports_the_fault_and_changes_nothing[missing]",
     lambda: without(failing_download(), kind("hems", "inform", events=["7 TRANSFER COMPLETE", "M Download"])),
     "Inform 7 TRANSFER COMPLETE, M Download"),
    ("5.2.3", "test_configuration_by_set_parameter_values",
     lambda: configure_with_probes(fault=True), "SetParameterValuesResponse"),
    ("5.2.3", "test_configuration_by_set_parameter_values",
     lambda: without(configure_with_probes(), kind("mme", "s1ap", message="ENBConfigurationUpdate")),
     "eNB Configuration Update (new TAC)"),
    ("5.1.3", "test_registration_with_serving_hems",
     lambda: without(registration(), kind("mme", "s1ap", message="S1SetupRequest")),
     "S1 Setup Request (TAC, PLMN, eNB ID)"),
    ("5.2.3", "test_invalid_set_is_refused_as_a_whole",
     lambda: configure(), "Fault (SetParameterValues refused)"),
    ("5.3.1", "test_reporting_mechanism_configuration",
     lambda: without(configure(), kind("hems", "rpc-response", method="GetParameterValues"), last=True),
     "GetParameterValuesResponse"),
    ("5.3.2", "test_expedited_alarm_is_reported_at_once",
     lambda: alarm(1), "Inform (4 VALUE CHANGE) ExpeditedEvent"),
    ("5.3.2", "test_expedited_alarm_is_reported_at_once",
     lambda: alarm(1, "ExpeditedEvent", confirmed=False), "alarm raised (unit action)"),  # not confirmed
    ("5.3.2", "test_queued_alarm_waits_for_the_next_inform",
     lambda: alarm(2, "ExpeditedEvent"), "Connection Request"),
    ("5.3.2", "test_logged_alarm_is_not_informed_but_kept",
     lambda: disabled_alarm(), "alarm raised (unit action)"),
    ("5.3.2", "test_disabled_alarm_is_not_reported",
     lambda: without(disabled_alarm(), kind("hems", "rpc-response", method="GetParameterValues"), last=True),
     "GetParameterValuesResponse"),
    ("5.4.1", "test_disabled_pm_uploads_nothing",
     lambda: without(configure(), kind("hems", "rpc-sent", method="GetParameterValues"), last=True),
     "GetParameterValues (read back)"),
    ("5.4.2", "test_pm_files_uploaded_at_the_interval[ftp]",
     lambda: pm_uploads("ftp", count=0), "PM file uploaded over ftp"),
    ("5.4.2", "test_pm_files_uploaded_at_the_interval[https]",
     lambda: pm_uploads("http"), "PM file uploaded over https"),
]  # fmt: skip


@pytest.mark.parametrize(("clause", "test", "events", "label"), MISSING)
def test_a_missing_step_is_the_first_deviation(
    clause: str, test: str, events: Callable[[], Events], label: str
) -> None:
    figure = figure_for(clause, test)
    assert figure is not None
    matches = match(figure, messages(events()))
    dev = first_deviation(matches)
    # Out of order when an earlier test's (or the registration's) message of that kind precedes the test's own.
    assert dev is not None and dev.status in ("missing", "out-of-order"), [
        (m.step.label, m.status) for m in matches
    ]
    assert dev.step.label == label
    assert all(m.status == "ok" for m in matches[: matches.index(dev)])
    assert all(m.status == "not-reached" for m in matches[matches.index(dev) + 1 :])


def test_a_complete_sequence_is_matched_at_the_tests_own_messages() -> None:
    # The registration's SetParameterValues comes first in the timeline; the 5.3.1 ladder is the test's own.
    events = configure()
    matches = match(FIGURES["5.3.1"], messages(events))
    registration_spv = next(e["seq"] for e in events if e["kind"] == "rpc-sent")
    assert matches[0].message is not None and matches[0].message.seq > registration_spv
    # An earlier test's download over http does not stand in for the https test's Download.
    first = download("http")
    later = download("https")
    offset = len(first)
    for e in later:
        e["seq"] += offset
        e["t"] += offset
    both = first + later
    matches = match(TESTS["test_configuration_by_file_download[https]"], messages(both))
    assert first_deviation(matches) is None
    assert matches[0].message is not None and matches[0].message.seq > first[-1]["seq"]


def test_the_alarm_raised_through_the_units_template_is_a_self_arrow() -> None:
    msgs = messages(alarm(1, "ExpeditedEvent"))
    raised = [m for m in msgs if m.kind == "alarm-raised"]
    assert [(m.src, m.dst, m.label, m.detail) for m in raised] == [
        ("henb", "henb", "alarm raised", "FM-OK: alarm 0x1001")
    ]
    assert not any(m.source == "console" and m.kind == "console-line" for m in msgs)


def test_an_inform_must_carry_every_event_a_step_names() -> None:
    events = download("http")
    for e in events:
        if e["kind"] == "inform" and "M Download" in e["data"]["events"]:
            e["data"]["events"] = ["7 TRANSFER COMPLETE"]
    dev = first_deviation(match(TESTS["test_configuration_by_file_download[http]"], messages(events)))
    assert dev is not None and dev.step.label == "Inform 7 TRANSFER COMPLETE, M Download"


def test_figure_for_picks_the_tests_own_sequence_then_the_clauses() -> None:
    assert (
        figure_for("5.2.2", "test_configuration_by_file_download[ftp]")
        is TESTS["test_configuration_by_file_download[ftp]"]
    )
    failing = "test_failing_download_reports_the_fault_and_changes_nothing"
    assert figure_for("5.2.2", f"{failing}[corrupt]") is TESTS[failing]
    assert figure_for("5.2.2", "test_something_new") is FIGURES["5.2.2"]
    assert figure_for("5.3.1", "test_reporting_mechanism_configuration") is FIGURES["5.3.1"]
    assert (
        figure_for("5.1.3", "test_queued_alarm_waits_for_the_next_inform") is FIGURES["5.1.3"]
    )  # other clause
    assert figure_for(None, "test_x") is None
    covered = {"5.1.2.2", "5.1.2.3", "5.1.3", "5.2.2", "5.2.3", "5.2.4", "5.3.1", "5.3.2", "5.4.1", "5.4.2"}
    assert set(FIGURES) == covered

"""The message sequences of TS 32.593's figures, per clause (and per test where a clause's tests follow
different flows), as data: what the report draws as the expected ladder and matches the observed one against
(in order, other messages in between allowed). Where a test expects the absence of a message (no Inform for a
Logged alarm, no upload while PM is disabled), only what must be there is drawn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Lanes of the ladder, left to right: key -> title.
LANES = {
    "henb": "HeNB",
    "dns": "DNS",
    "segw": "SeGW",
    "hems": "HeMS",
    "files": "File server",
    "mme": "MME",
}


@dataclass(frozen=True)
class Step:
    """One arrow of a figure; it matches an observed message with this source and kind whose data has
    `where`'s values: a list in the data matches when it contains the value, a dict (an Inform's parameters)
    when one of its names contains it; a tuple of values must all match."""

    label: str
    src: str
    dst: str
    source: str
    kind: str
    where: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    clause: str
    title: str
    steps: tuple[Step, ...]


def _inform(hems: str, event: str | None = None) -> Step:
    where = {"hems": hems} | ({"events": event} if event else {})
    label = f"Inform ({event or hems})"
    return Step(label, "henb", "hems", "hems", "inform", where)


SERVING = "serving-hems"


def _rpc(method: str, what: str = "", hems: str = SERVING) -> tuple[Step, Step]:
    """An RPC from the HeMS and the unit's response to it."""
    where = {"hems": hems, "method": method}
    label = f"{method} ({what})" if what else method
    return (
        Step(label, "hems", "henb", "hems", "rpc-sent", where),
        Step(f"{method}Response", "henb", "hems", "hems", "rpc-response", where),
    )


def _response() -> Step:
    return Step("InformResponse", "hems", "henb", "hems", "inform-response", {"hems": SERVING})


CONNECTION_REQUEST = Step(
    "Connection Request", "hems", "henb", "hems", "connection-request", {"hems": SERVING}
)
INFORM_CR = _inform(SERVING, "6 CONNECTION REQUEST")


def _alarm() -> Step:
    """The alarm raised through the unit's raise_alarm template, as the unit confirmed it."""
    return Step("alarm raised (unit action)", "henb", "henb", "unit", "alarm-raised", {})


def _s1ap(message: str, label: str, uplink: bool = True) -> Step:
    ends = ("henb", "mme") if uplink else ("mme", "henb")
    return Step(
        label, *ends, "mme", "s1ap", {"message": message, "direction": "uplink" if uplink else "downlink"}
    )


# A change of what S1 carries (the TAC), told to the MME.
S1_UPDATE = (
    _s1ap("ENBConfigurationUpdate", "eNB Configuration Update (new TAC)"),
    _s1ap("ENBConfigurationUpdateAcknowledge", "eNB Configuration Update Acknowledge", uplink=False),
)


def _download(proto: str | None, s1: bool = True) -> tuple[Step, ...]:
    """Figure 5-6; a failing download (proto None) need not reach the file server in any particular way, and
    changes nothing S1 carries (s1 False)."""
    fetch = (
        (Step(f"file fetched over {proto}", "henb", "files", "fileserver", "download", {"proto": proto}),)
        if proto
        else ()
    )
    return (
        *_rpc("Download", "configuration file"),
        *fetch,
        Step(
            "Inform 7 TRANSFER COMPLETE, M Download",
            "henb",
            "hems",
            "hems",
            "inform",
            {"hems": SERVING, "events": ("7 TRANSFER COMPLETE", "M Download")},
        ),
        _response(),
        Step(
            "TransferComplete",
            "henb",
            "hems",
            "hems",
            "cpe-rpc",
            {"hems": SERVING, "method": "TransferComplete"},
        ),
        *_rpc("GetParameterValues", "read back"),
        *(S1_UPDATE if s1 else ()),
    )


def _uploads(proto: str | None) -> tuple[Step, ...]:
    """Figure 5-12: PerfMgmt.Config set, then measCollecFiles uploaded at the interval (the plan waits for 3)."""
    where = {"proto": proto} if proto else {}
    up = Step(
        f"PM file uploaded{' over ' + proto if proto else ''}", "henb", "files", "fileserver", "upload", where
    )
    return (*_rpc("SetParameterValues", "PerfMgmt.Config"), up, up, up)


FIGURES: dict[str, Figure] = {
    f.clause: f
    for f in (
        Figure(
            "5.1.2.2",
            "Figure 5-3: Serving HeMS discovery via an Initial HeMS in the private network",
            (
                Step("DNS query Initial SeGW (public DNS)", "henb", "dns", "dns", "query", {"dns": "public-dns"}),
                Step("IKE SA up, Initial SeGW", "henb", "segw", "segw", "ike-up", {"segw": "isegw"}),
                Step("DNS query Initial HeMS (private DNS)", "henb", "dns", "dns", "query", {"dns": "private-dns"}),
                _inform("initial-hems"),
                Step("InformResponse", "hems", "henb", "hems", "inform-response", {"hems": "initial-hems"}),
                Step("SetParameterValues (Serving SeGW, HeMS)", "hems", "henb", "hems", "rpc-sent",
                     {"hems": "initial-hems", "method": "SetParameterValues"}),
                Step("SetParameterValuesResponse", "henb", "hems", "hems", "rpc-response",
                     {"hems": "initial-hems", "method": "SetParameterValues"}),
                Step("session end (HTTP 204)", "hems", "henb", "hems", "session-end", {"hems": "initial-hems"}),
                Step("DNS query Serving SeGW (public DNS)", "henb", "dns", "dns", "query", {"dns": "public-dns"}),
                Step("IKE SA up, Serving SeGW", "henb", "segw", "segw", "ike-up", {"segw": "ssegw"}),
            ),
        ),
        Figure(
            "5.1.3",
            "Figure 5-5: Registration with the Serving HeMS",
            (
                Step("IKE SA up, Serving SeGW", "henb", "segw", "segw", "ike-up", {"segw": "ssegw"}),
                Step("DNS query Serving HeMS (private DNS)", "henb", "dns", "dns", "query", {"dns": "private-dns"}),
                _inform("serving-hems"),
                Step("InformResponse", "hems", "henb", "hems", "inform-response", {"hems": "serving-hems"}),
                Step("SetParameterValues (S1 far end, IPsec)", "hems", "henb", "hems", "rpc-sent",
                     {"hems": "serving-hems", "method": "SetParameterValues"}),
                Step("SetParameterValuesResponse", "henb", "hems", "hems", "rpc-response",
                     {"hems": "serving-hems", "method": "SetParameterValues"}),
                Step("session end (HTTP 204)", "hems", "henb", "hems", "session-end", {"hems": "serving-hems"}),
                Step("S1 setup: SCTP INIT", "henb", "mme", "mme", "sctp-init"),
                _s1ap("S1SetupRequest", "S1 Setup Request (TAC, PLMN, eNB ID)"),
                _s1ap("S1SetupResponse", "S1 Setup Response", uplink=False),
            ),
        ),
        Figure(
            "5.2.4",
            "Figure 5-8: IPsec tunnel IP address change notification",
            (
                Step("inner address change", "segw", "henb", "segw", "address-change", {"segw": "ssegw"}),
                Step("IKE SA up with the new address", "henb", "segw", "segw", "ike-up", {"segw": "ssegw"}),
                _inform("serving-hems", "4 VALUE CHANGE"),
                Step("InformResponse", "hems", "henb", "hems", "inform-response", {"hems": "serving-hems"}),
                Step("session end (HTTP 204)", "hems", "henb", "hems", "session-end", {"hems": "serving-hems"}),
            ),
        ),
        Figure(
            "5.1.2.3",
            "Figure 5-4: Serving HeMS discovery via an Initial HeMS on the public internet",
            (
                Step("DNS query Initial HeMS (public DNS)", "henb", "dns", "dns", "query", {"dns": "public-dns"}),
                _inform("initial-hems"),
                Step("InformResponse", "hems", "henb", "hems", "inform-response", {"hems": "initial-hems"}),
                *_rpc("SetParameterValues", "Serving SeGW/HeMS", "initial-hems"),
                Step("session end (HTTP 204)", "hems", "henb", "hems", "session-end", {"hems": "initial-hems"}),
                Step("DNS query Serving SeGW (public DNS)", "henb", "dns", "dns", "query", {"dns": "public-dns"}),
                Step("IKE SA up, Serving SeGW", "henb", "segw", "segw", "ike-up", {"segw": "ssegw"}),
            ),
        ),
        Figure("5.2.2", "Figure 5-6: Configuration by file download", _download(None)),
        Figure(
            "5.2.3",
            "Figure 5-7: Configuration by SetParameterValues",
            # One session (one connection request) sets and reads back; S1 carries the change after it.
            (CONNECTION_REQUEST, INFORM_CR, *_rpc("SetParameterValues"), *_rpc("GetParameterValues", "read back"),
             *S1_UPDATE),  # fmt: skip
        ),
        Figure(
            "5.3.1",
            "Figure 5-9: Alarm reporting mechanism configuration",
            (*_rpc("SetParameterValues", "alarm mechanisms"), *_rpc("GetParameterValues", "read back")),
        ),
        Figure(
            "5.3.2",
            "Figure 5-10: Alarm reporting (Expedited)",
            (
                _alarm(),
                Step("Inform (4 VALUE CHANGE) ExpeditedEvent", "henb", "hems", "hems", "inform",
                     {"hems": SERVING, "events": "4 VALUE CHANGE", "params": ".ExpeditedEvent."}),
                _response(),
            ),
        ),
        Figure(
            "5.4.1",
            "Figure 5-11: PeriodicUploadInterval configuration",
            (*_rpc("SetParameterValues", "PerfMgmt.Config"), *_rpc("GetParameterValues", "read back")),
        ),
        Figure("5.4.2", "Figure 5-12: PM file upload", _uploads(None)),
    )
}  # fmt: skip

# Tests of a clause whose flow differs from the clause's figure, by test name (with its parameters, or without
# them for every parametrization).
TESTS: dict[str, Figure] = {
    "test_refuses_initial_hems_with_mismatching_certificate": Figure(
        "5.1.2.3",
        "Figure 5-4, refused: no Inform may reach an Initial HeMS whose certificate names another host",
        (Step("DNS query Initial HeMS (public DNS)", "henb", "dns", "dns", "query", {"dns": "public-dns"}),),
    ),
    **{
        f"test_configuration_by_file_download[{proto}]": Figure(
            "5.2.2", f"Figure 5-6: Configuration by file download over {proto}", _download(proto)
        )
        for proto in ("http", "https", "ftp", "sftp")
    },
    "test_failing_download_reports_the_fault_and_changes_nothing": Figure(
        "5.2.2", "Figure 5-6, failing: TransferComplete with the fault, nothing applied", _download(None, s1=False)
    ),
    "test_invalid_set_is_refused_as_a_whole": Figure(
        "5.2.3",
        "Figure 5-7, refused: a Fault for the whole set, nothing applied",
        (
            CONNECTION_REQUEST,
            INFORM_CR,
            _rpc("SetParameterValues", "invalid")[0],
            Step("Fault (SetParameterValues refused)", "henb", "hems", "hems", "rpc-fault",
                 {"hems": SERVING, "method": "SetParameterValues"}),
            *_rpc("GetParameterValues", "read back"),
        ),
    ),
    "test_queued_alarm_waits_for_the_next_inform": Figure(
        "5.3.2",
        "Figure 5-10: Alarm reporting (Queued: in the next Inform, not at once)",
        (
            _alarm(),
            CONNECTION_REQUEST,
            Step("Inform (4 VALUE CHANGE) QueuedEvent", "henb", "hems", "hems", "inform",
                 {"hems": SERVING, "events": "4 VALUE CHANGE", "params": ".QueuedEvent."}),
            _response(),
        ),
    ),
    "test_logged_alarm_is_not_informed_but_kept": Figure(
        "5.3.2",
        "Figure 5-10: Alarm reporting (Logged: no Inform, kept in HistoryEvent)",
        (_alarm(), *_rpc("GetParameterValues", "HistoryEvent")),
    ),
    "test_disabled_alarm_is_not_reported": Figure(
        "5.3.2",
        "Figure 5-10: Alarm reporting (Disabled: no Inform)",
        (*_rpc("SetParameterValues", "alarm mechanisms"), *_rpc("GetParameterValues", "read back")),
    ),
    **{
        f"test_pm_files_uploaded_at_the_interval[{proto}]": Figure(
            "5.4.2", f"Figure 5-12: PM file upload over {proto}", _uploads(proto)
        )
        for proto in ("ftp", "sftp", "http", "https")
    },
}  # fmt: skip


def figure_for(clause: str | None, test: str = "") -> Figure | None:
    """The expected sequence for `test` of `clause`: the test's own (by its full name, then by its name without
    parameters), else the clause's figure."""
    for name in (test, test.split("[", 1)[0]):
        fig = TESTS.get(name)
        if fig is not None and fig.clause == clause:
            return fig
    return FIGURES.get(clause or "")

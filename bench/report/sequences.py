"""The message sequences of TS 32.593's figures, per clause, as data: what the report draws as the expected
ladder and matches the observed one against (in order, other messages in between allowed)."""

from __future__ import annotations

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
    `where`'s values (a list in the data matches when it contains the value)."""

    label: str
    src: str
    dst: str
    source: str
    kind: str
    where: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    clause: str
    title: str
    steps: tuple[Step, ...]


def _inform(hems: str, event: str | None = None) -> Step:
    where = {"hems": hems} | ({"events": event} if event else {})
    label = f"Inform ({event or hems})"
    return Step(label, "henb", "hems", "hems", "inform", where)


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
    )
}  # fmt: skip

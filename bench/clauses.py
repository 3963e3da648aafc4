"""A TS 32.593 clause as its plan module declares it: title, checks (step, what, the mock knobs that break
it and the words their failure must say), and the expected figure the report draws, with builders for the
figures' arrows. `henb-bench list`, `--clause`, the report and the negative twins all read these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.events import ArrowKind, DnsKind, FileserverKind, HemsKind, MmeKind, SegwKind, Source

# The outcome of a test whose clause does not apply to a unit (Clause.applies): not run there, no verdict.
NOT_APPLICABLE = "not-applicable"

# The lifelines of the spec's figures, left to right: key -> title. Observed events name theirs by the same
# keys (a DNS event's `dns`, a SeGW event's `segw`, a HeMS event's `hems`).
LIFELINES = {
    "henb": "HeNB",
    "public-dns": "public DNS",
    "private-dns": "private DNS",
    "isegw": "Initial SeGW",
    "ssegw": "Serving SeGW",
    "initial-hems": "Initial HeMS",
    "serving-hems": "Serving HeMS",
    "files": "file server",
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
    title: str
    steps: tuple[Step, ...]

    def lifelines(self) -> list[str]:
        used = {lane for s in self.steps for lane in (s.src, s.dst)}
        return [lane for lane in LIFELINES if lane in used] + sorted(used - set(LIFELINES))

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "steps": [
                {"label": s.label, "src": s.src, "dst": s.dst, "source": s.source, "kind": s.kind,
                 "where": {k: list(v) if isinstance(v, tuple) else v for k, v in s.where.items()}}
                for s in self.steps
            ],
        }  # fmt: skip

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Figure:
        steps = tuple(
            Step(s["label"], s["src"], s["dst"], s["source"], s["kind"],
                 {k: tuple(v) if isinstance(v, list) else v for k, v in s.get("where", {}).items()})
            for s in data["steps"]
        )  # fmt: skip
        return Figure(data["title"], steps)


@dataclass(frozen=True)
class Twin:
    """The mock told `knob` makes the check fail, with a message containing every one of `words` (where
    `{serial}` and `{oui}` stand for the unit's identity from the inventory).
    `inventory` is merged into the twin's inventory (e.g. a setting the check only fails under);
    `whole_clause` runs all of the clause's tests (the words come from more than the first failure)."""

    knob: str
    words: tuple[str, ...]
    inventory: Mapping[str, Any] = field(default_factory=dict)
    whole_clause: bool = False


@dataclass(frozen=True)
class Check:
    """One check a clause makes at `step`; `key` tells checks of one step apart where a waiver must name one
    (its id is CLAUSE/STEP/KEY, else CLAUSE/STEP)."""

    step: str
    what: str
    twins: tuple[Twin, ...]
    key: str = ""

    @property
    def knobs(self) -> tuple[str, ...]:
        return tuple(t.knob for t in self.twins)

    def id(self, clause: str) -> str:
        return f"{clause}/{self.step}" + (f"/{self.key}" if self.key else "")


def waives(waiver: str, check_id: str) -> bool:
    """A waiver's `check` covers `check_id`: the same id, or CLAUSE/STEP for every check of that step."""
    return check_id == waiver or check_id.startswith(waiver + "/")


@dataclass(frozen=True)
class Clause:
    """`figure` is the clause's expected sequence; `tests` the figure of a test whose flow differs, by its
    name with its parameters or without them. `inventory` is the deployment the clause needs, merged into
    its twins' inventory. `applies`: the unit settings (keys of `units.NAME`) a unit must have for the clause
    to apply to it; a unit without them does not run its tests, which are reported not applicable."""

    id: str
    title: str
    figure: Figure | None
    checks: tuple[Check, ...]
    tests: Mapping[str, Figure] = field(default_factory=dict)
    inventory: Mapping[str, Any] = field(default_factory=dict)
    applies: Mapping[str, str] = field(default_factory=dict)

    def not_applicable(self, unit: str, settings: Any) -> str | None:
        """Why the clause does not apply to `unit` (its inventory entry `settings`), or None when it does."""
        wrong = {k: v for k, v in self.applies.items() if str(getattr(settings, k, None)) != v}
        if not wrong:
            return None
        wants = ", ".join(f"{k}: {v}" for k, v in self.applies.items())
        has = ", ".join(f"units.{unit}.{k}: {getattr(settings, k, None)}" for k in wrong)
        return f"clause {self.id} is for units with {wants} ({has})"

    def applies_text(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.applies.items())

    def figure_for(self, test: str) -> Figure | None:
        for name in (test, test.split("[", 1)[0]):
            if name in self.tests:
                return self.tests[name]
        return self.figure

    def to_json(self) -> dict[str, Any]:
        """What run.json keeps, so a report renders from the run folder alone."""
        return {
            "title": self.title,
            "checks": [{"step": c.step, "what": c.what, "id": c.id(self.id)} for c in self.checks],
            "figure": self.figure.to_json() if self.figure else None,
            "tests": {name: f.to_json() for name, f in self.tests.items()},
            "applies": dict(self.applies),
        }


# What a clause's plan asserts on the outer capture at its end (bench.run.Evidence.assert_no_cleartext).
NO_CLEARTEXT = "no operator traffic outside the tunnel on the outer link during the test (TS 33.320)"


def no_cleartext_check(what: str = NO_CLEARTEXT) -> Check:
    """The "security" check of a clause whose plan judges the outer capture (Evidence.assert_no_cleartext), and
    its twin: a unit sending a CWMP packet in clear, quoted from the capture."""
    return Check(
        "security", what, (Twin("leak_cleartext", ("cleartext operator packet", "10.180.0.20:7547 UDP")),)
    )


def sort_key(clause_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in clause_id.split("."))


# Builders for the arrows the figures share (the HeMS names are the topology's).
SERVING = "serving-hems"


def dns_query(what: str, dns: str) -> Step:
    return Step(f"DNS query {what} ({LIFELINES[dns]})", "henb", dns, Source.DNS, DnsKind.QUERY, {"dns": dns})


def ike_up(segw: str, label: str = "") -> Step:
    return Step(
        label or f"IKE SA up, {LIFELINES[segw]}", "henb", segw, Source.SEGW, SegwKind.IKE_UP, {"segw": segw}
    )


def impostors_refused(segw: str) -> tuple[Step, Step]:
    """The impostors the bench presents before the real SeGW, refused by the unit: its AUTHENTICATION_FAILED
    or DELETE for each impostor certificate, and the SeGW's NO_PROPOSAL_CHOSEN to its offer."""
    name = LIFELINES[segw]
    return (
        Step(f"DELETE IKE SA (or AUTHENTICATION_FAILED) to an impostor {name}", "henb", segw, Source.SEGW,
             SegwKind.PEER_DELETE, {"segw": segw}),
        Step(f"NO_PROPOSAL_CHOSEN: impostor {name} with weak proposals", segw, "henb", Source.SEGW,
             SegwKind.REFUSED, {"segw": segw}),
    )  # fmt: skip


def inform(hems: str = SERVING, event: str | tuple[str, ...] | None = None, label: str = "") -> Step:
    where: dict[str, str | tuple[str, ...]] = {"hems": hems}
    if event:
        where["events"] = event
    shown = ", ".join(event) if isinstance(event, tuple) else event
    return Step(label or f"Inform ({shown or hems})", "henb", hems, Source.HEMS, HemsKind.INFORM, where)


def inform_response(hems: str = SERVING) -> Step:
    return Step("InformResponse", hems, "henb", Source.HEMS, ArrowKind.INFORM_RESPONSE, {"hems": hems})


def session_end(hems: str = SERVING) -> Step:
    return Step("session end (HTTP 204)", hems, "henb", Source.HEMS, HemsKind.SESSION_END, {"hems": hems})


def session_failed(
    hems: str = SERVING, label: str = "HTTP 503 / connection closed (HeMS restart, on purpose)"
) -> Step:
    """The HeMS failing the unit's session on purpose (bench/hems/failures.py): its answer to the Inform."""
    return Step(label, hems, "henb", Source.HEMS, HemsKind.SESSION_FAILED, {"hems": hems})


def rpc(method: str, what: str = "", hems: str = SERVING) -> tuple[Step, Step]:
    """An RPC from the HeMS and the unit's response to it."""
    where = {"hems": hems, "method": method}
    label = f"{method} ({what})" if what else method
    return (
        Step(label, hems, "henb", Source.HEMS, HemsKind.RPC_SENT, where),
        Step(f"{method}Response", "henb", hems, Source.HEMS, HemsKind.RPC_RESPONSE, where),
    )


def connection_request(hems: str = SERVING, probe: str = "") -> Step:
    """A connection request; with `probe` ('no credentials', 'wrong credentials') one the unit must refuse
    with HTTP 401 (TR-069 3.2.2)."""
    if probe:
        where = {"hems": hems, "probe": probe}
        return Step(f"Connection Request, {probe}: HTTP 401", hems, "henb", Source.HEMS,
                    HemsKind.CONNECTION_REQUEST, where)  # fmt: skip
    return Step("Connection Request", hems, "henb", Source.HEMS, HemsKind.CONNECTION_REQUEST, {"hems": hems})


def tls_refused(hems: str, cert: str, label: str) -> Step:
    """The unit refusing the certificate `cert` (the kind the bench presented) in the TLS handshake with `hems`:
    its alert, or its close, as the HeMS saw it."""
    return Step(label, "henb", hems, Source.HEMS, HemsKind.TLS_FAILED, {"hems": hems, "cert": cert})


def hems_tls_refused(hems: str) -> tuple[Step, ...]:
    """The unit refusing each bad certificate the HeMS `hems` presents it (testplans/ts32593/untrusted_hems.py)."""
    return (
        tls_refused(hems, "untrusted-ca", "TLS refused: certificate from an untrusted CA"),
        tls_refused(hems, "expired", "TLS refused: expired certificate"),
        tls_refused(hems, "wrong-name", "TLS refused: certificate for another name"),
    )


def files_tls_refused(label: str = "TLS refused: file server certificate from an untrusted CA") -> Step:
    """The unit refusing the file server's untrusted certificate in the TLS handshake (the file server saw it)."""
    return Step(label, "henb", "files", Source.FILESERVER, FileserverKind.TLS_FAILED, {})


def s1ap(message: str, label: str, uplink: bool = True) -> Step:
    ends = ("henb", "mme") if uplink else ("mme", "henb")
    return Step(
        label,
        *ends,
        Source.MME,
        MmeKind.S1AP,
        {"message": message, "direction": "uplink" if uplink else "downlink"},
    )


def s1_update() -> tuple[Step, Step]:
    """A change of what S1 carries (the TAC), told to the MME."""
    return (
        s1ap("ENBConfigurationUpdate", "eNB Configuration Update (new TAC)"),
        s1ap("ENBConfigurationUpdateAcknowledge", "eNB Configuration Update Acknowledge", uplink=False),
    )


def alarm_raised() -> Step:
    """The alarm raised through the unit's raise_alarm template, as the unit confirmed it."""
    return Step("alarm raised (unit action)", "henb", "henb", Source.UNIT, ArrowKind.ALARM_RAISED, {})


def per_protocol(
    test: str, title: str, steps: Callable[[str], tuple[Step, ...]], protocols: Iterable[str]
) -> dict[str, Figure]:
    """The figure of each run of a test parametrised over transfer protocols: `test[proto]` -> "title over proto"."""
    return {f"{test}[{p}]": Figure(f"{title} over {p}", steps(p)) for p in protocols}

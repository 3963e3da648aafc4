"""The timeline's vocabulary: every event source, kind and its data keys defined once, the one formatter that
shows an event to a person (`describe`), and the one set of secret key names nothing may show."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import SimpleNamespace
from typing import Any, Protocol


class Source(StrEnum):
    """Who saw an event."""

    HEMS = "hems"
    SEGW = "segw"
    DNS = "dns"
    DHCP = "dhcp"
    MME = "mme"
    FILESERVER = "fileserver"
    POWER = "power"
    CONSOLE = "console"
    UNIT = "unit"
    BENCH = "bench"
    NTP = "ntp"
    SECURITY = "security"


class HemsKind(StrEnum):
    INFORM = "inform"
    RPC_SENT = "rpc-sent"
    RPC_RESPONSE = "rpc-response"
    RPC_FAULT = "rpc-fault"
    CPE_RPC = "cpe-rpc"
    SESSION_END = "session-end"
    AUTH_CHALLENGE = "auth-challenge"
    AUTH_FAILED = "auth-failed"
    BAD_MESSAGE = "bad-message"
    HEMS_ERROR = "hems-error"
    UNSUPPORTED_RPC = "unsupported-rpc"
    VERSION_MISMATCH = "version-mismatch"
    PROTOCOL_VIOLATION = "protocol-violation"
    DEFECT = "defect"
    CONNECTION_REQUEST = "connection-request"
    CONNECTION_REQUEST_UNANSWERED = "connection-request-unanswered"
    # a client's TLS handshake that did not complete (peer, reason, alert)
    TLS_FAILED = "tls-handshake-failed"
    # the bench failed a session on purpose (bench/hems/failures.py: how, the Inform's events, the rule's count)
    SESSION_FAILED = "session-failed-on-purpose"


class SegwKind(StrEnum):
    IKE_UP = "ike-up"
    IKE_DOWN = "ike-down"
    CHILD_UP = "child-up"
    CHILD_DOWN = "child-down"
    ADDRESS_CHANGE = "address-change"
    # What charon's log says of a peer: the unit's AUTHENTICATION_FAILED notify (it refused the SeGW), its
    # DELETE of an IKE SA, and the SeGW's own refusal of the unit (charon's reason).
    PEER_AUTH_FAILED = "peer-auth-failed"
    PEER_DELETE = "peer-delete"
    REFUSED = "refused"
    # An IKEv2 message as a capture shows it (bench/evidence): exchange, request or response, cleartext notifies.
    IKE_MESSAGE = "ike-message"


class DnsKind(StrEnum):
    QUERY = "query"


class DhcpKind(StrEnum):
    DISCOVER = "dhcpdiscover"
    OFFER = "dhcpoffer"
    REQUEST = "dhcprequest"
    ACK = "dhcpack"


class MmeKind(StrEnum):
    SCTP_INIT = "sctp-init"
    SCTP_UP = "sctp-up"
    SCTP_DOWN = "sctp-down"
    SCTP_DATA = "sctp-data"
    S1AP = "s1ap"


class FileserverKind(StrEnum):
    DOWNLOAD = "download"
    UPLOAD = "upload"
    AUTH_FAILED = "auth-failed"
    TLS_FAILED = "tls-handshake-failed"


class PowerKind(StrEnum):
    POWER = "power"
    PSU_SAMPLE = "psu-sample"
    PSU_FAULT = "psu-fault"


class ConsoleKind(StrEnum):
    LINE = "console-line"
    CRASH = "console-crash"
    LOST = "console-lost"
    REOPENED = "console-reopened"


class UnitKind(StrEnum):
    STATE = "state"
    BROKEN = "broken"
    RECOVER = "recover"
    HEALTH = "health"
    REBOOT = "reboot"
    FACTORY_RESET = "factory-reset"
    # How a unit whose flash the bench did not know reached the state asked for: used as configured, found
    # factory-fresh, or factory-reset first (bench/unit/lifecycle.py).
    PREPARED = "prepared"
    ACTION = "action"
    ACTION_CONFIRMED = "action-confirmed"


class BenchKind(StrEnum):
    TOPOLOGY_UP = "topology-up"
    HEMS_CERT = "hems-cert"
    WAN_ATTACHED = "wan-attached"
    WAN_DETACHED = "wan-detached"
    CORRUPTED_FILE = "corrupted-file"
    PM_FIRST_FILE = "pm-first-file"
    PM_INTERVAL = "pm-interval"
    CONFIG_FILE = "config-file"
    PM_CONFIG = "pm-config"
    # 5.1.3's wait for S1 setup after the registration: its bound, and whether the bench unlocked the cell.
    S1_WAIT = "s1-wait"
    # An impostor SeGW (a certificate or proposals the unit must refuse), presented to one unit, and withdrawn.
    IMPOSTOR = "impostor"
    # What a connection request about to go out carries (none, a wrong password, the registered credentials).
    CR_PROBE = "cr-probe"


class NtpKind(StrEnum):
    QUERY = "query"


class SecurityKind(StrEnum):
    OUTER_LINK = "outer-link"
    IMPOSTOR_CAPTURE = "impostor-capture"
    OUTER_FLOW = "outer-flow"
    OUTER_CAPTURE = "outer-capture"


class ArrowKind(StrEnum):
    """The report's derived arrows: drawn from an event, not events of the timeline themselves."""

    INFORM_RESPONSE = "inform-response"  # drawn from the Inform (the HeMS always answers one)
    ALARM_RAISED = "alarm-raised"  # a unit `action-confirmed` event of the raise_alarm template


KINDS: dict[Source, type[StrEnum]] = {
    Source.HEMS: HemsKind,
    Source.SEGW: SegwKind,
    Source.DNS: DnsKind,
    Source.DHCP: DhcpKind,
    Source.MME: MmeKind,
    Source.FILESERVER: FileserverKind,
    Source.POWER: PowerKind,
    Source.CONSOLE: ConsoleKind,
    Source.UNIT: UnitKind,
    Source.BENCH: BenchKind,
    Source.NTP: NtpKind,
    Source.SECURITY: SecurityKind,
}

# Secret key names: an inventory key, event data key or parameter by one of these names is never shown.
SECRET_KEYS = frozenset(
    {"password", "community", "auth_key", "priv_key", "secret", "passphrase", "ca_key_password"}
)
# Data keys too big for a one-line description (kept in the timeline and the transcripts).
BULKY_KEYS = frozenset({"xml", "params", "body", "transcript", "hex"})


def is_secret_key(name: str) -> bool:
    """True for a key that names a secret: one of SECRET_KEYS, anything with 'password', or '..._secret'."""
    low = name.lower()
    return low in SECRET_KEYS or "password" in low or low.endswith("_secret")


@dataclass(frozen=True)
class EventType:
    """One (source, kind): its main data keys and what it means."""

    source: Source
    kind: str
    keys: tuple[str, ...]
    description: str


def _t(source: Source, kind: StrEnum, keys: str, description: str) -> EventType:
    return EventType(source, str(kind), tuple(keys.split()), description)


S = Source
_TYPES = [
    _t(
        S.HEMS,
        HemsKind.INFORM,
        "hems peer serial events cwmp_version oui product_class manufacturer params",
        "the unit's Inform reached a HeMS",
    ),  # fmt: skip
    _t(
        S.HEMS,
        HemsKind.RPC_SENT,
        "hems peer serial method id values parameter_key url command_key names notifications",
        "the HeMS sent an RPC to the unit (a SetParameterValues with its values and ParameterKey: what a judge "
        "compares the read back and the next Inform with; a Download with its URL, CommandKey, FileType and "
        "Username; a Reboot with its CommandKey; a GetParameterValues with the names it asks for; a "
        "SetParameterAttributes with the notifications it changes)",
    ),  # fmt: skip
    _t(S.HEMS, HemsKind.RPC_RESPONSE, "hems peer serial method id", "the unit answered an RPC"),
    _t(
        S.HEMS,
        HemsKind.RPC_FAULT,
        "hems peer serial method id fault_code fault_string meaning param_faults",
        "the unit answered an RPC with a Fault",
    ),  # fmt: skip
    _t(S.HEMS, HemsKind.CPE_RPC, "hems peer serial method id", "the unit called an RPC of the HeMS"),
    _t(S.HEMS, HemsKind.SESSION_END, "hems peer serial", "the HeMS ended a CWMP session (empty response)"),
    _t(
        S.HEMS,
        HemsKind.AUTH_CHALLENGE,
        "hems peer reason scheme",
        "HTTP 401 to a request without credentials",
    ),
    _t(S.HEMS, HemsKind.AUTH_FAILED, "hems peer reason scheme", "HTTP 401 to wrong credentials"),
    _t(S.HEMS, HemsKind.BAD_MESSAGE, "hems peer reason size", "a request the HeMS could not read"),
    _t(S.HEMS, HemsKind.HEMS_ERROR, "hems peer reason", "the HeMS itself failed on a request"),
    _t(
        S.HEMS,
        HemsKind.UNSUPPORTED_RPC,
        "hems peer serial method id",
        "the unit called an RPC the HeMS lacks",
    ),
    _t(S.HEMS, HemsKind.VERSION_MISMATCH, "hems peer serial", "CWMP version the HeMS did not offer"),
    _t(S.HEMS, HemsKind.PROTOCOL_VIOLATION, "hems peer serial reason", "a CWMP rule the unit broke"),
    _t(S.HEMS, HemsKind.DEFECT, "hems peer serial reason", "a defect in a message of the unit"),
    _t(S.HEMS, HemsKind.CONNECTION_REQUEST, "hems peer serial", "the HeMS sent a connection request"),
    _t(
        S.HEMS,
        HemsKind.CONNECTION_REQUEST_UNANSWERED,
        "hems peer serial",
        "no session followed a connection request",
    ),  # fmt: skip
    _t(
        S.HEMS,
        HemsKind.TLS_FAILED,
        "hems peer reason alert cert",
        "a client's HTTPS handshake that did not complete (the TLS alert it sent, or none: it closed the "
        "connection); the HeMS does each handshake itself, so a unit refusing the Initial HeMS's certificate "
        "(5.1.2.3) is seen",
    ),  # fmt: skip
    _t(
        S.HEMS,
        HemsKind.SESSION_FAILED,
        "hems peer serial how events command_keys params retry_count nth of",
        "the bench failed the unit's session on purpose (a HeMS restart: HTTP 503, or the connection closed "
        "unanswered) at the Inform just before it; bench/hems/failures.py",
    ),  # fmt: skip
    _t(S.SEGW, SegwKind.IKE_UP, "segw", "an IKE SA came up at a SeGW"),
    _t(S.SEGW, SegwKind.IKE_DOWN, "segw", "an IKE SA went down at a SeGW"),
    _t(S.SEGW, SegwKind.CHILD_UP, "segw", "a CHILD SA came up at a SeGW"),
    _t(S.SEGW, SegwKind.CHILD_DOWN, "segw", "a CHILD SA went down at a SeGW"),
    _t(
        S.SEGW,
        SegwKind.ADDRESS_CHANGE,
        "segw remote_id old pool",
        "the bench moved the unit to a new address (MOBIKE)",
    ),
    _t(
        S.SEGW,
        SegwKind.PEER_AUTH_FAILED,
        "segw conn impostor remote_host unique_id",
        "the unit sent AUTHENTICATION_FAILED: it refused the SeGW's certificate (charon's log)",
    ),  # fmt: skip
    _t(
        S.SEGW,
        SegwKind.PEER_DELETE,
        "segw conn impostor remote_host unique_id",
        "the unit deleted an IKE SA (charon's log)",
    ),  # fmt: skip
    _t(
        S.SEGW,
        SegwKind.REFUSED,
        "segw conn impostor remote_host unique_id reason proposals configured",
        "the SeGW refused the unit: charon's reason (certificate trust, identity, proposals)",
    ),  # fmt: skip
    _t(
        S.SEGW,
        SegwKind.IKE_MESSAGE,
        "segw exchange response notify remote_host",
        "an IKEv2 message in a capture (bench/evidence; IKE_AUTH is encrypted: only its exchange is seen)",
    ),  # fmt: skip
    _t(S.DNS, DnsKind.QUERY, "dns server name qtype client", "a DNS query reached the public or private DNS"),
    *(_t(S.DHCP, k, "server detail", f"dnsmasq logged {k.value.upper()}") for k in DhcpKind),
    _t(S.MME, MmeKind.SCTP_INIT, "mode src dst sport", "an SCTP INIT reached the MME"),
    _t(S.MME, MmeKind.SCTP_UP, "peer sport mode", "an SCTP association came up"),
    _t(S.MME, MmeKind.SCTP_DOWN, "peer sport state reason", "an SCTP association went down"),
    _t(S.MME, MmeKind.SCTP_DATA, "peer ppid size", "SCTP DATA reached the MME"),
    _t(S.MME, MmeKind.S1AP, "direction peer local message", "an S1AP message, uplink or downlink"),
    _t(S.FILESERVER, FileserverKind.DOWNLOAD, "status bytes", "the unit fetched a file"),
    _t(
        S.FILESERVER,
        FileserverKind.UPLOAD,
        "status bytes stored began content",
        "the unit uploaded a file (began: when it connected, or sent the request on a connection it had used; "
        "stored: the file server's copy; content: the file as a capture's FTP data connection carried it)",
    ),
    _t(S.FILESERVER, FileserverKind.AUTH_FAILED, "status", "the file server refused credentials"),
    _t(
        S.FILESERVER,
        FileserverKind.TLS_FAILED,
        "proto port peer reason alert",
        "a client's HTTPS handshake with the file server's untrusted port that did not complete (the TLS alert "
        "it sent, or none: it closed the connection): a unit refusing a certificate from an untrusted CA",
    ),
    _t(S.POWER, PowerKind.POWER, "unit action driver", "the bench switched the unit's power"),
    _t(S.POWER, PowerKind.PSU_SAMPLE, "unit", "a reading of the bench supply"),
    _t(S.POWER, PowerKind.PSU_FAULT, "unit", "the bench supply reported a fault"),
    _t(S.CONSOLE, ConsoleKind.LINE, "unit line", "a line of the unit's console"),
    _t(S.CONSOLE, ConsoleKind.CRASH, "unit line pattern", "a console line matching a crash pattern"),
    _t(S.CONSOLE, ConsoleKind.LOST, "unit url error", "the console connection was lost"),
    _t(S.CONSOLE, ConsoleKind.REOPENED, "unit url", "the console connection was reopened"),
    _t(S.UNIT, UnitKind.STATE, "unit state", "the unit's lifecycle state changed"),
    _t(S.UNIT, UnitKind.BROKEN, "unit reason", "the bench marked the unit broken"),
    _t(S.UNIT, UnitKind.RECOVER, "unit reason", "the bench recovers a broken unit"),
    _t(S.UNIT, UnitKind.HEALTH, "unit verdict", "a health check found a problem"),
    _t(S.UNIT, UnitKind.REBOOT, "unit reason", "the bench rebooted the unit"),
    _t(S.UNIT, UnitKind.FACTORY_RESET, "unit method", "the bench factory-reset the unit"),
    _t(
        S.UNIT,
        UnitKind.ACTION,
        "unit action method sent values",
        "the bench asked the unit for an action (values: the template's, e.g. the alarm to raise: what a judge of 5.3.2 looks for in the Informs)",
    ),
    _t(S.UNIT, UnitKind.ACTION_CONFIRMED, "unit action line", "the unit confirmed an action"),
    _t(S.BENCH, BenchKind.TOPOLOGY_UP, "seconds", "the operator network is up"),
    _t(S.BENCH, BenchKind.HEMS_CERT, "hems cert name unit", "the bench changed a HeMS certificate"),
    _t(S.BENCH, BenchKind.WAN_ATTACHED, "unit ifname netns", "the unit's WAN port joined the bench"),
    _t(S.BENCH, BenchKind.WAN_DETACHED, "unit ifname netns", "the unit's WAN port left the bench"),
    _t(S.BENCH, BenchKind.CORRUPTED_FILE, "path how", "a plan corrupted a file the unit will fetch"),
    _t(
        S.BENCH,
        BenchKind.CONFIG_FILE,
        "path proto values how key fault transfer_complete transfer_complete_key",
        "a configuration file a 5.2.2 plan serves "
        "for a Download: the values it sets (what a judge compares the read back with), how the download must fail and "
        "the FaultCode the unit's TR-069 amendment gives for it, the bound it waits for the TransferComplete",
    ),
    _t(
        S.BENCH,
        BenchKind.CR_PROBE,
        "hems unit device serial url credentials probe purpose quiet attempts retry_after rpcs note",
        "the Serving HeMS is about to send a step's connection request(s): the credentials they carry (none, "
        "wrong: a wrong password, registered: the HeMS set them at registration, or the unit's own), said before "
        "they go out (what a judge of 5.2.3 pairs with the capture's next requests and the unit's answers)",
    ),
    _t(
        S.BENCH,
        BenchKind.PM_CONFIG,
        "proto interval tolerance enable cert",
        "the PerfMgmt.Config a 5.4 plan set: "
        "the interval and tolerance it checks the uploads against, the untrusted certificate it presents",
    ),
    _t(
        S.BENCH,
        BenchKind.PM_FIRST_FILE,
        "proto how action bound bound_key",
        "how a PM plan got its first file: "
        "forced (the action, and the bound it waits for the file) or awaited",
    ),
    _t(
        S.BENCH,
        BenchKind.PM_INTERVAL,
        "proto interval gaps",
        "the unit's PM uploads measured against PeriodicUploadInterval (once per unit, over one protocol)",
    ),
    _t(
        S.BENCH,
        BenchKind.S1_WAIT,
        "unit serial s1 port unlocked how bound bound_key",
        "5.1.3's wait for S1 setup after the registration: the S1 far end and port, whether the HeMS unlocked "
        "the cell (TR-196 AdminState true) and, if not, the unit's inventory setting that says why (how), the "
        "bound it waits and its inventory key",
    ),
    _t(
        S.BENCH,
        BenchKind.IMPOSTOR,
        "segw unit impostor what action proposals",
        "the bench presented (or withdrew) an impostor SeGW to one unit: a certificate or proposals it must refuse",
    ),  # fmt: skip
    _t(S.NTP, NtpKind.QUERY, "peer server", "an NTP query on the outer link"),
    _t(
        S.SECURITY,
        SecurityKind.OUTER_LINK,
        "strict operator allowed other capture",
        "the verdict on the outer link's capture",
    ),  # fmt: skip
    _t(
        S.SECURITY,
        SecurityKind.IMPOSTOR_CAPTURE,
        "segw unit impostor shows capture",
        "what the outer capture shows of the unit's exchanges with an impostor SeGW (frames, ESP after them)",
    ),  # fmt: skip
    _t(
        S.SECURITY,
        SecurityKind.OUTER_FLOW,
        "src dst proto sport dport low icmp_type fragment packets length tcp_flags frag_offset ports frames capture",
        "one flow on a judged outer capture (its packets' addresses, protocol, the ports the policy reads or ICMP "
        "type; how many; the first one's length, flags, ports and frames): what the evidence judge sorts by the "
        "outer-link policy",
    ),  # fmt: skip
    _t(
        S.SECURITY,
        SecurityKind.OUTER_CAPTURE,
        "capture first flows packets cut overflow",
        "a judged outer capture read whole (or up to `cut`; flows past 10,000 not kept from frame `overflow`): its "
        "first packet's time, its flows and packets",
    ),  # fmt: skip
]
VOCABULARY: dict[tuple[str, str], EventType] = {(str(t.source), t.kind): t for t in _TYPES}


def known(source: str, kind: str) -> bool:
    """True when (source, kind) is in the vocabulary."""
    return (str(source), str(kind)) in VOCABULARY


class _Event(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


def _value(value: Any, limit: int | None) -> str:
    text = f"[{', '.join(map(str, value))}]" if isinstance(value, list | tuple) else str(value)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def _fields(
    d: Mapping[str, Any],
    skip: tuple[str, ...] = (),
    limit: int | None = None,
    full: bool = False,
    keep: tuple[str, ...] = (),
) -> str:
    if keep:
        d = {k: d[k] for k in keep if k in d}
    if full:  # the report's details column: every key but the XML, structures as JSON
        return ", ".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v, default=str)}"
            for k, v in d.items()
            if k != "xml" and not is_secret_key(k)
        )
    return " ".join(
        f"{k}={_value(v, limit)}"
        for k, v in d.items()
        if k not in skip
        and k not in BULKY_KEYS
        and not is_secret_key(k)
        and v is not None
        and not isinstance(v, dict)
    )


_PEER = ("hems", "peer", "serial", "method", "id")


def _rest(d: Mapping[str, Any]) -> dict[str, Any]:
    """An RPC's own fields (values, status...), as the HeMS console has always shown them."""
    return {k: v for k, v in d.items() if k not in _PEER and k not in BULKY_KEYS and not is_secret_key(k)}


_SUMMARY: dict[tuple[str, str], Callable[[Mapping[str, Any]], str]] = {
    ("hems", "inform"): lambda d: (
        f"<- Inform [{', '.join(d.get('events', []))}] CWMP {d.get('cwmp_version', '?')} from {d.get('peer', '?')}: "
        f"OUI {d.get('oui') or '?'} ProductClass {d.get('product_class') or '?'} "
        f"Manufacturer {d.get('manufacturer') or '?'}"
    ),
    ("hems", "rpc-sent"): lambda d: f"-> {d.get('method')} (ID {d.get('id')})",
    ("hems", "rpc-response"): lambda d: f"<- {d.get('method')}Response {_rest(d)}",
    ("hems", "rpc-fault"): lambda d: (
        f"<- Fault {d.get('fault_code')} ({d.get('meaning')}) to {d.get('method')}: {d.get('fault_string')}"
        + (f" {d['param_faults']}" if d.get("param_faults") else "")
    ),
    ("hems", "cpe-rpc"): lambda d: f"<- {d.get('method')} {_rest(d)} -> {d.get('method')}Response",
    ("hems", "session-end"): lambda d: "-> end of session (empty response)",
}


def describe(event: _Event, limit: int | None = None, full: bool = False) -> str:
    """One line for a person: 'source/kind' and what happened (no bulky data, never a secret); `limit` cuts each
    value to that many characters (the live display); `full` gives every data key but the XML (the report)."""
    summary = None if full else _SUMMARY.get((str(event.source), str(event.kind)))
    text = summary(event.data) if summary is not None else _fields(event.data, limit=limit, full=full)
    if summary is not None and (where := _fields(event.data, limit=limit, keep=("hems", "serial"))):
        text += f" ({where})"  # which HeMS, which unit
    return f"{event.source}/{event.kind} {text}".rstrip()


def describe_json(event: Mapping[str, Any], full: bool = False) -> str:
    """`describe` for an event read back from timeline.jsonl (a dict)."""
    return describe(
        SimpleNamespace(source=event["source"], kind=event["kind"], data=event.get("data", {})), full=full
    )


def markdown() -> str:
    """The vocabulary as the Markdown table docs/evidence.md carries."""
    rows = ["| source | kind | data keys | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{t.source}` | `{t.kind}` | {', '.join(t.keys)} | {t.description} |" for t in _TYPES]
    return "\n".join(rows) + "\n"

"""From tshark's frames to the timeline's events: DHCP, DNS, IKEv2 and ESP, CWMP over HTTP (and over TLS a key
log decrypts), connection requests, HTTP and FTP transfers, SCTP and S1AP. Each event has the same source, kind
and data keys the live bench records (bench/events.py), plus `capture` and `frames`: where it came from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import cwmp
from bench.events import DhcpKind, DnsKind, FileserverKind, HemsKind, MmeKind, SegwKind, Source, is_secret_key
from bench.evidence.tshark import Frame

MASK = "[redacted]"  # as the evidence's redaction writes a secret (bench/report/redact.py)

DHCP_TYPES = {"1": DhcpKind.DISCOVER, "2": DhcpKind.OFFER, "3": DhcpKind.REQUEST, "5": DhcpKind.ACK}
QTYPES = {"1": "A", "28": "AAAA", "33": "SRV", "35": "NAPTR", "12": "PTR", "5": "CNAME"}
IKE_EXCHANGES = {"34": "IKE_SA_INIT", "35": "IKE_AUTH", "36": "CREATE_CHILD_SA", "37": "INFORMATIONAL"}
S1AP_NAMES = {
    ("17", "0"): "S1SetupRequest", ("17", "1"): "S1SetupResponse", ("17", "2"): "S1SetupFailure",
    ("29", "0"): "ENBConfigurationUpdate", ("29", "1"): "ENBConfigurationUpdateAcknowledge",
    ("29", "2"): "ENBConfigurationUpdateFailure",
}  # fmt: skip
S1_PORT = "36412"
TLS_ALERTS = {"40": "handshake failure", "42": "bad certificate", "43": "unsupported certificate",
              "45": "certificate expired", "46": "certificate unknown", "48": "unknown ca"}  # fmt: skip


@dataclass(frozen=True)
class Names:
    """How the operator's hosts are called on the timeline: FQDN -> the bench's name for it."""

    hosts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_operator(cls, initial_segw: str, serving_segw: str, initial_hems: str, serving_hems: str) -> Names:
        return cls(
            {
                initial_segw: "isegw",
                serving_segw: "ssegw",
                initial_hems: "initial-hems",
                serving_hems: "serving-hems",
            }
        )


@dataclass
class Found:
    """One event decoded from a capture, before it is put on a timeline in time order."""

    t: float
    source: str
    kind: str
    data: dict[str, Any]


def is_inner(capture: str) -> bool:
    """The Serving SeGW's core side (the bench's `inner.pcapng`): its DNS is the private DNS."""
    return "inner" in Path(capture).name


def _where(f: Frame, *more: Frame) -> dict[str, Any]:
    return {"capture": f.capture, "frames": sorted({f.number, *(m.number for m in more)})}


class Decoder:
    """Decodes the frames of one or more captures into events; keeps what one frame tells about later ones
    (DNS answers name the SeGWs, an Inform names the unit of its TCP stream)."""

    def __init__(self, names: Names | None = None) -> None:
        self.names = names or Names()
        self.address_names: dict[str, str] = {}  # IP -> bench name, learned from DNS answers
        self.found: list[Found] = []
        self.end: float | None = None  # the last frame's time, over every capture decoded
        self.notes: list[str] = []

    def add(self, f: Frame, source: str, kind: str, *more: Frame, **data: Any) -> None:
        self.found.append(Found(f.t, source, kind, {**data, **_where(f, *more)}))

    def decode(self, frames: Iterable[Frame]) -> list[Found]:
        frames = list(frames)
        if frames:
            self.end = max(self.end or 0.0, max(f.t for f in frames))
        for f in frames:  # the names first: a query's answer names the SeGW the unit then talks to
            if f.get("dns.flags.response") in ("1", "True", "true"):
                for name in f.all("dns.qry.name"):
                    if name in self.names.hosts:
                        for a in f.all("dns.a"):
                            self.address_names[a] = self.names.hosts[name]
        self._dhcp_dns(frames)
        self._ike(frames)
        self._http(frames)
        self._ftp(frames)
        self._sctp(frames)
        self._tls_refused(frames)
        self._unseen(frames)
        return self.found

    def _unseen(self, frames: list[Frame]) -> None:
        """What the frames carry that no decoder can open: TLS streams without a key log, ESP without SAs."""
        tls: dict[str, list[Frame]] = {}
        opened = {f.get("tcp.stream") for f in frames if f.has("http")}
        esp: dict[tuple[str, str], list[int]] = {}
        for f in frames:
            if f.has("tls") and f.get("tcp.stream") not in opened:
                tls.setdefault(f.get("tcp.stream") or "?", []).append(f)
            if f.has("esp"):
                a, b = sorted((f.get("ip.src") or "", f.get("ip.dst") or ""))
                esp.setdefault((a, b), []).append(f.number)
        for stream in tls.values():
            first = stream[0]
            server = f"{first.get('ip.dst')}:{first.get('tcp.dstport')}"
            self.notes.append(
                f"{first.capture}: the session with {server} (frames {first.number}-{stream[-1].number}) is TLS "
                "without a key log: not observable"
            )
        for (a, b), numbers in esp.items():
            self.notes.append(
                f"{frames[0].capture}: {len(numbers)} ESP frames between {a} and {b} (frames {numbers[0]}-"
                f"{numbers[-1]}): ESP without SAs: only the outer link is visible"
            )

    def _tls_refused(self, frames: list[Frame]) -> None:
        """A client's TLS alert in a handshake with a HeMS (readable in clear, or with the key log): the unit
        refused the HeMS's certificate, as the HeMS records it (5.1.2.3)."""
        clients = {f.get("tcp.stream"): f.get("ip.src") for f in frames if "1" in f.all("tls.handshake.type")}
        for f in frames:
            alert = f.get("tls.alert_message.desc")
            if alert is None or clients.get(f.get("tcp.stream")) != f.get("ip.src"):
                continue
            hems = self._hems(None, f.get("ip.dst"))
            if hems in ("initial-hems", "serving-hems"):
                self.add(f, Source.HEMS, HemsKind.TLS_FAILED, hems=hems, peer=f.get("ip.src"),
                         reason=f"TLS alert {TLS_ALERTS.get(alert, alert)} from the client", alert=TLS_ALERTS.get(alert, alert),
                         cert=None)  # fmt: skip

    def _dhcp_dns(self, frames: list[Frame]) -> None:
        for f in frames:
            kind = DHCP_TYPES.get(f.get("dhcp.option.dhcp") or "")
            if kind is not None:
                self.add(f, Source.DHCP, kind, server="capture", detail=f.get("dhcp.hw.mac_addr") or "")
            if f.has("dns") and f.get("dns.flags.response") in ("0", "False", "false"):
                for name in f.all("dns.qry.name"):
                    self.add(
                        f, Source.DNS, DnsKind.QUERY, dns="private-dns" if is_inner(f.capture) else "public-dns",
                        server=f.get("ip.dst"), name=name, qtype=QTYPES.get(f.get("dns.qry.type") or "", "?"),
                        client=f.get("ip.src"),
                    )  # fmt: skip

    def _ike(self, frames: list[Frame]) -> None:
        """IKE messages as seen (IKE_AUTH is encrypted: its identities and notifies are not), and an IKE SA up
        where an IKE_AUTH response is followed by ESP from the unit: the CHILD SA carries traffic."""
        auth: dict[tuple[str, str], Frame] = {}  # (unit, segw address) -> the IKE_AUTH response
        up: set[tuple[str, str]] = set()
        for f in frames:
            if f.has("isakmp"):
                exch = IKE_EXCHANGES.get(
                    f.get("isakmp.exchangetype") or "", f.get("isakmp.exchangetype") or "?"
                )
                response = f.get("isakmp.flag_r") in ("1", "True", "true")
                unit, segw = (
                    (f.get("ip.dst"), f.get("ip.src")) if response else (f.get("ip.src"), f.get("ip.dst"))
                )
                self.add(
                    f, Source.SEGW, SegwKind.IKE_MESSAGE, segw=self._segw(segw), exchange=exch, response=response,
                    notify=f.all("isakmp.notify.msgtype"), remote_host=unit, spi=f.get("isakmp.ispi"),
                )  # fmt: skip
                if exch == "IKE_AUTH" and response and unit and segw:
                    auth[(unit, segw)] = f
            elif (
                f.has("esp")
                and (key := (f.get("ip.src") or "", f.get("ip.dst") or "")) in auth
                and key not in up
            ):
                up.add(key)
                self.add(
                    f, Source.SEGW, SegwKind.IKE_UP, auth[key], segw=self._segw(key[1]), remote_host=key[0],
                    remote_id=None, remote_vips=[], conn=None, unique_id=None,
                    seen="an IKE_AUTH response, then ESP from the unit (IKE_AUTH is encrypted: the identities "
                    "are not observable)",
                )  # fmt: skip

    def _segw(self, address: str | None) -> str:
        return self.address_names.get(address or "", address or "?")

    def _hems(self, host: str | None, address: str | None) -> str:
        name = (host or "").rsplit(":", 1)[0] if host and not host.startswith("[") else host or ""
        return self.names.hosts.get(name) or self.address_names.get(address or "") or (name or address or "?")

    def _http(self, frames: list[Frame]) -> None:
        """CWMP: the unit POSTs (Inform, responses, its own RPCs, empty), the HeMS answers (RPCs, empty = end),
        each recorded once answered (a 401 is a challenge, not a message); connection requests: a HeMS GETs a
        unit's URL; the rest are transfers with the file server."""
        requests = {f.get("frame.number") or "": f for f in frames if f.get("http.request.method")}
        cwmp_posts = [
            f for f in requests.values() if f.get("http.request.method") == "POST" and f.get("http.file_data")
        ]
        hems_at = {f.get("ip.dst") or "": self._hems(f.get("http.host"), f.get("ip.dst")) for f in cwmp_posts}
        units = {f.get("ip.src") or "" for f in cwmp_posts}
        serial: dict[str, str] = {}  # the unit's address -> the serial its Inform gave
        for f in frames:
            code = f.get("http.response.code")
            req = requests.get(f.get("http.request_in") or "")
            if code is None or req is None:
                continue
            src, dst = req.get("ip.src") or "", req.get("ip.dst") or ""
            if req.get("http.request.method") == "POST" and dst in hems_at:
                common = {"hems": hems_at[dst], "peer": src}
                if code == "401":
                    kind = HemsKind.AUTH_FAILED if req.get("http.authorization") else HemsKind.AUTH_CHALLENGE
                    self.add(f, Source.HEMS, kind, req, **common, reason=f"HTTP {code}", scheme=None)
                    continue
                if body := req.get("http.file_data"):
                    self._cwmp(req, f, body, serial, from_unit=True)
                if body := f.get("http.file_data"):
                    self._cwmp(f, req, body, serial, from_unit=False)
                elif code in ("200", "204"):
                    self.add(f, Source.HEMS, HemsKind.SESSION_END, req, **common, serial=serial.get(src))
            elif src in hems_at and dst in units:  # a HeMS asks the unit for a session
                self.add(
                    f, Source.HEMS, HemsKind.CONNECTION_REQUEST, req, hems=hems_at[src], peer=dst,
                    serial=serial.get(dst), status=int(code), credentials=bool(req.get("http.authorization")),
                )  # fmt: skip
            elif dst not in hems_at:
                method = req.get("http.request.method")
                transfer = FileserverKind.UPLOAD if method in ("PUT", "POST") else FileserverKind.DOWNLOAD
                self.add(
                    f, Source.FILESERVER, FileserverKind.AUTH_FAILED if code == "401" else transfer, req,
                    status=int(code), proto="http", path=req.get("http.request.uri"), peer=src,
                    bytes=int(f.get("http.content_length_header") or 0),
                )  # fmt: skip

    def _cwmp(self, f: Frame, other: Frame, body: str, serial: dict[str, str], from_unit: bool) -> None:
        """One CWMP message: `f` carries it, `other` is the HTTP request or response paired with it."""
        req = f if from_unit else other
        unit = req.get("ip.src") or ""
        hems = self._hems(req.get("http.host"), req.get("ip.dst"))
        raw = bytes.fromhex(body.replace(":", "")) if _is_hex(body) else body.encode()
        try:
            env = cwmp.parse_envelope(raw)
        except cwmp.CwmpParseError as exc:
            self.add(
                f, Source.HEMS, HemsKind.BAD_MESSAGE, hems=hems, peer=unit, reason=str(exc), size=len(raw)
            )
            return
        common = {"hems": hems, "peer": unit, "id": env.id}
        if env.method == "Inform":
            inform = cwmp.read_inform(env)
            dev = inform.device_id
            serial[unit] = dev.serial_number
            self.add(
                f, Source.HEMS, HemsKind.INFORM, other, **common, serial=dev.serial_number, oui=dev.oui,
                product_class=dev.product_class, manufacturer=dev.manufacturer,
                events=[c for c, _ in inform.events], command_keys=[k for _, k in inform.events],
                params=_masked(inform.params), cwmp_ns=env.ns, retry_count=inform.retry_count,
            )  # fmt: skip
            return
        common["serial"] = serial.get(unit)
        if not from_unit:
            if env.method != "InformResponse" and not env.method.endswith("Response"):
                self.add(f, Source.HEMS, HemsKind.RPC_SENT, other, **common, method=env.method, **_sent(env))
            return
        if env.method == "Fault":
            fault = cwmp.read_fault(env)
            self.add(
                f, Source.HEMS, HemsKind.RPC_FAULT, other, **common, method=None, fault_code=fault.fault_code,
                fault_string=fault.fault_string, meaning=fault.meaning,
                param_faults=[tuple(p) for p in fault.param_faults],
            )  # fmt: skip
        elif env.method.endswith("Response"):
            method = env.method.removesuffix("Response")
            try:
                result = cwmp.read_result(env, method)
            except cwmp.CwmpParseError as exc:
                self.add(f, Source.HEMS, HemsKind.BAD_MESSAGE, **common, method=method, reason=str(exc))
                return
            fields = (
                {k: v for k, v in vars(result).items() if k != "method"}
                if hasattr(result, "__dict__")
                else {}
            )
            if isinstance(fields.get("values"), dict):
                fields["values"] = _masked(fields["values"])
            self.add(f, Source.HEMS, HemsKind.RPC_RESPONSE, other, **common, method=method, **fields)
        else:
            self.add(f, Source.HEMS, HemsKind.CPE_RPC, other, **common, method=env.method)

    def _ftp(self, frames: list[Frame]) -> None:
        for f in frames:
            command = f.get("ftp.request.command")
            if command in ("RETR", "STOR"):
                kind = FileserverKind.DOWNLOAD if command == "RETR" else FileserverKind.UPLOAD
                self.add(
                    f,
                    Source.FILESERVER,
                    kind,
                    proto="ftp",
                    path=f.get("ftp.request.arg"),
                    peer=f.get("ip.src"),
                )

    def _sctp(self, frames: list[Frame]) -> None:
        for f in frames:
            if not f.has("sctp"):
                continue
            if "1" in f.all("sctp.chunk_type") and f.get("sctp.dstport") == S1_PORT:  # INIT
                self.add(
                    f, Source.MME, MmeKind.SCTP_INIT, mode="capture", src=f.get("ip.src"), dst=f.get("ip.dst"),
                    sport=int(f.get("sctp.srcport") or 0), dport=int(S1_PORT),
                )  # fmt: skip
            for proc, pdu in zip(f.all("s1ap.procedureCode"), f.all("s1ap.S1AP_PDU"), strict=False):
                uplink = f.get("sctp.dstport") == S1_PORT
                message = S1AP_NAMES.get((proc, pdu), f"procedure {proc}")
                data: dict[str, Any] = {
                    "direction": "uplink" if uplink else "downlink",
                    "peer": f.get("ip.src") if uplink else f.get("ip.dst"),
                    "local": f.get("ip.dst") if uplink else f.get("ip.src"),
                    "message": message,
                }
                if tacs := f.all("s1ap.tAC"):
                    data["tacs"] = [int(t, 0) for t in tacs]
                self.add(f, Source.MME, MmeKind.S1AP, **data)


def _masked(values: dict[str, str]) -> dict[str, str]:
    """Parameter values with those of secret-named parameters (a ConnectionRequestPassword) masked: no check
    reads them, and a capture from the field may carry secrets no inventory knows."""
    return {k: MASK if is_secret_key(k.rsplit(".", 1)[-1]) and v else v for k, v in values.items()}


def _is_hex(text: str) -> bool:
    return len(text) > 2 and text[2:3] == ":" and all(c in "0123456789abcdef:" for c in text[:48])


def _sent(env: cwmp.Envelope) -> dict[str, Any]:
    """What a check needs of an RPC the HeMS sent: a SetParameterValues' values and ParameterKey (the live
    HeMS puts the same on its rpc-sent event)."""
    if env.method != "SetParameterValues":
        return {}
    values = {}
    for pvs in env.body.iter("{*}ParameterValueStruct"):
        name, value = pvs.find("{*}Name"), pvs.find("{*}Value")
        if name is not None:
            values[(name.text or "").strip()] = "" if value is None else (value.text or "")
    key = env.body.find("{*}ParameterKey")
    return {"values": _masked(values), "parameter_key": "" if key is None else (key.text or "")}

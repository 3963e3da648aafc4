"""From tshark's frames to the timeline's events: DHCP, DNS, IKEv2 and ESP, CWMP over HTTP (and over TLS a key
log decrypts), connection requests, HTTP and FTP transfers, SCTP and S1AP. Each event has the same source, kind
and data keys the live bench records (bench/events.py), plus `capture` and `frames`: where it came from."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from bench import cwmp
from bench.events import DhcpKind, DnsKind, FileserverKind, HemsKind, MmeKind, SegwKind, Source, is_secret_key
from bench.evidence.tshark import Frame
from bench.s1ap import TIME_TO_WAIT, plmn_str

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
# TLS alerts as the bench's servers word them (bench/hems/tls.py)
TLS_ALERTS = {"40": "handshake failure", "42": "bad certificate", "43": "unsupported certificate",
              "45": "certificate expired", "46": "certificate unknown", "48": "unknown ca",
              "80": "internal error"}  # fmt: skip


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
    """A SeGW's core side (the bench's `inner.pcapng`, the Serving SeGW's, and `inner-initial.pcapng`, the
    Initial SeGW's): its DNS is the private DNS."""
    return "inner" in Path(capture).name


def is_initial_inner(capture: str) -> bool:
    """The Initial SeGW's core side (the bench's `inner-initial.pcapng`): the discovery's private DNS and CWMP
    with the Initial HeMS (5.1.2.2)."""
    return "inner-initial" in Path(capture).name


def _where(f: Frame, *more: Frame) -> dict[str, Any]:
    return {"capture": f.capture, "frames": sorted({f.number, *(m.number for m in more)})}


@dataclass
class _Capture:
    """What one capture's frames tell about its later frames, kept while it is read (the frames are not)."""

    requests: dict[str, Frame] = field(
        default_factory=dict
    )  # an HTTP request's frame number -> it, till answered
    hems_at: dict[str, str] = field(default_factory=dict)  # where units POST CWMP: address -> the HeMS's name
    units: set[str] = field(default_factory=set)  # who POSTs CWMP
    serial: dict[str, str] = field(default_factory=dict)  # the unit's address -> the serial its Inform gave
    later: list[tuple[Frame, Frame, str | None]] = field(default_factory=list)  # HTTP with no known HeMS yet
    auth: dict[tuple[str, str], Frame] = field(default_factory=dict)  # (unit, SeGW) -> the IKE_AUTH response
    up: set[tuple[str, str]] = field(default_factory=set)
    tls: dict[str, tuple[Frame, int]] = field(
        default_factory=dict
    )  # TLS stream -> its first frame, last number
    opened: set[str] = field(default_factory=set)  # the TCP streams tshark read HTTP in
    esp: dict[tuple[str, str], list[int]] = field(
        default_factory=dict
    )  # unopened ESP: (a, b) -> first, last, n
    spis: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # A TLS server that is no HeMS refused by its client: TCP stream -> its first frame, the server's hello
    first: dict[str, Frame] = field(default_factory=dict)
    hello: dict[str, Frame] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)  # the client sent TLS after the server's hello
    refused: set[str] = field(default_factory=set)
    ftp_users: dict[str, str] = field(default_factory=dict)  # FTP stream -> the user it logged in as
    ftp_opened: dict[str, float] = field(default_factory=dict)  # FTP stream -> when the client connected
    ftp_stored: set[str] = field(default_factory=set)  # FTP streams that stored a file already
    ended: dict[str, Found] = field(default_factory=dict)  # TCP stream -> its CWMP session's end, till closed


class Decoder:
    """Decodes the frames of one or more captures into events, one frame at a time (a capture of a night is
    never held: what a frame tells about later ones is, e.g. an Inform names the unit of its address); the
    names DNS answers give the SeGWs and HeMSs are put on the events once every capture is read."""

    def __init__(self, names: Names | None = None, esp_sa: bool = False) -> None:
        self.names = names or Names()
        self.esp_sa = esp_sa  # SAs were given: ESP they do not open is said so
        self.address_names: dict[str, str] = {}  # IP -> bench name, learned from DNS answers
        self.found: list[Found] = []
        self.end: float | None = None  # the last frame's time, over every capture decoded
        self.notes: list[str] = []

    def add(self, f: Frame, source: str, kind: str, *more: Frame, **data: Any) -> None:
        self.found.append(Found(f.t, source, kind, {**data, **_where(f, *more)}))

    def decode(self, frames: Iterable[Frame]) -> list[Found]:
        """The events of one capture's frames, added to those of the captures decoded before."""
        c, capture = _Capture(), None
        for f in frames:
            capture = f.capture
            self.end = f.t if self.end is None else max(self.end, f.t)
            if f.get("dns.flags.response") in ("1", "True", "true"):
                for name in f.all("dns.qry.name"):
                    if name in self.names.hosts:
                        for a in f.all("dns.a"):
                            self.address_names[a] = self.names.hosts[name]
            self._dhcp_dns(f)
            self._ike(f, c)
            self._http(f, c)
            self._ftp(f, c)
            self._tls_refused(f, c)
            self._sctp(f)
            self._seen(f, c)
            self._closed(f, c)
        for req, resp, serial in c.later:  # every HeMS of the capture is known now
            self._exchange(req, resp, c, serial)
        if capture is not None:
            self._unseen(capture, c)
        for found in self.found:  # a SeGW or HeMS named by a DNS answer, wherever in the captures it came
            for key in ("segw", "hems"):
                if (value := found.data.get(key)) in self.address_names:
                    found.data[key] = self.address_names[value]
        return self.found

    def _seen(self, f: Frame, c: _Capture) -> None:
        stream = f.get("tcp.stream") or "?"
        if f.has("http"):
            c.opened.add(stream)
        if f.has("tls"):
            first = c.tls.get(stream, (f, 0))[0]
            c.tls[stream] = (first, f.number)
        if f.has("esp") and not _opened(f):
            a, b = sorted(
                (
                    f.get("outer.ip.src") or f.get("ip.src") or "",
                    f.get("outer.ip.dst") or f.get("ip.dst") or "",
                )
            )
            seen = c.esp.setdefault((a, b), [f.number, f.number, 0])
            seen[1:] = [f.number, seen[2] + 1]
            c.spis.setdefault((a, b), set()).add(f.get("esp.spi") or "?")

    @staticmethod
    def _closed(f: Frame, c: _Capture) -> None:
        """The unit's FIN or RST on a CWMP session's connection after the HeMS ended it (TR-069 3.7.1.4): the
        session-end event gets `closed` (when) and `closed_frame`."""
        end = c.ended.get(f.get("tcp.stream") or "?")
        if end is None or f.get("ip.src") != end.data.get("peer") or f.t < end.t:
            return
        if f.get("tcp.flags.fin") in ("1", "True", "true") or f.get("tcp.flags.reset") in (
            "1",
            "True",
            "true",
        ):
            end.data.update(closed=round(f.t, 6), closed_frame=f.number)
            del c.ended[f.get("tcp.stream") or "?"]

    def _unseen(self, capture: str, c: _Capture) -> None:
        """What the capture carries that no decoder can open: TLS streams without a key log, ESP without SAs."""
        for stream, (first, last) in c.tls.items():
            if stream in c.opened:
                continue
            server = f"{first.get('ip.dst')}:{first.get('tcp.dstport')}"
            self.notes.append(
                f"{first.capture}: the session with {server} (frames {first.number}-{last}) is TLS "
                "without a key log: not observable"
            )
        for (a, b), (first_n, last_n, n) in c.esp.items():
            spis = ", ".join(sorted(c.spis[(a, b)])[:8])
            why = (
                f"ESP the SAs given do not open (SPI {spis}: no SA for it, or a wrong key)"
                if self.esp_sa
                else "ESP without SAs"
            )
            self.notes.append(
                f"{capture}: {n} ESP frames between {a} and {b} (frames {first_n}-{last_n}): {why}: only the "
                "outer link is visible"
            )

    def _tls_refused(self, f: Frame, c: _Capture) -> None:
        """A client's TLS alert in a handshake with a HeMS: the HeMS's tls-handshake-failed (5.1.2.3). A client
        that refused a TLS server that is no HeMS (the file server's untrusted port) in the handshake, as the
        file server's tls-handshake-failed event says: its TLS alert, or its close (FIN or RST) after the
        server's hello with no TLS record of its own after it (a client that accepted sends its Finished,
        then its request)."""
        stream = f.get("tcp.stream") or ""
        syn = c.first.setdefault(stream, f)
        if stream in c.refused or f.has("http"):
            return
        hems = {a for a, n in self.address_names.items() if n.endswith("hems")} | set(
            self.names.hosts.values()
        )
        by_client = f.get("ip.src") == syn.get("ip.src")
        alert = f.get("tls.alert_message.desc")
        if syn.get("ip.dst") in hems:
            # The unit refused the HeMS's certificate (5.1.2.3): its alert, in clear or with the key log.
            name = self._hems(None, f.get("ip.dst"))
            if by_client and alert not in (None, "0") and name in ("initial-hems", "serving-hems"):
                c.refused.add(stream)
                text = TLS_ALERTS.get(alert or "", alert)
                self.add(f, Source.HEMS, HemsKind.TLS_FAILED, hems=name, peer=f.get("ip.src"),
                         reason=f"TLS alert {text} from the client", alert=text, cert=None)  # fmt: skip
            return
        if not by_client and "2" in f.all("tls.handshake.type"):
            c.hello.setdefault(stream, f)
        if by_client and alert is not None and alert != "0":
            text = TLS_ALERTS.get(alert, alert)
            reason, shown = f"the client sent TLS alert {text!r}", text
        elif by_client and stream in c.hello and f.has("tls"):
            c.answered.add(stream)
            return
        elif (by_client and stream in c.hello and stream not in c.answered
              and (f.get("tcp.flags.fin") in ("1", "True") or f.get("tcp.flags.reset") in ("1", "True"))):  # fmt: skip
            reason, shown = "the client closed the connection during the handshake", None
        else:
            return
        c.refused.add(stream)
        self.add(
            f, Source.FILESERVER, FileserverKind.TLS_FAILED, syn, proto="https",
            port=int(syn.get("tcp.dstport") or 0), peer=f.get("ip.src"), reason=reason, alert=shown,
        )  # fmt: skip

    def _dhcp_dns(self, f: Frame) -> None:
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

    def _ike(self, f: Frame, c: _Capture) -> None:
        """IKE messages as seen (IKE_AUTH is encrypted: its identities and notifies are not; IKE_SA_INIT's
        Diffie-Hellman groups, offered or chosen, are), and an IKE SA up
        where an IKE_AUTH response is followed by ESP from the unit: the CHILD SA carries traffic."""
        if f.has("isakmp"):
            exch = IKE_EXCHANGES.get(f.get("isakmp.exchangetype") or "", f.get("isakmp.exchangetype") or "?")
            response = f.get("isakmp.flag_r") in ("1", "True", "true")
            unit, segw = (
                (f.get("ip.dst"), f.get("ip.src")) if response else (f.get("ip.src"), f.get("ip.dst"))
            )
            self.add(
                f, Source.SEGW, SegwKind.IKE_MESSAGE, segw=self._segw(segw), exchange=exch, response=response,
                notify=f.all("isakmp.notify.msgtype"), remote_host=unit, spi=f.get("isakmp.ispi"),
                dh=[int(g) for g in f.all("isakmp.tf.id.dh") if g.isdigit()],
            )  # fmt: skip
            if exch == "IKE_AUTH" and response and unit and segw:
                c.auth[(unit, segw)] = f
            return
        if not f.has("esp"):
            return
        key = (f.get("outer.ip.src") or f.get("ip.src") or "", f.get("outer.ip.dst") or f.get("ip.dst") or "")
        if key in c.auth and key not in c.up:
            c.up.add(key)
            self.add(
                f, Source.SEGW, SegwKind.IKE_UP, c.auth[key], segw=self._segw(key[1]), remote_host=key[0],
                remote_id=None, remote_vips=[], conn=None, unique_id=None, up_at=c.auth[key].t,
                seen="an IKE_AUTH response, then ESP from the unit (IKE_AUTH is encrypted: the identities "
                "are not observable)",
            )  # fmt: skip

    def _segw(self, address: str | None) -> str:
        return self.address_names.get(address or "", address or "?")

    def _hems(self, host: str | None, address: str | None) -> str:
        name = (host or "").rsplit(":", 1)[0] if host and not host.startswith("[") else host or ""
        return self.names.hosts.get(name) or self.address_names.get(address or "") or (name or address or "?")

    def _http(self, f: Frame, c: _Capture) -> None:
        """CWMP: the unit POSTs (Inform, responses, its own RPCs, empty), the HeMS answers (RPCs, empty = end),
        each recorded once answered (a 401 is a challenge, not a message); connection requests: a HeMS GETs a
        unit's URL; the rest are transfers with the file server. An exchange with a host not (yet) known as a
        HeMS waits for the capture's end, when every HeMS is."""
        if method := f.get("http.request.method"):
            c.requests[str(f.number)] = f
            if method == "POST" and f.get("http.file_data"):
                c.hems_at[f.get("ip.dst") or ""] = self._hems(f.get("http.host"), f.get("ip.dst"))
                c.units.add(f.get("ip.src") or "")
        code = f.get("http.response.code")
        if code is None or code.startswith("1"):
            return
        req = c.requests.pop(f.get("http.request_in") or "", None)
        if req is None:
            return
        src, dst = req.get("ip.src") or "", req.get("ip.dst") or ""
        post = req.get("http.request.method") == "POST"
        if (post and dst in c.hems_at) or (src in c.hems_at and dst in c.units):
            self._exchange(req, f, c, c.serial.get(dst))
        else:  # a transfer's files are not kept; a CWMP message is
            c.later.append((req if post else _slim(req), f if post else _slim(f), c.serial.get(dst)))

    def _exchange(self, req: Frame, f: Frame, c: _Capture, serial: str | None) -> None:
        """One HTTP request `req` and its response `f`."""
        code = f.get("http.response.code") or ""
        src, dst = req.get("ip.src") or "", req.get("ip.dst") or ""
        if req.get("http.request.method") == "POST" and dst in c.hems_at:
            common = {"hems": c.hems_at[dst], "peer": src}
            if code == "401":
                kind = HemsKind.AUTH_FAILED if req.get("http.authorization") else HemsKind.AUTH_CHALLENGE
                self.add(f, Source.HEMS, kind, req, **common, reason=f"HTTP {code}", scheme=None)
                return
            if body := req.get("http.file_data"):
                self._cwmp(req, f, body, c.serial, from_unit=True)
            if body := f.get("http.file_data"):
                self._cwmp(f, req, body, c.serial, from_unit=False)
            elif code in ("200", "204"):
                self.add(f, Source.HEMS, HemsKind.SESSION_END, req, **common, serial=c.serial.get(src))
                c.ended[f.get("tcp.stream") or "?"] = self.found[-1]
        elif src in c.hems_at and dst in c.units:  # a HeMS asks the unit for a session
            self.add(
                f, Source.HEMS, HemsKind.CONNECTION_REQUEST, req, hems=c.hems_at[src], peer=dst,
                serial=serial, status=int(code), credentials=bool(req.get("http.authorization")),
            )  # fmt: skip
        elif dst not in c.hems_at:
            method = req.get("http.request.method")
            transfer = FileserverKind.UPLOAD if method in ("PUT", "POST") else FileserverKind.DOWNLOAD
            self.add(
                f, Source.FILESERVER, FileserverKind.AUTH_FAILED if code == "401" else transfer, req,
                status=int(code), proto="https" if req.has("tls") else "http", path=req.get("http.request.uri"),
                peer=src, bytes=int(f.get("http.content_length_header") or 0),
                user=(req.get("http.authbasic") or "").partition(":")[0],
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
            fields = (
                dataclasses.asdict(cwmp.read_transfer_complete(env))
                if env.method == "TransferComplete"
                else {}
            )
            self.add(f, Source.HEMS, HemsKind.CPE_RPC, other, **common, method=env.method, **fields)

    def _ftp(self, f: Frame, c: _Capture) -> None:
        stream = f.get("tcp.stream") or ""
        c.ftp_opened.setdefault(stream, f.t)  # when the client connected (the stream's first frame)
        command = f.get("ftp.request.command")
        if command == "USER":
            c.ftp_users[stream] = f.get("ftp.request.arg") or ""
        if f.get("ftp.response.code") == "530":  # login refused
            self.add(f, Source.FILESERVER, FileserverKind.AUTH_FAILED, proto="ftp", path="",
                     user=c.ftp_users.get(stream), peer=f.get("ip.dst"), status=530)  # fmt: skip
        if command not in ("RETR", "STOR"):
            return
        began: dict[str, float] = {}
        if (
            command == "STOR"
        ):  # as the file server says: the first upload of a session began at the connection
            began["began"] = round(f.t if stream in c.ftp_stored else c.ftp_opened[stream], 6)
            c.ftp_stored.add(stream)
        kind = FileserverKind.DOWNLOAD if command == "RETR" else FileserverKind.UPLOAD
        self.add(
            f, Source.FILESERVER, kind, proto="ftp", path="/" + (f.get("ftp.request.arg") or "").lstrip("/"),
            peer=f.get("ip.src"), user=c.ftp_users.get(stream), **began,
        )  # fmt: skip

    def _sctp(self, f: Frame) -> None:
        """SCTP INITs (to any port: a unit's S1 setup toward a wrong one is judged too) and S1AP messages,
        with the fields the MME stand-in records (bench.s1ap.decode): TACs, PLMNs, eNB ID, TimeToWait."""
        if not f.has("sctp"):
            return
        if "1" in f.all("sctp.chunk_type"):  # INIT
            self.add(
                f, Source.MME, MmeKind.SCTP_INIT, mode="capture", src=f.get("ip.src"), dst=f.get("ip.dst"),
                sport=int(f.get("sctp.srcport") or 0), dport=int(f.get("sctp.dstport") or 0),
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
            data.update(_s1_fields(f, message))
            self.add(f, Source.MME, MmeKind.S1AP, **data)


def _s1_fields(f: Frame, message: str) -> dict[str, Any]:
    """An S1 Setup Request's PLMN (its Global eNB ID's pLMNidentity), broadcast PLMNs (its TAs' PLMNidentity) and
    eNB ID (a Home eNB ID's 28 bits, a macro one's 20); an S1 Setup Failure's TimeToWait."""
    out: dict[str, Any] = {}
    if message == "S1SetupRequest":
        if plmn := f.get("s1ap.pLMNidentity"):
            out["plmn"] = plmn_str(_bytes(plmn))
        out["broadcast_plmns"] = sorted({plmn_str(_bytes(p)) for p in f.all("s1ap.PLMNidentity")})
        for kind, field_name, bits in (
            ("homeENB-ID", "s1ap.homeENB_ID", 28),
            ("macroENB-ID", "s1ap.macroENB_ID", 20),
        ):
            if raw := f.get(field_name):
                value = _bytes(raw)
                out.update(enb_id=int.from_bytes(value, "big") >> (len(value) * 8 - bits), enb_id_type=kind)
    if message == "S1SetupFailure" and (wait := f.get("s1ap.TimeToWait")) is not None and wait.isdigit():
        out["time_to_wait"] = TIME_TO_WAIT[int(wait)] if int(wait) < len(TIME_TO_WAIT) else wait
    return out


def _bytes(value: str) -> bytes:
    """A bytes field as tshark writes it (hex, with or without colons)."""
    return bytes.fromhex(value.replace(":", ""))


def _opened(f: Frame) -> bool:
    """An ESP frame tshark decrypted: a layer it could read follows the ESP header."""
    layers = (f.get("frame.protocols") or "").split(":")
    after = layers[layers.index("esp") + 1 :] if "esp" in layers else []
    return bool(after) and after[0] != "data"


def ftp_files(found: list[Found], capture: str, files: Path) -> None:
    """The FTP uploads of `capture` given the file tshark wrote of each one's data connection (read_frames'
    `files`): `content`, its path, for a check of what the unit uploaded (an upload's file is the capture's own
    evidence; the file server's stored copy is the live run's)."""
    exported = {unquote(p.name): p for p in files.iterdir()} if files.is_dir() else {}
    for f in found:
        if (f.source, f.kind) == (Source.FILESERVER, FileserverKind.UPLOAD) and f.data.get("proto") == "ftp" \
                and f.data.get("capture") == capture:  # fmt: skip
            path = str(f.data.get("path"))
            got = exported.get(path) or exported.get(path.lstrip("/"))
            if got is not None:
                f.data["content"] = str(got)


def _slim(f: Frame) -> Frame:
    """A frame without its HTTP body (a transfer's file), to be kept till the capture's end."""
    return Frame(f.capture, f.number, f.t, {k: v for k, v in f.fields.items() if k != "http.file_data"})


def _masked(values: dict[str, str]) -> dict[str, str]:
    """Parameter values with those of secret-named parameters (a ConnectionRequestPassword) masked: no check
    reads them, and a capture from the field may carry secrets no inventory knows."""
    return {k: MASK if is_secret_key(k.rsplit(".", 1)[-1]) and v else v for k, v in values.items()}


def _is_hex(text: str) -> bool:
    return len(text) > 2 and text[2:3] == ":" and all(c in "0123456789abcdef:" for c in text[:48])


def _sent(env: cwmp.Envelope) -> dict[str, Any]:
    """What a check needs of an RPC the HeMS sent: a SetParameterValues' values and ParameterKey (the live
    HeMS puts the same on its rpc-sent event); a Download's URL, CommandKey, FileType and Username; a Reboot's
    CommandKey; the names a GetParameterValues asks for; the notifications a SetParameterAttributes changes."""
    if env.method == "Download":
        tags = {"url": "URL", "command_key": "CommandKey", "file_type": "FileType", "username": "Username"}
        return {
            k: (e.text or "") if (e := env.body.find(f"{{*}}{tag}")) is not None else ""
            for k, tag in tags.items()
        }
    if env.method == "Reboot":
        key = env.body.find("{*}CommandKey")
        return {"command_key": "" if key is None else (key.text or "")}
    if env.method == "GetParameterValues":
        return {
            "names": [(n.text or "").strip() for names in env.body.iter("{*}ParameterNames") for n in names]
        }
    if env.method == "SetParameterAttributes":
        return {"notifications": {
            (s.findtext("{*}Name") or "").strip(): int(s.findtext("{*}Notification") or "0")
            for s in env.body.iter("{*}SetParameterAttributesStruct")
            if (s.findtext("{*}NotificationChange") or "").strip().lower() in ("1", "true")
        }}  # fmt: skip
    if env.method != "SetParameterValues":
        return {}
    values = {}
    for pvs in env.body.iter("{*}ParameterValueStruct"):
        name, value = pvs.find("{*}Name"), pvs.find("{*}Value")
        if name is not None:
            values[(name.text or "").strip()] = "" if value is None else (value.text or "")
    key = env.body.find("{*}ParameterKey")
    return {"values": _masked(values), "parameter_key": "" if key is None else (key.text or "")}

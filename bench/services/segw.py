"""An Initial or Serving SeGW: charon in its namespace, configured over VICI, its IKE events on the timeline."""

from __future__ import annotations

import calendar
import datetime as dt
import ipaddress
import re
import threading
import time
from pathlib import Path
from typing import Any

from bench.errors import InfraError
from bench.events import BenchKind, SegwKind, Source
from bench.ike import ESP_PROPOSALS, IKE_PROPOSALS, ike_id_matches
from bench.impostors import Impostor
from bench.pki import CertFiles
from bench.services.charon import Charon, close_session
from bench.timeline import Timeline

# What charon logs when it refuses a peer: certificate trust, identity and proposal mismatches; the proposals
# it received and has are quoted only next to a proposal refusal (they are logged for every peer).
REFUSALS = re.compile(
    r"no trusted \S+ public key found.*|no issuer certificate found.*|certificate status is not available|"
    r"constraint check failed.*|no acceptable proposal found|received proposals unacceptable|"
    r"no matching peer config found|tried \d+ peer config.*|certificate .* (?:expired|not valid|revoked).*|"
    r"authentication of .* failed.*"
)
PROPOSALS = re.compile(r"(?:received|configured) proposals: .*")
# charon's log lines (VICI `log` events) that say who a half-open IKE SA is with and what the peer did.
INITIATING = re.compile(r"^(\S+) is initiating an IKE_SA")
PEER_CONFIGS = re.compile(r"looking for peer configs matching \S+\.\.\.[^\[]+\[(?P<id>.*)\]$")
RECEIVED_PROPOSALS = re.compile(r"(?P<which>received|configured) proposals: (?P<list>.*)")
AUTH_FAILED_NOTIFY = re.compile(r"received AUTHENTICATION_FAILED notify")
DELETE = re.compile(r"received DELETE for IKE_SA")
SELECTED = re.compile(r"^selected peer config '([^']+)'")
RECEIVED_PACKET = re.compile(r"^received packet: from ([^\[]+)\[")
ESTABLISHED = re.compile(
    r"^IKE_SA (?P<conn>[^\[]+)\[(?P<uid>\d+)\] established between \S+\.\.\.(?P<host>[^\[]+)\[(?P<id>.*)\]$"
)


def refusals_on(events: list[Any], limit: int = 6) -> dict[str, list[str]]:
    """charon's reasons for refusing a unit, per SeGW, from `refused` events (a unit's own view of the
    timeline holds only its own), with the proposals the unit offered next to a proposal refusal."""
    out: dict[str, list[str]] = {}
    for e in events:
        if e.source == Source.SEGW and e.kind == SegwKind.REFUSED:
            reason = str(e.data.get("reason", ""))
            if e.data.get("proposals"):
                reason += f" (received proposals: {e.data['proposals']}"
                reason += f"; configured: {e.data['configured']})" if e.data.get("configured") else ")"
            said = out.setdefault(str(e.data.get("segw")), [])
            if reason not in said:
                said.append(reason)
    return {k: v[-limit:] for k, v in out.items()}


def _s(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [_s(x) for x in v]
    return v


class CharonLog:
    """charon's log, a line at a time, as events of the SeGW `segw`: who a half-open IKE SA is with (its
    address, the identity it presented, the proposals it offered), what charon refused of it or the peer did
    (a DELETE, an AUTHENTICATION_FAILED notify) and the SAs established with their identity. One parser for
    both sources: the live SeGW's VICI `log` events (keyed by the IKE SA's unique id) and a run's charon.log
    (read_charon_log: keyed by the worker thread, whose job begins with the packet it received)."""

    def __init__(self, segw: str, by_thread: bool = False) -> None:
        self.segw = segw
        self.by_thread = by_thread  # keyed by worker thread: each packet received begins another peer's job
        self.peers: dict[str, dict[str, Any]] = {}

    def line(self, msg: str, key: str, conn: str | None = None) -> tuple[str, dict[str, Any]] | None:
        """The event a line of the IKE SA (or worker) `key` makes, if any: (kind, data)."""
        peer = self.peers.setdefault(key, {})
        if len(self.peers) > 4096:  # a long run: forget the oldest
            self.peers.pop(next(iter(self.peers)))
        if (m := RECEIVED_PACKET.search(msg)) and self.by_thread:  # a worker's new job: this packet's peer
            self.peers[key] = {"remote_host": m.group(1)}
            return None
        if m := SELECTED.search(msg):
            peer["conn"] = m.group(1)
            return None
        if m := INITIATING.search(msg):
            peer["remote_host"] = m.group(1)
            return None
        if m := PEER_CONFIGS.search(msg):
            peer["remote_id"] = m.group("id")
            return None
        if m := RECEIVED_PROPOSALS.search(msg):
            peer["proposals" if m["which"] == "received" else "configured"] = m["list"]
            return None
        data: dict[str, Any] = {"segw": self.segw, "conn": conn or peer.get("conn"), "remote_host": peer.get("remote_host"),
                                "remote_id": peer.get("remote_id"), "unique_id": key}  # fmt: skip
        if m := ESTABLISHED.search(msg):
            return SegwKind.IKE_UP, {**data, "conn": m["conn"], "remote_host": m["host"], "remote_id": m["id"],
                                     "unique_id": m["uid"], "line": msg}  # fmt: skip
        if AUTH_FAILED_NOTIFY.search(msg):
            return SegwKind.PEER_AUTH_FAILED, {**data, "line": msg}
        if DELETE.search(msg):
            return SegwKind.PEER_DELETE, {**data, "line": msg}
        if m := REFUSALS.search(msg):
            reason = m.group(0)
            if reason in peer.setdefault("refused", []):
                return None
            peer["refused"].append(reason)
            offer = "proposal" in reason
            return SegwKind.REFUSED, {**data, "reason": reason,
                                      "proposals": peer.get("proposals") if offer else None,
                                      "configured": peer.get("configured") if offer else None}  # fmt: skip
        return None


# A line of charon's log file (bench/services/charon.py: time_format %F %T, local time to the second): its
# worker thread, and with filelog's ike_name the IKE SA's name and unique id.
FILE_LINE = re.compile(
    r"^(?P<t>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?P<thread>\d+)\[\w+\] (?:<(?:(?P<conn>[^|>]*)\|)?(?P<sa>\d+)> )?(?P<msg>.*)$"
)


def read_charon_log(
    path: Path, segw: str, start: float, end: float, utc_offset: float | None = None
) -> list[tuple[float, str, dict[str, Any]]]:
    """The events (time, kind, data) of a charon log file of the SeGW `segw` whose lines are stamped from the
    second of `start` to that of `end` (the stamps are local time to the second, as SeGW.refusals reads them:
    this host's, or the run host's `utc_offset` in seconds); each line is parsed by CharonLog with what the
    lines before it said of its IKE SA."""
    lines = CharonLog(segw, by_thread=True)
    out = []
    first, last = int(start), int(end)
    for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = FILE_LINE.match(text)
        if m is None:
            continue
        try:
            stamp = time.strptime(m["t"], "%Y-%m-%d %H:%M:%S")
            t = time.mktime(stamp) if utc_offset is None else calendar.timegm(stamp) - utc_offset
        except ValueError:
            continue
        found = lines.line(m["msg"], m["sa"] or f"thread {m['thread']}", m["conn"])
        if found is not None and first <= t <= last:
            out.append((t, found[0], {**found[1], "log": str(path)}))
    return out


class SeGW:
    """Terminates the units' IKEv2 tunnels and hands each an inner address from a pool."""

    def __init__(
        self,
        name: str,
        netns: str,
        outer_ip: str,
        identity: str,
        protected: list[str],
        pools: list[str],
        dns: str,
        workdir: Path,
        timeline: Timeline,
        ike_proposals: list[str] | None = None,
        esp_proposals: list[str] | None = None,
        clients: str | None = None,
    ) -> None:
        self.name = name
        self.netns = netns
        self.outer_ip = outer_ip
        self.identity = identity
        self.protected = protected
        self.pools = pools
        self.dns = dns
        self.timeline = timeline
        self.ike_proposals = ike_proposals or IKE_PROPOSALS
        self.esp_proposals = esp_proposals or ESP_PROPOSALS
        self.charon = Charon(name, workdir, netns)
        self.active_pool = 0
        # Per unit (its IKE identity) after an address change: the pool its own connection hands out, so
        # moving one unit of several leaves the others where they are.
        self.unit_pools: dict[str, int] = {}
        # One VICI session for the bench's requests: the units' threads take turns on it.
        self._vici = threading.Lock()
        self._listener: threading.Thread | None = None
        self._events_session: Any = None
        # The address space units come from (the home network): an impostor offering proposals is the only
        # configuration for its unit's address, the others cover the rest of it.
        self.clients = clients
        # Impostors presented: connection name -> (unit, impostor key); unit addresses the real SeGW leaves alone.
        # Every event of an impostor's connection names its unit: in a run with several units it is that unit's,
        # whatever charon's log said (or not yet) of the peer.
        self._impostors: dict[str, tuple[str, str]] = {}
        self._presented: dict[str, str] = {}  # unit -> its impostor's connection now
        self._excluded: dict[str, str] = {}
        # Impostor connections for a unit whose address is not known yet (remote_addrs: every address but the
        # excluded ones, reloaded with the real ones): another unit in a proposals round must not meet them.
        self._anywhere: dict[str, dict[str, Any]] = {}
        # What charon's log said of each IKE SA (by unique id): peer address, identity, proposals.
        self._lines = CharonLog(name)

    def start(self, trust: list[bytes], cert: CertFiles) -> None:
        """Start charon trusting `trust` (PEM CA certificates) for the units' certificates, with `cert` as
        the SeGW's own."""
        self.charon.start()
        for pem in trust:
            self.charon.load_ca(pem)
        self.charon.load_identity(cert.cert.read_bytes(), cert.key.read_bytes())
        self._cert = cert.cert.read_bytes()
        for i, pool in enumerate(self.pools):
            self.charon.load_pool(self._pool_name(i), pool, [self.dns])
        self._load_conn()
        self._events_session = self.charon.connect()
        ready = threading.Event()
        self._listener = threading.Thread(
            target=self._listen, args=(ready,), name=f"{self.name}-vici", daemon=True
        )
        self._listener.start()
        ready.wait(2)

    def _pool_name(self, i: int) -> str:
        return f"pool{i}"

    def _load_conn(self, remote_id: str | None = None) -> None:
        """The connection every unit matches, or with `remote_id` the one unit's own (an exact identity beats
        %any in charon's choice of peer config), handing out that unit's pool."""
        pool = self.active_pool if remote_id is None else self.unit_pools[remote_id]
        self.charon.load_conn(
            "henb" if remote_id is None else f"henb-{remote_id}",
            {
                "version": "2",
                "local_addrs": [self.outer_ip],
                "remote_addrs": self._others(),
                "pools": [self._pool_name(pool)],
                "proposals": self.ike_proposals,
                "unique": "replace",
                "local": {"auth": "pubkey", "certs": [self._cert], "id": self.identity},
                "remote": {"auth": "pubkey", "id": remote_id or "%any"},
                "children": {"henb": {"local_ts": self.protected, "esp_proposals": self.esp_proposals}},
            },
        )

    def _others(self) -> list[str]:
        """remote_addrs of the real SeGW's connections: any address but the ones an impostor has now."""
        if not self._excluded or self.clients is None:
            return ["%any"]
        net = ipaddress.IPv4Network(self.clients)
        out, start = [], net.network_address
        for ip in sorted({ipaddress.IPv4Address(a) for a in self._excluded.values()}):
            if ip in net and start < ip:
                out.append(f"{start}-{ip - 1}")
            start = max(start, ip + 1)
        if start <= net.broadcast_address:
            out.append(f"{start}-{net.broadcast_address}")
        return out or ["%any"]

    def present(self, unit: str, remote_id: str, impostor: Impostor, remote_host: str | None) -> None:
        """From now on the unit with IKE identity `remote_id` meets `impostor` at this SeGW (a connection of its
        own, chosen over the real one by the exact identity, and by `remote_host` for proposals, where a unit's
        identity is not known yet), instead of the one presented before; the others meet the real SeGW. Each
        impostor's connection has a name of its own, so an exchange still under way with the one before is
        never taken for one with this."""
        conn = f"impostor-{unit}-{impostor.key}"
        with self._vici:
            # The one before goes once this one is there: an attempt in between meets one of them, never none.
            before = self._presented.get(unit)
            cert = self._cert
            if impostor.cert is not None:
                cert = impostor.cert.cert.read_bytes()
                self.charon.call("load_key", {"type": "any", "data": impostor.cert.key.read_bytes()})
            if impostor.proposals:
                if remote_host is None:
                    raise InfraError(f"{self.name}: {impostor.key} for {unit} needs the unit's address")
                self._excluded[conn] = remote_host
                self._reload_real()
            # Kept after the impostor is withdrawn: its late events still name it.
            self._impostors[conn] = (unit, impostor.key)
            config = {
                "version": "2",
                "local_addrs": [self.outer_ip],
                "remote_addrs": [remote_host] if remote_host else self._others(),
                "pools": [self._pool_name(self.unit_pools.get(remote_id, self.active_pool))],
                "proposals": list(impostor.proposals) or self.ike_proposals,
                "unique": "replace",
                "local": {"auth": "pubkey", "certs": [cert], "id": self.identity},
                "remote": {"auth": "pubkey", "id": remote_id},
                "children": {"henb": {"local_ts": self.protected, "esp_proposals": self.esp_proposals}},
            }
            if not remote_host:
                self._anywhere[conn] = config
            self.charon.load_conn(conn, config)
            if before is not None:
                self._unload(unit, before)
            self._presented[unit] = conn
        self.timeline.add(
            Source.BENCH, BenchKind.IMPOSTOR, segw=self.name, unit=unit, impostor=impostor.key,
            what=impostor.what, action="presented", remote_host=remote_host, proposals=list(impostor.proposals),
        )  # fmt: skip

    def withdraw(self, unit: str) -> None:
        """The unit meets the real SeGW again."""
        with self._vici:
            self._withdraw(unit)

    def _withdraw(self, unit: str) -> None:
        conn = self._presented.pop(unit, None)
        if conn is not None:
            self._unload(unit, conn)

    def _unload(self, unit: str, conn: str) -> None:
        # Said before the real SeGW can answer the unit: an exchange the capture shows after this event may be
        # the real SeGW's (a unit retrying at once completes it before the impostor is unloaded), so the
        # evidence judges never take it for the impostor's (bench/evidence/judge_impostor.py).
        self.timeline.add(Source.BENCH, BenchKind.IMPOSTOR, segw=self.name, unit=unit,
                          impostor=self._impostors[conn][1], action="withdrawn")  # fmt: skip
        # The real SeGW takes the unit's address back first: an attempt in between meets one of them.
        self._anywhere.pop(conn, None)
        if self._excluded.pop(conn, None) is not None:
            self._reload_real()
        self.charon.call("unload_conn", {"name": conn})

    def _reload_real(self) -> None:
        self._load_conn()
        for remote_id in self.unit_pools:
            self._load_conn(remote_id)
        for conn, config in self._anywhere.items():
            # A unit in a proposals round (its address excluded) meets its own impostor only, never the
            # certificate impostor another unit meets at once: that one's IKE_SA_INIT would take its offer.
            self.charon.load_conn(conn, {**config, "remote_addrs": self._others()})

    def _listen(self, ready: threading.Event) -> None:
        try:
            stream = self._events_session.listen(["ike-updown", "child-updown", "log"])
            ready.set()
            for label, event in stream:
                if label is None:
                    continue
                if label == b"log":
                    self._log(event)
                else:
                    self._record(label.decode(), event)
        except Exception:  # noqa: BLE001 - the socket is closed at stop(); nothing else ends this loop
            return

    def _log(self, event: dict[str, Any]) -> None:
        """A line of charon's log (a VICI `log` event): who a half-open SA is with, and what the peer or charon
        refused (CharonLog, the parser `henb-bench judge --segw-log` reads charon's log file with)."""
        msg = str(_s(event.get("msg", b"")))
        sa = str(_s(event.get("ikesa-uniqueid", b"")))
        conn = str(_s(event.get("ikesa-name", b""))) or None
        found = self._lines.line(msg, sa, conn) if sa else None
        if found is None or found[0] == SegwKind.IKE_UP:  # an SA up: VICI's own ike-updown reports it
            return
        kind, data = found
        if conn in self._impostors:
            data["unit"], data["impostor"] = self._impostors[conn]
        self.timeline.add(Source.SEGW, kind, **data)

    def _record(self, label: str, event: dict[str, Any]) -> None:
        up = bool(event.get("up"))
        for conn, sa in event.items():
            if not isinstance(sa, dict):
                continue
            name = conn.decode() if isinstance(conn, bytes) else str(conn)
            data = {
                "segw": self.name,
                "remote_id": _s(sa.get("remote-id")),
                "remote_host": _s(sa.get("remote-host")),
                "remote_vips": _s(sa.get("remote-vips", [])),
                "unique_id": _s(sa.get("uniqueid")),
                "conn": name,
            }
            if name in self._impostors:
                data["unit"], data["impostor"] = self._impostors[name]
            if label == "ike-updown":
                # The initiator's SPI, as the outer capture shows it (bench.ike_capture).
                data["spi_i"] = _s(sa.get("initiator-spi"))
                data["proposal"] = "/".join(
                    str(_s(sa[k]))
                    for k in ("encr-alg", "encr-keysize", "integ-alg", "prf-alg", "dh-group")
                    if sa.get(k)
                )
            if label == "ike-updown":
                self.timeline.add(Source.SEGW, SegwKind.IKE_UP if up else SegwKind.IKE_DOWN, **data)
            else:
                # What came in through the CHILD SA (ESP from the unit): at its close, whether it was used.
                children = [c for c in (sa.get("child-sas") or {}).values() if isinstance(c, dict)]
                counts = [
                    int(_s(c["packets-in"])) for c in children if str(_s(c.get("packets-in", ""))).isdigit()
                ]
                if counts:
                    data["packets_in"] = sum(counts)
                self.timeline.add(Source.SEGW, SegwKind.CHILD_UP if up else SegwKind.CHILD_DOWN, **data)

    def sas(self) -> list[dict[str, Any]]:
        with self._vici:
            return self._sas()

    def _sas(self) -> list[dict[str, Any]]:
        out = []
        for entry in self.charon.session.list_sas():
            for name, sa in entry.items():
                out.append(
                    {
                        "name": name,
                        "unique_id": _s(sa.get("uniqueid")),
                        "remote_id": _s(sa.get("remote-id")),
                        "remote_host": _s(sa.get("remote-host")),
                        "remote_vips": _s(sa.get("remote-vips", [])),
                        "state": _s(sa.get("state")),
                    }
                )
        return out

    def change_address(self, remote_id: str) -> tuple[str, str]:
        """Move the unit `remote_id` to the next pool and drop its IKE SA, so it reconnects with a new inner
        address. Returns (old address, new pool). Responder-initiated reauthentication does not work with
        virtual IPs in strongSwan, so a delete plus the unit's reconnect is how the address moves. Only that
        unit moves: the next pool is loaded as its own connection."""
        with self._vici:
            return self._change_address(remote_id)

    def _change_address(self, remote_id: str) -> tuple[str, str]:
        sa = next(
            (
                s
                for s in self._sas()
                if ike_id_matches(remote_id, s["remote_id"]) and s["state"] == "ESTABLISHED"
            ),
            None,
        )
        if sa is None:
            raise InfraError(f"{self.name}: no established IKE SA for {remote_id} to change the address of")
        old = (sa["remote_vips"] or ["?"])[0]
        unit = str(sa["remote_id"])
        pool = self.unit_pools[unit] = (self.unit_pools.get(unit, self.active_pool) + 1) % len(self.pools)
        self._load_conn(unit)
        self.timeline.add(
            Source.SEGW,
            SegwKind.ADDRESS_CHANGE,
            segw=self.name,
            remote_id=sa["remote_id"],
            old=old,
            pool=self.pools[pool],
        )
        for _ in self.charon.session.terminate({"ike-id": sa["unique_id"], "timeout": 2000, "force": "yes"}):
            pass
        return old, self.pools[pool]

    def refusals(self, after: float = 0.0, limit: int = 6) -> list[str]:
        """charon's own words for the peers it refused (untrusted certificate, unmatched identity or
        proposals) since the wall-clock time `after`, newest last, from its log."""
        try:
            text = (self.charon.workdir / "charon.log").read_text(errors="replace")
        except OSError:
            return []
        # The log's time stamps are local time to the second.
        since = dt.datetime.fromtimestamp(int(after) - 1).strftime("%Y-%m-%d %H:%M:%S")
        recent = [line for line in text.splitlines() if line[:19] >= since]
        refused = [m.group(0) for line in recent if (m := REFUSALS.search(line))]
        if any("proposal" in r for r in refused):
            refused = [m.group(0) for line in recent if (m := PROPOSALS.search(line))][-2:] + refused
        return list(dict.fromkeys(refused))[-limit:]

    def stop(self) -> None:
        if self._events_session is not None:
            close_session(self._events_session)
        self.charon.stop()
        if self._listener is not None:
            self._listener.join(timeout=2)

"""A run folder made without namespaces: a real Timeline, BenchRun's and Evidence's own code on stand-ins for the
topology and the unit, with secrets from the inventory showing up where a careless bench would leak them."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.capture import LINKTYPE_RAW, PcapngWriter
from bench.inventory import parse_inventory
from bench.report.redact import redactor_for
from bench.run import BenchRun, Evidence, Transcripts
from bench.timeline import Timeline

SHELL_PASSWORD = "Sh3ll-Pa55-xyzzy"
COMMUNITY = "private"  # weak on purpose: must not mangle "private-dns"
HEMS_PASSWORD = "hems-Secret-4242"


def inventory_data() -> dict[str, Any]:
    return {
        "bench": {"prefix": "hbx-"},
        "units": {
            "henb-01": {
                "identity": {"oui": "00D0B7", "product_class": "MockHeNB", "serial_number": "MOCK0001"},
                "power": {"driver": "snmp-pdu", "host": "192.0.2.21", "outlet": 7, "community": COMMUNITY},
                "console": {"driver": "mock"},
                "wan": {"driver": "mock"},
                "shell": {"driver": "ssh", "host": "192.0.2.107", "password": SHELL_PASSWORD},
            }
        },
    }


def _ike(exchange: int, response: bool) -> bytes:
    ike = b"\x11" * 16 + bytes([0x21, 0x20, exchange, 0x20 if response else 0x08]) + b"\0" * 8
    udp = struct.pack("!HHHH", 500, 500, 8 + len(ike), 0) + ike
    src, dst = (
        (b"\xcb\x00\x71\x02", b"\xc6\x33\x64\x5b") if response else (b"\xc6\x33\x64\x5b", b"\xcb\x00\x71\x02")
    )
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst) + udp


class _Hems:
    def __init__(self, name: str, entries: list[dict[str, Any]]) -> None:
        self.name = name
        self._entries = entries

    def transcript(self, since: int = 0) -> list[dict[str, Any]]:
        return self._entries[since:]


def make_fake_run(
    root: Path, inventory_path: Path, failing: bool = False, deviate: bool = False, flow: str = "5.1.2.2"
) -> Path:
    """Write a run folder under `root` for the 5.1.2.2 flow; `deviate` leaves out the Serving SeGW's tunnel.
    With `flow` "5.2.4": a unit registered, configured by an earlier test, then the 5.2.4 test."""
    inv = parse_inventory(inventory_data(), inventory_path)
    run: Any = object.__new__(BenchRun)
    run.inv, run.inventory_path = inv, inventory_path
    run.unit_name, run.unit_cfg = inv.unit(None)
    run.run_id = "20260101-000000"
    run.dir = root / run.run_id
    run.dir.mkdir(parents=True)
    run.knobs = []
    run.redactor = redactor_for(inv, [HEMS_PASSWORD])
    tl = Timeline()
    tl.line_filter = run.redactor.text
    tl.attach(run.dir / "timeline.jsonl")
    run.timeline = tl
    run.transcripts = Transcripts(run.redactor, tl.t0)
    workdir = root / "work"
    (workdir / "hems").mkdir(parents=True)
    (workdir / "hems" / "initial-hems-tls-keys.log").write_text("CLIENT_RANDOM 00 11\n")
    run.started = time.time()
    run.results = []
    run.stopped = False
    run.closed = False
    run._unit = SimpleNamespace(last_boot=None)
    t = time.time()
    transcript = [
        {"t": t + 0.5, "direction": "in", "peer": "10.181.0.1", "status": 200, "xml": "<Inform/>"},
        {
            "t": t + 0.6,
            "direction": "out",
            "peer": "10.181.0.1",
            "status": 200,
            "xml": f"<SetParameterValues><Value>{HEMS_PASSWORD}</Value></SetParameterValues>",
        },
    ]
    run.topology = SimpleNamespace(
        workdir=workdir,
        timings={"up": 0.4},
        hems={"initial-hems": _Hems("initial-hems", transcript)},
    )

    test = "test_discovery_via_initial_hems_in_private_network"
    if flow == "5.2.4":
        return _address_change(run, tl, time.time())
    ev: Any = object.__new__(Evidence)
    ev.run, ev.dir, ev.mark, ev.started = run, run.dir / test, tl.mark(), t
    ev.dir.mkdir()
    ev.outer = ev.inner = ev.inner_initial = SimpleNamespace(stop=lambda: 0, name="fake")
    with_pcap = PcapngWriter(ev.dir / "outer.pcapng", LINKTYPE_RAW, "hbx-in-u0", "outer")
    with_pcap.write(_ike(34, False), t + 0.30)
    with_pcap.write(_ike(35, True), t + 0.312)
    with_pcap.close()

    def add(dt: float, source: str, kind: str, **data: Any) -> None:
        tl.add(source, kind, at=t + dt, **data)

    add(0.0, "power", "power", unit="henb-01", action="on", driver="snmp-pdu")
    add(0.05, "console", "console-line", unit="henb-01", line=f"login: root password {SHELL_PASSWORD}")
    add(0.10, "dhcp", "dhcpdiscover", server="public-dns", detail="42:81:ad:0b:6e:ff")
    add(0.11, "dhcp", "dhcpack", server="public-dns", detail="198.51.100.91")
    add(
        0.20,
        "dns",
        "query",
        dns="public-dns",
        server="198.51.100.1",
        name="isegw.operator.example",
        qtype="A",
    )
    # The impostor Initial SeGWs the unit refuses first (testplans/ts32593/impostor.py): one of each kind.
    add(0.24, "segw", "ike-up", segw="isegw", remote_id="00D0B7-MOCK0001.henb", remote_vips=["10.181.0.1"],
        impostor="untrusted_ca", conn="impostor-henb-01", unique_id="1")  # fmt: skip
    add(0.25, "segw", "peer-delete", segw="isegw", impostor="untrusted_ca", conn="impostor-henb-01", unique_id="1",
        line="received DELETE for IKE_SA impostor-henb-01[1]")  # fmt: skip
    add(0.28, "segw", "refused", segw="isegw", conn="(unnamed)", unique_id="2",
        reason="received proposals unacceptable", proposals="IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256")  # fmt: skip
    add(0.32, "segw", "ike-up", segw="isegw", remote_id="00D0B7-MOCK0001.henb", remote_vips=["10.181.0.1"])
    add(
        0.40,
        "dns",
        "query",
        dns="private-dns",
        server="10.180.0.53",
        name="ihems.operator.example",
        qtype="A",
    )
    params = {
        "Device.DeviceInfo.SoftwareVersion": "fw-9.8.7",
        "Device.DeviceInfo.HardwareVersion": "hw-B",
        "Device.ManagementServer.Password": HEMS_PASSWORD,
    }
    add(0.50, "hems", "inform", hems="initial-hems", peer="10.181.0.1", serial="MOCK0001", oui="00D0B7",
        events=["0 BOOTSTRAP", "1 BOOT"], params=params)  # fmt: skip
    add(0.60, "hems", "rpc-sent", hems="initial-hems", method="SetParameterValues", id="initial-hems-1")
    add(0.62, "hems", "rpc-response", hems="initial-hems", method="SetParameterValues", status=0)
    add(0.63, "hems", "session-end", hems="initial-hems")
    add(0.64, "psu-x", "note", community=COMMUNITY)
    add(0.65, "power", "psu-sample", unit="henb-01", volts=12.0, amps=0.8)
    if not deviate:
        add(
            0.70,
            "dns",
            "query",
            dns="public-dns",
            server="198.51.100.1",
            name="ssegw.operator.example",
            qtype="A",
        )
        add(
            0.75, "segw", "ike-up", segw="ssegw", remote_id="00D0B7-MOCK0001.henb", remote_vips=["10.182.0.1"]
        )
    add(0.80, "mme", "sctp-init", src="10.182.0.1", dst="10.180.0.30", dport=36412)
    add(0.81, "ntp", "query", peer="198.51.100.91", server="198.51.100.1")
    add(0.85, "security", "outer-link", strict=False, operator=0, allowed={"DHCP": 2, "NTP": 2, "IKE": 4},
        other={"UDP port 514": 1}, capture=str(ev.dir / "outer.pcapng"))  # fmt: skip
    ev.finish()
    message = ""
    if failing:
        message = (
            f"TS 32.593 5.1.2.2 step 6.3: expected an IKE SA at the Serving SeGW; seen nothing (password "
            f"{SHELL_PASSWORD}); evidence: {ev.dir}/timeline.jsonl #11"
        )
    run.results.append(
        {
            "test": test,
            "clause": "5.1.2.2",
            "outcome": "failed" if failing else "passed",
            "message": message,
            "seconds": 0.9,
            "error_kind": "DeviceError" if failing else None,
        }
    )
    (run.dir / f"console-{run.unit_name}.log").write_text(f"boot\npassword {SHELL_PASSWORD}\n")
    tl.detach_all()
    run.write_summary()
    run.write_evidence()
    return run.dir


def _address_change(run: Any, tl: Timeline, t: float) -> Path:
    """Boot, registration and an earlier test's SetParameterValues; then the 5.2.4 test (from its mark): the
    HeMS asks for Active notification, the SeGW moves the unit, the unit comes back and informs."""
    run._unit = SimpleNamespace(last_boot=SimpleNamespace(mark=tl.mark()))
    shems, vip, new = "serving-hems", "10.182.0.1", "10.182.1.1"

    def add(dt: float, source: str, kind: str, **data: Any) -> None:
        tl.add(source, kind, at=t + dt, **data)

    def session(dt: float, method: str) -> None:
        add(dt, "hems", "connection-request", hems=shems, status=200)
        add(dt + 0.01, "hems", "inform", hems=shems, peer=vip, events=["6 CONNECTION REQUEST"], params={})
        add(dt + 0.02, "hems", "rpc-sent", hems=shems, method=method)
        add(dt + 0.03, "hems", "rpc-response", hems=shems, method=method, status=0)
        add(dt + 0.04, "hems", "session-end", hems=shems)

    add(0.0, "power", "power", unit="henb-01", action="on", driver="snmp-pdu")
    add(0.1, "dhcp", "dhcpdiscover", server="public-dns", detail="42:81:ad:0b:6e:ff")
    add(0.11, "dhcp", "dhcpack", server="public-dns", detail="198.51.100.91")
    add(0.2, "dns", "query", dns="public-dns", name="ssegw.operator.example", qtype="A")
    add(0.3, "segw", "ike-up", segw="ssegw", remote_id="00D0B7-MOCK0001.henb", remote_vips=[vip])
    add(0.4, "dns", "query", dns="private-dns", name="shems.operator.example", qtype="A")
    add(0.5, "hems", "inform", hems=shems, peer=vip, serial="MOCK0001", events=["1 BOOT"], params={})
    add(0.6, "hems", "rpc-sent", hems=shems, method="SetParameterValues")
    add(0.61, "hems", "rpc-response", hems=shems, method="SetParameterValues", status=0)
    add(0.62, "hems", "session-end", hems=shems)
    add(0.7, "mme", "sctp-init", src=vip, dst="10.180.0.30", dport=36412)
    session(1.0, "SetParameterValues")  # an earlier test's configuration
    session(1.1, "GetParameterValues")

    test = "test_inform_after_ipsec_address_change"
    ev: Any = object.__new__(Evidence)
    ev.run, ev.dir, ev.mark, ev.started = run, run.dir / test, tl.mark(), t + 2.0
    ev.dir.mkdir()
    ev.outer = ev.inner = ev.inner_initial = SimpleNamespace(stop=lambda: 0, name="fake")
    session(2.0, "SetParameterAttributes")  # the test's own preparation: Active notification
    add(2.5, "segw", "address-change", segw="ssegw", remote_id="00D0B7-MOCK0001.henb", old=vip, pool="p2")
    add(2.6, "segw", "ike-down", segw="ssegw", remote_id="00D0B7-MOCK0001.henb", remote_vips=[vip])
    add(2.8, "segw", "ike-up", segw="ssegw", remote_id="00D0B7-MOCK0001.henb", remote_vips=[new])
    add(2.9, "hems", "inform", hems=shems, peer=new, serial="MOCK0001", events=["4 VALUE CHANGE"],
        params={"Device.IPsec.Tunnel.1.InnerAddress": new})  # fmt: skip
    add(2.95, "hems", "session-end", hems=shems)
    ev.finish()
    run.results.append(
        {"test": test, "clause": "5.2.4", "outcome": "passed", "message": "", "seconds": 1.0, "mark": ev.mark}
    )
    tl.detach_all()
    run.write_summary()
    run.write_evidence()
    return Path(run.dir)

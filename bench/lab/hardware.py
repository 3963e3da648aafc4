"""The simulated lab's hardware, as one daemon (`python -m bench.lab.hardware LABDIR`): a PDU (HTTP or SNMP)
whose outlet powers the mock unit in the lab's namespace, and a console server on the unit's serial line."""

from __future__ import annotations

import json
import queue
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bench.inventory import load_inventory
from bench.lab.console import ConsoleServer
from bench.mock.device import MockDevice
from bench.network.state import RunState
from bench.operator_pki import FileCertificateAuthority
from bench.pki import CertFiles

SPEC = "lab.json"
READY = "ready.json"


def lab_ca(labdir: Path, spec: dict[str, Any], which: str = "ca") -> FileCertificateAuthority:
    """The lab's operator CA (or with which="vendor_ca" the unit vendor's), from the files `lab up` made: it
    provisions the unit's device certificate."""
    files = CertFiles(Path(spec[f"{which}_cert"]), Path(spec[f"{which}_key"]))
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    key = serialization.load_pem_private_key(files.key.read_bytes(), None)
    return FileCertificateAuthority(labdir / "unit" / "factory", cert, key, files)


class Outlet:
    """What is plugged into the PDU's outlet: the mock unit. Switching is applied in order by a worker
    thread, so the PDU answers at once as a relay does while the unit's processes start or stop."""

    def __init__(self, device: MockDevice) -> None:
        self.device = device
        self.jobs: queue.Queue[bool | None] = queue.Queue()
        self.worker = threading.Thread(target=self._work, name="lab-outlet", daemon=True)
        self.worker.start()

    def switch(self, on: bool) -> None:
        self.jobs.put(on)

    def _work(self) -> None:
        while (on := self.jobs.get()) is not None:
            try:
                if on and not self.device.running():
                    self.device.start()
                elif not on:
                    self.device.stop()
            except Exception as exc:  # a daemon has nobody to raise to: say it in its log
                print(f"lab outlet: switching {'on' if on else 'off'} failed: {exc}", flush=True)

    def close(self) -> None:
        self.jobs.put(None)
        self.worker.join(timeout=10)
        self.device.close()


def serve(labdir: Path, stop: threading.Event) -> None:
    spec: dict[str, Any] = json.loads((labdir / SPEC).read_text())
    inv = load_inventory(labdir / "source.yaml")
    name, unit = inv.unit(spec["unit"])
    ca = lab_ca(labdir, spec)
    pids = RunState(labdir / "unit-pids.json", spec["prefix"])
    vendor = lab_ca(labdir, spec, "vendor_ca") if spec.get("vendor_ca_cert") else None
    device = MockDevice(
        name,
        unit,
        inv,
        spec["namespace"],
        spec["lab_ifname"],
        labdir / "unit",
        ca,
        ca,
        {},
        pids,
        device_ca=vendor,
    )
    if device.config.flash:  # the unit's flash is the lab's, not a file of the bench's
        device.config.flash = str(labdir / "unit" / "flash.json")
    outlet = Outlet(device)

    def on_switch(n: int, on: bool) -> None:
        if n == spec["outlet"]:
            outlet.switch(on)

    console = ConsoleServer(device.console_url).start()
    power_off: Callable[[], Any]
    if spec["power"] == "snmp":
        from bench.lab.sim.snmp_pdu import SnmpPduAgent

        agent = SnmpPduAgent("apc", community=spec["secret"], on_switch=on_switch).start()
        port, power_off = agent.port, agent.stop
    elif spec["power"] == "scpi":
        from bench.lab.sim.scpi_psu import ScpiPsuServer

        psu = ScpiPsuServer(on_output=outlet.switch).start()  # its output is the unit's supply
        port, power_off = psu.port, psu.stop
    else:
        from bench.lab.sim.http_pdu import HttpPduServer

        pdu = HttpPduServer(user="admin", password=spec["secret"], on_switch=on_switch).__enter__()
        port, power_off = pdu.server_address[1], lambda: pdu.__exit__(None, None, None)
    ready = {"power_port": port, "console_ports": console.ports}
    # Written whole under another name, then renamed: `lab up` polls for the name and reads it at once.
    partial = labdir / (READY + ".partial")
    partial.write_text(json.dumps(ready))
    partial.replace(labdir / READY)
    print(f"lab hardware up: {json.dumps(ready)}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        (labdir / READY).unlink(missing_ok=True)
        power_off()
        outlet.close()
        console.stop()
        print("lab hardware down", flush=True)


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serve(Path(sys.argv[1]), stop)


if __name__ == "__main__":
    main()

"""The bench side of a mock unit: its factory programming, its pty console, and its process as the thing
the mock power driver switches on and off."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.errors import InfraError
from bench.inventory import Inventory, Unit
from bench.knobs import Knob
from bench.mock.config import FactoryCredentials, MockConfig, MockIdentity
from bench.network.netns import netns_inode, pids_in_netns
from bench.network.state import RunState
from bench.pki import CertificateAuthority
from bench.services.process import comm_of, kill_pid, netns_command, stop_process
from drivers.console.pty import PtyPair


class MockDevice:
    """Implements drivers.power.mock.MockDeviceControl: power on starts the mock HeNB process in the unit's
    namespace with its console on a pty; power off kills everything running in that namespace."""

    def __init__(
        self,
        name: str,
        unit: Unit,
        inv: Inventory,
        netns: str,
        wan: str,
        workdir: Path,
        ca: CertificateAuthority,
        rogue_ca: CertificateAuthority,
        cached_ips: dict[str, str],
        state: RunState,
        knobs: list[str] | None = None,
        device_ca: CertificateAuthority | None = None,
    ) -> None:
        self.name = name
        self.unit = unit
        self.netns = netns
        self.wan = wan
        self.workdir = workdir
        self.state = state
        self.pty = PtyPair()
        self.proc: subprocess.Popen[bytes] | None = None
        ident = unit.identity
        exact = ident.ike_id if ident.ike_id and not set("*?[") & set(ident.ike_id) else None
        self.ike_id = unit.mock.ike_id or exact or f"{ident.oui}-{ident.serial_number}.henb"
        knobs = list(unit.mock.misbehave) + list(knobs or [])
        if Knob.WRONG_IKE_ID in knobs:
            self.ike_id = f"other-{self.ike_id}"
        # The factory-programmed certificate, from the operator CA or the vendor CA (device_ca); with
        # 'untrusted_cert' from a CA the SeGWs do not trust.
        # With 'ike_id_not_in_cert' a certificate for another name than the identity it presents.
        named = f"cert-{self.ike_id}" if Knob.IKE_ID_NOT_IN_CERT in knobs else self.ike_id
        cert = (rogue_ca if Knob.UNTRUSTED_CERT in knobs else device_ca or ca).issue(named, server=False)
        op = inv.operator
        self.config = MockConfig(
            name=name,
            wan=wan,
            workdir=str(workdir),
            knobs=[Knob(k) for k in knobs],
            cwmp_ns=unit.mock.cwmp_ns,
            cwmp_amendment=unit.cwmp_amendment,
            data_model=unit.mock.data_model,
            console_dialect=unit.mock.console_dialect,
            boot_time=unit.mock.boot_time,
            identity=MockIdentity.model_validate(ident.model_dump()),
            ike_id=self.ike_id,
            ca=str(ca.files.cert),
            cert=str(cert.cert),
            key=str(cert.key),
            initial_segw=op.initial_segw,
            initial_hems_url=op.initial_hems_url_for(unit.initial_hems_access),
            initial_hems_access=unit.initial_hems_access or op.initial_hems_access,
            hems_username=unit.hems_credentials.username if unit.hems_credentials else "",
            hems_password=unit.hems_credentials.password.get_secret_value() if unit.hems_credentials else "",
            hems_auth=op.hems_auth,
            # Factory-programmed only when the unit keeps its own: otherwise it learns them from the HeMS.
            factory_cr=FactoryCredentials(username=own.username, password=own.password.get_secret_value())
            if (own := unit.connection_request.own)
            else None,
            cached_ips=cached_ips,
            factory_s1=str(inv.network.factory_mme),
            protected=[str(inv.network.core)],
            leak_to=str(inv.network.serving_hems),
        )
        # Flash: what the HeMSs configured survives power-off and the next run (the topology's work folder
        # does not); FactoryReset wipes it. One per factory programming and knobs: a mock told to misbehave
        # otherwise, or programmed for another deployment, is another unit, not this one reconfigured.
        if Knob.ACCEPT_EXPIRED_SEGW_CERT in knobs:
            self.config.clock_behind = 2 * 3600
        factory = self.config.model_dump(
            mode="json",
            exclude={"workdir", "wan", "ca", "cert", "key", "flash", "segw_trust", "segw_pins", "boot_time"},
        )
        if op.serving_hems_tls:  # a flash configured with the Serving HeMS at http:// is not one for HTTPS
            factory["serving_hems_url"] = op.serving_hems_url
        digest = hashlib.sha256(json.dumps(factory, sort_keys=True).encode()).hexdigest()[:12]
        flash = inv.bench.state_dir / f"{inv.bench.prefix}flash-{name}-{digest}.json"
        self.config.flash = str(flash) if unit.mock.flash else ""

    def provision_segw_trust(self, rogue_ca: Path, segw_certs: dict[str, Path]) -> None:
        """What a unit told to trust too much holds for its SeGWs: the rogue CA in its trust store
        ('accept_untrusted_segw_ca'), or each SeGW's public key pinned by its name ('accept_wrong_segw_name')."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        if Knob.ACCEPT_UNTRUSTED_SEGW_CA in self.config.knobs:
            self.config.segw_trust = [str(rogue_ca)]
        if Knob.ACCEPT_WRONG_SEGW_NAME in self.config.knobs:
            self.workdir.mkdir(parents=True, exist_ok=True)
            for name, cert in segw_certs.items():
                key = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
                pin = self.workdir / f"pin-{name}.pem"
                pin.write_bytes(
                    key.public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                    )
                )
                self.config.segw_pins[name] = str(pin)

    @property
    def console_url(self) -> str:
        return self.pty.path

    def start(self) -> None:
        if self.pty.device_fd < 0:
            # A unit's thread still running its test when an interrupted run closed the unit: its closed console's
            # fd (-1) is subprocess.PIPE, so the process would start on pipes nobody reads, after the teardown.
            raise InfraError(f"mock unit {self.name}: switched on after the bench closed it (the run ended)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "run").mkdir(exist_ok=True)
        cfg = self.workdir / "mock.json"
        cfg.write_text(self.config.model_dump_json(indent=1))
        argv = netns_command(
            self.netns, [sys.executable, "-m", "bench.mock.henb", str(cfg)], private_run=self.workdir / "run"
        )
        # The unit's console output and CLI input go over the pty, like a serial cable.
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=self.pty.device_fd,
                stdout=self.pty.device_fd,
                stderr=self.pty.device_fd,
                close_fds=True,
            )
        except OSError as exc:
            raise InfraError(f"cannot start mock unit {self.name}: {exc}") from exc
        self.state.add_pid(self.proc.pid, comm_of(self.proc.pid) or "ip", f"mock unit {self.name}")

    def running(self) -> bool:
        """Powered means the process power-on started is alive, even before it entered the unit's namespace
        (`ip netns exec` takes a while on a loaded machine), or anything of the unit still runs there (its charon
        may outlive the CLI)."""
        if self.proc is not None and self.proc.poll() is None:
            return True
        return bool(self.leftovers())

    def leftovers(self) -> list[str]:
        """What runs in the unit's namespace ("PID comm"): only the unit, while it is powered."""
        inode = netns_inode(self.netns)
        return [f"{pid} {comm_of(pid) or '?'}" for pid in pids_in_netns(inode)] if inode is not None else []

    def stop(self) -> None:
        """Power off: the process and everything it started (its charon) in the unit's namespace; InfraError
        when something there outlives it (the next power-on would share the namespace with it)."""
        if self.proc is not None:
            stop_process(self.proc)  # also the one that has not entered the namespace yet
        self.proc = None
        inode = netns_inode(self.netns)
        if inode is None:
            return
        for _ in range(50):
            pids = pids_in_netns(inode)
            if not pids:
                return
            for pid in pids:
                kill_pid(pid, grace=0.5)
            time.sleep(0.02)
        if left := self.leftovers():
            raise InfraError(
                f"mock unit {self.name}: still in namespace {self.netns} after power-off: {', '.join(left)}"
            )

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.pty.close()

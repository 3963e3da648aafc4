"""The mock HeNB process: DHCP, DNS, IKEv2 with its own charon, TR-069 sessions and S1 setup, like a unit.

Run by the mock power driver as `python -m bench.mock.henb CONFIG.json` inside the unit's namespace, with its
console (stdin/stdout) on a pty and a private /run. Each misbehaviour knob in the config bends one step.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import dns.asyncquery
import dns.message
import dns.rdatatype

from bench import cwmp
from bench.mock.datamodel import DataModel, Param, SpvRefused
from bench.services.charon import Charon

S1AP_PORT = 36412
RETRIES = 6
RETRY_WAIT = 0.1
ESP = ["aes128gcm16"]
IKE = ["aes128-sha256-ecp256"]


def dhcp_options(layer: Any) -> dict[str, Any]:
    """scapy's DHCP options list as a dict (it mixes tuples with bare strings such as 'end')."""
    return {o[0]: o[1] for o in layer.options if isinstance(o, tuple) and len(o) >= 2}


class MockHeNB:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.knobs: set[str] = set(cfg["knobs"])
        self.ns = cfg["cwmp_ns"]
        self.p = cfg["parameters"]
        self.workdir = Path(cfg["workdir"])
        self.state = "booting"
        self.vip: str | None = None
        self.public_dns: str | None = None
        self.charon: Charon | None = None
        self.ike_name = ""
        self.t0 = time.monotonic()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.loop: asyncio.AbstractEventLoop | None = None
        ident = cfg["identity"]
        self.device_id = cwmp.DeviceId(
            ident["manufacturer"], ident["oui"], ident["product_class"], ident["serial_number"]
        )
        self.wrong_id = cwmp.DeviceId(
            ident["manufacturer"], ident["oui"], ident["product_class"], ident["serial_number"] + "X"
        )
        self.model = DataModel(
            {
                "Device.DeviceInfo.Manufacturer": Param(ident["manufacturer"]),
                "Device.DeviceInfo.ManufacturerOUI": Param(ident["oui"]),
                "Device.DeviceInfo.ProductClass": Param(ident["product_class"]),
                "Device.DeviceInfo.SerialNumber": Param(ident["serial_number"]),
                "Device.DeviceInfo.HardwareVersion": Param("mock-1"),
                "Device.DeviceInfo.SoftwareVersion": Param("henb-bench-mock-0.1"),
                "Device.DeviceInfo.ProvisioningCode": Param("", writable=True),
                "Device.RootDataModelVersion": Param("2.17"),
                "Device.ManagementServer.URL": Param(cfg["initial_hems_url"], writable=True),
                "Device.ManagementServer.ParameterKey": Param(""),
                "Device.ManagementServer.ConnectionRequestURL": Param(""),
                "Device.ManagementServer.PeriodicInformEnable": Param("false", "xsd:boolean", True),
                self.p["serving_segw"]: Param("", writable=True),
                self.p["s1_far_end"]: Param("", writable=True),
                self.p["ipsec_usage"]: Param("true", "xsd:boolean", True),
                self.p["ipsec_address"]: Param("0.0.0.0"),
            }
        )

    # -- console ---------------------------------------------------------------------------------------
    def log(self, msg: str) -> None:
        stamp = f"[{time.monotonic() - self.t0:9.3f}]"
        sys.stdout.write(f"{stamp} {msg}\r\n")
        sys.stdout.flush()

    def set_state(self, state: str) -> None:
        self.state = state
        self.log(f"state: {state}")

    def console_reader(self) -> None:
        """The unit's CLI on its serial console."""
        for raw in sys.stdin:
            cmd = raw.strip()
            if not cmd:
                continue
            if cmd == "status":
                self.log(f"status: state={self.state} inner={self.vip} serial={self.device_id.serial_number}")
            else:
                self.log(f"unknown command: {cmd}")

    # -- network ---------------------------------------------------------------------------------------
    def dhcp(self) -> dict[str, str]:
        from scapy.arch import get_if_hwaddr
        from scapy.config import conf
        from scapy.layers.dhcp import BOOTP, DHCP
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.sendrecv import srp1
        from scapy.utils import mac2str

        conf.checkIPaddr = False
        conf.verb = 0
        iface = self.cfg["wan"]
        mac = get_if_hwaddr(iface)
        xid = random.getrandbits(32)
        base = (
            Ether(dst="ff:ff:ff:ff:ff:ff", src=mac)
            / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67)
        )
        for _ in range(10):
            offer = srp1(
                base
                / BOOTP(chaddr=mac2str(mac), xid=xid, flags=0x8000)
                / DHCP(options=[("message-type", "discover"), "end"]),
                iface=iface,
                timeout=2,
            )
            if offer is None or BOOTP not in offer:
                continue
            ip = offer[BOOTP].yiaddr
            server = dhcp_options(offer[DHCP])["server_id"]
            ack = srp1(
                base
                / BOOTP(chaddr=mac2str(mac), xid=xid, flags=0x8000)
                / DHCP(
                    options=[
                        ("message-type", "request"),
                        ("requested_addr", ip),
                        ("server_id", server),
                        "end",
                    ]
                ),
                iface=iface,
                timeout=2,
            )
            if ack is None or DHCP not in ack:
                continue
            opts = dhcp_options(ack[DHCP])
            if opts.get("message-type") != 5:
                continue
            return {
                "ip": ip,
                "mask": str(opts.get("subnet_mask", "255.255.255.0")),
                "router": str(opts["router"]),
                "dns": str(opts["name_server"]),
            }
        raise RuntimeError("no DHCP lease")

    def configure_wan(self, lease: dict[str, str]) -> None:
        from pyroute2 import IPRoute

        plen = ipaddress.IPv4Network(f"0.0.0.0/{lease['mask']}").prefixlen
        with IPRoute() as ipr:
            idx = ipr.link_lookup(ifname=self.cfg["wan"])[0]
            # A unit boots with no address: whatever the previous power-on configured is gone.
            ipr.flush_addr(index=idx)
            ipr.addr("add", index=idx, address=lease["ip"], prefixlen=plen)
            ipr.route("replace", dst="0.0.0.0/0", gateway=lease["router"])
            # Never send to the operator core in clear while a tunnel is being replaced.
            for net in self.cfg["protected"]:
                ipr.route("replace", dst=net, type="unreachable")

    async def resolve(self, name: str, server: str) -> str:
        try:
            ipaddress.IPv4Address(name)
            return name
        except ValueError:
            pass
        for _ in range(5):
            try:
                resp = await dns.asyncquery.udp(dns.message.make_query(name, "A"), server, timeout=2)
            except dns.exception.Timeout:
                continue
            for rrset in resp.answer:
                for rr in rrset:
                    if rr.rdtype == dns.rdatatype.A:
                        self.log(f"dns: {name} -> {rr.address} (asked {server})")
                        return str(rr.address)
            self.log(f"dns: {name} not found at {server}")
            raise LookupError(name)
        raise LookupError(name)

    async def lookup(self, name: str, server: str, knob: str) -> str:
        """Resolve like a careful unit, or (with `knob`) use a cached address without asking."""
        if knob in self.knobs:
            ip: str = self.cfg["cached_ips"][name]
            self.log(f"dns: skipped, using cached IP {ip} for {name}")
            return ip
        return await self.resolve(name, server)

    def ike_up(self, name: str, segw_ip: str, segw_id: str) -> str:
        assert self.charon is not None
        cert = Path(self.cfg["cert"]).read_bytes()
        self.charon.load_conn(
            name,
            {
                "version": "2",
                "remote_addrs": [segw_ip],
                "vips": ["0.0.0.0"],
                "proposals": IKE,
                "local": {"auth": "pubkey", "certs": [cert], "id": self.cfg["ike_id"]},
                "remote": {"auth": "pubkey", "id": segw_id},
                "children": {
                    name: {
                        "remote_ts": self.cfg["protected"],
                        "esp_proposals": ESP,
                        "close_action": "start",
                        "dpd_action": "restart",
                    }
                },
            },
        )
        for _ in self.charon.session.initiate({"child": name, "ike": name, "timeout": 10000}):
            pass
        self.ike_name = name
        return self.current_vip(name)

    def current_vip(self, name: str) -> str:
        assert self.charon is not None
        for entry in self.charon.session.list_sas({"ike": name}):
            for sa in entry.values():
                vips = sa.get("local-vips", [])
                if vips:
                    return vips[0].decode()
        raise RuntimeError(f"IKE SA {name} has no inner address")

    def ike_down(self, name: str) -> None:
        assert self.charon is not None
        self.charon.session.unload_conn({"name": name})
        for _ in self.charon.session.terminate({"ike": name, "timeout": 3000, "force": "yes"}):
            pass

    def watch_address(self) -> None:
        """VICI child-updown from the unit's own charon: a new inner address means an IP-change Inform.

        CHILD_SA up, not IKE_SA up: only then are the tunnel's routes in place to reach the HeMS."""
        assert self.charon is not None and self.loop is not None
        session = self.charon.connect()
        with contextlib.suppress(OSError):
            self._watch(session)

    def _watch(self, session: Any) -> None:
        assert self.loop is not None
        for label, event in session.listen(["child-updown"]):
            if label is None or not event.get("up"):
                continue
            for sa in event.values():
                if isinstance(sa, dict) and sa.get("local-vips"):
                    vip = sa["local-vips"][0].decode()
                    self.loop.call_soon_threadsafe(self.queue.put_nowait, vip)

    def leak(self) -> None:
        """A unit bug: one packet for the core sent straight out of the WAN port, bypassing the tunnel."""
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.sendrecv import sendp

        sendp(
            Ether(dst="ff:ff:ff:ff:ff:ff")
            / IP(dst=self.cfg["leak_to"])
            / UDP(sport=40000, dport=7547)
            / b"cleartext",
            iface=self.cfg["wan"],
            verbose=0,
        )
        self.log("bug: sent a cleartext packet to the core")

    def sctp_init(self, address: str, port: int) -> None:
        from scapy.layers.sctp import SCTP, SCTPChunkInit

        try:  # kernel SCTP where the kernel has it
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect((address, port))
            self.sctp_sock = s
            return
        except OSError:
            pass
        pkt = SCTP(sport=random.randint(32768, 60999), dport=port, tag=0) / SCTPChunkInit(
            init_tag=random.getrandbits(32) or 1,
            a_rwnd=65535,
            n_out_streams=2,
            n_in_streams=2,
            init_tsn=random.getrandbits(32),
        )
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, 132) as raw:
            raw.sendto(bytes(pkt), (address, 0))

    # -- TR-069 ----------------------------------------------------------------------------------------
    def inform_params(self, extra: list[str]) -> list[tuple[str, str, str]]:
        names = [
            "Device.RootDataModelVersion",
            "Device.DeviceInfo.HardwareVersion",
            "Device.DeviceInfo.SoftwareVersion",
            "Device.DeviceInfo.ProvisioningCode",
            "Device.ManagementServer.ParameterKey",
            "Device.ManagementServer.ConnectionRequestURL",
            *extra,
        ]
        return [(n, self.model.params[n].value, self.model.params[n].type) for n in names]

    def device_id_for(self, phase: str) -> cwmp.DeviceId:
        """The DeviceId sent in an Inform of `phase` (discovery, registration, address-change)."""
        wrong = (
            "wrong_device_id" in self.knobs
            or ("wrong_device_id_at_registration" in self.knobs and phase != "discovery")
            or ("wrong_device_id_on_address_change" in self.knobs and phase == "address-change")
        )
        return self.wrong_id if wrong else self.device_id

    async def session(self, *args: Any, **kwargs: Any) -> None:
        """A TR-069 session, retried like a careful unit (TR-069 3.2.1.1), with short waits for the mock."""
        for attempt in range(RETRIES):
            try:
                await self.session_once(*args, **kwargs)
                return
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                wait = RETRY_WAIT * 2**attempt
                self.log(f"cwmp: session failed ({exc}); retrying in {wait:g} s")
                await asyncio.sleep(wait)
        raise RuntimeError(f"no TR-069 session after {RETRIES} attempts")

    async def session_once(
        self,
        url: str,
        server_ip: str,
        events: list[str],
        extra: list[str],
        phase: str,
        overrides: dict[str, str] | None = None,
    ) -> None:
        params = self.inform_params(extra)
        if overrides:
            params = [(n, overrides.get(n, v), t) for n, v, t in params]
        body = cwmp.inform(
            self.ns,
            str(random.randint(1, 10**9)),
            self.device_id_for(phase),
            [(e, "") for e in events],
            params,
            datetime.now(UTC),
        )
        parts = urlsplit(url)
        target = f"{parts.scheme}://{server_ip}:{parts.port or 80}{parts.path or '/'}"
        headers = {"Host": parts.netloc, "SOAPAction": ""}
        self.log(f"cwmp: Inform {events} to {url} ({server_ip})")
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=30)) as http:
            async with http.post(target, data=body, headers={**headers, "Content-Type": "text/xml"}) as r:
                reply = await r.read()
                if r.status != 200:
                    raise RuntimeError(f"Inform refused: HTTP {r.status}")
                cwmp.parse_envelope(reply)
            out = b""
            while True:
                post_headers = dict(headers)
                if out:
                    post_headers["Content-Type"] = "text/xml"
                async with http.post(target, data=out, headers=post_headers) as r:
                    reply = await r.read()
                    if r.status == 204 or not reply.strip():
                        self.log("cwmp: session ended")
                        return
                env = cwmp.parse_envelope(reply)
                out = self.handle_rpc(env)

    def handle_rpc(self, env: cwmp.Envelope) -> bytes:
        self.log(f"cwmp: {env.method}")
        if env.method == "SetParameterValues":
            values = {}
            plist = env.body.find("ParameterList")
            for pvs in plist if plist is not None else []:
                values[pvs.findtext("Name") or ""] = pvs.findtext("Value") or ""
            key = env.body.findtext("ParameterKey") or ""
            reject = {}
            if "reject_serving_assignment" in self.knobs:
                reject[self.p["serving_segw"]] = "Serving SeGW refused (mock knob)"
            if "reject_s1_config" in self.knobs:
                reject[self.p["s1_far_end"]] = "S1 address refused (mock knob)"
            try:
                self.model.apply(values, key, reject)
            except SpvRefused as exc:
                self.log(f"cwmp: SetParameterValues refused: {exc.faults}")
                return cwmp.fault(self.ns, env.id, 9003, "Invalid arguments", spv_faults=exc.faults)
            for name, value in values.items():
                self.log(f"param: {name} = {value}")
            return cwmp.set_parameter_values_response(self.ns, env.id, 0)
        if env.method == "GetParameterValues":
            names_el = env.body.find("ParameterNames")
            names = [e.text or "" for e in (names_el if names_el is not None else [])]
            return cwmp.get_parameter_values_response(self.ns, env.id, self.model.values(names))
        return cwmp.fault(self.ns, env.id, 9000, f"Method not supported: {env.method}")

    # -- the procedures --------------------------------------------------------------------------------
    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.log(f"mock HeNB {self.device_id.serial_number} booting (knobs: {sorted(self.knobs) or 'none'})")
        threading.Thread(target=self.console_reader, daemon=True).start()
        lease = await asyncio.to_thread(self.dhcp)
        await asyncio.to_thread(self.configure_wan, lease)
        self.public_dns = lease["dns"]
        self.log(f"wan: {lease['ip']} via {lease['router']}, dns {lease['dns']}")
        self.charon = Charon("unit", self.workdir / "charon", None, retransmit_timeout=1.0)
        await asyncio.to_thread(self.charon.start)
        ca = Path(self.cfg["ca"]).read_bytes()
        self.charon.load_ca(ca)
        self.charon.load_identity(Path(self.cfg["cert"]).read_bytes(), Path(self.cfg["key"]).read_bytes())
        if "leak_cleartext" in self.knobs:
            self.leak()

        # 5.1.2.2 steps 1.1-1.5: Initial SeGW, tunnel, Initial HeMS via the private DNS.
        self.set_state("discovering")
        isegw = self.cfg["initial_segw"]
        isegw_ip = await self.lookup(isegw, self.public_dns, "segw_by_ip")
        vip = await asyncio.to_thread(self.ike_up, "initial", isegw_ip, isegw)
        self.vip = vip
        self.log(f"ipsec: tunnel to Initial SeGW up, inner address {vip}")
        private_dns = self.private_dns()
        ihems_url = self.model.get("Device.ManagementServer.URL")
        ihost = urlsplit(ihems_url).hostname or ""
        if "hems_dns_public" in self.knobs:
            with contextlib.suppress(LookupError):
                await self.resolve(ihost, self.public_dns)
        ihems_ip = await self.lookup(ihost, private_dns, "hems_by_ip")
        events = ["1 BOOT"] if "no_bootstrap" in self.knobs else ["0 BOOTSTRAP", "1 BOOT"]
        await self.session(ihems_url, ihems_ip, events, [], "discovery")

        # Steps 4-6: release, drop the first tunnel, Serving SeGW, Serving HeMS.
        ssegw = self.model.get(self.p["serving_segw"])
        shems_url = self.model.get("Device.ManagementServer.URL")
        if "ignore_serving_assignment" in self.knobs or not ssegw:
            self.log("discovery: no Serving SeGW assigned (or ignored); staying with the Initial SeGW")
            self.set_state("stuck")
            await asyncio.Event().wait()
        await asyncio.to_thread(self.ike_down, "initial")
        self.log("ipsec: tunnel to Initial SeGW released")
        ssegw_ip = await self.lookup(ssegw, self.public_dns, "serving_segw_by_ip")
        self.vip = await asyncio.to_thread(self.ike_up, "serving", ssegw_ip, ssegw)
        if "s1_before_registration" in self.knobs:
            self.sctp_init(self.cfg["factory_s1"], S1AP_PORT)
            self.log(f"s1: SCTP INIT sent to factory address {self.cfg['factory_s1']} before registration")
        self.model.set_internal(self.p["ipsec_address"], self.vip)
        self.log(f"ipsec: tunnel to Serving SeGW up, inner address {self.vip}")
        private_dns = self.private_dns()
        shost = urlsplit(shems_url).hostname or ""
        shems_ip = await self.resolve(shost, private_dns)

        # 5.1.3: registration with the Serving HeMS, then S1 setup toward the far end it gave.
        self.set_state("registering")
        await self.session(
            shems_url, shems_ip, ["0 BOOTSTRAP", "1 BOOT"], [self.p["ipsec_address"]], "registration"
        )
        self.set_state("registered")
        if "inform_before_change" in self.knobs:
            # Before S1 setup, so a plan that waits for S1 has seen it before it changes the address.
            await self.session(
                shems_url, shems_ip, ["4 VALUE CHANGE"], [self.p["ipsec_address"]], "address-change"
            )
        s1 = self.model.get(self.p["s1_far_end"]).split(",")[0].strip()
        if s1 and "no_s1_init" not in self.knobs:
            port = S1AP_PORT + 1 if "s1_wrong_port" in self.knobs else S1AP_PORT
            self.sctp_init(s1, port)
            self.log(f"s1: SCTP INIT sent to {s1}:{port}")
        threading.Thread(target=self.watch_address, daemon=True).start()

        # 5.2.4: every new inner address is reported with an Inform as soon as possible.
        while True:
            new = await self.queue.get()
            if new == self.vip:
                continue
            old, self.vip = self.vip, new
            self.model.set_internal(self.p["ipsec_address"], new)
            self.log(f"ipsec: inner address changed {old} -> {new}")
            if "no_inform_after_address_change" in self.knobs or "inform_before_change" in self.knobs:
                continue
            overrides = {self.p["ipsec_address"]: old} if "old_address_in_inform" in self.knobs else None
            await self.session(
                shems_url,
                shems_ip,
                ["4 VALUE CHANGE"],
                [self.p["ipsec_address"]],
                "address-change",
                overrides,
            )

    def private_dns(self) -> str:
        assert self.charon is not None
        for line in self.charon.resolv_path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
        raise RuntimeError("the SeGW gave no DNS server in the IKE configuration payload")

    def shutdown(self) -> None:
        if self.charon is not None:
            self.charon.stop()


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    unit = MockHeNB(cfg)

    def on_term(*_: object) -> None:
        unit.log("power lost")
        unit.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        asyncio.run(unit.run())
    except Exception as exc:  # a real unit would reboot; the mock reports and stops
        unit.log(f"fatal: {type(exc).__name__}: {exc}")
        for line in traceback.format_exc().splitlines():
            unit.log(line)
        unit.shutdown()
        sys.exit(1)


if __name__ == "__main__":
    main()

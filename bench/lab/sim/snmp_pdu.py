"""An SNMP agent (pysnmp, in a thread, on 127.0.0.1) that behaves like an APC rPDU or a Raritan PX2/PX3 PDU.

It answers the outlet control and state OIDs over v2c and v3, so the SNMP PDU driver is tested end to end.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any, Literal

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import error as smi_error
from pysnmp.smi import instrum

APC_CONTROL = (1, 3, 6, 1, 4, 1, 318, 1, 1, 12, 3, 3, 1, 1, 4)  # rPDUOutletControlOutletCommand.N
APC_STATUS = (1, 3, 6, 1, 4, 1, 318, 1, 1, 12, 3, 5, 1, 1, 4)  # rPDUOutletStatusOutletState.N
RARITAN_CONTROL = (1, 3, 6, 1, 4, 1, 13742, 6, 4, 1, 2, 1, 2, 1)  # switchingOperation.1.N
RARITAN_STATE = (1, 3, 6, 1, 4, 1, 13742, 6, 4, 1, 2, 1, 3, 1)  # outletSwitchingState.1.N
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)


class PduModel:
    """Outlets and the OIDs that read and switch them; `sets` logs every SET for the tests. `on_switch(outlet,
    on)` is called when an outlet changes state (the load plugged into it)."""

    def __init__(
        self,
        model: Literal["apc", "raritan"],
        outlets: int = 8,
        on_switch: Callable[[int, bool], None] | None = None,
    ) -> None:
        self.model = model
        self.on_switch = on_switch
        self.outlets = dict.fromkeys(range(1, outlets + 1), False)
        self.sets: list[tuple[tuple[int, ...], int]] = []
        self.lock = threading.Lock()

    def get(self, oid: tuple[int, ...]) -> Any:
        with self.lock:
            if oid == SYS_DESCR:
                return rfc1902.OctetString(f"henb-bench simulated {self.model} PDU")
            outlet = self._outlet(oid)
            if outlet is None:
                return rfc1905.noSuchInstance
            on = self.outlets[outlet[1]]
            if self.model == "apc":
                return rfc1902.Integer32(1 if on else 2)
            if outlet[0] == RARITAN_STATE:
                return rfc1902.Integer32(7 if on else 8)
            return rfc1902.Integer32(1 if on else 0)

    def set(self, oid: tuple[int, ...], value: int) -> bool:
        """Apply a SET; False if the OID is not writable or the value is not one the PDU knows."""
        with self.lock:
            outlet = self._outlet(oid)
            if outlet is None or outlet[0] not in (APC_CONTROL, RARITAN_CONTROL):
                return False
            table, n = outlet
            # APC: 1 on, 2 off, 3 reboot; Raritan: 1 on, 0 off, 2 cycle. A reboot ends with the outlet on.
            actions = {1: True, 2: False, 3: True} if table == APC_CONTROL else {1: True, 0: False, 2: True}
            if value not in actions:
                return False
            self.sets.append((oid, value))
            changed = self.outlets[n] != actions[value]
            self.outlets[n] = actions[value]
            if changed and self.on_switch is not None:
                self.on_switch(n, actions[value])
            return True

    def _outlet(self, oid: tuple[int, ...]) -> tuple[tuple[int, ...], int] | None:
        tables = (APC_CONTROL, APC_STATUS) if self.model == "apc" else (RARITAN_CONTROL, RARITAN_STATE)
        for table in tables:
            if oid[:-1] == table and oid[-1] in self.outlets:
                return table, oid[-1]
        return None


class _Mib(instrum.AbstractMibInstrumController):
    def __init__(self, pdu: PduModel) -> None:
        self.pdu = pdu

    def read_variables(self, *var_binds: Any, **ctx: Any) -> list[Any]:
        return [(name, self.pdu.get(tuple(name))) for name, _ in var_binds]

    def write_variables(self, *var_binds: Any, **ctx: Any) -> list[Any]:
        for idx, (name, value) in enumerate(var_binds):
            if not self.pdu.set(tuple(name), int(value)):
                raise smi_error.WrongValueError(name=name, idx=idx)
        return list(var_binds)


class SnmpPduAgent:
    """`with SnmpPduAgent("apc", community="private") as agent:` listens on 127.0.0.1:`agent.port`.

    `v3_users` maps a user name to (auth key, priv key): SHA-1 authentication and AES-128 privacy.
    """

    def __init__(
        self,
        model: Literal["apc", "raritan"],
        community: str = "private",
        v3_users: dict[str, tuple[str, str]] | None = None,
        outlets: int = 8,
        on_switch: Callable[[int, bool], None] | None = None,
    ) -> None:
        self.pdu = PduModel(model, outlets, on_switch)
        self.community = community
        self.v3_users = v3_users or {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snmp-pdu-sim", daemon=True)
        self._engine: Any = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        eng = engine.SnmpEngine()
        transport = udp.UdpTransport(loop=self._loop).open_server_mode(sock=self._sock)
        config.add_transport(eng, udp.DOMAIN_NAME, transport)
        config.add_v1_system(eng, "bench-area", self.community)
        config.add_vacm_user(eng, 2, "bench-area", "noAuthNoPriv", (1, 3, 6), (1, 3, 6))
        for user, (auth_key, priv_key) in self.v3_users.items():
            config.add_v3_user(
                eng, user, config.USM_AUTH_HMAC96_SHA, auth_key, config.USM_PRIV_CFB128_AES, priv_key
            )
            config.add_vacm_user(eng, 3, user, "authPriv", (1, 3, 6), (1, 3, 6))
        ctx = context.SnmpContext(eng)
        ctx.unregister_context_name(b"")
        ctx.register_context_name(b"", _Mib(self.pdu))  # type: ignore[arg-type]
        for responder in (
            cmdrsp.GetCommandResponder,
            cmdrsp.SetCommandResponder,
            cmdrsp.NextCommandResponder,
        ):
            responder(eng, ctx)
        self._engine = eng
        self._loop.call_soon(self._ready.set)
        self._loop.run_forever()
        eng.close_dispatcher()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    def start(self) -> SnmpPduAgent:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("simulated SNMP agent did not start")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._sock.close()

    def __enter__(self) -> SnmpPduAgent:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

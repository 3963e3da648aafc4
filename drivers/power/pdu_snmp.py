"""PDU outlets switched over SNMP (pysnmp): APC rPDU and Raritan PX2/PX3 built in, other models by OIDs.

SNMP v2c (community) or v3 (user, auth and priv keys); errors name the PDU and outlet, never the credentials.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch import asyncio as hlapi

from drivers.errors import EquipmentError, SettingsError
from drivers.events import EventSink
from drivers.power.base import PowerBase, state_word
from drivers.power.dialects import SnmpOutletOids
from drivers.registry import secret
from drivers.retry import poll

if TYPE_CHECKING:
    from drivers.power.settings import SnmpPduPower

T = TypeVar("T")


PROFILES = {
    # PowerNet-MIB: rPDUOutletControlOutletCommand (1 immediateOn, 2 immediateOff, 3 immediateReboot),
    # rPDUOutletStatusOutletState (1 on, 2 off).
    "apc": SnmpOutletOids(
        "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.{outlet}", 1, 2, "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.{outlet}", 1, 2
    ),
    # PDU2-MIB: switchingOperation (0 off, 1 on, 2 cycle), outletSwitchingState (7 on, 8 off).
    "raritan": SnmpOutletOids(
        "1.3.6.1.4.1.13742.6.4.1.2.1.2.{pdu}.{outlet}",
        1,
        0,
        "1.3.6.1.4.1.13742.6.4.1.2.1.3.{pdu}.{outlet}",
        7,
        8,
    ),
}

AUTH_PROTOCOLS = {
    "md5": hlapi.USM_AUTH_HMAC96_MD5,
    "sha": hlapi.USM_AUTH_HMAC96_SHA,
    "sha224": hlapi.USM_AUTH_HMAC128_SHA224,
    "sha256": hlapi.USM_AUTH_HMAC192_SHA256,
    "sha384": hlapi.USM_AUTH_HMAC256_SHA384,
    "sha512": hlapi.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "none": hlapi.USM_PRIV_NONE,
    "des": hlapi.USM_PRIV_CBC56_DES,
    "3des": hlapi.USM_PRIV_CBC168_3DES,
    "aes": hlapi.USM_PRIV_CFB128_AES,
    "aes192": hlapi.USM_PRIV_CFB192_AES,
    "aes256": hlapi.USM_PRIV_CFB256_AES,
}
AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["none", "des", "3des", "aes", "aes192", "aes256"]


@dataclass(frozen=True)
class SnmpV3User:
    user: str
    auth_key: str
    priv_key: str | None = None
    auth_protocol: AuthProtocol = "sha"
    priv_protocol: PrivProtocol = "aes"

    def __repr__(self) -> str:  # keys stay out of logs and tracebacks
        return f"SnmpV3User(user={self.user!r}, auth={self.auth_protocol}, priv={self.priv_protocol})"


class SnmpPdu(PowerBase):
    driver = "snmp-pdu"

    def __init__(
        self,
        host: str,
        outlet: int,
        oids: SnmpOutletOids,
        community: str | None = None,
        v3: SnmpV3User | None = None,
        port: int = 161,
        pdu_id: int = 1,
        timeout: float = 1.0,
        retries: int = 1,
        verify_timeout: float = 5.0,
        events: EventSink | None = None,
        unit: str | None = None,
    ) -> None:
        super().__init__(events, unit)
        if (community is None) == (v3 is None):
            raise SettingsError(
                f"SNMP PDU {host}: give either a v2c community or a v3 user, not both or neither"
            )
        self.host = host
        self.port = port
        self.outlet = outlet
        self.oids = oids
        self._community = community
        self._v3 = v3
        self.timeout = timeout
        self.retries = retries
        self.verify_timeout = verify_timeout
        self.control_oid = oids.control_oid.format(pdu=pdu_id, outlet=outlet)
        self.state_oid = oids.state_oid.format(pdu=pdu_id, outlet=outlet) if oids.state_oid else None

    def __repr__(self) -> str:
        return f"SnmpPdu({self.host}:{self.port}, outlet={self.outlet})"

    # -- PowerDriver -----------------------------------------------------------------------------

    def _switch(self, on: bool) -> None:
        value = self.oids.on_value if on else self.oids.off_value
        self._run(self._set(self.control_oid, value, f"cannot switch {'on' if on else 'off'}"))
        if self.state_oid is None or self.verify_timeout <= 0:
            return
        # PDUs apply a command a moment after acknowledging it; wait until the outlet reports it.
        state = poll(self.state, lambda state: state is on, self.verify_timeout)
        if state is not on:
            raise self._error(
                f"outlet still reads {state_word(state)} {self.verify_timeout:g} s after switching it "
                f"{'on' if on else 'off'}"
            )

    def state(self) -> bool | None:
        if self.state_oid is None:
            return None
        value = self._run(self._get(self.state_oid, "cannot read the outlet state"))
        if value == self.oids.state_on:
            return True
        if value == self.oids.state_off or self.oids.state_on is None:
            return False
        raise self._error(
            f"outlet state {self.state_oid} is {value}, expected {self.oids.state_on} (on) "
            f"or {self.oids.state_off} (off)"
        )

    def probe(self) -> str:
        if self.state_oid is not None:
            return f"answers; outlet {self.outlet} is {'on' if self.state() else 'off'}"
        value = self._run(self._get(self.control_oid, "cannot read the outlet control OID"))
        return f"answers; outlet {self.outlet} control OID reads {value} (no state OID to read)"

    # -- SNMP ------------------------------------------------------------------------------------

    def _error(self, what: str) -> EquipmentError:
        unit = f" (unit {self.unit})" if self.unit else ""
        return EquipmentError(f"SNMP PDU {self.host}:{self.port} outlet {self.outlet}{unit}: {what}")

    def _auth(self) -> Any:
        if self._community is not None:
            return hlapi.CommunityData(self._community, mpModel=1)
        v3 = self._v3
        assert v3 is not None
        return hlapi.UsmUserData(
            v3.user,
            authKey=v3.auth_key,
            privKey=v3.priv_key,
            authProtocol=AUTH_PROTOCOLS[v3.auth_protocol],
            privProtocol=PRIV_PROTOCOLS[v3.priv_protocol] if v3.priv_key else hlapi.USM_PRIV_NONE,
        )

    async def _request(self, op: Any, var_bind: Any, what: str) -> Any:
        snmp = hlapi.SnmpEngine()
        try:
            target = await hlapi.UdpTransportTarget.create(
                (self.host, self.port), timeout=self.timeout, retries=self.retries
            )
            error_indication, error_status, _, var_binds = await op(
                snmp, self._auth(), target, hlapi.ContextData(), var_bind
            )
        except (OSError, PySnmpError) as e:  # e.g. the host name does not resolve
            raise self._error(f"{what}: {_first_line(e)}") from e
        finally:
            snmp.close_dispatcher()
        if error_indication:
            hint = ""
            if "timeout" in str(error_indication).lower():
                version = "community" if self._community is not None else "v3 user and keys"
                hint = f" (unreachable, or wrong {version}: an agent drops requests it cannot authenticate)"
            raise self._error(f"{what}: {error_indication}{hint}")
        if error_status:
            raise self._error(f"{what}: agent answered {error_status.prettyPrint()} for {var_bind[0]}")
        value = var_binds[0][1]
        if isinstance(value, hlapi.NoSuchInstance | hlapi.NoSuchObject):
            raise self._error(
                f"{what}: {var_binds[0][0]} does not exist (wrong model, OID or outlet number?)"
            )
        return value

    async def _set(self, oid: str, value: int, what: str) -> Any:
        var_bind = hlapi.ObjectType(hlapi.ObjectIdentity(oid), hlapi.Integer32(value))
        return await self._request(hlapi.set_cmd, var_bind, what)

    async def _get(self, oid: str, what: str) -> int:
        value = await self._request(hlapi.get_cmd, hlapi.ObjectType(hlapi.ObjectIdentity(oid)), what)
        try:
            return int(value)
        except (TypeError, ValueError) as e:
            raise self._error(f"{what}: {oid} is {value.prettyPrint()}, expected an integer") from e

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # Called from inside an event loop (a service thread): run on a loop of our own.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coro).result()


def _first_line(error: Exception) -> str:
    # pysnmp appends "caused by <class ...>" with the same text again.
    return str(error).split(" caused by ", 1)[0]


def build(cfg: SnmpPduPower, events: EventSink | None, unit: str | None) -> SnmpPdu:
    v3 = None
    if cfg.v3 is not None:
        v3 = SnmpV3User(
            cfg.v3.user, cfg.v3.auth_key.get_secret_value(), secret(cfg.v3.priv_key), cfg.v3.auth_protocol,
            cfg.v3.priv_protocol,
        )  # fmt: skip
    return SnmpPdu(
        cfg.host, cfg.outlet, cfg.oids or PROFILES[cfg.model], community=secret(cfg.community), v3=v3, port=cfg.port,
        pdu_id=cfg.pdu_id, timeout=cfg.timeout, retries=cfg.retries, verify_timeout=cfg.verify_timeout,
        events=events, unit=unit,
    )  # fmt: skip

"""Acme PDU (a worked example of a new power backend, docs/drivers.md): `PUT /api/outlets/N/value` with 1 or 0
switches outlet N, `GET` reads it back; HTTP Basic authentication."""

from __future__ import annotations

import base64
import urllib.request
from typing import Literal

from pydantic import Field, SecretStr

from drivers.errors import EquipmentError
from drivers.events import EventSink
from drivers.power.base import PowerBase
from drivers.power.settings import Outlet
from drivers.registry import DriverSettings, secret


class AcmePduPower(DriverSettings):
    """The inventory entry: `power: {driver: acme-pdu, url: ..., outlet: 3, username: ..., password: ...}`."""

    driver: Literal["acme-pdu"]
    url: str = Field(description="base URL, e.g. http://pdu7.lab.example; no credentials in it")
    outlet: Outlet
    username: str
    password: SecretStr
    timeout: float = Field(3.0, gt=0)

    def where(self) -> str:
        return f"{self.url} outlet {self.outlet}"


class AcmePdu(PowerBase):
    driver = "acme-pdu"

    def __init__(self, cfg: AcmePduPower, events: EventSink | None = None, unit: str | None = None) -> None:
        super().__init__(events, unit)
        self.url, self.timeout = f"{cfg.url.rstrip('/')}/api/outlets/{cfg.outlet}/value", cfg.timeout
        token = base64.b64encode(f"{cfg.username}:{secret(cfg.password)}".encode()).decode()
        self._auth = f"Basic {token}"

    def __repr__(self) -> str:
        return f"Acme PDU {self.url}"

    def _call(self, method: str, body: bytes | None = None) -> str:
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        request = urllib.request.Request(self.url, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return str(reply.read().decode())
        except OSError as e:  # urllib's HTTPError and URLError are OSErrors
            raise EquipmentError(f"{self!r}: {method} failed: {e}") from e

    def _switch(self, on: bool) -> None:
        self._call("PUT", b"1" if on else b"0")

    def state(self) -> bool | None:
        return self._call("GET").strip() == "1"


def build(cfg: AcmePduPower, events: EventSink | None, unit: str | None) -> AcmePdu:
    return AcmePdu(cfg, events, unit)

"""PDU outlets switched over HTTP with JSON: a configurable REST backend, and the NETIO JSON API preset.

Calls are templates (method, path, JSON body with "{outlet}"); a small path finds the state in the reply.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, SecretStr

from drivers.errors import EquipmentError, SettingsError
from drivers.events import EventSink
from drivers.power.base import PowerBase
from drivers.power.settings import Outlet
from drivers.registry import DriverSettings, SettingsPart, secret
from drivers.retry import poll


@dataclass(frozen=True)
class HttpCall:
    method: str = "GET"
    path: str = "/"
    body: Any = None  # a JSON document; "{outlet}" in its strings is replaced, alone it becomes the number


@dataclass(frozen=True)
class HttpPduApi:
    """How a PDU's API switches and reads an outlet. `state_path` is like `data.state` or
    `Outputs[ID={outlet}].State`; `state_on`/`state_off` are the JSON values that mean on and off."""

    on: HttpCall
    off: HttpCall
    state: HttpCall | None = None
    state_path: str | None = None
    state_on: Any = True
    state_off: Any = False
    headers: dict[str, str] = field(default_factory=dict)


# NETIO JSON API (M2M): Action 0 off, 1 on; State 0/1; answers every POST with the full state document.
NETIO = HttpPduApi(
    on=HttpCall("POST", "/netio.json", {"Outputs": [{"ID": "{outlet}", "Action": 1}]}),
    off=HttpCall("POST", "/netio.json", {"Outputs": [{"ID": "{outlet}", "Action": 0}]}),
    state=HttpCall("GET", "/netio.json"),
    state_path="Outputs[ID={outlet}].State",
    state_on=1,
    state_off=0,
)


class HttpPdu(PowerBase):
    driver = "http-pdu"

    def __init__(
        self,
        base_url: str,
        outlet: int,
        api: HttpPduApi,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 3.0,
        verify_tls: bool = True,
        verify_timeout: float = 5.0,
        events: EventSink | None = None,
        unit: str | None = None,
    ) -> None:
        super().__init__(events, unit)
        if "@" in base_url.split("//", 1)[-1].split("/", 1)[0]:
            raise SettingsError(
                f"HTTP PDU: put credentials in username/password, not in the URL ({_no_user(base_url)})"
            )
        self.base_url = base_url.rstrip("/")
        self.outlet = outlet
        self.api = api
        self.timeout = timeout
        self.verify_timeout = verify_timeout
        self._headers = {"Accept": "application/json", **api.headers}
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._ssl = None if verify_tls else ssl._create_unverified_context()

    def __repr__(self) -> str:
        return f"HttpPdu({self.base_url}, outlet={self.outlet})"

    def _switch(self, on: bool) -> None:
        self._call(self.api.on if on else self.api.off, f"cannot switch {'on' if on else 'off'}")
        if self.api.state is None or self.verify_timeout <= 0:
            return
        state = poll(self.state, lambda state: state is on, self.verify_timeout)
        if state is not on:
            raise self._error(
                f"outlet still reads {_word(state)} {self.verify_timeout:g} s after switching it"
            )

    def state(self) -> bool | None:
        if self.api.state is None or self.api.state_path is None:
            return None
        doc = self._call(self.api.state, "cannot read the outlet state")
        path = self.api.state_path.replace("{outlet}", str(self.outlet))
        try:
            value = lookup(doc, path)
        except (KeyError, IndexError, TypeError) as e:
            raise self._error(f"no {path} in the state reply ({e})") from e
        if value == self.api.state_on:
            return True
        if value == self.api.state_off:
            return False
        raise self._error(
            f"{path} is {value!r}, expected {self.api.state_on!r} (on) or {self.api.state_off!r} (off)"
        )

    def probe(self) -> str:
        if self.api.state is not None and self.api.state_path is not None:
            return f"answers; outlet {self.outlet} is {_word(self.state())}"
        # Without a state call only reachability can be checked: any HTTP answer to GET / will do.
        request = urllib.request.Request(self.base_url + "/", headers=self._headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._ssl) as reply:
                status = reply.status
        except urllib.error.HTTPError as e:
            status = e.code
        except (urllib.error.URLError, OSError) as e:
            raise self._error(f"GET / failed: {getattr(e, 'reason', e)}") from None
        return f"answers HTTP {status} on /; no state_request to read the outlet"

    def _error(self, what: str) -> EquipmentError:
        unit = f" (unit {self.unit})" if self.unit else ""
        return EquipmentError(f"HTTP PDU {self.base_url} outlet {self.outlet}{unit}: {what}")

    def _call(self, call: HttpCall, what: str) -> Any:
        path = call.path.replace("{outlet}", str(self.outlet))
        url = self.base_url + path
        data = None
        headers = dict(self._headers)
        if call.body is not None:
            data = json.dumps(_fill(call.body, self.outlet)).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=call.method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._ssl) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as e:
            hint = " (wrong user or password?)" if e.code in (401, 403) else ""
            raise self._error(
                f"{what}: {call.method} {path} answered HTTP {e.code} {e.reason}{hint}"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise self._error(f"{what}: {call.method} {path} failed: {reason}") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise self._error(f"{what}: {call.method} {path} did not answer JSON: {raw[:80]!r}") from e


# -- settings (the inventory entries) -----------------------------------------------------------------------------------


class HttpCallConfig(SettingsPart):
    method: Literal["GET", "POST", "PUT", "PATCH"] = "GET"
    path: str = Field(description="appended to url; {outlet} is replaced")
    body: Any = Field(None, description='JSON body; "{outlet}" alone becomes the number')


class HttpPduPower(DriverSettings):
    driver: Literal["http-pdu"]
    url: str = Field(description="base URL, e.g. https://pdu3.lab.example; no credentials in it")
    outlet: Outlet
    username: str | None = None
    password: SecretStr | None = None
    # Not `on:`/`off:`: YAML 1.1 reads those keys as booleans.
    on_request: HttpCallConfig
    off_request: HttpCallConfig
    state_request: HttpCallConfig | None = None
    state_path: str | None = Field(None, description="e.g. data.state or Outputs[ID={outlet}].State")
    state_on: Any = True
    state_off: Any = False
    headers: dict[str, str] = {}
    verify_tls: bool = True
    timeout: float = Field(3.0, gt=0)
    verify_timeout: float = Field(5.0, ge=0)

    def where(self) -> str:
        return f"{self.url} outlet {self.outlet}"


class NetioPower(DriverSettings):
    driver: Literal["netio"]
    url: str
    outlet: Outlet
    username: str | None = Field(None, description="the JSON API's write user (NETIO: M2M API settings)")
    password: SecretStr | None = None
    verify_tls: bool = True
    timeout: float = Field(3.0, gt=0)
    verify_timeout: float = Field(5.0, ge=0)

    def where(self) -> str:
        return f"{self.url} outlet {self.outlet}"


def build(cfg: HttpPduPower, events: EventSink | None, unit: str | None) -> HttpPdu:
    on, off, st = cfg.on_request, cfg.off_request, cfg.state_request
    api = HttpPduApi(
        HttpCall(on.method, on.path, on.body), HttpCall(off.method, off.path, off.body),
        HttpCall(st.method, st.path, st.body) if st else None,
        cfg.state_path, cfg.state_on, cfg.state_off, cfg.headers,
    )  # fmt: skip
    return _pdu(cfg, api, events, unit)


def build_netio(cfg: NetioPower, events: EventSink | None, unit: str | None) -> HttpPdu:
    return _pdu(cfg, NETIO, events, unit)


def _pdu(
    cfg: HttpPduPower | NetioPower, api: HttpPduApi, events: EventSink | None, unit: str | None
) -> HttpPdu:
    return HttpPdu(
        cfg.url, cfg.outlet, api, cfg.username, secret(cfg.password), timeout=cfg.timeout,
        verify_tls=cfg.verify_tls, verify_timeout=cfg.verify_timeout, events=events, unit=unit,
    )  # fmt: skip


def _fill(doc: Any, outlet: int) -> Any:
    if doc == "{outlet}":
        return outlet
    if isinstance(doc, str):
        return doc.replace("{outlet}", str(outlet))
    if isinstance(doc, list):
        return [_fill(x, outlet) for x in doc]
    if isinstance(doc, dict):
        return {k: _fill(v, outlet) for k, v in doc.items()}
    return doc


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[([^\]=]+)=([^\]]*)\]")


def lookup(doc: Any, path: str) -> Any:
    """`a.b[2].c` indexes; `list[key=value]` picks the element whose `key` is `value` (compared as text)."""
    for key, index, sel_key, sel_value in _STEP.findall(path):
        if key:
            doc = doc[key]
        elif index:
            doc = doc[int(index)]
        else:
            matches = [x for x in doc if isinstance(x, dict) and str(x.get(sel_key)) == sel_value]
            if not matches:
                raise KeyError(f"[{sel_key}={sel_value}]")
            doc = matches[0]
    return doc


def _no_user(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//", url)


def _word(state: bool | None) -> str:
    return "unknown" if state is None else "on" if state else "off"

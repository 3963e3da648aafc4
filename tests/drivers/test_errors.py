"""Whose fault, for every driver built from an inventory entry: a resource that is not there is an EquipmentError
naming the resource, its address and the unit, and no credential appears in the message, repr or cause chain."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter

from bench.inventory import PowerConfig, SerialRelayPower
from drivers.config import SshShellConfig, build_power, build_shell
from drivers.console.serial import SerialConsole
from drivers.errors import EquipmentError

SECRETS = ("s3cr3t-community", "v3-auth-phrase", "v3-priv-phrase", "http-pass-word", "ssh-pass-word")


def closed_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def power(entry: dict[str, Any]) -> Any:
    return build_power(TypeAdapter(PowerConfig).validate_python(entry), None, "lab-henb-07")


def chain(exc: BaseException) -> str:
    text = ""
    seen: BaseException | None = exc
    while seen is not None:
        text += f"{seen!s} {seen!r} "
        seen = seen.__cause__ or seen.__context__
    return text


def snmp_v2c() -> tuple[Any, str]:
    port = closed_port(socket.SOCK_DGRAM)
    entry = {"driver": "snmp-pdu", "host": "127.0.0.1", "port": port, "outlet": 4,
             "community": SECRETS[0], "timeout": 0.2, "retries": 0}  # fmt: skip
    return power(entry), f"127.0.0.1:{port} outlet 4"


def snmp_v3() -> tuple[Any, str]:
    port = closed_port(socket.SOCK_DGRAM)
    v3 = {"user": "bench", "auth_key": SECRETS[1], "priv_key": SECRETS[2]}
    entry = {"driver": "snmp-pdu", "host": "127.0.0.1", "port": port, "outlet": 4, "v3": v3, "timeout": 0.2,
             "retries": 0}  # fmt: skip
    return power(entry), f"127.0.0.1:{port} outlet 4"


def netio() -> tuple[Any, str]:
    url = f"http://127.0.0.1:{closed_port()}"
    entry = {"driver": "netio", "url": url, "outlet": 2, "username": "netio", "password": SECRETS[3],
             "timeout": 0.5}  # fmt: skip
    return power(entry), f"{url} outlet 2"


def scpi() -> tuple[Any, str]:
    resource = f"TCPIP::127.0.0.1::{closed_port()}::SOCKET"
    entry = {"driver": "scpi", "resource": resource, "voltage": 12, "current_limit": 1, "timeout": 0.5}
    return power(entry), resource


def relay() -> tuple[Any, str]:
    url = f"socket://127.0.0.1:{closed_port()}"
    cfg = SerialRelayPower(driver="serial-relay", url=url, on_bytes="A00101A2", off_bytes="A00100A1")
    return build_power(cfg, None, "lab-henb-07"), url


@pytest.mark.parametrize("make", [snmp_v2c, snmp_v3, netio, scpi, relay])
@pytest.mark.parametrize("action", ["on", "off", "probe"])
def test_unreachable_power_is_infra_error_naming_it(make: Callable[[], tuple[Any, str]], action: str) -> None:
    driver, address = make()
    with pytest.raises(EquipmentError) as exc:
        getattr(driver, action)()
    msg = str(exc.value)
    assert address in msg and "lab-henb-07" in msg, msg
    text = chain(exc.value) + repr(driver)
    assert not [s for s in SECRETS if s in text], text
    close = getattr(driver, "close", None)
    if close:
        close()


def test_unreachable_console_and_shell(tmp_path: Any) -> None:
    url = f"socket://127.0.0.1:{closed_port()}"
    with pytest.raises(EquipmentError) as exc:
        SerialConsole(url, tmp_path / "c.log", unit="lab-henb-07").open()
    assert url in str(exc.value) and "lab-henb-07" in str(exc.value)
    port = closed_port()
    cfg = SshShellConfig(driver="ssh", host="127.0.0.1", port=port, password=SECRETS[4], connect_timeout=1)  # type: ignore[arg-type]
    shell = build_shell(cfg, "lab-henb-07")
    with pytest.raises(EquipmentError) as exc:
        shell.run("true", timeout=2)
    assert f"root@127.0.0.1:{port}" in str(exc.value) and "lab-henb-07" in str(exc.value)
    assert SECRETS[4] not in chain(exc.value) + repr(shell) + repr(cfg)

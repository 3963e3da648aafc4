"""What every part of the inventory is built from: strict, frozen models, and hosts as a unit is programmed with them."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_ip(value: str) -> bool:
    """An IPv4 address (not an FQDN): a unit programmed with one asks no DNS for it."""
    try:
        ipaddress.IPv4Address(value)
        return True
    except ValueError:
        return False


def host(value: str) -> str:
    """An FQDN or an IPv4 address, as a unit would be programmed with it."""
    if is_ip(value):
        return value
    labels = value.rstrip(".").split(".")
    if len(labels) < 2 or not all(lab and len(lab) < 64 and lab.replace("-", "").isalnum() for lab in labels):
        raise ValueError(f"expected an FQDN or an IPv4 address, found {value!r}")
    return value

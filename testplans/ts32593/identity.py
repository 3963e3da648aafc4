"""The DeviceId check shared by every Inform a plan reads."""

from __future__ import annotations

from bench.inventory import Identity
from bench.steps import Steps
from bench.timeline import Event


def check_device_id(steps: Steps, step: str, inform: Event, identity: Identity) -> None:
    want = {"oui": identity.oui, "product_class": identity.product_class, "serial": identity.serial_number}
    seen = {k: inform.data.get(k) for k in want}
    if seen != want:
        wrong = ", ".join(f"{k} {seen[k]!r} (expected {v!r})" for k, v in want.items() if seen[k] != v)
        steps.fail(
            step,
            f"the Inform's DeviceId to be the unit's ({identity.oui}-{identity.product_class}-"
            f"{identity.serial_number})",
            f"DeviceId {wrong}",
            inform,
        )

"""The DeviceId check shared by every Inform a plan reads: the function `henb-bench judge` calls on captures
(bench/evidence/judge_common.py), on the live Inform."""

from __future__ import annotations

from bench.evidence.judge_common import device_id, judged
from bench.inventory import Identity
from bench.steps import Steps
from bench.timeline import Event


def check_device_id(steps: Steps, step: str, inform: Event, identity: Identity) -> None:
    unit = (identity.oui, identity.product_class, identity.serial_number)
    judged(steps, step, device_id(steps.clause, step, inform, unit))

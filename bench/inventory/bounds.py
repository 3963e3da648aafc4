"""How long the bench waits for a unit (`units.NAME.bounds`), in seconds."""

from __future__ import annotations

from pydantic import Field

from bench.inventory.fields import Strict


class Bounds(Strict):
    """How long the bench waits for a unit, in seconds. The defaults suit a physical unit (it boots in
    minutes); the mock inventory sets its own short values."""

    boot: float = Field(600.0, gt=0, description="power-on (or reset) to registered with the Serving HeMS")
    step: float = Field(
        60.0, gt=0, description="one step of a procedure: an RPC's response, the next message"
    )
    address_change_inform: float = Field(30.0, gt=0)
    s1_init: float = Field(60.0, gt=0)
    alarm_inform: float = Field(30.0, gt=0, description="an Expedited alarm's Inform, after the alarm")
    quiet: float = Field(10.0, gt=0, description="how long to watch for something that must not happen")
    factory_reset: float = Field(
        300.0, gt=0, description="a factory reset's confirmation (console, shell) or the operator (manual)"
    )
    pm_interval: int = Field(300, ge=1, description="the PeriodicUploadInterval the PM plans configure")
    pm_tolerance: float = Field(5.0, ge=0, description="how far an upload may be from its interval")
    transfer_complete: float = Field(
        600.0,
        gt=0,
        description="a Download's TransferComplete after its DownloadResponse: long enough for a unit that "
        "reboots to apply the file and reports it after the boot",
    )
    ike_retry: float = Field(
        120.0,
        gt=0,
        description="a unit's next IKE attempt after one failed (it refused an impostor SeGW): its IKE backoff",
    )

"""The mock unit's performance management (TS 32.593 5.4): a TS 32.435 measCollecFile per enabled
PerfMgmt.Config entry, uploaded at its PeriodicUploadInterval (aligned to PeriodicUploadTime)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import pmfile
from bench.knobs import Knob
from bench.mock import transfer
from bench.mock.datamodel import DataModel


def is_true(value: str) -> bool:
    return value.lower() in ("1", "true")


def first_upload(now: float, interval: int, ref: str) -> float:
    """The first upload time: now + interval, or the next multiple of interval after PeriodicUploadTime."""
    try:
        t = datetime.fromisoformat(ref.replace("Z", "+00:00"))
    except ValueError:
        t = None
    if t is None or t.year < 1900:
        return now + interval
    r = t.timestamp()
    k = -(-(now - r) // interval)  # the next multiple at or after now
    return r + k * interval


class PerfMgmt:
    """`model` and `registered` give the unit's current state; `spawn` runs a task beside the unit's;
    `resolve` names a host at the private DNS; `ca` is what the unit trusts for https."""

    def __init__(
        self,
        model: Callable[[], DataModel],
        table: str,
        knobs: set[str],
        sender: str,
        registered: Callable[[], bool],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        resolve: Callable[[str], Awaitable[str]],
        ca: Path,
        log: Callable[[str], None],
    ) -> None:
        self.model = model
        self.table = table
        self.knobs = knobs
        self.sender = sender
        self.registered = registered
        self.spawn = spawn
        self.resolve_private = resolve
        self.ca = ca
        self.log = log

    async def run(self) -> None:
        """Upload each enabled PerfMgmt.Config entry's file at its interval, while registered."""
        due: dict[int, tuple[tuple[str, ...], float]] = {}
        while True:
            await asyncio.sleep(0.1)
            if not self.registered() or Knob.NO_PM_UPLOAD in self.knobs:
                continue
            now = time.time()
            for i in self.model().instances(self.table):
                b = f"{self.table}{i}."
                g = self.model().get
                enabled = is_true(g(b + "Enable")) or Knob.PM_UPLOAD_WHILE_DISABLED in self.knobs
                url = g(b + "URL")
                if not enabled or not url:
                    due.pop(i, None)
                    continue
                interval = int(g(b + "PeriodicUploadInterval") or "0")
                if interval <= 0:
                    continue
                if Knob.PM_WRONG_INTERVAL in self.knobs:
                    interval *= 2
                key = (url, str(interval), g(b + "PeriodicUploadTime"))
                if i not in due or due[i][0] != key:
                    due[i] = (key, first_upload(now, interval, g(b + "PeriodicUploadTime")))
                if now >= due[i][1]:
                    due[i] = (key, due[i][1] + interval)
                    self.spawn(self.upload(b, interval))

    async def upload(self, base: str, interval: int) -> None:
        g = self.model().get
        end = datetime.now(UTC).replace(microsecond=0)
        begin = end - timedelta(seconds=interval)
        sender = self.sender
        counters = {
            "RRC.ConnEstabAtt": random.randint(10, 50),
            "RRC.ConnEstabSucc": random.randint(5, 10),
            "ERAB.EstabInitAttNbr": random.randint(5, 20),
            "ERAB.EstabInitSuccNbr": random.randint(1, 5),
        }
        data = pmfile.build(sender, begin, end, counters)
        if Knob.PM_MALFORMED_FILE in self.knobs:
            data = data.replace(b"fileFooter", b"fileTrailer")
        url = g(base + "URL")
        if url.endswith("/"):
            url += f"A{begin:%Y%m%d.%H%M%S}+0000-{end:%H%M%S}+0000_{sender}.xml"
        user, password = g(base + "Username"), g(base + "Password")
        if Knob.PM_WRONG_CREDENTIALS in self.knobs:
            password += "-wrong"
        try:
            await transfer.put(url, user, password, data, self.resolve_private, self.ca)
            self.log(f"pm: uploaded {len(data)} bytes to {url}")
        except transfer.TransferError as exc:
            self.log(f"pm: upload to {url} failed: {exc.code} {exc.text}")

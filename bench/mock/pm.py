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
        # Per entry: (URL, interval, PeriodicUploadTime) and its next upload; when its current period began.
        self.due: dict[int, tuple[tuple[str, ...], float]] = {}
        self.started: dict[int, float] = {}

    def collecting(self) -> list[tuple[int, str, int]]:
        """(instance, its path, its interval) of every PerfMgmt.Config entry collecting now: enabled, with a URL
        and an interval."""
        m, found = self.model(), []
        for i in m.instances(self.table):
            b = f"{self.table}{i}."
            enabled = is_true(m.get(b + "Enable")) or Knob.PM_UPLOAD_WHILE_DISABLED in self.knobs
            interval = int(m.get(b + "PeriodicUploadInterval") or "0")
            if enabled and m.get(b + "URL") and interval > 0:
                found.append((i, b, interval * 2 if Knob.PM_WRONG_INTERVAL in self.knobs else interval))
        return found

    async def run(self) -> None:
        """Upload each collecting PerfMgmt.Config entry's file at its interval, while registered."""
        due = self.due
        while True:
            await asyncio.sleep(0.1)
            if not self.registered() or Knob.NO_PM_UPLOAD in self.knobs:
                continue
            now = time.time()
            live = self.collecting()
            for gone in set(due) - {i for i, _, _ in live}:
                del due[gone]
                self.started.pop(gone, None)
            for i, b, interval in live:
                g = self.model().get
                key = (g(b + "URL"), str(interval), g(b + "PeriodicUploadTime"))
                if i not in due or due[i][0] != key:
                    due[i] = (key, first_upload(now, interval, g(b + "PeriodicUploadTime")))
                    self.started[i] = now
                if now >= due[i][1]:
                    due[i] = (key, due[i][1] + interval)
                    self.started[i] = now
                    self.spawn(self.upload(b, interval))

    def force(self) -> int:
        """Close every collecting entry's current period now and upload its file (the console's forced period):
        the number of periods closed. The next uploads stay where the schedule had them."""
        if not self.registered():
            return 0
        now, closed = time.time(), 0
        for i, b, _ in self.collecting():
            begin, self.started[i] = self.started.get(i, now), now
            closed += 1
            if not {Knob.NO_PM_UPLOAD, Knob.PM_FORCED_PERIOD_NOT_UPLOADED} & self.knobs:
                self.spawn(self.upload(b, now - begin))
        return closed

    async def upload(self, base: str, length: float) -> None:
        """The file of the period of `length` seconds ending now, to the entry's URL."""
        g = self.model().get
        end = datetime.now(UTC).replace(microsecond=0)
        begin = end - timedelta(seconds=round(length))
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
            verify = Knob.ACCEPT_UNTRUSTED_FILE_SERVER not in self.knobs  # the unit's one TLS client
            await transfer.put(url, user, password, data, self.resolve_private, self.ca, verify)
            self.log(f"pm: uploaded {len(data)} bytes to {url}")
        except transfer.TransferError as exc:
            self.log(f"pm: upload to {url} failed: {exc.code} {exc.text}")

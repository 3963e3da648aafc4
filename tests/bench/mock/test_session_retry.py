"""The mock's session retry (bench/mock/session.py), TR-069 3.2.1.1: waits drawn from CWMPRetryMinimumWaitInterval
and CWMPRetryIntervalMultiplier, every attempt's Inform with the same events and a growing RetryCount, against
the reference HeMS failing sessions on purpose (bench/hems/failures.py) on loopback."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from bench import cwmp
from bench.knobs import Knob
from bench.mock.datamodel import factory
from bench.mock.session import CwmpClient, retry_parameters, retry_window
from bench.timeline import Timeline
from tests.bench.hems.cpe import serve

MS = "Device.ManagementServer."
IDENTITY = {"manufacturer": "Acme", "oui": "00259E", "product_class": "FAP-1", "serial_number": "SN-R"}


def _unit(knobs: set[str], m: str = "1", k: str = "1000") -> Any:
    model = factory(IDENTITY, {MS + "CWMPRetryMinimumWaitInterval": m, MS + "CWMPRetryIntervalMultiplier": k})
    dev = cwmp.DeviceId("Acme", "00259E", "FAP-1", "SN-R")
    return SimpleNamespace(
        cfg=SimpleNamespace(hems_auth="none"), knobs=knobs, ns=cwmp.CWMP_NAMESPACES[1], ms=MS, device_id=dev,
        wrong_id=dev, model=model, requests=[], rpc=None, log=lambda msg: None,
    )  # fmt: skip


def test_the_window_grows_by_k_per_retry() -> None:
    assert retry_window(1, 5, 2000) == (5, 10)
    assert retry_window(3, 1, 2000) == (4, 8)
    assert retry_window(2, 1, 1500) == (1.5, 2.25)


def test_the_wait_is_drawn_from_the_units_parameters() -> None:
    client = CwmpClient(_unit(set(), "2", "3000"))
    waits = [client.retry_wait(2) for _ in range(200)]
    assert min(waits) >= 6 and max(waits) <= 18 and max(waits) - min(waits) > 3
    assert client.retry_wait(14) <= 2 * 3**10  # the count stops growing at 10
    assert CwmpClient(_unit({Knob.RETRY_STORM})).retry_wait(3) < 0.1
    assert retry_parameters(_unit(set(), "", "").model, MS) == (5, 2000)  # TR-069's defaults where unset


def _session(knobs: set[str], fails: int) -> tuple[list[dict[str, Any]], list[float]]:
    timeline = Timeline()
    hems, port = serve(timeline)
    try:
        hems.fail_sessions("SN-R", count=fails)
        client = CwmpClient(_unit(knobs))
        events = [("M Download", "dl-7"), ("7 TRANSFER COMPLETE", "")]
        url = f"http://127.0.0.1:{port}/cwmp"
        asyncio.run(client.session(url, "127.0.0.1", events, [MS + "PeriodicInformInterval"], "operate"))
    finally:
        hems.stop()
    informs = [e.data for e in timeline if e.kind == "inform"]
    failed = [e.t for e in timeline if e.kind == "session-failed-on-purpose"]
    times = [e.t for e in timeline if e.kind == "inform"]
    return informs, [b - a for a, b in zip(failed, times[1:], strict=False)]


def test_a_failed_session_is_retried_after_the_wait_with_its_events() -> None:
    start = time.monotonic()
    informs, waits = _session(set(), fails=2)
    assert time.monotonic() - start >= 2.0
    assert [i["retry_count"] for i in informs] == [0, 1, 2]
    assert all(i["events"] == ["M Download", "7 TRANSFER COMPLETE"] for i in informs)
    assert all(i["command_keys"] == ["dl-7", ""] for i in informs)
    assert all(MS + "PeriodicInformInterval" in i["params"] for i in informs)
    assert all(1.0 <= w < 1.5 for w in waits), waits  # m=1, k=1000: exactly 1 s each


@pytest.mark.parametrize(
    ("knob", "broken"),
    [(Knob.RETRY_STORM, "waits"), (Knob.FORGET_EVENTS_AFTER_FAILED_SESSION, "events")],
)
def test_the_twins_misbehave_as_their_knob_says(knob: str, broken: str) -> None:
    informs, waits = _session({knob}, fails=1)
    if broken == "waits":
        assert waits[0] < 0.5 and informs[1]["events"] == informs[0]["events"]
    else:
        assert informs[1]["events"] == [] and waits[0] >= 1.0

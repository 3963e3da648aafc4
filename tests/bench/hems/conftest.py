"""Fixtures shared by the HeMS tests: a timeline, and a HeMS serving on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.hems.server import Hems
from bench.timeline import Timeline
from tests.bench.hems.cpe import serve


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
def hems(timeline: Timeline) -> Iterator[tuple[Hems, int]]:
    h, port = serve(timeline)
    yield h, port
    h.stop()

"""The impostor checks' reading of the outer capture (testplans/ts32593/impostor.py, `Impostors._corroborate`),
without a bench: a refusal the SeGW saw is a failure of the unit when the capture shows ESP from it to the
impostor's address after its IKE_AUTH (quoting the frames), a bench error when the capture never shows the IKE SA
the SeGW had up, and otherwise what the capture shows goes on the timeline."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest

from bench.errors import DeviceError, InfraError
from bench.events import SecurityKind, SegwKind, Source
from bench.impostors import Impostor
from bench.steps import Steps
from bench.timeline import Timeline
from testplans.ts32593.impostor import Impostors
from tests.bench.test_ike_capture import SEGW, SPI, T0, handshake, ike, up, write

T = TypeVar("T")
IKE_ID = "00D0B7-MOCK0001.henb"


class FakeCapture:
    """A capture already written: `read` hands its file to the reader, as a running one would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, reader: Callable[[Path], T], more: int = 0, timeout: float = 0.0) -> T:
        time.sleep(timeout)  # no packet comes
        return reader(self.path)

    def caught_up(self, timeout: float) -> bool:
        return True  # every packet is in the file already


def judge(tmp_path: Path, packets: list[Any]) -> tuple[Timeline, Callable[[], None]]:
    tl = Timeline()
    tl.t0 = T0
    imp = Impostors.__new__(Impostors)
    imp.run = SimpleNamespace(timeline=tl)  # type: ignore[assignment]
    imp.steps = Steps("5.1.3", tl, tmp_path)
    imp.step, imp.key, imp.since = "IPsec", "ssegw", T0
    imp.outer = FakeCapture(write(tmp_path / "outer.pcapng", packets))  # type: ignore[assignment]
    imp.segw = SimpleNamespace(outer_ip=SEGW)  # type: ignore[assignment]
    imp.unit = SimpleNamespace(ike_id=IKE_ID, name="henb-01")  # type: ignore[assignment]
    impostor = Impostor("untrusted_ca", "a certificate from an untrusted CA")
    mark = tl.mark()
    tl.add(Source.SEGW, SegwKind.IKE_UP, segw="ssegw", impostor="untrusted_ca", remote_id=IKE_ID,
           spi_i=SPI.hex(), unique_id="7")  # fmt: skip
    refusal = tl.add(Source.SEGW, SegwKind.PEER_DELETE, segw="ssegw", impostor="untrusted_ca", unique_id="7")
    return tl, lambda: imp._corroborate(impostor, "the unit to refuse it", mark, refusal)


def test_a_refusal_the_capture_shows_goes_on_the_timeline(tmp_path: Path) -> None:
    tl, corroborate = judge(tmp_path, [*handshake(), up(ike(37, False))])
    corroborate()
    (shown,) = [e for e in tl.events(0) if e.kind == SecurityKind.IMPOSTOR_CAPTURE]
    assert "then its INFORMATIONAL request at frame 5" in shown.data["shows"]
    assert shown.data["capture"].endswith("outer.pcapng")


def test_esp_after_a_refusal_the_segw_saw_fails_the_unit_quoting_the_frame(tmp_path: Path) -> None:
    esp = up(struct.pack("!II", 0xC0DE, 1) + b"x" * 40)
    _, corroborate = judge(tmp_path, [*handshake(), up(ike(37, False)), esp])
    with pytest.raises(DeviceError) as err:
        corroborate()
    text = str(err.value)
    assert "TS 32.593 5.1.3 step IPsec: expected the unit to refuse it, and no ESP from it" in text
    assert "but the outer capture outer.pcapng shows" in text
    assert f"1 ESP packet(s) from the unit to {SEGW} after its IKE_SA_INIT, the first at frame 6" in text


def test_an_ike_sa_the_capture_never_shows_is_a_bench_error(tmp_path: Path) -> None:
    _, corroborate = judge(tmp_path, [])
    with pytest.raises(InfraError, match="the capture of the unit's WAN link missed it"):
        corroborate()

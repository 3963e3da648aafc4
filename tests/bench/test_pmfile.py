"""TS 32.435 measCollecFile: what the mock uploads validates; broken files are named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench import pmfile


def test_built_file_is_valid() -> None:
    end = datetime.now(UTC)
    blob = pmfile.build("00D0B7-S1", end - timedelta(minutes=15), end, {"RRC.ConnEstabAtt": 4})
    assert pmfile.validate(blob) == []


def test_problems_are_reported() -> None:
    end = datetime.now(UTC)
    good = pmfile.build("x", end - timedelta(minutes=15), end, {"RRC.ConnEstabAtt": 4})
    assert pmfile.validate(good.replace(b"fileFooter", b"fileTrailer"))
    assert pmfile.validate(good.replace(b'<r p="1">', b'<r p="9">'))
    assert pmfile.validate(b"<measCollecFile/>")
    assert pmfile.validate(b"garbage")

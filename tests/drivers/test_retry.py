"""drivers/retry.py: read until done, the last value when the time is up, a read's error at once."""

from __future__ import annotations

import pytest

from drivers.retry import poll


def test_poll_reads_until_done() -> None:
    values = iter([None, False, True, False])
    assert poll(lambda: next(values), lambda v: v is True, timeout=30, every=0.001) is True
    assert next(values) is False  # not read again once done


def test_poll_gives_the_last_value_when_the_time_is_up() -> None:
    reads: list[int] = []

    def read() -> int:
        reads.append(len(reads))
        return reads[-1]

    assert poll(read, lambda v: v < 0, timeout=0.05, every=0.001) == reads[-1]  # never done: the last read


def test_a_reads_error_ends_the_wait_at_once() -> None:
    reads: list[int] = []

    def read() -> bool:
        reads.append(1)
        raise OSError("PDU gone")

    with pytest.raises(OSError, match="PDU gone"):
        poll(read, bool, timeout=30)
    assert reads == [1]

"""Waiting until something is so: one helper on tenacity, for the drivers (a PDU's outlet that reports a
switch a moment late) and the bench (a daemon that answers once it is up)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float, every: float = 0.1) -> T:
    """`read()` again every `every` s until `done(value)`, for at most `timeout` s; returns the last value
    either way (the caller says what was awaited and what was seen). `read`'s errors end the wait at once."""
    retrying = Retrying(
        retry=retry_if_result(lambda value: not done(value)),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(every),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    return retrying(read)  # type: ignore[no-any-return]

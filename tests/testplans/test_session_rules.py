"""The judging functions of testplans/ts32593/session_rules.py on hand-made events: the retry's wait ends at
its attempt's first request, and the Inform's RetryCount (TR-069 3.2.1.1, A.3.3.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import DeviceError
from bench.steps import Steps
from bench.timeline import Event, Timeline
from testplans.ts32593.session_rules import check_retry_count, check_retry_wait, retry_began


def _steps() -> Steps:
    return Steps("5.1.3", Timeline(), Path("/evidence"))


FAILURE = Event(1, 100.0, "hems", "session-failed-on-purpose", {"how": "503"})


def _retry(t: float, started: float | None, retry_count: int = 1) -> Event:
    return Event(2, t, "hems", "inform", {"session_started": started, "retry_count": retry_count})


def test_the_wait_ends_at_the_challenged_request_not_at_the_authenticated_inform() -> None:
    # Retry 1 (m=1, k=2000: 1-2 s) challenged at 1.9 s, its authenticated Inform at 2.6 s: within the window.
    assert retry_began(FAILURE, _retry(102.6, 101.9)) == 101.9
    check_retry_wait(_steps(), "retry", 1, FAILURE, _retry(102.6, 101.9), 1, 2000, 0.05, 0.0)
    with pytest.raises(DeviceError, match=r"retry 1 came after 2\.60 s; TR-069 allows 1\.0-2\.0 s"):
        check_retry_wait(_steps(), "retry", 1, FAILURE, _retry(102.6, None), 1, 2000, 0.05, 0.0)
    # A start before the failure is not this attempt's (a stale record): the Inform's arrival counts.
    assert retry_began(FAILURE, _retry(102.6, 99.0)) == 102.6
    with pytest.raises(
        DeviceError, match=r"retry 1 came after 0\.50 s \(its first request; the authenticated"
    ):
        check_retry_wait(_steps(), "retry", 1, FAILURE, _retry(100.9, 100.5), 1, 2000, 0.05, 0.0)


def test_retry_count_is_the_number_of_prior_attempts() -> None:
    check_retry_count(_steps(), "retry", 1, _retry(102.0, None, 1))
    check_retry_count(_steps(), "retry", 0, _retry(102.0, None, 0))
    with pytest.raises(DeviceError, match=r"RetryCount 2 in the Inform of retry 2 .* seen RetryCount 0 in"):
        check_retry_count(_steps(), "retry", 2, _retry(102.0, None, 0))
    with pytest.raises(DeviceError, match=r"RetryCount 0 in the Inform of a session's first attempt"):
        check_retry_count(_steps(), "retry", 0, _retry(102.0, None, 3))

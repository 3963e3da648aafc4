"""The fuzz inputs themselves: reproducible from a seed, and the watchdog that bounds each example is real."""

from __future__ import annotations

import random
import time

import pytest

from tests.hostile import ExampleHung, headers, message, watchdog


def test_inputs_are_reproducible_from_a_seed() -> None:
    a, b = random.Random(3), random.Random(3)
    assert [message(a) for _ in range(200)] == [message(b) for _ in range(200)]
    assert headers(a, b"x") == headers(b, b"x")


def test_the_watchdog_ends_an_example_that_never_returns() -> None:
    with pytest.raises(ExampleHung), watchdog(0.5):
        while True:
            time.sleep(0.01)


def test_the_watchdog_leaves_a_finished_block_alone() -> None:
    with watchdog(0.2):
        pass
    time.sleep(0.5)  # past the bound: nothing may be raised now

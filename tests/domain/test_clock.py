"""Tests for roadlink.domain.clock: per-source clock offset from (source, receive) time pairs."""

from __future__ import annotations

import pytest

from roadlink.domain.clock import ClockOffsetEstimator, now_unix_ms

T0 = 1_700_000_000_000
TRUE_OFFSET_MS = 250
"""The source clock runs 250 ms ahead of the receiver's in these tests."""


def _add(estimator: ClockOffsetEstimator, receive_unix_ms: int, delay_ms: int) -> None:
    """Record a message that spent `delay_ms` in transit and arrived at `receive_unix_ms` (receiver clock)."""
    source_unix_ms = receive_unix_ms - delay_ms + TRUE_OFFSET_MS
    estimator.add(source_unix_ms, receive_unix_ms)


def test_no_estimate_before_the_first_sample() -> None:
    estimator = ClockOffsetEstimator()

    assert estimator.offset_ms is None
    assert estimator.to_receiver_time(T0) == T0


def test_estimate_uses_the_sample_with_the_least_delay() -> None:
    estimator = ClockOffsetEstimator()
    for index, delay_ms in enumerate([40, 7, 3, 25, 12]):
        _add(estimator, T0 + 100 * index, delay_ms)

    assert estimator.offset_ms == TRUE_OFFSET_MS - 3


def test_negative_offsets_are_estimated_too() -> None:
    estimator = ClockOffsetEstimator()
    estimator.add(T0 - 1_000, T0 + 5)
    estimator.add(T0 - 900, T0 + 102)

    assert estimator.offset_ms == -1_002


def test_window_drops_the_oldest_samples() -> None:
    estimator = ClockOffsetEstimator(window=3)
    _add(estimator, T0, 1)
    _add(estimator, T0 + 100, 10)
    _add(estimator, T0 + 200, 20)
    assert estimator.offset_ms == TRUE_OFFSET_MS - 1

    _add(estimator, T0 + 300, 30)

    assert estimator.offset_ms == TRUE_OFFSET_MS - 10


def test_window_of_one_follows_the_latest_sample() -> None:
    estimator = ClockOffsetEstimator(window=1)
    _add(estimator, T0, 1)
    _add(estimator, T0 + 100, 50)

    assert estimator.offset_ms == TRUE_OFFSET_MS - 50


@pytest.mark.parametrize("window", [0, -1])
def test_window_must_be_positive(window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        ClockOffsetEstimator(window)


def test_to_receiver_time_removes_the_offset() -> None:
    estimator = ClockOffsetEstimator()
    _add(estimator, T0, 0)

    assert estimator.to_receiver_time(T0 + 5_000 + TRUE_OFFSET_MS) == T0 + 5_000


def test_now_unix_ms_is_an_int_in_milliseconds() -> None:
    now = now_unix_ms()

    assert isinstance(now, int)
    assert 1_600_000_000_000 < now < 4_000_000_000_000

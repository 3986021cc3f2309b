"""Tests for gateway.reorder: numbered frames reordered within the window, gaps skipped, late frames flagged."""

from __future__ import annotations

import pytest
from v2x.vehicle.v1 import vehicle_pb2

from gateway.adapters.base import Canonical, MessageContext
from gateway.adapters.canonical import new_perception_frame
from gateway.reorder import Released, ReorderWindow

NOW = 1_714_579_200_000
WINDOW = 100


def _frame(sequence: int | None, time_unix_ms: int | None = None, topic: str = "rsu/a/lidar/l0") -> Canonical:
    """A frame of `topic` numbered `sequence` (None: unnumbered), stamped 100 ms per number by default."""
    context = MessageContext(topic, topic.split("/")[1], topic.split("/")[3], NOW)
    stamp = time_unix_ms if time_unix_ms is not None else NOW - 10_000 + 100 * (sequence or 0)
    return new_perception_frame(context, stamp, sequence)


def _push(window: ReorderWindow[str], message: Canonical, token: str, now_ms: int = NOW) -> list[str]:
    return _tokens(window.push("frames", message, token, now_ms))


def _tokens(released: list[Released[str]]) -> list[str]:
    return [token for _, _, token in released]


def test_frames_in_order_go_out_at_once() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    assert [_push(window, _frame(n), f"f{n}") for n in (1, 2, 3)] == [["f1"], ["f2"], ["f3"]]
    assert (window.stats.reordered, window.stats.late, window.stats.gaps, window.held) == (0, 0, 0, 0)
    assert window.next_deadline_ms() is None


def test_a_frame_after_a_gap_waits_for_the_missing_one() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    assert _push(window, _frame(1), "f1") == ["f1"]
    assert _push(window, _frame(3), "f3") == []
    assert _push(window, _frame(4), "f4") == []
    assert window.held == 2
    assert _push(window, _frame(2), "f2", NOW + 5) == ["f2", "f3", "f4"]
    assert (window.stats.reordered, window.stats.late, window.stats.gaps, window.held) == (2, 0, 0, 0)


def test_a_gap_is_skipped_when_the_window_has_passed() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    _push(window, _frame(1), "f1")
    _push(window, _frame(4), "f4", NOW + 10)
    _push(window, _frame(5), "f5", NOW + 20)
    assert window.next_deadline_ms() == NOW + 10 + WINDOW
    assert _tokens(window.expire(NOW + 10 + WINDOW - 1)) == []
    assert _tokens(window.expire(NOW + 10 + WINDOW)) == ["f4", "f5"]
    assert (window.stats.gaps, window.held, window.next_deadline_ms()) == (2, 0, None)
    assert _push(window, _frame(6), "f6") == ["f6"]


def test_more_held_frames_than_the_bound_skip_the_gap() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW, max_held=2)
    _push(window, _frame(1), "f1")
    assert _push(window, _frame(3), "f3") == []
    assert _push(window, _frame(4), "f4") == []
    assert _push(window, _frame(6), "f6") == ["f3", "f4"]
    assert (window.stats.gaps, window.held) == (1, 1)


def test_a_frame_behind_the_released_ones_is_forwarded_and_flagged_late() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    _push(window, _frame(1), "f1")
    _push(window, _frame(3), "f3")
    window.expire(NOW + WINDOW)
    assert _push(window, _frame(2), "f2") == ["f2"]
    assert (window.stats.late, window.stats.gaps) == (1, 1)


def test_a_lower_number_with_a_newer_time_restarts_the_numbering() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    _push(window, _frame(2**32 - 1, NOW - 200), "before")
    assert _push(window, _frame(0, NOW - 100), "wrapped") == ["wrapped"]
    assert _push(window, _frame(1, NOW), "next") == ["next"]
    assert (window.stats.late, window.stats.gaps, window.held) == (0, 0, 0)


def test_a_restart_releases_what_the_stream_held() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    _push(window, _frame(7, NOW - 300), "f7")
    _push(window, _frame(9, NOW - 200), "f9")
    assert _push(window, _frame(0, NOW - 100), "rebooted") == ["f9", "rebooted"]


def test_unnumbered_frames_are_never_held_only_flagged() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    released = [_push(window, _frame(None, NOW + t), f"t{t}") for t in (100, 300, 200, 400)]
    assert released == [["t100"], ["t300"], ["t200"], ["t400"]]
    assert (window.stats.late, window.held) == (1, 0)


def test_window_zero_never_holds() -> None:
    window: ReorderWindow[str] = ReorderWindow(0)
    _push(window, _frame(1), "f1")
    assert _push(window, _frame(3), "f3") == ["f3"]
    assert _push(window, _frame(2), "f2") == ["f2"]
    assert (window.stats.gaps, window.stats.late, window.next_deadline_ms()) == (1, 1, None)


def test_streams_are_ordered_separately() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    _push(window, _frame(1, topic="rsu/a/lidar/l0"), "a1")
    _push(window, _frame(5, topic="rsu/b/lidar/l0"), "b5")
    assert _push(window, _frame(3, topic="rsu/a/lidar/l0"), "a3") == []
    assert _push(window, _frame(6, topic="rsu/b/lidar/l0"), "b6") == ["b6"]
    assert _push(window, _frame(2, topic="rsu/a/lidar/l0"), "a2") == ["a2", "a3"]


def test_the_least_recent_stream_is_forgotten_releasing_what_it_held() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW, max_streams=1)
    _push(window, _frame(1, topic="rsu/a/lidar/l0"), "a1")
    _push(window, _frame(3, topic="rsu/a/lidar/l0"), "a3")
    assert _push(window, _frame(1, topic="rsu/b/lidar/l0"), "b1") == ["a3", "b1"]
    assert window.held == 0


def test_other_items_pass_through() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    state = vehicle_pb2.VehicleState(time_unix_ms=NOW)
    assert window.push("vehicle_states", state, "v", NOW) == [("vehicle_states", state, "v")]


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="window_ms"):
        ReorderWindow[str](-1)

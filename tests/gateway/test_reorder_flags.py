"""Frames the reorder window forwards late carry the "out_of_order" provenance flag; frames in order do not."""

from __future__ import annotations

from v2x.roadside.v1 import perception_pb2

from gateway.adapters.base import Canonical
from gateway.reorder import OUT_OF_ORDER_FLAG, Released, ReorderWindow
from tests.gateway.test_reorder import NOW, WINDOW, _frame


def _flags(released: list[Released[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _, message, token in released:
        assert isinstance(message, perception_pb2.PerceptionFrame)
        out[token] = list(message.provenance.flags)
    return out


def test_a_numbered_frame_behind_the_released_ones_is_flagged_on_a_copy() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    first = window.push("frames", _frame(1), "f1", NOW)
    window.push("frames", _frame(3), "f3", NOW)
    expired = window.expire(NOW + WINDOW)
    late_frame: Canonical = _frame(2)
    late = window.push("frames", late_frame, "f2", NOW + WINDOW)
    assert _flags(first + expired + late) == {"f1": [], "f3": [], "f2": [OUT_OF_ORDER_FLAG]}
    assert OUT_OF_ORDER_FLAG == "out_of_order"
    assert isinstance(late_frame, perception_pb2.PerceptionFrame)
    assert list(late_frame.provenance.flags) == []  # the pushed message is left as it was
    late_out = late[0][1]
    assert isinstance(late_out, perception_pb2.PerceptionFrame)
    late_out.provenance.ClearField("flags")
    assert late_out == late_frame


def test_frames_reordered_within_the_window_are_not_flagged() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    released: list[Released[str]] = []
    for n in (1, 3, 2, 4):
        released += window.push("frames", _frame(n), f"f{n}", NOW)
    assert _flags(released) == {"f1": [], "f2": [], "f3": [], "f4": []}
    assert window.stats.reordered == 1


def test_an_unnumbered_frame_older_than_the_streams_newest_is_flagged() -> None:
    window: ReorderWindow[str] = ReorderWindow(WINDOW)
    released: list[Released[str]] = []
    for t in (100, 300, 200):
        released += window.push("frames", _frame(None, NOW + t), f"t{t}", NOW)
    assert _flags(released) == {"t100": [], "t300": [], "t200": [OUT_OF_ORDER_FLAG]}

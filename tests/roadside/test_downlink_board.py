"""The cloud side of the downlink: the board's bounds and expiry, and which RSU zone an item belongs to."""

from __future__ import annotations

from v2x.cloud.v1 import situation_pb2
from v2x.roadside.v1 import info_pb2

from cloud.change_feed import ChangeFeed
from cloud.downlink_service import DownlinkBoard, rsi_in_zone
from roadlink.domain.spatial import Circle, Position
from roadlink.wire.convert import position_to_proto

ZONE = Circle(Position(39.0742, 115.9325), 300.0)


class Clock:
    def __init__(self) -> None:
        self.now_ms = 1_000

    def __call__(self) -> int:
        return self.now_ms


def _advisory(advisory_id: str, end_ms: int | None) -> situation_pb2.Advisory:
    advisory = situation_pb2.Advisory(advisory_id=advisory_id)
    if end_ms is not None:
        advisory.validity.end_time_unix_ms = end_ms
    return advisory


def test_board_forgets_items_when_their_validity_ends_and_notifies_changes() -> None:
    clock, feed = Clock(), ChangeFeed()
    board = DownlinkBoard(feed, clock=clock)
    board.issue_advisory(_advisory("a", 1_500))
    board.issue_advisory(_advisory("b", None))
    assert feed.version == 2
    assert sorted(e.key for e in board.entries()) == ["advisory:a", "advisory:b"]
    clock.now_ms = 1_500
    assert [e.key for e in board.entries()] == ["advisory:b"]


def test_a_full_board_drops_the_item_that_expires_first() -> None:
    board = DownlinkBoard(ChangeFeed(), max_items=2, clock=Clock())
    board.issue_advisory(_advisory("late", 9_000))
    board.issue_advisory(_advisory("soon", 2_000))
    board.issue_advisory(_advisory("new", 5_000))
    assert sorted(e.key for e in board.entries()) == ["advisory:late", "advisory:new"]
    assert board.dropped == 1


def test_road_side_info_belongs_to_the_zone_of_its_events_signs_or_reference() -> None:
    rsi = info_pb2.RoadSideInfo(source_id="cloud-1")
    rsi.reference_position.CopyFrom(position_to_proto(Position(39.0742, 115.9325)))
    assert rsi_in_zone(rsi, ZONE)
    rsi.events.add(event_id=1).position.CopyFrom(position_to_proto(Position(39.2, 115.9325)))
    assert not rsi_in_zone(rsi, ZONE)  # the event, not the reference, says where it applies
    rsi.signs.add(sign_id=1).position.CopyFrom(position_to_proto(Position(39.0745, 115.9325)))
    assert rsi_in_zone(rsi, ZONE)

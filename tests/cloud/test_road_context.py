"""MapData to lanes, and the newest map and SPaT per intersection."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import json_format
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import map_pb2

from cloud.map_lanes import intersection_lanes, load_map_file
from cloud.road_context import RoadContext
from roadlink.advisories import LaneKind, LaneUse
from roadlink.domain.errors import ConfigurationError
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from roadlink.domain.spatial import Circle, Position

REFERENCE = common_pb2.Position(latitude_deg=48.137, longitude_deg=11.575)
T0_MS = 1_700_000_000_000
_MAX = map_pb2.SPEED_LIMIT_TYPE_VEHICLE_MAX_SPEED


def _nodes(*points: tuple[float, float]) -> list[map_pb2.LaneNode]:
    return [map_pb2.LaneNode(east_m=e, north_m=n) for e, n in points]


def _map(intersection_id: int = 7, reference: common_pb2.Position = REFERENCE) -> map_pb2.MapData:
    ingress = map_pb2.Lane(
        lane_id=1,
        direction=map_pb2.LANE_DIRECTION_INGRESS,
        lane_type=map_pb2.LANE_TYPE_VEHICLE,
        nodes=_nodes((0, 0), (0, -100)),
        connections=[
            map_pb2.LaneConnection(connecting_lane_id=5, signal_group=4),
            map_pb2.LaneConnection(connecting_lane_id=6, signal_group=2),
            map_pb2.LaneConnection(connecting_lane_id=7),
        ],
        width_m=3.0,
        speed_limits=[map_pb2.SpeedLimit(type=_MAX, speed_mps=8.0)],
    )
    egress = map_pb2.Lane(
        lane_id=2,
        direction=map_pb2.LANE_DIRECTION_EGRESS,
        lane_type=map_pb2.LANE_TYPE_BIKE,
        nodes=_nodes((5, 0), (5, 80)),
    )
    no_direction = map_pb2.Lane(lane_id=3, nodes=_nodes((9, 0), (9, 80)))
    one_node = map_pb2.Lane(lane_id=4, direction=map_pb2.LANE_DIRECTION_EGRESS, nodes=_nodes((9, 0)))
    intersection = map_pb2.IntersectionGeometry(
        intersection_id=intersection_id,
        reference_position=reference,
        lane_width_m=3.25,
        speed_limits=[map_pb2.SpeedLimit(type=_MAX, speed_mps=13.9)],
        lanes=[ingress, egress, no_direction, one_node],
        revision=3,
    )
    return map_pb2.MapData(intersections=[intersection, map_pb2.IntersectionGeometry(intersection_id=99)])


def _spat(
    intersection_id: int, time_unix_ms: int, phase: MovementPhase = MovementPhase.STOP_AND_REMAIN
) -> SignalPhaseAndTiming:
    movement = MovementState(2, (MovementEvent(phase),))
    return SignalPhaseAndTiming(intersection_id, time_unix_ms, (movement,))


def test_lanes_follow_the_direction_of_travel_and_take_defaults_from_the_intersection() -> None:
    (intersection,) = intersection_lanes(_map())  # intersection 99 has no reference point
    ingress, egress = intersection.lanes
    assert intersection.skipped == 2
    assert intersection.revision == 3
    assert ingress.centre_line_m == ((0.0, -100.0), (0.0, 0.0))
    assert ingress.stop_line_m == (0.0, 0.0)
    assert (ingress.use, ingress.kind, ingress.width_m, ingress.speed_limit_mps) == (
        LaneUse.INGRESS,
        LaneKind.VEHICLE,
        3.0,
        8.0,
    )
    assert ingress.signal_groups == (2, 4)
    assert (egress.use, egress.kind, egress.width_m, egress.speed_limit_mps) == (
        LaneUse.EGRESS,
        LaneKind.BIKE,
        3.25,
        13.9,
    )
    assert egress.stop_line_m is None


def test_the_road_map_joins_intersections_in_one_frame_and_is_rebuilt_only_on_change() -> None:
    road = RoadContext()
    assert road.road_map() is None
    road.update_map(intersection_lanes(_map(7)))
    east_reference = common_pb2.Position(latitude_deg=48.137, longitude_deg=11.57634)  # ~100 m east
    road.update_map(intersection_lanes(_map(8, east_reference)))
    first = road.road_map()
    assert first is not None
    assert road.road_map() is first
    lanes = {(lane.intersection_id, lane.lane_id): lane for lane in first.lanes}
    assert abs(lanes[(8, 1)].centre_line_m[0][0] - lanes[(7, 1)].centre_line_m[0][0] - 100.0) < 1.0
    road.update_map(intersection_lanes(_map(7)))
    assert road.road_map() is not first
    assert road.intersection_count == 2


def test_the_newest_spat_wins_and_old_ones_expire() -> None:
    road = RoadContext(max_signal_age_ms=3_000)
    road.update_signal(_spat(7, T0_MS))
    road.update_signal(_spat(7, T0_MS - 100, MovementPhase.PROTECTED_MOVEMENT_ALLOWED))
    assert road.signals_out_of_order == 1
    assert road.signals(T0_MS) == (_spat(7, T0_MS),)
    assert road.signals(T0_MS + 3_001) == ()


def test_signals_in_an_area_are_those_of_intersections_located_by_mapdata() -> None:
    road = RoadContext()
    road.update_map(intersection_lanes(_map(7)))
    road.update_signal(_spat(7, T0_MS))
    road.update_signal(_spat(8, T0_MS))  # no MapData: not located
    near = Circle(Position(48.1365, 11.575), 100.0)
    far = Circle(Position(48.2, 11.575), 100.0)
    assert [s.intersection_id for s in road.signals_in(near, T0_MS)] == [7]
    assert road.signals_in(far, T0_MS) == []
    assert {s.intersection_id for s in road.signals(T0_MS)} == {7, 8}


def test_intersections_beyond_the_bound_evict_the_least_recently_updated() -> None:
    road = RoadContext(max_intersections=2)
    for intersection_id in (1, 2, 3):
        road.update_signal(_spat(intersection_id, T0_MS))
    road.update_signal(_spat(2, T0_MS + 1))
    road.update_signal(_spat(4, T0_MS + 1))
    assert {s.intersection_id for s in road.signals(T0_MS)} == {2, 4}
    assert road.evicted == 2


def test_without_mapdata_the_sending_rsu_locates_the_intersection() -> None:
    road = RoadContext()
    rsu = Position(48.137, 11.575)
    road.update_signal(_spat(8, T0_MS), rsu)
    road.update_signal(_spat(8, T0_MS + 100))  # a later SPaT without a sender position keeps the location
    road.update_signal(_spat(9, T0_MS))
    near = Circle(Position(48.1365, 11.575), 100.0)
    assert [s.intersection_id for s in road.signals_in(near, T0_MS + 100)] == [8]
    road.update_map(intersection_lanes(_map(8, common_pb2.Position(latitude_deg=48.2, longitude_deg=11.575))))
    assert road.signals_in(near, T0_MS + 100) == []  # MapData's reference point wins


def test_map_files_load_as_protobuf_json_or_binary(tmp_path: Path) -> None:
    as_json, as_binary, broken = tmp_path / "a.json", tmp_path / "a.pb", tmp_path / "b.json"
    as_json.write_text(json_format.MessageToJson(_map()), encoding="utf-8")
    as_binary.write_bytes(_map().SerializeToString())
    broken.write_text("{not json", encoding="utf-8")
    assert load_map_file(as_json) == _map()
    assert load_map_file(as_binary) == _map()
    with pytest.raises(ConfigurationError, match="cannot load MapData"):
        load_map_file(broken)
    with pytest.raises(ConfigurationError, match="cannot load MapData"):
        load_map_file(tmp_path / "missing.pb")

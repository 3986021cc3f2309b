"""MapData validation: one test per rule, each rejecting with its own reason and the offending field."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from roadlink.domain.errors import ValidationError
from roadlink.domain.map_validation import MapConnection, MapIntersection, MapLane, MapNode, validate_map
from roadlink.domain.spatial import Position
from roadside.map_store import load_map_file, map_from_proto

MAPS = Path(__file__).resolve().parents[1] / "data" / "maps"
REFERENCE = Position(39.0742, 115.9325)


def _lane(lane_id: int, *connections: MapConnection, north_m: float = 10.0) -> MapLane:
    return MapLane(lane_id, (MapNode(0.0, north_m), MapNode(0.0, north_m + 40.0)), connections)


def _intersection(*lanes: MapLane, intersection_id: int = 1) -> MapIntersection:
    return MapIntersection(intersection_id, REFERENCE, lanes or (_lane(1, MapConnection(2)), _lane(2)))


def _with_lane(lane: MapLane) -> list[MapIntersection]:
    return [_intersection(lane, _lane(2))]


def _reason(intersections: list[MapIntersection]) -> tuple[str, str | None]:
    with pytest.raises(ValidationError) as caught:
        validate_map(intersections)
    return caught.value.reason, caught.value.field


def test_a_sound_map_passes() -> None:
    validate_map([_intersection()])


def test_the_sample_map_file_passes() -> None:
    validate_map(map_from_proto(load_map_file(MAPS / "intersection_1201.json")))


def test_the_broken_sample_names_its_connection() -> None:
    reason, field = _reason(list(map_from_proto(load_map_file(MAPS / "broken_connection.json"))))
    assert (reason, field) == ("unknown_connecting_lane", "intersections[0].lanes[0].connections[1]")


def test_no_intersections() -> None:
    assert _reason([]) == ("no_intersections", "intersections")


def test_duplicate_intersection_id() -> None:
    assert _reason([_intersection(), _intersection()]) == ("duplicate_intersection_id", "intersections[1]")


def test_missing_reference_position() -> None:
    intersection = dataclasses.replace(_intersection(), reference_position=None)
    assert _reason([intersection]) == ("missing_reference_position", "intersections[0].reference_position")


@pytest.mark.parametrize("reference", [Position(math.nan, 115.0), Position(91.0, 115.0), Position(39.0, 181.0)])
def test_invalid_reference_position(reference: Position) -> None:
    intersection = dataclasses.replace(_intersection(), reference_position=reference)
    assert _reason([intersection])[0] == "invalid_reference_position"


def test_no_lanes() -> None:
    assert _reason([MapIntersection(1, REFERENCE, ())]) == ("no_lanes", "intersections[0].lanes")


def test_duplicate_lane_id() -> None:
    assert _reason([_intersection(_lane(2), _lane(2))]) == ("duplicate_lane_id", "intersections[0].lanes[1]")


@pytest.mark.parametrize("nodes", [(), (MapNode(0.0, 1.0),)])
def test_lane_without_nodes(nodes: tuple[MapNode, ...]) -> None:
    assert _reason(_with_lane(MapLane(1, nodes))) == ("lane_without_nodes", "intersections[0].lanes[0]")


@pytest.mark.parametrize("node", [MapNode(math.inf, 1.0), MapNode(0.0, math.nan), MapNode(0.0, 5.0, math.nan)])
def test_non_finite_coordinate(node: MapNode) -> None:
    lane = MapLane(1, (MapNode(0.0, 1.0), node))
    assert _reason(_with_lane(lane)) == ("non_finite_coordinate", "intersections[0].lanes[0].nodes[1]")


def test_node_out_of_range() -> None:
    lane = MapLane(1, (MapNode(0.0, 1.0), MapNode(0.0, 6_000.0)))
    assert _reason(_with_lane(lane)) == ("node_out_of_range", "intersections[0].lanes[0].nodes[1]")


def test_zero_length_segment() -> None:
    lane = MapLane(1, (MapNode(0.0, 1.0), MapNode(0.0, 1.0), MapNode(0.0, 9.0)))
    assert _reason(_with_lane(lane)) == ("zero_length_segment", "intersections[0].lanes[0].nodes[1]")


@pytest.mark.parametrize("width_m", [0.0, -3.0, math.nan])
def test_invalid_lane_width(width_m: float) -> None:
    lane = dataclasses.replace(_lane(1), width_m=width_m)
    assert _reason(_with_lane(lane)) == ("invalid_width", "intersections[0].lanes[0].width_m")


def test_invalid_default_width() -> None:
    intersection = dataclasses.replace(_intersection(), lane_width_m=0.0)
    assert _reason([intersection]) == ("invalid_width", "intersections[0].lane_width_m")


def test_invalid_speed_limit() -> None:
    lane = dataclasses.replace(_lane(1), speed_limits_mps=(13.9, -1.0))
    assert _reason(_with_lane(lane)) == ("invalid_speed_limit", "intersections[0].lanes[0].speed_limits[1]")
    intersection = dataclasses.replace(_intersection(), speed_limits_mps=(math.inf,))
    assert _reason([intersection]) == ("invalid_speed_limit", "intersections[0].speed_limits[0]")


def test_self_connection() -> None:
    lane = _lane(1, MapConnection(1))
    assert _reason(_with_lane(lane)) == ("self_connection", "intersections[0].lanes[0].connections[0]")


def test_unknown_connecting_lane() -> None:
    lane = _lane(1, MapConnection(2), MapConnection(7))
    assert _reason(_with_lane(lane)) == ("unknown_connecting_lane", "intersections[0].lanes[0].connections[1]")


def test_unknown_lane_of_a_remote_intersection_in_the_map() -> None:
    first = _intersection(_lane(1, MapConnection(5, remote_intersection_id=2)), intersection_id=1)
    second = _intersection(_lane(4), intersection_id=2)
    assert _reason([first, second]) == ("unknown_connecting_lane", "intersections[0].lanes[0].connections[0]")


def test_unknown_remote_intersection() -> None:
    lane = _lane(1, MapConnection(3, remote_intersection_id=99))
    reason, field = _reason(_with_lane(lane))
    assert (reason, field) == ("unknown_remote_intersection", "intersections[0].lanes[0].connections[0]")
    validate_map(_with_lane(lane), known_intersection_ids={99})  # known from elsewhere: accepted

"""MapData checks: a map that vehicles and detectors can trust, or a `ValidationError` saying why not.

A map is the lane geometry of one or more intersections (J2735 MapData, CSAE MAP). It is checked on the
transport-free view below (a converter fills it from `v2x.roadside.v1.MapData`); the first failed rule
raises `ValidationError` with one of these `reason` codes and the path of the offending part in `field`
(e.g. ``intersections[0].lanes[2].connections[1]``):

=============================  =================================================================
``no_intersections``           the map holds no intersection
``duplicate_intersection_id``  two intersections share (region, id)
``missing_reference_position`` an intersection has no reference position (its nodes are offsets from it)
``invalid_reference_position`` the reference position is not finite or out of WGS84 range
``no_lanes``                   an intersection has no lane
``duplicate_lane_id``          two lanes of one intersection share an id
``lane_without_nodes``         a lane has fewer than 2 nodes (no centre line)
``non_finite_coordinate``      a node offset is NaN or infinite
``node_out_of_range``          a node lies more than `max_offset_m` (5 km) from its reference point
``zero_length_segment``        two consecutive nodes of a lane coincide
``invalid_width``              a lane or default width is not a positive finite number
``invalid_speed_limit``        a speed limit is not a positive finite number
``self_connection``            a lane connects to itself
``unknown_connecting_lane``    a connection names a lane its (local or remote) intersection lacks
``unknown_remote_intersection``a connection names an intersection neither in the map nor known
=============================  =================================================================
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from roadlink.domain.errors import ValidationError
from roadlink.domain.spatial import Position

__all__ = [
    "MAX_OFFSET_M",
    "MapConnection",
    "MapIntersection",
    "MapLane",
    "MapNode",
    "validate_map",
]

MAX_OFFSET_M = 5_000.0
"""Farthest plausible lane node from its intersection's reference point, metres."""


@dataclass(frozen=True, slots=True)
class MapNode:
    """A lane centre-line node: offsets east/north (and up, None = not sent) of the reference point, metres."""

    east_m: float
    north_m: float
    up_m: float | None = None


@dataclass(frozen=True, slots=True)
class MapConnection:
    """A movement to `connecting_lane_id` of this intersection, or of `remote_intersection_id` when set."""

    connecting_lane_id: int
    remote_intersection_id: int | None = None
    signal_group: int | None = None


@dataclass(frozen=True, slots=True)
class MapLane:
    """One lane: id, centre-line nodes, connections, width (metres, None = default), speed limits (m/s)."""

    lane_id: int
    nodes: tuple[MapNode, ...]
    connections: tuple[MapConnection, ...] = ()
    width_m: float | None = None
    speed_limits_mps: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class MapIntersection:
    """One intersection: id (within `region`), reference point, default lane width (m), limits, lanes."""

    intersection_id: int
    reference_position: Position | None
    lanes: tuple[MapLane, ...]
    region: int | None = None
    lane_width_m: float | None = None
    speed_limits_mps: tuple[float, ...] = ()


def _fail(reason: str, detail: str, field: str) -> ValidationError:
    return ValidationError(reason, detail, field=field)


def _positive(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value > 0)


def validate_map(
    intersections: Sequence[MapIntersection],
    *,
    known_intersection_ids: Collection[int] = (),
    max_offset_m: float = MAX_OFFSET_M,
) -> None:
    """Raise `ValidationError` (module docstring) at the first rule the map breaks.

    Args:
        intersections: The map's intersections.
        known_intersection_ids: Intersections outside this map that connections may lead to (e.g. those of
            maps already accepted).
        max_offset_m: Farthest plausible node from its reference point, metres.
    """
    if not intersections:
        raise _fail("no_intersections", "the map holds no intersection", "intersections")
    seen: set[tuple[int | None, int]] = set()
    for index, intersection in enumerate(intersections):
        key = (intersection.region, intersection.intersection_id)
        if key in seen:
            raise _fail("duplicate_intersection_id", f"intersection {key} appears twice", f"intersections[{index}]")
        seen.add(key)
        _check_intersection(intersection, f"intersections[{index}]", max_offset_m)
    lanes = {i.intersection_id: {lane.lane_id for lane in i.lanes} for i in intersections}
    for index, intersection in enumerate(intersections):
        _check_connections(intersection, lanes, set(known_intersection_ids), f"intersections[{index}]")


def _check_intersection(intersection: MapIntersection, path: str, max_offset_m: float) -> None:
    _check_reference(intersection.reference_position, path)
    if not _positive(intersection.lane_width_m):
        raise _fail("invalid_width", f"default lane width {intersection.lane_width_m} m", f"{path}.lane_width_m")
    _check_limits(intersection.speed_limits_mps, path)
    if not intersection.lanes:
        raise _fail("no_lanes", f"intersection {intersection.intersection_id} has no lane", f"{path}.lanes")
    lane_ids: set[int] = set()
    for index, lane in enumerate(intersection.lanes):
        lane_path = f"{path}.lanes[{index}]"
        if lane.lane_id in lane_ids:
            raise _fail("duplicate_lane_id", f"lane {lane.lane_id} appears twice", lane_path)
        lane_ids.add(lane.lane_id)
        _check_lane(lane, lane_path, max_offset_m)


def _check_reference(reference: Position | None, path: str) -> None:
    field = f"{path}.reference_position"
    if reference is None:
        raise _fail("missing_reference_position", "lane nodes are offsets from the reference position", field)
    lat, lon = reference.latitude_deg, reference.longitude_deg
    finite = all(math.isfinite(v) for v in (lat, lon, reference.elevation_m or 0.0))
    if not (finite and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise _fail("invalid_reference_position", f"({lat}, {lon}, {reference.elevation_m})", field)


def _check_limits(limits: Sequence[float], path: str) -> None:
    for index, limit in enumerate(limits):
        if not _positive(limit):
            raise _fail("invalid_speed_limit", f"speed limit {limit} m/s", f"{path}.speed_limits[{index}]")


def _check_lane(lane: MapLane, path: str, max_offset_m: float) -> None:
    if len(lane.nodes) < 2:
        raise _fail("lane_without_nodes", f"lane {lane.lane_id} has {len(lane.nodes)} node(s), needs 2", path)
    if not _positive(lane.width_m):
        raise _fail("invalid_width", f"lane {lane.lane_id} width {lane.width_m} m", f"{path}.width_m")
    _check_limits(lane.speed_limits_mps, path)
    previous: MapNode | None = None
    for index, node in enumerate(lane.nodes):
        node_path = f"{path}.nodes[{index}]"
        if not all(math.isfinite(v) for v in (node.east_m, node.north_m, node.up_m or 0.0)):
            raise _fail("non_finite_coordinate", f"node ({node.east_m}, {node.north_m}, {node.up_m})", node_path)
        if math.hypot(node.east_m, node.north_m) > max_offset_m:
            raise _fail("node_out_of_range", f"node {math.hypot(node.east_m, node.north_m):.0f} m away", node_path)
        if previous is not None and (previous.east_m, previous.north_m) == (node.east_m, node.north_m):
            raise _fail("zero_length_segment", f"node {index} repeats node {index - 1}", node_path)
        previous = node


def _check_connections(intersection: MapIntersection, lanes: dict[int, set[int]], known: set[int], path: str) -> None:
    own = intersection.intersection_id
    for lane_index, lane in enumerate(intersection.lanes):
        for index, connection in enumerate(lane.connections):
            field = f"{path}.lanes[{lane_index}].connections[{index}]"
            target = own if connection.remote_intersection_id is None else connection.remote_intersection_id
            if target == own and connection.connecting_lane_id == lane.lane_id:
                raise _fail("self_connection", f"lane {lane.lane_id} connects to itself", field)
            if target in lanes and connection.connecting_lane_id not in lanes[target]:
                detail = f"intersection {target} has no lane {connection.connecting_lane_id}"
                raise _fail("unknown_connecting_lane", detail, field)
            if target not in lanes and target not in known:
                raise _fail("unknown_remote_intersection", f"intersection {target} is unknown", field)

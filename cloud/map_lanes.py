"""MapData (``v2x.roadside.v1.MapData``) to the lanes of :mod:`roadlink.advisories.map_model`.

MapData reaches the cloud in edge batches (``PublishRequest.maps``) or, for intersections whose RSUs do
not send it, from files named in the settings (:func:`load_map_file`).

The lane detectors read a :class:`~roadlink.advisories.RoadMap`; this adapter fills its
:class:`~roadlink.advisories.Lane` values from the protobuf following the rules in the map model's
docstring: ingress nodes are reversed into the direction of travel (their first node is the stop line),
the lane's or else the intersection's ``SPEED_LIMIT_TYPE_VEHICLE_MAX_SPEED`` is the limit, the lane's or
else the intersection's width is the width, and the connections' signal groups control the lane.

Lanes the detectors cannot use are skipped (fewer than two nodes, non-finite nodes, direction
unspecified) and counted by the caller through :class:`IntersectionLanes.skipped`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from v2x.roadside.v1 import map_pb2

from roadlink.advisories import Lane, LaneKind, LaneUse
from roadlink.advisories.map_model import DEFAULT_LANE_WIDTH_M
from roadlink.domain.errors import ConfigurationError
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.spatial import Position

__all__ = ["IntersectionLanes", "intersection_lanes", "load_map_file"]

_USE = {
    map_pb2.LANE_DIRECTION_INGRESS: LaneUse.INGRESS,
    map_pb2.LANE_DIRECTION_EGRESS: LaneUse.EGRESS,
    map_pb2.LANE_DIRECTION_BIDIRECTIONAL: LaneUse.BIDIRECTIONAL,
}
_KIND = {
    map_pb2.LANE_TYPE_VEHICLE: LaneKind.VEHICLE,
    map_pb2.LANE_TYPE_BIKE: LaneKind.BIKE,
    map_pb2.LANE_TYPE_CROSSWALK: LaneKind.CROSSWALK,
    map_pb2.LANE_TYPE_SIDEWALK: LaneKind.SIDEWALK,
    map_pb2.LANE_TYPE_PARKING: LaneKind.PARKING,
}
_MAX_SPEED = map_pb2.SPEED_LIMIT_TYPE_VEHICLE_MAX_SPEED


@dataclass(frozen=True, slots=True)
class IntersectionLanes:
    """One intersection's usable lanes in its own reference frame (east/north metres from ``reference``).

    Attributes:
        intersection_id: The MapData (and SPaT) intersection id.
        reference: The reference point every lane node is an offset from.
        lanes: The lanes the detectors can use.
        skipped: Lanes left out (too few or non-finite nodes, or no direction).
        revision: The intersection's MapData revision.
    """

    intersection_id: int
    reference: Position
    lanes: tuple[Lane, ...]
    skipped: int
    revision: int

    @property
    def origin(self) -> LocalOrigin:
        """The ENU frame of the lane nodes."""
        return LocalOrigin(self.reference.latitude_deg, self.reference.longitude_deg)


def load_map_file(path: Path) -> map_pb2.MapData:
    """A MapData file: protobuf JSON when it ends in ``.json``, else the binary encoding.

    Raises:
        ConfigurationError: The file cannot be read or parsed.
    """
    try:
        if path.suffix == ".json":
            return json_format.Parse(path.read_text(encoding="utf-8"), map_pb2.MapData())
        return map_pb2.MapData.FromString(path.read_bytes())
    except (OSError, UnicodeDecodeError, json_format.ParseError, DecodeError) as exc:
        raise ConfigurationError(f"cannot load MapData from {path}: {exc}") from exc


def intersection_lanes(message: map_pb2.MapData) -> list[IntersectionLanes]:
    """The intersections of one MapData that have a valid reference position."""
    return [_intersection(i) for i in message.intersections if _has_reference(i)]


def _has_reference(intersection: map_pb2.IntersectionGeometry) -> bool:
    if not intersection.HasField("reference_position"):
        return False
    ref = intersection.reference_position
    return math.isfinite(ref.latitude_deg) and math.isfinite(ref.longitude_deg) and abs(ref.latitude_deg) <= 90


def _intersection(intersection: map_pb2.IntersectionGeometry) -> IntersectionLanes:
    width = intersection.lane_width_m if intersection.HasField("lane_width_m") else DEFAULT_LANE_WIDTH_M
    default_limit = _max_speed(intersection.speed_limits)
    lanes = [_lane(intersection.intersection_id, lane, width, default_limit) for lane in intersection.lanes]
    usable = tuple(lane for lane in lanes if lane is not None)
    ref = intersection.reference_position
    return IntersectionLanes(
        intersection_id=intersection.intersection_id,
        reference=Position(ref.latitude_deg, ref.longitude_deg),
        lanes=usable,
        skipped=len(lanes) - len(usable),
        revision=intersection.revision,
    )


def _lane(
    intersection_id: int, lane: map_pb2.Lane, default_width_m: float, default_limit_mps: float | None
) -> Lane | None:
    """One lane, or None when the detectors cannot use it."""
    use = _USE.get(lane.direction)
    nodes = [(node.east_m, node.north_m) for node in lane.nodes]
    if use is None or len(nodes) < 2:
        return None
    width = lane.width_m if lane.HasField("width_m") and lane.width_m > 0 else default_width_m
    limit = _max_speed(lane.speed_limits) or default_limit_mps
    groups = tuple(sorted({c.signal_group for c in lane.connections if c.HasField("signal_group")}))
    try:
        return Lane.from_map_nodes(
            intersection_id,
            lane.lane_id,
            nodes,
            use,
            kind=_KIND.get(lane.lane_type, LaneKind.OTHER),
            width_m=width,
            speed_limit_mps=limit,
            signal_groups=groups,
        )
    except ValueError:
        return None


def _max_speed(limits: Iterable[map_pb2.SpeedLimit]) -> float | None:
    """The vehicle maximum speed (m/s) among ``limits``, None when absent or not positive."""
    speeds = [limit.speed_mps for limit in limits if limit.type == _MAX_SPEED]
    return speeds[0] if speeds and math.isfinite(speeds[0]) and speeds[0] > 0 else None

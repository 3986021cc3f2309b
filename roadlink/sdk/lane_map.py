"""`RoadsideMap`: the lane geometry of the intersections a roadside node serves, as the SDK delivers it.

The node checks every map before serving it (`roadlink.domain.map_validation`), so a map that reaches a
vehicle has lanes with at least two nodes and connections to lanes that exist. Lane nodes are offsets
east/north/up in metres from their intersection's reference position (a local flat frame); use
`IntersectionMap.node_position` for WGS84. Connections carry the signal group, which links a lane to the
`MovementState.signal_group` of the intersection's `SignalPhaseAndTiming`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import Message
from v2x.roadside.v1 import map_pb2

from roadlink.domain.errors import ValidationError
from roadlink.domain.map_validation import MapNode
from roadlink.domain.spatial import Position
from roadlink.wire.convert import position_from_proto

__all__ = [
    "IntersectionMap",
    "Lane",
    "LaneConnection",
    "LaneDirection",
    "LaneType",
    "RoadsideMap",
    "SpeedLimit",
    "SpeedLimitType",
    "map_from_proto",
]

_EARTH_RADIUS_M = 6_371_008.8
_E = TypeVar("_E", bound=enum.IntEnum)


class LaneDirection(enum.IntEnum):
    """Direction of lane use; values equal the v1 proto enum (J2735 LaneDirection bits)."""

    UNSPECIFIED = 0
    INGRESS = 1
    EGRESS = 2
    BIDIRECTIONAL = 3


class LaneType(enum.IntEnum):
    """Kind of lane; values equal the v1 proto enum (J2735 LaneTypeAttributes choice)."""

    UNSPECIFIED = 0
    VEHICLE = 1
    CROSSWALK = 2
    BIKE = 3
    SIDEWALK = 4
    MEDIAN = 5
    STRIPING = 6
    TRACKED_VEHICLE = 7
    PARKING = 8


class SpeedLimitType(enum.IntEnum):
    """Kind of speed limit; values equal the J2735 SpeedLimitType codes."""

    UNSPECIFIED = 0
    MAX_SPEED_IN_SCHOOL_ZONE = 1
    MAX_SPEED_IN_SCHOOL_ZONE_WHEN_CHILDREN_ARE_PRESENT = 2
    MAX_SPEED_IN_CONSTRUCTION_ZONE = 3
    VEHICLE_MIN_SPEED = 4
    VEHICLE_MAX_SPEED = 5
    VEHICLE_NIGHT_MAX_SPEED = 6
    TRUCK_MIN_SPEED = 7
    TRUCK_MAX_SPEED = 8
    TRUCK_NIGHT_MAX_SPEED = 9
    VEHICLES_WITH_TRAILERS_MIN_SPEED = 10
    VEHICLES_WITH_TRAILERS_MAX_SPEED = 11
    VEHICLES_WITH_TRAILERS_NIGHT_MAX_SPEED = 12


@dataclass(frozen=True, slots=True)
class SpeedLimit:
    """A speed limit of `type`, m/s."""

    type: SpeedLimitType
    speed_mps: float


@dataclass(frozen=True, slots=True)
class LaneConnection:
    """A movement from a lane to `connecting_lane_id` (of `remote_intersection_id` when set, else the same
    intersection), controlled by `signal_group` (None = unsignalled); `maneuver` is the J2735
    AllowedManeuvers bit mask (bit 0 = straight)."""

    connecting_lane_id: int
    remote_intersection_id: int | None = None
    signal_group: int | None = None
    maneuver: int = 0


@dataclass(frozen=True, slots=True)
class Lane:
    """One lane: its centre-line nodes (offsets from the reference position, metres; ingress lanes start at
    the stop line), connections, width (metres; None = the intersection's default) and limits."""

    lane_id: int
    nodes: tuple[MapNode, ...]
    direction: LaneDirection = LaneDirection.UNSPECIFIED
    lane_type: LaneType = LaneType.UNSPECIFIED
    connections: tuple[LaneConnection, ...] = ()
    ingress_approach: int | None = None
    egress_approach: int | None = None
    width_m: float | None = None
    speed_limits: tuple[SpeedLimit, ...] = ()
    allowed_maneuvers: int = 0


@dataclass(frozen=True, slots=True)
class IntersectionMap:
    """One intersection: id (within `region`), reference position of every lane node, lanes, defaults."""

    intersection_id: int
    reference_position: Position
    lanes: tuple[Lane, ...]
    region: int | None = None
    revision: int = 0
    lane_width_m: float | None = None
    speed_limits: tuple[SpeedLimit, ...] = ()
    name: str = ""

    def lane(self, lane_id: int) -> Lane | None:
        """The lane with this id, if the intersection has it."""
        return next((lane for lane in self.lanes if lane.lane_id == lane_id), None)

    def node_position(self, node: MapNode) -> Position:
        """WGS84 position of a lane node (flat-earth offset from the reference; well under a metre of error
        within the 5 km a node may lie from it)."""
        ref = self.reference_position
        lat = ref.latitude_deg + math.degrees(node.north_m / _EARTH_RADIUS_M)
        lon = ref.longitude_deg + math.degrees(
            node.east_m / (_EARTH_RADIUS_M * math.cos(math.radians(ref.latitude_deg)))
        )
        return Position(lat, lon)


@dataclass(frozen=True, slots=True)
class RoadsideMap:
    """The map a roadside node serves: every intersection it knows, replacing any earlier map it sent."""

    intersections: tuple[IntersectionMap, ...]
    revision: int = 0
    time_unix_ms: int | None = None

    def intersection(self, intersection_id: int) -> IntersectionMap | None:
        """The intersection with this id, if the map has it."""
        return next((i for i in self.intersections if i.intersection_id == intersection_id), None)


def _enum(kind: type[_E], value: int, field: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise ValidationError("unknown_enum_value", f"{kind.__name__} has no value {value}", field=field) from None


def _opt_int(message: Message, name: str) -> int | None:
    value: int | None = getattr(message, name) if message.HasField(name) else None
    return value


def _opt_float(message: Message, name: str) -> float | None:
    value: float | None = getattr(message, name) if message.HasField(name) else None
    return value


def _limits(messages: list[map_pb2.SpeedLimit], path: str) -> tuple[SpeedLimit, ...]:
    return tuple(SpeedLimit(_enum(SpeedLimitType, m.type, f"{path}.speed_limits"), m.speed_mps) for m in messages)


def _lane(message: map_pb2.Lane, path: str) -> Lane:
    return Lane(
        lane_id=message.lane_id,
        nodes=tuple(MapNode(n.east_m, n.north_m, _opt_float(n, "up_m")) for n in message.nodes),
        direction=_enum(LaneDirection, message.direction, f"{path}.direction"),
        lane_type=_enum(LaneType, message.lane_type, f"{path}.lane_type"),
        connections=tuple(
            LaneConnection(
                c.connecting_lane_id,
                _opt_int(c, "remote_intersection_id"),
                _opt_int(c, "signal_group"),
                c.maneuver,
            )
            for c in message.connections
        ),
        ingress_approach=_opt_int(message, "ingress_approach"),
        egress_approach=_opt_int(message, "egress_approach"),
        width_m=_opt_float(message, "width_m"),
        speed_limits=_limits(list(message.speed_limits), path),
        allowed_maneuvers=message.allowed_maneuvers,
    )


def _intersection(message: map_pb2.IntersectionGeometry, path: str) -> IntersectionMap:
    if not message.HasField("reference_position"):
        raise ValidationError("missing_reference_position", "lane nodes need it", field=f"{path}.reference_position")
    return IntersectionMap(
        intersection_id=message.intersection_id,
        reference_position=position_from_proto(message.reference_position),
        lanes=tuple(_lane(lane, f"{path}.lanes[{k}]") for k, lane in enumerate(message.lanes)),
        region=_opt_int(message, "region"),
        revision=message.revision,
        lane_width_m=_opt_float(message, "lane_width_m"),
        speed_limits=_limits(list(message.speed_limits), path),
        name=message.name,
    )


def map_from_proto(message: map_pb2.MapData) -> RoadsideMap:
    """Decode a v1 MapData (raises `ValidationError` for an intersection without reference position or an
    enum value this SDK does not know)."""
    return RoadsideMap(
        intersections=tuple(_intersection(i, f"intersections[{k}]") for k, i in enumerate(message.intersections)),
        revision=message.revision,
        time_unix_ms=_opt_int(message, "time_unix_ms"),
    )

"""Decoded J2735 MapData (as `roadlink.codec.j2735` returns it) -> the v1 `v2x.roadside.v1.MapData` in SI units.

Scaling and resolution, per the J2735 field facts:

    timeStamp         MinuteOfTheYear -> time_unix_ms (the minute closest to the reference clock; 527040 -> absent)
    refPoint          lat / long 1e-7 deg, elevation 0.1 m (-4096 -> absent)
    laneWidth         1 cm -> lane_width_m; a lane's width_m is it plus the sum of the lane's dWidth (1 cm), and
                      is only set when the lane sends a dWidth
    speedLimits       Velocity 0.02 m/s -> speed_mps; SpeedLimitType name -> the enum of the same code
    nodes             Node-XY-20b..32b offsets (1 cm, x east, y north) are each relative to the previous node and the
                      first to refPoint: they are summed into offsets from refPoint. dElevation (10 cm) sums the
                      same way into up_m (absent until the first dElevation). Node-LLmD-64b (absolute lat/lon) is
                      converted to the refPoint's local east/north plane (WGS84).
    computed lanes    the reference lane's nodes shifted by offsetX/Yaxis (1 cm), scaled by 1 + scale * 0.0005
                      about the first node and rotated by rotateXY (0.0125 deg, clockwise, as a heading) about it;
                      a reference lane that is itself computed or missing gives no nodes
    directionalUse    bit ingressPath / egressPath -> LaneDirection; laneType alternative -> LaneType
    maneuvers         the 12-bit AllowedManeuvers string as an int, first bit (straight) = bit 0

v1 has no room for road segments, restriction lists, node attributes other than dWidth / dElevation, regional
extensions or lane names; those stay in the decoded frame (the raw JSON of `roadlink decode`), which is what
re-encodes to the original octets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import map_pb2

from roadlink.codec.j2735_intersection import MAP_MESSAGE_ID
from roadlink.codec.j2735_spat import MINUTE_OF_THE_YEAR_UNAVAILABLE, resolve_message_time
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin

__all__ = ["frame_to_map", "map_to_proto"]

_CM: Final = 0.01
_VELOCITY_MPS: Final = 0.02
_ELEVATION_UNAVAILABLE: Final = -4096
_LATITUDE_LIMIT: Final = 900_000_000
_LONGITUDE_LIMIT: Final = 1_800_000_000
_ANGLE_DEG: Final = 0.0125
_SCALE_STEP: Final = 0.0005
_LANE_TYPES: Final = {
    "vehicle": map_pb2.LANE_TYPE_VEHICLE,
    "crosswalk": map_pb2.LANE_TYPE_CROSSWALK,
    "bikeLane": map_pb2.LANE_TYPE_BIKE,
    "sidewalk": map_pb2.LANE_TYPE_SIDEWALK,
    "median": map_pb2.LANE_TYPE_MEDIAN,
    "striping": map_pb2.LANE_TYPE_STRIPING,
    "trackedVehicle": map_pb2.LANE_TYPE_TRACKED_VEHICLE,
    "parking": map_pb2.LANE_TYPE_PARKING,
}
_SPEED_LIMIT_TYPES: Final = (
    "unknown",
    "maxSpeedInSchoolZone",
    "maxSpeedInSchoolZoneWhenChildrenArePresent",
    "maxSpeedInConstructionZone",
    "vehicleMinSpeed",
    "vehicleMaxSpeed",
    "vehicleNightMaxSpeed",
    "truckMinSpeed",
    "truckMaxSpeed",
    "truckNightMaxSpeed",
    "vehiclesWithTrailersMinSpeed",
    "vehiclesWithTrailersMaxSpeed",
    "vehiclesWithTrailersNightMaxSpeed",
)
"""SpeedLimitType names in code order: the code is the v1 SpeedLimitType value."""

Node = tuple[float, float, float | None]
"""(east_m, north_m, up_m or None) of a lane node, relative to the intersection's refPoint."""


def frame_to_map(frame: Mapping[str, Any], reference_unix_ms: int) -> map_pb2.MapData:
    """A decoded MessageFrame holding a MapData -> v1 MapData.

    Raises:
        ValidationError: reason "wrong_message" when the frame is not a decoded MAP, else as `map_to_proto`.
    """
    if frame.get("messageId") != MAP_MESSAGE_ID or not isinstance(frame.get("value"), Mapping):
        raise ValidationError("wrong_message", f"messageId {frame.get('messageId')!r} is not a MAP", field="messageId")
    return map_to_proto(frame["value"], reference_unix_ms)


def map_to_proto(value: Mapping[str, Any], reference_unix_ms: int) -> map_pb2.MapData:
    """A decoded MapData value -> v1 MapData (provenance is left for the caller to fill).

    Raises:
        ValidationError: reason "out_of_range" for a MinuteOfTheYear above 527040, "position_unavailable" for a
            refPoint or node-LatLon whose latitude or longitude is unavailable.
    """
    out = map_pb2.MapData(revision=value["msgIssueRevision"])
    moy = value.get("timeStamp")
    if moy is not None and moy != MINUTE_OF_THE_YEAR_UNAVAILABLE:
        out.time_unix_ms = resolve_message_time(moy, None, reference_unix_ms)
    out.intersections.extend(_intersection(geometry) for geometry in value.get("intersections", ()))
    return out


def _intersection(geometry: Mapping[str, Any]) -> map_pb2.IntersectionGeometry:
    reference_id, ref = geometry["id"], geometry["refPoint"]
    out = map_pb2.IntersectionGeometry(
        intersection_id=reference_id["id"],
        revision=geometry["revision"],
        reference_position=_position(ref),
        name=geometry.get("name", ""),
    )
    if "region" in reference_id:
        out.region = reference_id["region"]
    default_width_cm = geometry.get("laneWidth")
    if default_width_cm is not None:
        out.lane_width_m = default_width_cm * _CM
    out.speed_limits.extend(_speed_limits(geometry.get("speedLimits", ())))
    origin = LocalOrigin(out.reference_position.latitude_deg, out.reference_position.longitude_deg)
    lanes = geometry["laneSet"]
    explicit = {lane["laneID"]: _explicit_nodes(lane["nodeList"], origin) for lane in lanes}
    out.lanes.extend(_lane(lane, explicit, default_width_cm) for lane in lanes)
    return out


def _degrees(lat: int, lon: int, where: str) -> tuple[float, float]:
    """J2735 Latitude / Longitude (1e-7 deg) -> degrees; the unavailable codes raise."""
    if not (-_LATITUDE_LIMIT <= lat <= _LATITUDE_LIMIT and -_LONGITUDE_LIMIT <= lon <= _LONGITUDE_LIMIT):
        raise ValidationError("position_unavailable", f"{where} {lat}, {lon} is unavailable", field=where)
    return lat * 1e-7, lon * 1e-7


def _position(ref: Mapping[str, Any]) -> common_pb2.Position:
    lat, lon = _degrees(ref["lat"], ref["long"], "refPoint")
    position = common_pb2.Position(latitude_deg=lat, longitude_deg=lon)
    elevation = ref.get("elevation")
    if elevation is not None and elevation != _ELEVATION_UNAVAILABLE:
        position.elevation_m = elevation * 0.1
    return position


def _speed_limits(limits: Sequence[Mapping[str, Any]]) -> list[map_pb2.SpeedLimit]:
    out = []
    for limit in limits:
        name = limit["type"]
        code = _SPEED_LIMIT_TYPES.index(name) if name in _SPEED_LIMIT_TYPES else 0  # an extension: unspecified
        out.append(map_pb2.SpeedLimit(type=code, speed_mps=limit["speed"] * _VELOCITY_MPS))  # type: ignore[arg-type]
    return out


def _lane(
    lane: Mapping[str, Any], explicit: Mapping[int, list[Node] | None], default_width_cm: int | None
) -> map_pb2.Lane:
    attributes = lane["laneAttributes"]
    direction_bits, _ = attributes["directionalUse"]  # (bits, 2): ingressPath is the first (high) bit
    ingress, egress = bool(direction_bits & 0b10), bool(direction_bits & 0b01)
    out = map_pb2.Lane(
        lane_id=lane["laneID"],
        direction=ingress * map_pb2.LANE_DIRECTION_INGRESS + egress * map_pb2.LANE_DIRECTION_EGRESS,  # type: ignore[arg-type]
        lane_type=_LANE_TYPES.get(attributes["laneType"][0], map_pb2.LANE_TYPE_UNSPECIFIED),
    )
    for key in ("ingressApproach", "egressApproach"):
        if key in lane:
            setattr(out, key.replace("Approach", "_approach"), lane[key])
    if "maneuvers" in lane:
        out.allowed_maneuvers = _first_bit_low(lane["maneuvers"])
    nodes = explicit.get(lane["laneID"])
    node_list = lane["nodeList"]
    if node_list[0] == "computed":
        nodes = _computed_nodes(node_list[1], explicit)
    out.nodes.extend(map_pb2.LaneNode(east_m=e, north_m=n, up_m=u) for e, n, u in nodes or ())
    width_cm = _width_change_cm(node_list)
    if width_cm is not None:
        out.width_m = ((default_width_cm or 0) + width_cm) * _CM
    out.connections.extend(_connection(c) for c in lane.get("connectsTo", ()))
    return out


def _first_bit_low(bits: tuple[int, int]) -> int:
    """A BIT STRING (bits, length), first bit most significant -> an int with the first bit as bit 0."""
    value, length = bits
    return int(format(value, f"0{length}b")[::-1], 2) if length else 0


def _connection(connection: Mapping[str, Any]) -> map_pb2.LaneConnection:
    connecting = connection["connectingLane"]
    out = map_pb2.LaneConnection(connecting_lane_id=connecting["lane"])
    if "maneuver" in connecting:
        out.maneuver = _first_bit_low(connecting["maneuver"])
    if "remoteIntersection" in connection:
        out.remote_intersection_id = connection["remoteIntersection"]["id"]
    if "signalGroup" in connection:
        out.signal_group = connection["signalGroup"]
    return out


def _explicit_nodes(node_list: tuple[str, Any], origin: LocalOrigin) -> list[Node] | None:
    """The nodes of a node list as offsets from refPoint; None for a computed lane."""
    kind, content = node_list
    if kind != "nodes":
        return None
    east = north = 0.0
    up: float | None = None
    out: list[Node] = []
    for node in content:
        alternative, delta = node["delta"]
        if alternative == "node-LatLon":
            east, north, _ = origin.to_enu(*_degrees(delta["lat"], delta["lon"], "node-LatLon"), 0.0)
        elif alternative.startswith("node-XY"):
            east, north = east + delta["x"] * _CM, north + delta["y"] * _CM
        d_elevation = node.get("attributes", {}).get("dElevation")
        if d_elevation is not None:
            up = (up or 0.0) + d_elevation * 0.1
        out.append((east, north, up))
    return out


def _width_change_cm(node_list: tuple[str, Any]) -> int | None:
    kind, content = node_list
    if kind != "nodes":
        return None
    changes = [node["attributes"]["dWidth"] for node in content if "dWidth" in node.get("attributes", {})]
    return sum(changes) if changes else None


def _drive_offset_m(offset: tuple[str, int]) -> float:
    return offset[1] * _CM


def _computed_nodes(computed: Mapping[str, Any], explicit: Mapping[int, list[Node] | None]) -> list[Node]:
    reference = explicit.get(computed["referenceLaneId"])
    if not reference:
        return []
    dx, dy = _drive_offset_m(computed["offsetXaxis"]), _drive_offset_m(computed["offsetYaxis"])
    sx = 1 + computed.get("scaleXaxis", 0) * _SCALE_STEP
    sy = 1 + computed.get("scaleYaxis", 0) * _SCALE_STEP
    angle = math.radians(computed.get("rotateXY", 0) * _ANGLE_DEG)
    cos, sin = math.cos(angle), math.sin(angle)
    east0, north0, _ = reference[0]
    out: list[Node] = []
    for east, north, up in reference:
        x, y = (east - east0) * sx, (north - north0) * sy
        # clockwise rotation by `angle` (a heading change) about the first node
        rx, ry = x * cos + y * sin, -x * sin + y * cos
        out.append((east0 + rx + dx, north0 + ry + dy, up))
    return out

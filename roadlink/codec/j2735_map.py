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

import calendar
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import map_pb2

from roadlink.codec.errors import EncodeError
from roadlink.codec.j2735 import encode_frame
from roadlink.codec.j2735_intersection import MAP_MESSAGE_ID
from roadlink.codec.j2735_spat import MINUTE_OF_THE_YEAR_UNAVAILABLE, resolve_message_time
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin

__all__ = ["encode_map_frame", "frame_to_map", "map_to_proto", "proto_to_map"]

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


# --- v1 -> J2735 (for broadcasting a map the node holds as v1) --------------------------------------------------------

_XY_SIZES: Final = (
    (10, "node-XY1"),
    (11, "node-XY2"),
    (12, "node-XY3"),
    (13, "node-XY4"),
    (14, "node-XY5"),
    (16, "node-XY6"),
)
_LANE_TYPE_NAMES: Final = {code: name for name, code in _LANE_TYPES.items()}
_OFFSET_B10_LIMIT: Final = 511


def proto_to_map(message: map_pb2.MapData) -> dict[str, Any]:
    """v1 MapData -> a J2735 MapData value to encode (the inverse of `map_to_proto` up to 1 cm rounding).

    Node offsets become the smallest Node-XY that holds each step from the previous node; up_m becomes
    dElevation steps and a lane's width_m a dWidth on its first node; lane attribute bits other than
    directionalUse are sent as zero (v1 does not carry them).

    Raises:
        EncodeError: a lane with fewer than 2 or more than 63 nodes, a step over 327.67 m, or an elevation or
            width step over 51.1 m.
    """
    value: dict[str, Any] = {}
    if message.HasField("time_unix_ms"):
        value["timeStamp"] = _minute_of_the_year(message.time_unix_ms)
    value["msgIssueRevision"] = message.revision % 128
    if message.intersections:
        value["intersections"] = [_geometry_value(i) for i in message.intersections]
    return value


def encode_map_frame(message: map_pb2.MapData) -> bytes:
    """v1 MapData -> the octets of a J2735 MessageFrame holding it (messageId 18)."""
    return encode_frame({"messageId": MAP_MESSAGE_ID, "value": proto_to_map(message)})


def _minute_of_the_year(unix_ms: int) -> int:
    year = time.gmtime(unix_ms // 1000).tm_year
    return (unix_ms - calendar.timegm((year, 1, 1, 0, 0, 0)) * 1000) // 60_000


def _geometry_value(geometry: map_pb2.IntersectionGeometry) -> dict[str, Any]:
    ref = geometry.reference_position
    out: dict[str, Any] = {}
    if geometry.name:
        out["name"] = geometry.name
    reference_id: dict[str, Any] = {"id": geometry.intersection_id}
    if geometry.HasField("region"):
        reference_id = {"region": geometry.region, **reference_id}
    point: dict[str, Any] = {"lat": round(ref.latitude_deg * 1e7), "long": round(ref.longitude_deg * 1e7)}
    if ref.HasField("elevation_m"):
        point["elevation"] = round(ref.elevation_m * 10)
    out |= {"id": reference_id, "revision": geometry.revision % 128, "refPoint": point}
    default_width_cm = round(geometry.lane_width_m / _CM) if geometry.HasField("lane_width_m") else None
    if default_width_cm is not None:
        out["laneWidth"] = default_width_cm
    if geometry.speed_limits:
        out["speedLimits"] = [_speed_limit_value(limit) for limit in geometry.speed_limits]
    out["laneSet"] = [_lane_value(lane, default_width_cm) for lane in geometry.lanes]
    return out


def _speed_limit_value(limit: map_pb2.SpeedLimit) -> dict[str, Any]:
    name = _SPEED_LIMIT_TYPES[limit.type] if 0 <= limit.type < len(_SPEED_LIMIT_TYPES) else "unknown"
    return {"type": name, "speed": min(8191, round(limit.speed_mps / _VELOCITY_MPS))}


def _lane_value(lane: map_pb2.Lane, default_width_cm: int | None) -> dict[str, Any]:
    kind = _LANE_TYPE_NAMES.get(lane.lane_type, "vehicle")
    out: dict[str, Any] = {"laneID": lane.lane_id}
    for key in ("ingress_approach", "egress_approach"):
        if lane.HasField(key):
            out[key.replace("_approach", "Approach")] = getattr(lane, key)
    direction = int(lane.direction)
    out["laneAttributes"] = {
        "directionalUse": (((direction & 1) << 1) | ((direction >> 1) & 1), 2),  # first bit ingressPath
        "sharedWith": (0, 10),
        "laneType": (kind, (0, 8 if kind == "vehicle" else 16)),
    }
    if lane.allowed_maneuvers:
        out["maneuvers"] = _first_bit_high(lane.allowed_maneuvers, 12)
    out["nodeList"] = ("nodes", _node_values(lane, default_width_cm))
    if lane.connections:
        out["connectsTo"] = [_connection_value(c) for c in lane.connections]
    return out


def _first_bit_high(mask: int, length: int) -> tuple[int, int]:
    """An int with the first bit as bit 0 -> a BIT STRING (bits, length), first bit most significant."""
    return int(format(mask & ((1 << length) - 1), f"0{length}b")[::-1], 2), length


def _connection_value(connection: map_pb2.LaneConnection) -> dict[str, Any]:
    lane: dict[str, Any] = {"lane": connection.connecting_lane_id}
    if connection.maneuver:
        lane["maneuver"] = _first_bit_high(connection.maneuver, 12)
    out: dict[str, Any] = {"connectingLane": lane}
    if connection.HasField("remote_intersection_id"):
        out["remoteIntersection"] = {"id": connection.remote_intersection_id}
    if connection.HasField("signal_group"):
        out["signalGroup"] = connection.signal_group
    return out


def _node_values(lane: map_pb2.Lane, default_width_cm: int | None) -> list[dict[str, Any]]:
    if not 2 <= len(lane.nodes) <= 63:
        raise EncodeError(f"lane {lane.lane_id} has {len(lane.nodes)} nodes, J2735 needs 2..63", path="nodeList")
    out: list[dict[str, Any]] = []
    east = north = 0
    up: int | None = None
    for index, node in enumerate(lane.nodes):
        x, y = round(node.east_m / _CM), round(node.north_m / _CM)
        value: dict[str, Any] = {"delta": _xy_delta(x - east, y - north, lane.lane_id)}
        east, north = x, y
        attributes: dict[str, Any] = {}
        if index == 0 and lane.HasField("width_m"):
            attributes["dWidth"] = _b10(round(lane.width_m / _CM) - (default_width_cm or 0), "dWidth")
        if node.HasField("up_m"):
            step = round(node.up_m * 10)
            attributes["dElevation"] = _b10(step - (up or 0), "dElevation")
            up = step
        if attributes:
            value["attributes"] = attributes
        out.append(value)
    return out


def _xy_delta(dx: int, dy: int, lane_id: int) -> tuple[str, dict[str, int]]:
    for bits, name in _XY_SIZES:
        limit = 1 << (bits - 1)
        if -limit <= dx < limit and -limit <= dy < limit:
            return name, {"x": dx, "y": dy}
    raise EncodeError(f"lane {lane_id}: a node step of ({dx}, {dy}) cm is over 327.67 m", path="nodeList")


def _b10(value: int, name: str) -> int:
    if not -_OFFSET_B10_LIMIT - 1 <= value <= _OFFSET_B10_LIMIT:
        raise EncodeError(f"{name} step {value} is outside -512..511", path=name)
    return value

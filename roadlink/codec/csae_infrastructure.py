"""Decoded CSAE 53 MAP and RSI (as `roadlink.codec.csae` returns them) <-> the v1 protos, and back.

MAP -> `v2x.roadside.v1.MapData`, one IntersectionGeometry per Node:

    id / refPos        intersection_id, region; reference_position (1e-7 deg, elevation 0.1 m)
    timeStamp          MinuteOfTheYear -> time_unix_ms (the minute closest to the reference clock)
    msgCnt             revision (of the MapData and of every intersection)
    inLinks[].lanes    lanes: direction INGRESS (an inLink leads into the node), ingress_approach = the link's
                       upstream node id, lane_type from laneAttributes, width_m (1 cm), allowed_maneuvers and
                       connection maneuvers (the 12-bit AllowedManeuvers, first bit = bit 0), speed limits
                       (0.02 m/s), connections (connectingLane, remoteIntersection id, phaseId = signal group)
    points             lane nodes in metres east / north of refPos (WGS84 tangent plane). `position-LatLon` is
                       absolute; an offset alternative is taken relative to the previous point (the first to refPos),
                       as in J2735 node lists; no real capture has an offset point to confirm this.

RSI -> `v2x.roadside.v1.RoadSideInfo`: rtes -> events (GB/T 29100 codes), rtss -> signs (GB 5768 codes); eventPos
relative to refPos; eventRadius and pathRadius 0.1 m; description text (IA5 or GB2312); priority = the top 3
bits of the priority octet; timeDetails (MinuteOfTheYear) -> validity; eventConfidence 0.5 % -> 0..1.

v1 cannot hold link geometry (link points, movements, linkWidth, link speed limits), lane sharing, event sources,
reference links, or the low bits of a priority octet. The inverse functions take them from `template`, the decoded
value the v1 message came from, so decode -> v1 -> encode(template=decoded) gives back the original octets; without
a template they are left out (linkWidth: the widest lane). Without a `template` argument, the frame in the message's
provenance.air_message (when it is a CSAE frame of the same message) is the template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2, map_pb2

from roadlink.codec.csae_mapping import (
    absolute_position,
    air_template,
    moy_and_dsecond,
    offset_position,
    position_of,
    position_value,
)
from roadlink.codec.j2735_spat import MINUTE_OF_THE_YEAR_UNAVAILABLE, resolve_message_time
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.spatial import Position

__all__ = ["map_to_proto", "proto_to_map", "proto_to_rsi", "rsi_to_proto"]

_LANE_TYPES: Final = (
    "vehicle",
    "crosswalk",
    "bikeLane",
    "sidewalk",
    "median",
    "striping",
    "trackedVehicle",
    "parking",
)
"""LaneTypeAttributes alternatives in order: index + 1 is the v1 LaneType."""
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
_MANEUVER_BITS: Final = 12


def _bits_to_int(value: tuple[int, int]) -> int:
    """A BIT STRING (bits, length) -> int with the string's first bit as bit 0."""
    bits, length = value
    return sum(1 << i for i in range(length) if bits >> (length - 1 - i) & 1)


def _int_to_bits(flags: int, length: int) -> tuple[int, int]:
    return sum(1 << (length - 1 - i) for i in range(length) if flags >> i & 1), length


def _fill_position(out: common_pb2.Position, position: Position) -> None:
    out.latitude_deg, out.longitude_deg = position.latitude_deg, position.longitude_deg
    if position.elevation_m is not None:
        out.elevation_m = position.elevation_m


def _position(p: common_pb2.Position) -> Position:
    return Position(p.latitude_deg, p.longitude_deg, p.elevation_m if p.HasField("elevation_m") else None)


def _minute_time(moy: int | None, reference_unix_ms: int) -> int | None:
    """Unix ms of a MinuteOfTheYear's start (the one closest to the reference); None when absent or unavailable."""
    if moy is None or moy == MINUTE_OF_THE_YEAR_UNAVAILABLE:
        return None
    return resolve_message_time(moy, 0, reference_unix_ms)


# --- MAP --------------------------------------------------------------------------------------------------------------


def map_to_proto(value: Mapping[str, Any], reference_unix_ms: int) -> map_pb2.MapData:
    """A decoded CSAE MapData -> v1 MapData (see the module docstring).

    Raises:
        ValidationError: "position_unavailable" for an unavailable refPos or point, "out_of_range" for a reserved moy.
    """
    out = map_pb2.MapData(revision=value["msgCnt"])
    stamp = _minute_time(value.get("timeStamp"), reference_unix_ms)
    if stamp is not None:
        out.time_unix_ms = stamp
    for node in value["nodes"]:
        _intersection(out.intersections.add(), node, value["msgCnt"])
    return out


def _intersection(out: map_pb2.IntersectionGeometry, node: Mapping[str, Any], revision: int) -> None:
    ref = node["refPos"]
    out.intersection_id, out.revision, out.name = node["id"]["id"], revision, node.get("name", "")
    if "region" in node["id"]:
        out.region = node["id"]["region"]
    _fill_position(out.reference_position, position_of(ref, "refPos"))
    origin = LocalOrigin(ref["lat"] / 1e7, ref["long"] / 1e7)
    for link in node.get("inLinks", []):
        for lane in link.get("lanes", []):
            _lane(out.lanes.add(), lane, link["upstreamNodeId"]["id"], ref, origin)


def _lane(
    out: map_pb2.Lane, lane: Mapping[str, Any], approach: int, ref: Mapping[str, Any], origin: LocalOrigin
) -> None:
    out.lane_id, out.ingress_approach, out.direction = lane["laneID"], approach, map_pb2.LANE_DIRECTION_INGRESS
    if "laneWidth" in lane:
        out.width_m = lane["laneWidth"] / 100
    if "laneAttributes" in lane:
        alt = lane["laneAttributes"]["laneType"][0]
        out.lane_type = (
            map_pb2.LaneType.ValueType(_LANE_TYPES.index(alt) + 1)
            if alt in _LANE_TYPES
            else map_pb2.LANE_TYPE_UNSPECIFIED
        )
    if "maneuvers" in lane:
        out.allowed_maneuvers = _bits_to_int(lane["maneuvers"])
    for limit in lane.get("speedLimits", []):
        kind = _SPEED_LIMIT_TYPES.index(limit["type"]) if limit["type"] in _SPEED_LIMIT_TYPES else 0  # an extension
        out.speed_limits.add(type=map_pb2.SpeedLimitType.ValueType(kind), speed_mps=limit["speed"] * 0.02)
    for c in lane.get("connectsTo", []):
        conn = out.connections.add(remote_intersection_id=c["remoteIntersection"]["id"])
        if "connectingLane" in c:
            conn.connecting_lane_id = c["connectingLane"]["lane"]
            if "maneuver" in c["connectingLane"]:
                conn.maneuver = _bits_to_int(c["connectingLane"]["maneuver"])
        if "phaseId" in c:
            conn.signal_group = c["phaseId"]
    points = lane.get("points", [])
    if not points:
        return
    previous, lats, lons = ref, [], []
    for point in points:
        position = absolute_position(point["posOffset"], previous, "points")
        lats.append(position.latitude_deg)
        lons.append(position.longitude_deg)
        previous = {"lat": round(position.latitude_deg * 1e7), "long": round(position.longitude_deg * 1e7)}
    east, north, _ = origin.to_enu(np.array(lats), np.array(lons), np.zeros(len(lats)))  # shape (N,) each, m
    for e, n in zip(east.tolist(), north.tolist(), strict=True):
        out.nodes.add(east_m=e, north_m=n)


def proto_to_map(message: map_pb2.MapData, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """v1 MapData -> a CSAE MapData value (lanes grouped into one inLink per ingress approach).

    Raises:
        ValidationError: "out_of_range" when a value does not fit its CSAE field (raised by `position_value`'s
            callers), "wrong_shape" for an intersection without lanes is not raised: such a node has no inLinks.
    """
    template = template or air_template(message.provenance, "mapFrame")
    t = template or {}
    value = dict(t)
    value["msgCnt"] = message.revision % 128
    if (
        message.HasField("time_unix_ms")
        and _minute_time(t.get("timeStamp"), message.time_unix_ms) != message.time_unix_ms
    ):
        value["timeStamp"] = moy_and_dsecond(message.time_unix_ms)[0]
    old = t.get("nodes", [])
    value["nodes"] = [_node_value(g, old[i] if i < len(old) else None) for i, g in enumerate(message.intersections)]
    return value


def _node_value(g: map_pb2.IntersectionGeometry, template: Mapping[str, Any] | None) -> dict[str, Any]:
    t = template or {}
    value = dict(t)
    value["id"] = {"region": g.region, "id": g.intersection_id} if g.HasField("region") else {"id": g.intersection_id}
    if g.name:
        value["name"] = g.name
    ref = position_value(_position(g.reference_position), t.get("refPos"))
    value["refPos"] = ref
    origin = LocalOrigin(ref["lat"] / 1e7, ref["long"] / 1e7)
    links = _links_value(g, ref, origin, t.get("inLinks", []))
    if links:
        value["inLinks"] = links
    else:
        value.pop("inLinks", None)
    return value


def _links_value(
    g: map_pb2.IntersectionGeometry, ref: Mapping[str, Any], origin: LocalOrigin, old: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The node's inLinks: the template's links in order, each with its v1 lanes (matched by approach and lane
    id; a link without lanes is kept as it was, v1 cannot see it), then one new link per remaining approach."""
    remaining = list(g.lanes)
    links = []
    for link in old:
        up, ids = link["upstreamNodeId"]["id"], {lane["laneID"] for lane in link.get("lanes", [])}
        mine = [lane for lane in remaining if lane.ingress_approach == up and lane.lane_id in ids]
        remaining = [lane for lane in remaining if lane not in mine]
        if mine:
            links.append(_link_value(up, mine, g.region, ref, origin, link))
        elif link.get("lanes"):
            links.append({k: v for k, v in link.items() if k != "lanes"})
        else:
            links.append(dict(link))
    approaches: dict[int, list[map_pb2.Lane]] = {}
    for lane in remaining:
        approaches.setdefault(lane.ingress_approach, []).append(lane)
    links += [_link_value(k, lanes, g.region, ref, origin, None) for k, lanes in approaches.items()]
    return links


def _link_value(
    approach: int,
    lanes: Sequence[map_pb2.Lane],
    region: int,
    ref: Mapping[str, Any],
    origin: LocalOrigin,
    template: Mapping[str, Any] | None,
) -> dict[str, Any]:
    t = template or {}
    value = dict(t)
    value["upstreamNodeId"] = t.get(
        "upstreamNodeId", {"region": region, "id": approach} if region else {"id": approach}
    )
    value.setdefault("linkWidth", max((round(lane.width_m * 100) for lane in lanes), default=0))
    old = t.get("lanes", [])
    by_id = {lane["laneID"]: lane for lane in reversed(old)}  # the first lane of an id

    def template_of(i: int, lane: map_pb2.Lane) -> Mapping[str, Any] | None:
        return old[i] if i < len(old) and old[i]["laneID"] == lane.lane_id else by_id.get(lane.lane_id)

    value["lanes"] = [_lane_value(lane, ref, origin, template_of(i, lane)) for i, lane in enumerate(lanes)]
    return value


def _lane_value(
    lane: map_pb2.Lane, ref: Mapping[str, Any], origin: LocalOrigin, template: Mapping[str, Any] | None
) -> dict[str, Any]:
    if template is not None:
        probe = map_pb2.Lane()
        _lane(probe, template, lane.ingress_approach, ref, origin)
        if probe == lane:  # v1 holds nothing new for this lane: keep what v1 cannot say (sharing, regions, ...)
            return dict(template)
    t = template or {}
    value: dict[str, Any] = {"laneID": lane.lane_id}
    if lane.HasField("width_m"):
        value["laneWidth"] = round(lane.width_m * 100)
    if lane.lane_type:
        attributes = dict(t.get("laneAttributes", {}))
        alt = _LANE_TYPES[lane.lane_type - 1]
        old = attributes.get("laneType")
        attributes["laneType"] = (
            old if old is not None and old[0] == alt else (alt, (0, 8) if alt == "vehicle" else (0, 16))
        )
        value["laneAttributes"] = attributes
    if lane.allowed_maneuvers or "maneuvers" in t:
        value["maneuvers"] = _int_to_bits(lane.allowed_maneuvers, _MANEUVER_BITS)
    if lane.connections:
        value["connectsTo"] = [_connection_value(c, ref) for c in lane.connections]
    if lane.speed_limits:
        value["speedLimits"] = [
            {"type": _SPEED_LIMIT_TYPES[s.type], "speed": round(s.speed_mps / 0.02)} for s in lane.speed_limits
        ]
    if lane.nodes:
        value["points"] = _points_value(lane.nodes, ref, origin, t.get("points"))
    return value


def _connection_value(c: map_pb2.LaneConnection, ref: Mapping[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {"remoteIntersection": {"id": c.remote_intersection_id}}
    if c.connecting_lane_id or c.maneuver:
        value["connectingLane"] = {"lane": c.connecting_lane_id, "maneuver": _int_to_bits(c.maneuver, _MANEUVER_BITS)}
    if c.HasField("signal_group"):
        value["phaseId"] = c.signal_group
    return value


def _points_value(
    nodes: Sequence[map_pb2.LaneNode],
    ref: Mapping[str, Any],
    origin: LocalOrigin,
    template: Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    old = template or []
    points, previous = [], ref
    for i, node in enumerate(nodes):
        lat, lon, _ = origin.to_geodetic(node.east_m, node.north_m, 0.0)
        position = Position(lat, lon)
        hint = old[i]["posOffset"] if i < len(old) else {"offsetLL": ("position-LatLon", {})}
        points.append({"posOffset": offset_position(position, previous, hint)})
        previous = {"lat": round(lat * 1e7), "long": round(lon * 1e7)}
    return points


# --- RSI --------------------------------------------------------------------------------------------------------------


def rsi_to_proto(value: Mapping[str, Any], reference_unix_ms: int) -> info_pb2.RoadSideInfo:
    """A decoded CSAE RoadSideInformation -> v1 RoadSideInfo (see the module docstring).

    The message time is its moy (minute start) when sent, else the reference clock.

    Raises:
        ValidationError: "position_unavailable" for an unavailable refPos or event position, "out_of_range" for a
            reserved moy.
    """
    ref = value["refPos"]
    stamp = _minute_time(value.get("moy"), reference_unix_ms)
    out = info_pb2.RoadSideInfo(
        source_id=bytes(value["id"]).hex(),
        message_count=value["msgCnt"],
        time_unix_ms=reference_unix_ms if stamp is None else stamp,
    )
    _fill_position(out.reference_position, position_of(ref, "refPos"))
    for rte in value.get("rtes", []):
        event = out.events.add(
            event_id=rte["rteId"], event_type=rte["eventType"], code_system=info_pb2.CODE_SYSTEM_GBT_29100
        )
        _common(event, rte, "eventPos", ref, reference_unix_ms)
        if "eventRadius" in rte:
            event.radius_m = rte["eventRadius"] / 10
        if "eventConfidence" in rte:
            event.confidence = rte["eventConfidence"] / 200
    for rts in value.get("rtss", []):
        sign = out.signs.add(sign_id=rts["rtsId"], sign_type=rts["signType"], code_system=info_pb2.CODE_SYSTEM_GB_5768)
        _common(sign, rts, "signPos", ref, reference_unix_ms)
    return out


def _common(
    out: info_pb2.RoadEvent | info_pb2.RoadSign, item: Mapping[str, Any], pos_key: str, ref: Mapping[str, Any], now: int
) -> None:
    """The components RTEData and RTSData share: position, description, priority, time details, paths."""
    if pos_key in item:
        _fill_position(out.position, absolute_position(item[pos_key], ref, pos_key))
    if "description" in item:
        out.description = _text(item["description"])
    if "priority" in item:
        out.priority = item["priority"][0] >> 5
    details = item.get("timeDetails", {})
    for key, target in (("startTime", "start_time_unix_ms"), ("endTime", "end_time_unix_ms")):
        at = _minute_time(details.get(key), now)
        if at is not None:
            setattr(out.validity, target, at)
    for path in item.get("referencePaths", []):
        proto = out.reference_paths.add(radius_m=path["pathRadius"] / 10)
        for point in path["activePath"]:
            _fill_position(proto.points.add(), absolute_position(point, ref, "activePath"))


def _text(description: tuple[str, Any]) -> str:
    alt, text = description
    return text if alt == "textString" else bytes(text).decode("gb2312", errors="replace")


def proto_to_rsi(message: info_pb2.RoadSideInfo, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """v1 RoadSideInfo -> a CSAE RoadSideInformation value.

    The id is `source_id` as 16 hex digits (another source id gives zeros); moy is sent when the template has one
    or, without a template, always.
    """
    template = template or air_template(message.provenance, "rsiFrame")
    t = template or {}
    value = dict(t)
    try:
        identifier = bytes.fromhex(message.source_id).rjust(8, b"\0")[-8:]
    except ValueError:
        identifier = bytes(8)
    value.update(msgCnt=message.message_count % 128, id=identifier)
    sent = _minute_time(t.get("moy"), message.time_unix_ms)  # None: absent or "unavailable", v1 has the reference
    if template is None or (sent is not None and sent != message.time_unix_ms):
        value["moy"] = moy_and_dsecond(message.time_unix_ms)[0]
    ref = position_value(_position(message.reference_position), t.get("refPos"))
    value["refPos"] = ref
    old_rtes, old_rtss = t.get("rtes", []), t.get("rtss", [])
    rtes = [_rte_value(e, ref, old_rtes[i] if i < len(old_rtes) else None) for i, e in enumerate(message.events)]
    rtss = [_rts_value(s, ref, old_rtss[i] if i < len(old_rtss) else None) for i, s in enumerate(message.signs)]
    for key, items in (("rtes", rtes), ("rtss", rtss)):
        if items:
            value[key] = items
        else:
            value.pop(key, None)
    return value


def _rte_value(event: info_pb2.RoadEvent, ref: Mapping[str, Any], template: Mapping[str, Any] | None) -> dict[str, Any]:
    t = template or {}
    value = _common_value(event, "eventPos", ref, t)
    value.update(rteId=event.event_id, eventType=event.event_type, eventSource=t.get("eventSource", "unknown"))
    _set(value, "eventRadius", round(event.radius_m * 10) if event.HasField("radius_m") else None)
    _set(value, "eventConfidence", round(event.confidence * 200) if event.HasField("confidence") else None)
    return value


def _rts_value(sign: info_pb2.RoadSign, ref: Mapping[str, Any], template: Mapping[str, Any] | None) -> dict[str, Any]:
    value = _common_value(sign, "signPos", ref, template or {})
    value.update(rtsId=sign.sign_id, signType=sign.sign_type)
    return value


def _set(value: dict[str, Any], key: str, item: Any) -> None:
    if item is None:
        value.pop(key, None)
    else:
        value[key] = item


def _common_value(
    item: info_pb2.RoadEvent | info_pb2.RoadSign, pos_key: str, ref: Mapping[str, Any], t: Mapping[str, Any]
) -> dict[str, Any]:
    value = dict(t)
    hint = t.get(pos_key)
    _set(value, pos_key, offset_position(_position(item.position), ref, hint) if item.HasField("position") else None)
    _set(value, "description", _description_value(item.description, t.get("description")) if item.description else None)
    old_priority = t.get("priority")
    keep = old_priority is not None and old_priority[0] >> 5 == item.priority
    _set(value, "priority", old_priority if keep else bytes([(item.priority & 7) << 5]) if item.priority else None)
    old_details = t.get("timeDetails")
    if old_details is not None and _same_validity(old_details, item.validity):
        value["timeDetails"] = old_details  # keeps unavailable codes and the end time confidence
    else:
        _set(value, "timeDetails", _details_value(item.validity, old_details or {}))
    old_paths = t.get("referencePaths", [])
    paths = [
        _path_value(p, ref, old_paths[i] if i < len(old_paths) else None) for i, p in enumerate(item.reference_paths)
    ]
    _set(value, "referencePaths", paths or None)
    return value


def _same_validity(details: Mapping[str, Any], validity: common_pb2.Validity) -> bool:
    """True when RSITimeDetails `details` map to `validity` (each time resolved against its own v1 value)."""
    for key, target in (("startTime", "start_time_unix_ms"), ("endTime", "end_time_unix_ms")):
        has = validity.HasField(target)  # type: ignore[arg-type]  # the two literal field names
        mine = getattr(validity, target) if has else None
        if _minute_time(details.get(key), mine if mine is not None else 0) != mine:
            return False
    return True


def _details_value(validity: common_pb2.Validity, old: Mapping[str, Any]) -> dict[str, Any] | None:
    details = {}
    if validity.HasField("start_time_unix_ms"):
        details["startTime"] = moy_and_dsecond(validity.start_time_unix_ms)[0]
    if validity.HasField("end_time_unix_ms"):
        details["endTime"] = moy_and_dsecond(validity.end_time_unix_ms)[0]
    if details and "endTimeConfidence" in old:
        details["endTimeConfidence"] = old["endTimeConfidence"]
    return details or None


def _description_value(text: str, template: tuple[str, Any] | None) -> tuple[str, Any]:
    if template is not None and _text(template) == text:
        return template
    if text.isascii():
        return "textString", text
    return "textGB2312", text.encode("gb2312", errors="replace")


def _path_value(path: common_pb2.Path, ref: Mapping[str, Any], template: Mapping[str, Any] | None) -> dict[str, Any]:
    old = (template or {}).get("activePath", [])
    points = [offset_position(_position(p), ref, old[i] if i < len(old) else None) for i, p in enumerate(path.points)]
    return {"activePath": points, "pathRadius": round(path.radius_m * 10)}

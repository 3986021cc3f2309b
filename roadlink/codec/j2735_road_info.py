"""v1 RoadSideInfo -> J2735 TravelerInformation (TIM, 31), for radios that broadcast J2735.

One TravelerDataFrame per event, then per sign, the first 8 in all (a TIM holds at most 8):

    frameType      advisory (event) / roadSignage (sign)
    msgId          event: furtherInfoID = event_id as 2 octets; sign: roadSignID with the sign's position, every
                   view angle, MUTCD code "warning"
    startYear, startTime   the item's validity start, else the message time (UTC year and minute of the year);
                   without either, startTime 527040 (unavailable) and no startYear
    durationTime   minutes from start to the validity end, rounded up, at most 32000 (32000 = indefinite, also
                   when there is no end)
    priority       0..7 (higher values are clamped)
    regions        one GeographicalPath around the item's position (else the message's reference position):
                   anchor there and a geometry circle of radius_m (events; 300 m when absent and for signs), in
                   metres, every direction
    content        advisory: the ITIS code (code_system ITIS), else a text "GBT29100 <code>" / "GB5768 <code>" /
                   "ETSI <code>", then the description as text (ASCII, at most 500 characters)

msgCnt is message_count mod 128; timeStamp the message time's minute of the year. A message that came as a TIM
(provenance.air_message) is re-sent through `roadlink.codec.lossless`; this mapping is for the node's own output.
"""

from __future__ import annotations

import calendar
import time
from typing import Any, Final

from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2

from roadlink.codec.errors import EncodeError

__all__ = ["DEFAULT_RADIUS_M", "road_side_info_to_tim"]

DEFAULT_RADIUS_M: Final = 300.0
"""Radius of an item's region when it has none, metres (the roadside downlink uses the same)."""
_MAX_FRAMES: Final = 8
_MINUTE_UNAVAILABLE: Final = 527_040
_INDEFINITE_MINUTES: Final = 32_000
_ALL_DIRECTIONS: Final = (0xFFFF, 16)
_CODE_BOOKS: Final = {
    info_pb2.CODE_SYSTEM_GBT_29100: "GBT29100",
    info_pb2.CODE_SYSTEM_GB_5768: "GB5768",
    info_pb2.CODE_SYSTEM_ETSI_CAUSE: "ETSI",
}


def road_side_info_to_tim(info: info_pb2.RoadSideInfo) -> dict[str, Any]:
    """v1 RoadSideInfo -> a TravelerInformation value (see the module docstring).

    Raises:
        EncodeError: a message with neither events nor signs, or an item without any position.
    """
    items: list[info_pb2.RoadEvent | info_pb2.RoadSign] = [*info.events, *info.signs]
    if not items:
        raise EncodeError("a TIM needs at least one event or sign", path="TravelerInformation.dataFrames")
    value: dict[str, Any] = {"msgCnt": info.message_count % 128}
    if info.time_unix_ms:
        value["timeStamp"] = _minute_of_the_year(info.time_unix_ms)
    value["dataFrames"] = [_data_frame(item, info) for item in items[:_MAX_FRAMES]]
    return value


def _minute_of_the_year(unix_ms: int) -> int:
    year = time.gmtime(unix_ms // 1000).tm_year
    return (unix_ms - calendar.timegm((year, 1, 1, 0, 0, 0)) * 1000) // 60_000


def _data_frame(item: info_pb2.RoadEvent | info_pb2.RoadSign, info: info_pb2.RoadSideInfo) -> dict[str, Any]:
    is_event = isinstance(item, info_pb2.RoadEvent)
    position = _position_of(item, info)
    frame: dict[str, Any] = {
        "notUsed": 0,
        "frameType": "advisory" if is_event else "roadSignage",
        "msgId": _msg_id(item, position),
    }
    frame |= _timing(item.validity if item.HasField("validity") else None, info.time_unix_ms)
    radius_m = item.radius_m if isinstance(item, info_pb2.RoadEvent) and item.HasField("radius_m") else None
    frame |= {
        "priority": min(item.priority, 7),
        "notUsed1": 0,
        "regions": [_region(position, DEFAULT_RADIUS_M if radius_m is None else radius_m)],
        "notUsed2": 0,
        "notUsed3": 0,
        "content": ("advisory", _content(item)),
    }
    return frame


def _position_of(item: info_pb2.RoadEvent | info_pb2.RoadSign, info: info_pb2.RoadSideInfo) -> dict[str, Any]:
    if item.HasField("position"):
        return _position3d(item.position)
    if info.HasField("reference_position"):
        return _position3d(info.reference_position)
    raise EncodeError("an event or sign without a position, in a message without one", path="position")


def _position3d(position: common_pb2.Position) -> dict[str, Any]:
    value: dict[str, Any] = {"lat": round(position.latitude_deg * 1e7), "long": round(position.longitude_deg * 1e7)}
    if position.HasField("elevation_m"):
        value["elevation"] = min(max(round(position.elevation_m * 10), -4095), 61439)
    return value


def _msg_id(item: info_pb2.RoadEvent | info_pb2.RoadSign, position: dict[str, Any]) -> tuple[str, Any]:
    if isinstance(item, info_pb2.RoadEvent):
        return "furtherInfoID", (item.event_id % 65536).to_bytes(2, "big")
    return "roadSignID", {"position": position, "viewAngle": _ALL_DIRECTIONS, "mutcdCode": "warning"}


def _timing(validity: common_pb2.Validity | None, message_time_ms: int) -> dict[str, Any]:
    start = validity.start_time_unix_ms if validity is not None and validity.HasField("start_time_unix_ms") else None
    start = start if start is not None else (message_time_ms or None)
    end = validity.end_time_unix_ms if validity is not None and validity.HasField("end_time_unix_ms") else None
    timing: dict[str, Any] = {}
    if start is None:
        return timing | {"startTime": _MINUTE_UNAVAILABLE, "durationTime": _INDEFINITE_MINUTES}
    timing["startYear"] = time.gmtime(start // 1000).tm_year
    timing["startTime"] = _minute_of_the_year(start)
    minutes = _INDEFINITE_MINUTES if end is None else max(0, -(-(end - start) // 60_000))
    timing["durationTime"] = min(minutes, _INDEFINITE_MINUTES)
    return timing


def _region(anchor: dict[str, Any], radius_m: float) -> dict[str, Any]:
    circle = {"center": anchor, "radius": min(max(round(radius_m), 0), 4095), "units": "meter"}
    geometry = {"direction": _ALL_DIRECTIONS, "circle": circle}
    return {"anchor": anchor, "direction": _ALL_DIRECTIONS, "description": ("geometry", geometry)}


def _content(item: info_pb2.RoadEvent | info_pb2.RoadSign) -> list[dict[str, Any]]:
    code = item.event_type if isinstance(item, info_pb2.RoadEvent) else item.sign_type
    if item.code_system == info_pb2.CODE_SYSTEM_ITIS:
        entries: list[dict[str, Any]] = [{"item": ("itis", code % 65536)}]
    else:
        entries = [{"item": ("text", f"{_CODE_BOOKS.get(item.code_system, 'CODE')} {code}")}]
    text = item.description.encode("ascii", "replace").decode("ascii")[:500]
    if text:
        entries.append({"item": ("text", text)})
    return entries

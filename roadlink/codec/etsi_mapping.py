"""Decoded ETSI CAM -> VehicleState and DENM -> v1 RoadSideInfo, in SI units with absolute times.

CAM scaling (ITS-Container CDD; an "unavailable" code becomes None):

    stationID         temporary_id: the uint32 as 4 octets, big-endian
    generationDeltaTime  TimestampIts mod 65536 ms: the TimestampIts closest to the reference clock with that
                      remainder (within +-32.768 s), then converted to unix ms (see below)
    latitude / longitude 1e-7 deg (900000001 / 1800000001: "position_unavailable")
    altitudeValue     0.01 m, 800001 -> None
    confidence ellipse semi-axes 1 cm (4095 -> no ellipse, 4094 = "out of range" is kept as 40.94 m),
                      orientation 0.1 deg (3601 -> None)
    heading 0.1 deg (3601), speed 0.01 m/s (16383), longitudinal / lateral acceleration 0.1 m/s^2 (161),
    vertical acceleration 0.1 m/s^2 (161), yaw rate 0.01 deg/s (32767), steering wheel 1.5 deg (512),
    vehicleLength 0.1 m (1023), vehicleWidth 0.1 m (62)
    driveDirection    forward -> FORWARD_GEARS, backward -> REVERSE_GEARS (the closest v1 notion), else UNSPECIFIED
    stationType       -> ObjectClass (pedestrian, cyclist, moped / motorcycle, car, bus, light / heavy truck, ...)

TimestampIts counts milliseconds since 2004-01-01T00:00:00 UTC **in TAI**, so it runs ahead of UTC by the leap
seconds inserted since 2004 (5 s from 2017). `timestamp_its_to_unix_ms` removes them with the IERS table below
(a table that needs an entry added when the IERS announces a new leap second; none is scheduled as of 2025).

DENM -> RoadSideInfo: source_id = originating station id (decimal), message_count = sequenceNumber,
time = referenceTime; one RoadEvent: event_id = sequenceNumber, event_type = causeCode * 256 + subCauseCode
(CODE_SYSTEM_ETSI_CAUSE), position = eventPosition, radius = the relevanceDistance class's upper bound,
validity = detectionTime .. + validityDuration (s, default 600), confidence = informationQuality / 7, traces ->
reference paths (PathPoint deltas 1e-7 deg, 0.01 m, summed from the event position). A cancellation or
negation has no v1 field: `denm_is_termination` tells the caller.
"""

from __future__ import annotations

import bisect
import calendar
from collections.abc import Mapping
from typing import Any, Final

from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2

from roadlink.codec import etsi
from roadlink.codec.air_message import kept_air_message
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import Provenance
from roadlink.domain.spatial import Dimensions, Position, PositionAccuracy
from roadlink.domain.vehicle import TransmissionState, VehicleState

__all__ = [
    "ITS_EPOCH_UNIX_MS",
    "cam_to_vehicle_state",
    "denm_is_termination",
    "denm_to_road_side_info",
    "resolve_generation_delta_time",
    "road_side_info_to_denm",
    "timestamp_its_to_unix_ms",
    "unix_ms_to_timestamp_its",
    "vehicle_state_to_cam",
]

ITS_EPOCH_UNIX_MS: Final = calendar.timegm((2004, 1, 1, 0, 0, 0)) * 1000
"""2004-01-01T00:00:00 UTC in unix ms."""

_LEAPS_SINCE_2004_UNIX_MS: Final = tuple(
    calendar.timegm(day) * 1000
    for day in (
        (2006, 1, 1, 0, 0, 0),
        (2009, 1, 1, 0, 0, 0),
        (2012, 7, 1, 0, 0, 0),
        (2015, 7, 1, 0, 0, 0),
        (2017, 1, 1, 0, 0, 0),
    )
)
"""UTC instants right after each leap second inserted since 2004 (IERS Bulletin C)."""

_GDT_MODULUS: Final = 65536
_STATION_CLASS: Final = {
    0: ObjectClass.UNKNOWN,
    1: ObjectClass.PEDESTRIAN,
    2: ObjectClass.BICYCLE,
    3: ObjectClass.MOTORCYCLE,
    4: ObjectClass.MOTORCYCLE,
    5: ObjectClass.PASSENGER_CAR,
    6: ObjectClass.BUS,
    7: ObjectClass.LIGHT_TRUCK,
    8: ObjectClass.TRUCK,
    9: ObjectClass.TRUCK,
    10: ObjectClass.VEHICLE,
    11: ObjectClass.VEHICLE,
}
_DIRECTION: Final = {"forward": TransmissionState.FORWARD_GEARS, "backward": TransmissionState.REVERSE_GEARS}
_RELEVANCE_M: Final = {
    "lessThan50m": 50.0,
    "lessThan100m": 100.0,
    "lessThan200m": 200.0,
    "lessThan500m": 500.0,
    "lessThan1000m": 1000.0,
    "lessThan5km": 5000.0,
    "lessThan10km": 10000.0,
    "over10km": 20000.0,
}
_DEFAULT_VALIDITY_S: Final = 600


# --- time -------------------------------------------------------------------------------------------------------------


def _leaps_at_utc(unix_ms: int) -> int:
    return bisect.bisect_right(_LEAPS_SINCE_2004_UNIX_MS, unix_ms)


def unix_ms_to_timestamp_its(unix_ms: int) -> int:
    """Unix ms (UTC) -> TimestampIts (TAI ms since 2004-01-01)."""
    return unix_ms - ITS_EPOCH_UNIX_MS + 1000 * _leaps_at_utc(unix_ms)


def timestamp_its_to_unix_ms(timestamp_its: int) -> int:
    """TimestampIts (TAI ms since 2004-01-01) -> unix ms (UTC); an instant inside a leap second gives its end."""
    guess = timestamp_its + ITS_EPOCH_UNIX_MS
    for leaps in range(len(_LEAPS_SINCE_2004_UNIX_MS), -1, -1):
        candidate = guess - 1000 * leaps
        if _leaps_at_utc(candidate) == leaps:
            return candidate
    return guess


def resolve_generation_delta_time(generation_delta_time: int, reference_unix_ms: int) -> int:
    """Unix ms of a CAM's generationDeltaTime: the TimestampIts closest to the reference clock with that remainder."""
    reference = unix_ms_to_timestamp_its(reference_unix_ms)
    half = _GDT_MODULUS // 2
    its = reference + (generation_delta_time - reference % _GDT_MODULUS + half) % _GDT_MODULUS - half
    return timestamp_its_to_unix_ms(its)


# --- CAM --------------------------------------------------------------------------------------------------------------


def _scaled(value: int | None, unavailable: int, per_unit: float) -> float | None:
    return None if value is None or value == unavailable else value / per_unit


def _position(ref: Mapping[str, Any], field: str) -> Position:
    if ref["latitude"] == 900_000_001 or ref["longitude"] == 1_800_000_001:
        raise ValidationError("position_unavailable", f"{field}: latitude or longitude unavailable", field=field)
    altitude = _scaled(ref["altitude"]["altitudeValue"], 800_001, 100)
    return Position(ref["latitude"] / 1e7, ref["longitude"] / 1e7, altitude)


def _accuracy(ellipse: Mapping[str, int]) -> PositionAccuracy | None:
    if 4095 in (ellipse["semiMajorConfidence"], ellipse["semiMinorConfidence"]):
        return None
    orientation = _scaled(ellipse["semiMajorOrientation"], 3601, 10)
    return PositionAccuracy(ellipse["semiMajorConfidence"] / 100, ellipse["semiMinorConfidence"] / 100, orientation)


def cam_to_vehicle_state(cam: Mapping[str, Any], reference_unix_ms: int) -> VehicleState:
    """A decoded CAM (header + cam) -> VehicleState (see the module docstring for every scaling).

    An RSU's CAM (rsuContainerHighFrequency) gives a state with position only.

    Raises:
        ValidationError: "position_unavailable" for an unavailable latitude or longitude.
    """
    body = cam["cam"]
    basic = body["camParameters"]["basicContainer"]
    ref = basic["referencePosition"]
    alt, hf = body["camParameters"]["highFrequencyContainer"]
    common: dict[str, Any] = {
        "temporary_id": cam["header"]["stationID"].to_bytes(4, "big"),
        "time_unix_ms": resolve_generation_delta_time(body["generationDeltaTime"], reference_unix_ms),
        "position": _position(ref, "referencePosition"),
        "accuracy": _accuracy(ref["positionConfidenceEllipse"]),
        "vehicle_class": _STATION_CLASS.get(basic["stationType"], ObjectClass.UNKNOWN),
    }
    if alt != "basicVehicleContainerHighFrequency":
        return VehicleState(**common)
    return VehicleState(**common, **_high_frequency(hf))


def _high_frequency(hf: Mapping[str, Any]) -> dict[str, Any]:
    length = _scaled(hf["vehicleLength"]["vehicleLengthValue"], 1023, 10)
    width = _scaled(hf["vehicleWidth"], 62, 10)
    steering = hf.get("steeringWheelAngle")
    lateral, vertical = hf.get("lateralAcceleration"), hf.get("verticalAcceleration")
    return {
        "heading_deg": _scaled(hf["heading"]["headingValue"], 3601, 10),
        "speed_mps": _scaled(hf["speed"]["speedValue"], 16383, 100),
        "transmission": _DIRECTION.get(hf["driveDirection"], TransmissionState.UNSPECIFIED),
        "size": Dimensions(length, width) if length is not None and width is not None else None,
        "longitudinal_acceleration_mps2": _scaled(
            hf["longitudinalAcceleration"]["longitudinalAccelerationValue"], 161, 10
        ),
        "lateral_acceleration_mps2": _scaled(lateral["lateralAccelerationValue"], 161, 10) if lateral else None,
        "vertical_acceleration_mps2": _scaled(vertical["verticalAccelerationValue"], 161, 10) if vertical else None,
        "yaw_rate_deg_per_s": _scaled(hf["yawRate"]["yawRateValue"], 32767, 100),
        "steering_wheel_angle_deg": _scaled(steering["steeringWheelAngleValue"], 512, 1 / 1.5) if steering else None,
    }


# --- DENM -------------------------------------------------------------------------------------------------------------


def denm_is_termination(denm: Mapping[str, Any]) -> bool:
    """True when the DENM cancels or negates an event (v1 RoadSideInfo has no field for it)."""
    return "termination" in denm["denm"]["management"]


def denm_to_road_side_info(denm: Mapping[str, Any]) -> info_pb2.RoadSideInfo:
    """A decoded DENM (header + denm) -> v1 RoadSideInfo with one RoadEvent (see the module docstring).

    No reference clock is needed: DENM times are absolute TimestampIts.

    Raises:
        ValidationError: "position_unavailable" for an unavailable event position.
    """
    body = denm["denm"]
    management = body["management"]
    action = management["actionID"]
    out = info_pb2.RoadSideInfo(
        source_id=str(action["originatingStationID"]),
        message_count=action["sequenceNumber"],
        time_unix_ms=timestamp_its_to_unix_ms(management["referenceTime"]),
    )
    position = _position(management["eventPosition"], "eventPosition")
    _fill(out.reference_position, position)
    event = out.events.add(event_id=action["sequenceNumber"], code_system=info_pb2.CODE_SYSTEM_ETSI_CAUSE)
    _fill(event.position, position)
    if "relevanceDistance" in management:
        event.radius_m = _RELEVANCE_M[management["relevanceDistance"]]
    detected = timestamp_its_to_unix_ms(management["detectionTime"])
    event.validity.start_time_unix_ms = detected
    event.validity.end_time_unix_ms = detected + 1000 * management.get("validityDuration", _DEFAULT_VALIDITY_S)
    situation = body.get("situation")
    if situation is not None:
        cause = situation["eventType"]
        event.event_type = cause["causeCode"] * 256 + cause["subCauseCode"]
        event.confidence = situation["informationQuality"] / 7
    for trace in body.get("location", {}).get("traces", []):
        _trace(event.reference_paths.add(), trace, management["eventPosition"])
    return out


def _fill(out: common_pb2.Position, position: Position) -> None:
    out.latitude_deg, out.longitude_deg = position.latitude_deg, position.longitude_deg
    if position.elevation_m is not None:
        out.elevation_m = position.elevation_m


def _trace(out: common_pb2.Path, trace: list[Mapping[str, Any]], ref: Mapping[str, Any]) -> None:
    """PathHistory deltas (each from the previous point, the first from the event position) -> absolute points."""
    lat, lon = ref["latitude"], ref["longitude"]
    altitude = ref["altitude"]["altitudeValue"]
    for point in trace:
        delta = point["pathPosition"]
        if delta["deltaLatitude"] == 131072 or delta["deltaLongitude"] == 131072:
            break  # unavailable: the path ends where it is known
        lat, lon = lat + delta["deltaLatitude"], lon + delta["deltaLongitude"]
        if altitude != 800_001 and delta["deltaAltitude"] != 12800:
            altitude += delta["deltaAltitude"]
        _fill(out.points.add(), Position(lat / 1e7, lon / 1e7, None if altitude == 800_001 else altitude / 100))


# --- VehicleState -> CAM ----------------------------------------------------------------------------------------------

_STATION_TYPE: Final = {
    ObjectClass.UNKNOWN: 0,
    ObjectClass.PEDESTRIAN: 1,
    ObjectClass.BICYCLE: 2,
    ObjectClass.MOTORCYCLE: 4,
    ObjectClass.PASSENGER_CAR: 5,
    ObjectClass.BUS: 6,
    ObjectClass.LIGHT_TRUCK: 7,
    ObjectClass.TRUCK: 8,
    ObjectClass.VEHICLE: 10,
}
_DIRECTION_NAME: Final = {TransmissionState.FORWARD_GEARS: "forward", TransmissionState.REVERSE_GEARS: "backward"}


def _raw(value: float | None, unavailable: int, per_unit: float, lo: int, hi: int) -> int:
    """The inverse of `_scaled`: LSBs, rounded and clamped to lo..hi; None -> the unavailable code."""
    return unavailable if value is None else min(max(round(value * per_unit), lo), hi)


def air_template(provenance: Provenance | common_pb2.Provenance | None, message_id: int) -> dict[str, Any] | None:
    """The decoded ETSI PDU (CAM 2, DENM 1) in `provenance.air_message` when it has `message_id`, else None.

    Raises:
        EncodeError: the air_message is an ETSI PDU that does not decode.
    """
    kept = kept_air_message(provenance, "etsi")
    if kept is None:
        return None
    try:
        pdu_id, value = etsi.decode_pdu(kept.uper)
    except DecodeError as exc:
        raise EncodeError(f"provenance.air_message is no ETSI PDU: {exc}", path="provenance.air_message") from exc
    return value if pdu_id == message_id else None


def vehicle_state_to_cam(state: VehicleState, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """VehicleState -> a CAM value (the inverse of `cam_to_vehicle_state`).

    Components v1 has no field for (confidences, curvature, lane position, the low-frequency and special-vehicle
    containers, an RSU's high-frequency container, ...) come from `template`, the decoded CAM the state came from,
    so decode -> VehicleState -> encode(template=decoded) gives back the original octets; without a template they
    are "unavailable" or left out. The station id is the temporary id's last 4 octets. Without a `template`
    argument, the CAM in the state's provenance.air_message (when there is one) is the template.
    """
    t = (
        template
        or air_template(state.provenance, etsi.CAM_MESSAGE_ID)
        or {"header": {"protocolVersion": 2, "messageID": 2}, "cam": {"camParameters": {}}}
    )
    body, params = t["cam"], t["cam"]["camParameters"]
    basic = dict(params.get("basicContainer", {}))
    old_type = basic.get("stationType")
    keep_type = old_type is not None and _STATION_CLASS.get(old_type, ObjectClass.UNKNOWN) == state.vehicle_class
    basic["stationType"] = old_type if keep_type else _STATION_TYPE.get(state.vehicle_class, 0)
    basic["referencePosition"] = _reference_value(state, basic.get("referencePosition"))
    old_hf = params.get("highFrequencyContainer")
    if old_hf is not None and old_hf[0] != "basicVehicleContainerHighFrequency":
        hf = old_hf  # an RSU's container: v1 holds none of it
    else:
        hf = ("basicVehicleContainerHighFrequency", _high_frequency_value(state, old_hf[1] if old_hf else {}))
    generation = unix_ms_to_timestamp_its(state.time_unix_ms) % _GDT_MODULUS
    return {
        **t,
        "header": {**t["header"], "stationID": int.from_bytes(state.temporary_id[-4:], "big")},
        "cam": {
            **body,
            "generationDeltaTime": generation,
            "camParameters": {**params, "basicContainer": basic, "highFrequencyContainer": hf},
        },
    }


def _reference_value(state: VehicleState, old: Mapping[str, Any] | None) -> dict[str, Any]:
    old = old or {}
    position = state.position
    altitude = dict(old.get("altitude", {"altitudeConfidence": "unavailable"}))
    altitude["altitudeValue"] = _raw(position.elevation_m, 800_001, 100, -100_000, 800_000)
    ellipse = old.get("positionConfidenceEllipse")
    if ellipse is None or _accuracy(ellipse) != state.accuracy:
        accuracy = state.accuracy
        ellipse = {
            "semiMajorConfidence": 4095 if accuracy is None else _raw(accuracy.semi_major_m, 4095, 100, 0, 4094),
            "semiMinorConfidence": 4095 if accuracy is None else _raw(accuracy.semi_minor_m, 4095, 100, 0, 4094),
            "semiMajorOrientation": 3601
            if accuracy is None
            else _raw(accuracy.semi_major_orientation_deg, 3601, 10, 0, 3600),
        }
    return {
        **old,
        "latitude": round(position.latitude_deg * 1e7),
        "longitude": round(position.longitude_deg * 1e7),
        "positionConfidenceEllipse": ellipse,
        "altitude": altitude,
    }


def _with(old: Mapping[str, Any] | None, **values: Any) -> dict[str, Any]:
    """`old` (a confidence-carrying SEQUENCE of the template) with `values` set."""
    return {**(old or {}), **values}


def _high_frequency_value(state: VehicleState, old: Mapping[str, Any]) -> dict[str, Any]:
    hf = dict(old)
    size_old = _size_of(old) if "vehicleLength" in old else None
    keep_size = "vehicleLength" in old and size_old == state.size
    length = state.size.length_m if state.size is not None else None
    width = state.size.width_m if state.size is not None else None
    direction = old.get("driveDirection")
    keep_direction = direction is not None and _DIRECTION.get(direction, TransmissionState.UNSPECIFIED) == (
        state.transmission
    )
    hf.update(
        heading=_with(
            old.get("heading", {"headingConfidence": 127}), headingValue=_raw(state.heading_deg, 3601, 10, 0, 3600)
        ),
        speed=_with(old.get("speed", {"speedConfidence": 127}), speedValue=_raw(state.speed_mps, 16383, 100, 0, 16382)),
        driveDirection=direction if keep_direction else _DIRECTION_NAME.get(state.transmission, "unavailable"),
        vehicleLength=old["vehicleLength"]
        if keep_size
        else _with(
            old.get("vehicleLength", {"vehicleLengthConfidenceIndication": "unavailable"}),
            vehicleLengthValue=_raw(length, 1023, 10, 1, 1022),
        ),
        vehicleWidth=old["vehicleWidth"] if keep_size else _raw(width, 62, 10, 1, 61),
        longitudinalAcceleration=_with(
            old.get("longitudinalAcceleration", {"longitudinalAccelerationConfidence": 102}),
            longitudinalAccelerationValue=_raw(state.longitudinal_acceleration_mps2, 161, 10, -160, 160),
        ),
        yawRate=_with(
            old.get("yawRate", {"yawRateConfidence": "unavailable"}),
            yawRateValue=_raw(state.yaw_rate_deg_per_s, 32767, 100, -32766, 32766),
        ),
    )
    hf.setdefault("curvature", {"curvatureValue": 1023, "curvatureConfidence": "unavailable"})
    hf.setdefault("curvatureCalculationMode", "unavailable")
    _optional_axis(hf, "lateralAcceleration", state.lateral_acceleration_mps2, 161, 10, 102)
    _optional_axis(hf, "verticalAcceleration", state.vertical_acceleration_mps2, 161, 10, 102)
    _optional_axis(hf, "steeringWheelAngle", state.steering_wheel_angle_deg, 512, 1 / 1.5, 127)
    return hf


def _size_of(hf: Mapping[str, Any]) -> Dimensions | None:
    length = _scaled(hf["vehicleLength"]["vehicleLengthValue"], 1023, 10)
    width = _scaled(hf["vehicleWidth"], 62, 10)
    return Dimensions(length, width) if length is not None and width is not None else None


def _optional_axis(
    hf: dict[str, Any], key: str, value: float | None, unavailable: int, per_unit: float, confidence_na: int
) -> None:
    """An optional {<key>Value, <key>Confidence}: set from v1, or kept when the template's says unavailable too."""
    value_key, confidence_key = f"{key}Value", f"{key}Confidence"
    lo, hi = {161: (-160, 160), 512: (-511, 511)}[unavailable]
    if value is not None:
        hf[key] = _with(
            hf.get(key, {confidence_key: confidence_na}), **{value_key: _raw(value, unavailable, per_unit, lo, hi)}
        )
    elif key in hf and hf[key][value_key] != unavailable:
        del hf[key]


# --- RoadSideInfo -> DENM ---------------------------------------------------------------------------------------------

_DELTA_LIMIT: Final = 131071
_ALTITUDE_DELTA_LIMIT: Final = 12700


def road_side_info_to_denm(info: info_pb2.RoadSideInfo, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """v1 RoadSideInfo (its first event) -> a DENM value (the inverse of `denm_to_road_side_info`).

    What v1 cannot hold (termination, traffic direction, transmission interval, station type, linked cause,
    event history, speed and heading of the event, the a-la-carte container, position confidences, trace
    points after an unavailable one, ...) comes from `template`, the decoded DENM the message came from; without
    one it is left out or "unavailable" (station type 0). The originating station is `source_id` read as a
    decimal number. Without a `template` argument, the DENM in the message's provenance.air_message (when there
    is one) is the template.

    Raises:
        ValidationError: "wrong_shape" for a message without events or a source id that is no station id.
    """
    if not info.events:
        raise ValidationError("wrong_shape", "a DENM carries one event, the message has none", field="events")
    event = info.events[0]
    t = template or air_template(info.provenance, etsi.DENM_MESSAGE_ID) or {}
    old = t.get("denm", {})
    management = _management_value(info, event, old.get("management", {}))
    denm: dict[str, Any] = {**old, "management": management}
    situation = _situation_value(event, old.get("situation"))
    _put(denm, "situation", situation)
    _put(denm, "location", _location_value(event, management["eventPosition"], old.get("location")))
    header = t.get("header", {"protocolVersion": 2, "messageID": 1})
    return {
        **t,
        "header": {**header, "stationID": header.get("stationID", management["actionID"]["originatingStationID"])},
        "denm": denm,
    }


def _put(value: dict[str, Any], key: str, item: Any) -> None:
    if item is None:
        value.pop(key, None)
    else:
        value[key] = item


def _station(source_id: str) -> int:
    if not source_id.isdigit() or int(source_id) > 0xFFFFFFFF:
        raise ValidationError("wrong_shape", f"source id {source_id!r} is no ETSI station id", field="source_id")
    return int(source_id)


def _management_value(info: info_pb2.RoadSideInfo, event: info_pb2.RoadEvent, old: Mapping[str, Any]) -> dict[str, Any]:
    position = event.position if event.HasField("position") else info.reference_position
    value = dict(old)
    value["actionID"] = {"originatingStationID": _station(info.source_id), "sequenceNumber": info.message_count % 65536}
    value["referenceTime"] = unix_ms_to_timestamp_its(info.time_unix_ms)
    validity = event.validity
    start = validity.start_time_unix_ms if validity.HasField("start_time_unix_ms") else info.time_unix_ms
    value["detectionTime"] = unix_ms_to_timestamp_its(start)
    if validity.HasField("end_time_unix_ms"):
        seconds = min(max((validity.end_time_unix_ms - start) // 1000, 0), 86400)
        if not (seconds == _DEFAULT_VALIDITY_S and "validityDuration" not in old):
            value["validityDuration"] = seconds
    value["eventPosition"] = _event_position_value(position, old.get("eventPosition"))
    old_distance = old.get("relevanceDistance")
    if event.HasField("radius_m"):
        keep = old_distance is not None and _RELEVANCE_M[old_distance] == event.radius_m
        value["relevanceDistance"] = old_distance if keep else _relevance_class(event.radius_m)
    else:
        value.pop("relevanceDistance", None)
    value.setdefault("stationType", 0)
    return value


def _relevance_class(radius_m: float) -> str:
    for name, bound in _RELEVANCE_M.items():
        if radius_m <= bound:
            return name
    return "over10km"


def _event_position_value(position: common_pb2.Position, old: Mapping[str, Any] | None) -> dict[str, Any]:
    old = old or {}
    altitude = dict(old.get("altitude", {"altitudeConfidence": "unavailable"}))
    elevation = position.elevation_m if position.HasField("elevation_m") else None
    altitude["altitudeValue"] = _raw(elevation, 800_001, 100, -100_000, 800_000)
    ellipse = old.get(
        "positionConfidenceEllipse",
        {"semiMajorConfidence": 4095, "semiMinorConfidence": 4095, "semiMajorOrientation": 3601},
    )
    return {
        **old,
        "latitude": round(position.latitude_deg * 1e7),
        "longitude": round(position.longitude_deg * 1e7),
        "positionConfidenceEllipse": ellipse,
        "altitude": altitude,
    }


def _situation_value(event: info_pb2.RoadEvent, old: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not event.HasField("confidence") and event.event_type == 0 and old is None:
        return None
    value = dict(old or {})
    quality = round(event.confidence * 7) if event.HasField("confidence") else 0
    value.update(
        informationQuality=min(max(quality, 0), 7),
        eventType={"causeCode": (event.event_type >> 8) & 0xFF, "subCauseCode": event.event_type & 0xFF},
    )
    return value


def _location_value(
    event: info_pb2.RoadEvent, origin: Mapping[str, Any], old: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    if not event.reference_paths and old is None:
        return None
    old_traces = (old or {}).get("traces", [])
    traces = []
    for i, path in enumerate(event.reference_paths[:7]):
        previous = old_traces[i] if i < len(old_traces) else None
        if previous is not None and _same_path(previous, origin, path):
            traces.append(previous)  # keeps pathDeltaTime and unavailable deltas
        else:
            traces.append(_trace_value(path, origin))
    return {**(old or {}), "traces": traces or [[]]}


def _same_path(trace: list[Mapping[str, Any]], origin: Mapping[str, Any], path: common_pb2.Path) -> bool:
    probe = common_pb2.Path()
    _trace(probe, trace, origin)
    return list(probe.points) == list(path.points)


def _trace_value(path: common_pb2.Path, origin: Mapping[str, Any]) -> list[dict[str, Any]]:
    lat, lon = origin["latitude"], origin["longitude"]
    altitude = origin["altitude"]["altitudeValue"]
    points = []
    for p in path.points[:40]:
        new_lat, new_lon = round(p.latitude_deg * 1e7), round(p.longitude_deg * 1e7)
        d_alt = 12800
        if p.HasField("elevation_m") and altitude != 800_001:
            new_alt = round(p.elevation_m * 100)
            d_alt = min(max(new_alt - altitude, -_ALTITUDE_DELTA_LIMIT), _ALTITUDE_DELTA_LIMIT)
            altitude += d_alt
        d_lat = min(max(new_lat - lat, -_DELTA_LIMIT), _DELTA_LIMIT)
        d_lon = min(max(new_lon - lon, -_DELTA_LIMIT), _DELTA_LIMIT)
        lat, lon = lat + d_lat, lon + d_lon
        points.append({"pathPosition": {"deltaLatitude": d_lat, "deltaLongitude": d_lon, "deltaAltitude": d_alt}})
    return points

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

from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.spatial import Dimensions, Position, PositionAccuracy
from roadlink.domain.vehicle import TransmissionState, VehicleState

__all__ = [
    "ITS_EPOCH_UNIX_MS",
    "cam_to_vehicle_state",
    "denm_is_termination",
    "denm_to_road_side_info",
    "resolve_generation_delta_time",
    "timestamp_its_to_unix_ms",
    "unix_ms_to_timestamp_its",
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

"""Decoded J2735 SDSM and PSM -> `PerceptionFrame` in SI units.

Why a PSM becomes a perception frame, not a VehicleState: a PSM is a vulnerable road user (pedestrian,
cyclist, public-safety worker, animal) reporting itself. VehicleState is a vehicle's own state (transmission,
brakes, vehicle size) and has no class; fusion handles VRUs as classified objects. So a PSM maps to a one-object
PerceptionFrame whose source is the device (``j2735-psm:<TemporaryID hex>``), the object's class from basicType,
and its covariance from the accuracy ellipse; fusion then treats it like any other detection of that VRU.

Scaling (every "unavailable" code becomes None / an absent field):

    SDSM refPos + pos     offsetX / offsetY / offsetZ 0.1 m east / north / up of refPos -> WGS84 (LocalOrigin);
                          up is added to refPos's elevation (0.1 m, -4096 unavailable) when both are known
    speed                 0.02 m/s, 8191 -> None         heading    0.0125 deg, 28800 -> None
    objTypeCfd            percent -> 0..1, 101 -> None
    posConfidence.pos     PositionConfidence (a500m .. a1cm) -> an isotropic covariance with that sigma
    measurementTime       ms relative to the SDSM time -> measurement_time_unix_ms
    detVeh.size           VehicleSize 1 cm (0 unavailable), height 5 cm;  detObst.obstSize 0.1 m
    class                 objType vehicle -> VEHICLE (PASSENGER_CAR / BUS / TRUCK ... are not told apart),
                          vru -> PEDESTRIAN unless detVRU.basicType says aPEDALCYCLIST (BICYCLE) or anANIMAL,
                          animal -> ANIMAL, unknown -> UNKNOWN; detObst -> OBSTACLE
    SDSM time             sDSMTimeStamp (DDateTime): with year, month, day, hour, minute and second all sent, that
                          instant (minus offset minutes); otherwise its second (ms of the minute) resolved like a
                          BSM secMark, or the reference clock when that is missing too
    PSM time              secMark, resolved like a BSM's;  PSM position, accuracy as in the BSM

The frame's source_id is ``j2735-sdsm:<sourceID hex>``, frame_sequence the msgCnt (0..127, rolling).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from typing import Any, Final

from roadlink.codec.j2735_mapping import resolve_sec_mark
from roadlink.codec.j2735_psm import PSM_MESSAGE_ID
from roadlink.codec.j2735_sdsm import SDSM_MESSAGE_ID
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.spatial import Covariance2D, Dimensions, Position

__all__ = ["frame_to_perception", "psm_to_perception_frame", "sdsm_to_perception_frame"]

_LATITUDE_LIMIT: Final = 900_000_000
_LONGITUDE_LIMIT: Final = 1_800_000_000
_ELEVATION_UNAVAILABLE: Final = -4096
_SPEED_UNAVAILABLE: Final = 8191
_HEADING_UNAVAILABLE: Final = 28800
_CONFIDENCE_UNAVAILABLE: Final = 101
_ACCURACY_UNAVAILABLE: Final = 255
_POSITION_SIGMA_M: Final = {
    "a500m": 500.0,
    "a200m": 200.0,
    "a100m": 100.0,
    "a50m": 50.0,
    "a20m": 20.0,
    "a10m": 10.0,
    "a5m": 5.0,
    "a2m": 2.0,
    "a1m": 1.0,
    "a50cm": 0.5,
    "a20cm": 0.2,
    "a10cm": 0.1,
    "a5cm": 0.05,
    "a2cm": 0.02,
    "a1cm": 0.01,
}
_OBJECT_CLASSES: Final = {
    "unknown": ObjectClass.UNKNOWN,
    "vehicle": ObjectClass.VEHICLE,
    "vru": ObjectClass.PEDESTRIAN,
    "animal": ObjectClass.ANIMAL,
}
_VRU_CLASSES: Final = {
    "aPEDESTRIAN": ObjectClass.PEDESTRIAN,
    "aPEDALCYCLIST": ObjectClass.BICYCLE,
    "aPUBLICSAFETYWORKER": ObjectClass.PEDESTRIAN,
    "anANIMAL": ObjectClass.ANIMAL,
}


def frame_to_perception(frame: Mapping[str, Any], reference_unix_ms: int) -> PerceptionFrame:
    """A decoded MessageFrame holding an SDSM or a PSM -> PerceptionFrame.

    Raises:
        ValidationError: reason "wrong_message" for any other frame, else as the message's own mapping.
    """
    message_id, value = frame.get("messageId"), frame.get("value")
    if isinstance(value, Mapping) and message_id == SDSM_MESSAGE_ID:
        return sdsm_to_perception_frame(value, reference_unix_ms)
    if isinstance(value, Mapping) and message_id == PSM_MESSAGE_ID:
        return psm_to_perception_frame(value, reference_unix_ms)
    raise ValidationError("wrong_message", f"messageId {message_id!r} is not an SDSM or a PSM", field="messageId")


# --- SDSM -----------------------------------------------------------------------------------------------------------


def sdsm_to_perception_frame(sdsm: Mapping[str, Any], reference_unix_ms: int) -> PerceptionFrame:
    """A decoded SensorDataSharingMessage -> PerceptionFrame with every detected object in WGS84.

    Raises:
        ValidationError: reason "position_unavailable" when refPos is unavailable, "out_of_range" for a
            reserved DSecond or an impossible date.
    """
    source_id = f"j2735-sdsm:{bytes(sdsm['sourceID']).hex()}"
    time_unix_ms = resolve_date_time(sdsm["sDSMTimeStamp"], reference_unix_ms)
    reference = _position(sdsm["refPos"], "refPos")
    origin = LocalOrigin(reference.latitude_deg, reference.longitude_deg, reference.elevation_m or 0.0)
    objects = tuple(_detected(obj, origin, reference, time_unix_ms) for obj in sdsm["objects"])
    return PerceptionFrame(
        source_id=source_id,
        frame_sequence=sdsm["msgCnt"],
        time_unix_ms=time_unix_ms,
        objects=objects,
        provenance=Provenance(source_id=source_id, source_time_unix_ms=time_unix_ms),
        reference_position=reference,
    )


def resolve_date_time(value: Mapping[str, Any], reference_unix_ms: int) -> int:
    """Unix ms of a DDateTime (see the module docstring for partial ones).

    Raises:
        ValidationError: reason "out_of_range" for an impossible date or a reserved DSecond.
    """
    parts = [value.get(key) for key in ("year", "month", "day", "hour", "minute", "second")]
    if any(part is None for part in parts):
        second = value.get("second")
        return reference_unix_ms if second is None else resolve_sec_mark(second, reference_unix_ms)
    year, month, day, hour, minute, second = (int(part) for part in parts if part is not None)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61_000):
        raise ValidationError("out_of_range", f"DDateTime {dict(value)} is not a time", field="sDSMTimeStamp")
    try:
        start = calendar.timegm((year, month, day, hour, minute, 0)) * 1000
    except (ValueError, OverflowError) as exc:
        raise ValidationError("out_of_range", f"DDateTime {dict(value)}: {exc}", field="sDSMTimeStamp") from exc
    offset_minutes: int = value.get("offset", 0)
    return start + min(second, 59_999) - offset_minutes * 60_000


def _position(position: Mapping[str, Any], where: str) -> Position:
    lat, lon = position["lat"], position["long"]
    if not (-_LATITUDE_LIMIT <= lat <= _LATITUDE_LIMIT and -_LONGITUDE_LIMIT <= lon <= _LONGITUDE_LIMIT):
        raise ValidationError("position_unavailable", f"{where} {lat}, {lon} is unavailable", field=where)
    elevation = position.get("elevation")
    elevation_m = None if elevation is None or elevation == _ELEVATION_UNAVAILABLE else elevation / 10
    return Position(lat / 1e7, lon / 1e7, elevation_m)


def _detected(obj: Mapping[str, Any], origin: LocalOrigin, reference: Position, time_unix_ms: int) -> DetectedObject:
    common = obj["detObjCommon"]
    pos = common["pos"]
    offset_z = pos.get("offsetZ")
    up_m = offset_z / 10 if offset_z is not None else 0.0
    lat, lon, _ = origin.to_geodetic(pos["offsetX"] / 10, pos["offsetY"] / 10, up_m)
    has_height = reference.elevation_m is not None and offset_z is not None
    elevation_m = reference.elevation_m + up_m if has_height and reference.elevation_m is not None else None
    sigma = _POSITION_SIGMA_M.get(common["posConfidence"]["pos"])
    kind, details = obj.get("detObjOptData", (None, None))
    return DetectedObject(
        object_id=common["objectID"],
        object_class=_object_class(common["objType"], kind, details),
        position=Position(lat, lon, elevation_m),
        class_confidence=None if common["objTypeCfd"] == _CONFIDENCE_UNAVAILABLE else common["objTypeCfd"] / 100,
        speed_mps=_scaled(common["speed"], _SPEED_UNAVAILABLE, 0.02),
        heading_deg=_scaled(common["heading"], _HEADING_UNAVAILABLE, 0.0125),
        size=_size(kind, details),
        position_covariance=None if sigma is None else Covariance2D.isotropic(sigma),
        measurement_time_unix_ms=time_unix_ms + common["measurementTime"],
    )


def _object_class(obj_type: str | int, kind: str | None, details: Any) -> ObjectClass:
    if kind == "detObst":
        return ObjectClass.OBSTACLE
    if kind == "detVRU" and isinstance(details, Mapping) and details.get("basicType") in _VRU_CLASSES:
        return _VRU_CLASSES[details["basicType"]]
    return _OBJECT_CLASSES.get(obj_type, ObjectClass.UNKNOWN) if isinstance(obj_type, str) else ObjectClass.UNKNOWN


def _size(kind: str | None, details: Any) -> Dimensions | None:
    if kind == "detObst" and isinstance(details, Mapping):
        size = details["obstSize"]
        height = size.get("height")
        return Dimensions(size["length"] / 10, size["width"] / 10, None if height is None else height / 10)
    if kind == "detVeh" and isinstance(details, Mapping) and "size" in details:
        size = details["size"]
        if size["width"] == 0 or size["length"] == 0:
            return None
        height = details.get("height")
        return Dimensions(size["length"] / 100, size["width"] / 100, None if height is None else height * 0.05)
    return None


def _scaled(value: int, unavailable: int, unit: float) -> float | None:
    return None if value == unavailable else value * unit


# --- PSM ------------------------------------------------------------------------------------------------------------


def psm_to_perception_frame(psm: Mapping[str, Any], reference_unix_ms: int) -> PerceptionFrame:
    """A decoded PersonalSafetyMessage -> a one-object PerceptionFrame (see the module docstring for why).

    Raises:
        ValidationError: reason "position_unavailable" when the position is unavailable, "out_of_range" for a
            reserved secMark.
    """
    temporary_id = bytes(psm["id"])
    source_id = f"j2735-psm:{temporary_id.hex()}"
    time_unix_ms = resolve_sec_mark(psm["secMark"], reference_unix_ms)
    accuracy = psm["accuracy"]
    axes = (accuracy["semiMajor"], accuracy["semiMinor"])
    sigma = None if _ACCURACY_UNAVAILABLE in axes else max(axes) * 0.05  # the larger axis: a conservative circle
    obj = DetectedObject(
        object_id=int.from_bytes(temporary_id, "big"),
        object_class=_VRU_CLASSES.get(psm["basicType"], ObjectClass.UNKNOWN),
        position=_position(psm["position"], "position"),
        speed_mps=_scaled(psm["speed"], _SPEED_UNAVAILABLE, 0.02),
        heading_deg=_scaled(psm["heading"], _HEADING_UNAVAILABLE, 0.0125),
        position_covariance=None if sigma is None else Covariance2D.isotropic(sigma),
        measurement_time_unix_ms=time_unix_ms,
    )
    return PerceptionFrame(
        source_id=source_id,
        frame_sequence=psm["msgCnt"],
        time_unix_ms=time_unix_ms,
        objects=(obj,),
        provenance=Provenance(source_id=source_id, source_time_unix_ms=time_unix_ms),
    )

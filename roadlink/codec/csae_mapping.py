"""Decoded CSAE 53 BSM / RSM / SPAT (as `roadlink.codec.csae` returns them) <-> domain objects in SI units, and back.

Scaling, per the CSAE field facts (an "unavailable" code becomes None / an absent field):

    lat / long    1e-7 deg (900000001 / 1800000001: ValidationError "position_unavailable")
    elevation     0.1 m, -4096 -> None           VertOffset-Bnn  0.1 m steps relative to refPos elevation
    speed         0.02 m/s, 8191 -> None         heading         0.0125 deg, 28800 -> None
    angle         1.5 deg, 127 -> None           accel long/lat  0.01 m/s^2, 2001 -> None
    vert accel    0.02 g, -127 -> None           yaw             0.01 deg/s
    accuracy      semi-axes 0.05 m (255 -> no ellipse), orientation 360/65535 deg (65535 -> None)
    size          width / length 1 cm (0 -> no size), height 5 cm
    id            8 octets -> VehicleState.temporary_id as is; RSM / RSI ids -> source_id as hex
    vehicleClass  BasicVehicleClass code ranges -> ObjectClass (see `object_class_of`)

Positions in RSM participants are PositionOffsetLL choices: an offset alternative (1e-7 deg steps) adds to refPos,
`position-LatLon` is absolute. SPAT countdowns (`counting`, 0.1 s) are relative to the intersection's own
moy + timeStamp (else the message's), which resolve to an absolute time against the reference clock; `utcTiming`
holds absolute TimeMarks (0.1 s of the UTC hour). LightState <-> MovementPhase is a bijection on the nine states:
flashing-green -> permissive clearance, yellow -> protected clearance, flashing-yellow -> caution, the rest by name;
PRE_MOVEMENT (red + amber, unused in China) encodes as red.

The inverse functions (`*_to_bsm`, `*_to_rsm`, `*_to_spat`) build a value `csae.encode_frame` accepts. Fields v1
has no room for (RSM participant ids, motion confidences, nextDuration, brake details, the offset alternative a
position was sent in, ...) are taken from `template`, the decoded value the v1 object came from, so that
decode -> v1 -> encode(template=decoded) reproduces the original octets; without a template they get neutral
values ("unavailable", absent). When no template is passed and the v1 object carries the frame it came from
(`provenance.air_message`, a CSAE frame of the same message), that frame's decoded value is the template
(`air_template`); `roadlink.codec.lossless` sets it and re-sends unchanged messages byte for byte.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from v2x.common.v1 import common_pb2

from roadlink.codec import csae
from roadlink.codec.air_message import kept_air_message
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.j2735_mapping import SEC_MARK_UNAVAILABLE, resolve_sec_mark
from roadlink.codec.j2735_spat import resolve_message_time, resolve_time_mark
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from roadlink.domain.spatial import Dimensions, Position, PositionAccuracy
from roadlink.domain.vehicle import TransmissionState, VehicleState

__all__ = [
    "STANDARD_GRAVITY_MPS2",
    "absolute_position",
    "basic_vehicle_class_of",
    "bsm_to_vehicle_state",
    "moy_and_dsecond",
    "object_class_of",
    "offset_position",
    "perception_frame_to_rsm",
    "position_of",
    "position_value",
    "rsm_to_perception_frame",
    "signals_to_spat",
    "spat_to_signals",
    "vehicle_state_to_bsm",
]

T = TypeVar("T")

STANDARD_GRAVITY_MPS2: Final = 9.80665
LAT_UNAVAILABLE: Final = 900_000_001
LON_UNAVAILABLE: Final = 1_800_000_001
ELEVATION_UNAVAILABLE: Final = -4096
_SPEED_NA: Final = 8191
_HEADING_NA: Final = 28800
_ANGLE_NA: Final = 127
_ACCEL_NA: Final = 2001
_VERT_NA: Final = -127
_AXIS_NA: Final = 255
_ORIENTATION_NA: Final = 65535
_TIME_MARK_MAX: Final = 36000
_TIME_MARK_NA: Final = 36001
_MINUTE_MS: Final = 60_000

_TRANSMISSION: Final = {
    "neutral": TransmissionState.NEUTRAL,
    "park": TransmissionState.PARK,
    "forwardGears": TransmissionState.FORWARD_GEARS,
    "reverseGears": TransmissionState.REVERSE_GEARS,
}
_TRANSMISSION_NAME: Final = {v: k for k, v in _TRANSMISSION.items()}

_CLASS_RANGES: Final = (
    (10, 20, ObjectClass.PASSENGER_CAR),
    (20, 25, ObjectClass.LIGHT_TRUCK),
    (25, 40, ObjectClass.TRUCK),
    (40, 50, ObjectClass.MOTORCYCLE),
    (50, 60, ObjectClass.BUS),
    (60, 70, ObjectClass.EMERGENCY_VEHICLE),
    (81, 84, ObjectClass.PEDESTRIAN),
    (84, 85, ObjectClass.BICYCLE),
)
"""BasicVehicleClass code ranges [lo, hi) -> ObjectClass; other codes give VEHICLE (1..79) or UNKNOWN."""
_CLASS_CODE: Final = {cls: lo for lo, _, cls in _CLASS_RANGES} | {ObjectClass.VEHICLE: 1, ObjectClass.UNKNOWN: 0}

_PTC_CLASS: Final = {
    "unknown": ObjectClass.UNKNOWN,
    "motor": ObjectClass.VEHICLE,
    "non-motor": ObjectClass.BICYCLE,
    "pedestrian": ObjectClass.PEDESTRIAN,
    "rsu": ObjectClass.OBSTACLE,
}
_MOTOR: Final = frozenset(
    {
        ObjectClass.VEHICLE,
        ObjectClass.PASSENGER_CAR,
        ObjectClass.BUS,
        ObjectClass.LIGHT_TRUCK,
        ObjectClass.TRUCK,
        ObjectClass.MOTORCYCLE,
        ObjectClass.EMERGENCY_VEHICLE,
    }
)

_LIGHTS: Final = {
    "unavailable": MovementPhase.UNAVAILABLE,
    "dark": MovementPhase.DARK,
    "flashing-red": MovementPhase.STOP_THEN_PROCEED,
    "red": MovementPhase.STOP_AND_REMAIN,
    "flashing-green": MovementPhase.PERMISSIVE_CLEARANCE,
    "permissive-green": MovementPhase.PERMISSIVE_MOVEMENT_ALLOWED,
    "protected-green": MovementPhase.PROTECTED_MOVEMENT_ALLOWED,
    "yellow": MovementPhase.PROTECTED_CLEARANCE,
    "flashing-yellow": MovementPhase.CAUTION_CONFLICTING_TRAFFIC,
}
_LIGHT_NAME: Final = {v: k for k, v in _LIGHTS.items()} | {MovementPhase.PRE_MOVEMENT: "red"}

_LL_BITS: Final = {
    "position-LL1": 12,
    "position-LL2": 14,
    "position-LL3": 16,
    "position-LL4": 18,
    "position-LL5": 22,
    "position-LL6": 24,
}
_V_BITS: Final = {"offset1": 7, "offset2": 8, "offset3": 9, "offset4": 10, "offset5": 11, "offset6": 12}


# --- small conversions ------------------------------------------------------------------------------------------------


def _scaled(value: int | None, unavailable: int, per_unit: float) -> float | None:
    """value / per_unit (LSBs per SI unit), or None when absent or the unavailable code."""
    return None if value is None or value == unavailable else value / per_unit


def _raw(value: float | None, unavailable: int, per_unit: float, lo: int, hi: int) -> int:
    """The inverse of `_scaled`, rounded to the nearest LSB and clamped to lo..hi (None -> unavailable)."""
    return unavailable if value is None else min(max(round(value * per_unit), lo), hi)


def _keep(
    template: Mapping[str, Any] | None, key: str, forward: Callable[[Any], object], value: object, fresh: Any
) -> Any:
    """The template's component when it maps to the same v1 value (many-to-one mappings), else `fresh`."""
    if template is not None and key in template and forward(template[key]) == value:
        return template[key]
    return fresh


def air_template(provenance: Provenance | common_pb2.Provenance | None, alternative: str) -> dict[str, Any] | None:
    """The decoded value of the CSAE `alternative` frame (e.g. "bsmFrame") in `provenance.air_message`, else None.

    Raises:
        EncodeError: the air_message is a CSAE frame that does not decode.
    """
    kept = kept_air_message(provenance, "csae53")
    if kept is None:
        return None
    try:
        name, value = csae.decode_frame(kept.uper)
    except DecodeError as exc:
        raise EncodeError(f"provenance.air_message is no CSAE frame: {exc}", path="provenance.air_message") from exc
    template: dict[str, Any] | None = value if name == alternative else None
    return template


def object_class_of(code: int) -> ObjectClass:
    """BasicVehicleClass (J2735 / CSAE code ranges) -> ObjectClass."""
    for lo, hi, cls in _CLASS_RANGES:
        if lo <= code < hi:
            return cls
    return ObjectClass.VEHICLE if 1 <= code < 80 else ObjectClass.UNKNOWN


def basic_vehicle_class_of(cls: ObjectClass) -> int:
    """ObjectClass -> the first BasicVehicleClass code of its range (0 = unknown)."""
    return _CLASS_CODE.get(cls, 0)


def moy_and_dsecond(unix_ms: int) -> tuple[int, int]:
    """(MinuteOfTheYear, ms within the minute) of an instant, UTC."""
    year_start = calendar.timegm((time.gmtime(unix_ms // 1000).tm_year, 1, 1, 0, 0, 0)) * 1000
    minutes, ms = divmod(unix_ms - year_start, _MINUTE_MS)
    return minutes, ms


# --- positions --------------------------------------------------------------------------------------------------------


def position_of(pos: Mapping[str, Any], field: str = "pos") -> Position:
    """A Position3D {lat, long, elevation?} -> Position.

    Raises:
        ValidationError: reason "position_unavailable" for the unavailable lat or long code.
    """
    if pos["lat"] == LAT_UNAVAILABLE or pos["long"] == LON_UNAVAILABLE:
        raise ValidationError("position_unavailable", f"{field}: latitude or longitude unavailable", field=field)
    return Position(pos["lat"] / 1e7, pos["long"] / 1e7, _scaled(pos.get("elevation"), ELEVATION_UNAVAILABLE, 10))


def position_value(position: Position, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Position -> Position3D; the elevation is sent when known or when the template sent one."""
    value: dict[str, Any] = {
        "lat": _raw(position.latitude_deg, LAT_UNAVAILABLE, 1e7, -900_000_000, 900_000_000),
        "long": _raw(position.longitude_deg, LON_UNAVAILABLE, 1e7, -1_799_999_999, 1_800_000_000),
    }
    if position.elevation_m is not None or (template is not None and "elevation" in template):
        value["elevation"] = _raw(position.elevation_m, ELEVATION_UNAVAILABLE, 10, -4095, 61439)
    return value


def absolute_position(offset: Mapping[str, Any], ref: Mapping[str, Any], field: str = "pos") -> Position:
    """A PositionOffsetLLV relative to the Position3D `ref` -> an absolute Position.

    Raises:
        ValidationError: reason "position_unavailable" when the result is not a valid latitude / longitude.
    """
    alt, ll = offset["offsetLL"]
    lat, lon = ll["lat"], ll["lon"]
    if alt != "position-LatLon":
        lat, lon = ref["lat"] + lat, ref["long"] + lon
    if not (-900_000_000 <= lat <= 900_000_000 and -1_800_000_000 <= lon <= 1_800_000_000):
        raise ValidationError("position_unavailable", f"{field}: latitude or longitude unavailable", field=field)
    elevation: float | None = None
    if "offsetV" in offset:
        v_alt, v = offset["offsetV"]
        base = ref.get("elevation", ELEVATION_UNAVAILABLE)
        if v_alt == "elevation":
            elevation = _scaled(v, ELEVATION_UNAVAILABLE, 10)
        elif base != ELEVATION_UNAVAILABLE:
            elevation = (base + v) / 10
    return Position(lat / 1e7, lon / 1e7, elevation)


def offset_position(
    position: Position, ref: Mapping[str, Any], template: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """An absolute Position -> PositionOffsetLLV relative to `ref`, in the template's alternatives when they fit.

    Without a template the smallest offset alternative that holds the offset is used (absolute when none does).
    """
    if template is not None and _same_position(template, ref, position):
        return dict(template)  # keeps what v1 cannot say: e.g. a vertical offset from a refPos without elevation
    lat = round(position.latitude_deg * 1e7)
    lon = round(position.longitude_deg * 1e7)
    want = template["offsetLL"][0] if template is not None else None
    value: dict[str, Any] = {"offsetLL": _ll_choice(lat - ref["lat"], lon - ref["long"], lat, lon, want)}
    vertical = _vertical(
        position.elevation_m, ref, template["offsetV"][0] if template and "offsetV" in template else None
    )
    if vertical is not None:
        value["offsetV"] = vertical
    return value


def _same_position(template: Mapping[str, Any], ref: Mapping[str, Any], position: Position) -> bool:
    try:
        return absolute_position(template, ref) == position
    except (ValidationError, KeyError, TypeError):
        return False


def _ll_choice(dlat: int, dlon: int, lat: int, lon: int, want: str | None) -> tuple[str, dict[str, int]]:
    if want == "position-LatLon":
        return want, {"lon": lon, "lat": lat}
    order = [want] if want in _LL_BITS else []
    for alt in [*order, *_LL_BITS]:
        half = 1 << (_LL_BITS[alt] - 1)
        if -half <= dlat < half and -half <= dlon < half:
            return alt, {"lon": dlon, "lat": dlat}
    return "position-LatLon", {"lon": lon, "lat": lat}


def _vertical(elevation_m: float | None, ref: Mapping[str, Any], want: str | None) -> tuple[str, int] | None:
    if elevation_m is None:
        return None
    absolute = round(elevation_m * 10)
    base = ref.get("elevation", ELEVATION_UNAVAILABLE)
    if want != "elevation" and base != ELEVATION_UNAVAILABLE:
        order = [want] if want in _V_BITS else []
        for alt in [*order, *_V_BITS]:
            half = 1 << (_V_BITS[alt] - 1)
            if -half <= absolute - base < half:
                return alt, absolute - base
    return "elevation", min(max(absolute, -4095), 61439)


# --- BSM <-> VehicleState ---------------------------------------------------------------------------------------------


def bsm_to_vehicle_state(bsm: Mapping[str, Any], reference_unix_ms: int) -> VehicleState:
    """A decoded CSAE BasicSafetyMessage -> VehicleState (see the module docstring for every scaling).

    Raises:
        ValidationError: "position_unavailable" for an unavailable lat / long, "out_of_range" for a reserved secMark.
    """
    accel, size = bsm["accelSet"], bsm["size"]
    return VehicleState(
        temporary_id=bytes(bsm["id"]),
        time_unix_ms=resolve_sec_mark(bsm["secMark"], reference_unix_ms),
        position=position_of(bsm["pos"]),
        message_count=bsm["msgCnt"],
        accuracy=_accuracy(bsm.get("posAccuracy")),
        speed_mps=_scaled(bsm["speed"], _SPEED_NA, 50),
        heading_deg=_scaled(bsm["heading"], _HEADING_NA, 80),
        steering_wheel_angle_deg=_scaled(bsm.get("angle"), _ANGLE_NA, 1 / 1.5),
        longitudinal_acceleration_mps2=_scaled(accel["long"], _ACCEL_NA, 100),
        lateral_acceleration_mps2=_scaled(accel["lat"], _ACCEL_NA, 100),
        vertical_acceleration_mps2=_scaled(accel["vert"], _VERT_NA, 50 / STANDARD_GRAVITY_MPS2),
        yaw_rate_deg_per_s=accel["yaw"] / 100,
        transmission=_TRANSMISSION.get(bsm["transmission"], TransmissionState.UNSPECIFIED),
        size=_size(size),
        vehicle_class=object_class_of(bsm["vehicleClass"]["classification"]),
    )


def _accuracy(accuracy: Mapping[str, int] | None) -> PositionAccuracy | None:
    if accuracy is None or _AXIS_NA in (accuracy["semiMajor"], accuracy["semiMinor"]):
        return None
    orientation = _scaled(accuracy["orientation"], _ORIENTATION_NA, 65535 / 360)
    return PositionAccuracy(accuracy["semiMajor"] / 20, accuracy["semiMinor"] / 20, orientation)


def _size(size: Mapping[str, int]) -> Dimensions | None:
    if size["width"] == 0 or size["length"] == 0:
        return None
    height = size["height"] * 0.05 if "height" in size else None
    return Dimensions(size["length"] / 100, size["width"] / 100, height)


def _size_value(size: Dimensions | None, template: Mapping[str, Any] | None) -> dict[str, int]:
    if size is None:
        value = {"width": 0, "length": 0}
    else:
        value = {"width": _raw(size.width_m, 0, 100, 0, 1023), "length": _raw(size.length_m, 0, 100, 0, 4095)}
    height = size.height_m if size is not None else None
    if height is not None:
        value["height"] = min(max(round(height / 0.05), 0), 127)
    elif template is not None and "height" in template and size is None:
        value["height"] = template["height"]
    return value


def vehicle_state_to_bsm(state: VehicleState, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """VehicleState -> a CSAE BasicSafetyMessage value (`template`: see the module docstring).

    Raises:
        ValidationError: reason "out_of_range" when the temporary id is not 8 octets (4-octet J2735 ids are
            zero-padded on the left).
    """
    t = template or air_template(state.provenance, "bsmFrame") or {}
    value = dict(t)
    accel_t = t.get("accelSet", {})
    value.update(
        msgCnt=state.message_count % 128,
        id=_id8(state.temporary_id),
        secMark=_sec_mark_value(state.time_unix_ms, t.get("secMark"), keep_unavailable=True),
        pos=position_value(state.position, t.get("pos")),
        transmission=_keep(
            t,
            "transmission",
            _transmission,
            state.transmission,
            _TRANSMISSION_NAME.get(state.transmission, "unavailable"),
        ),
        speed=_raw(state.speed_mps, _SPEED_NA, 50, 0, 8190),
        heading=_raw(state.heading_deg, _HEADING_NA, 80, 0, 28799)
        if state.heading_deg is None
        else round(state.heading_deg * 80) % 28800,
        accelSet={
            "long": _raw(state.longitudinal_acceleration_mps2, _ACCEL_NA, 100, -2000, 2000),
            "lat": _raw(state.lateral_acceleration_mps2, _ACCEL_NA, 100, -2000, 2000),
            "vert": _raw(state.vertical_acceleration_mps2, _VERT_NA, 50 / STANDARD_GRAVITY_MPS2, -126, 127),
            "yaw": _raw(state.yaw_rate_deg_per_s, 0, 100, -32767, 32767)
            if state.yaw_rate_deg_per_s is not None
            else accel_t.get("yaw", 0),
        },
        size=_keep(t, "size", _size, state.size, _size_value(state.size, t.get("size"))),
        vehicleClass=_vehicle_class(state.vehicle_class, t.get("vehicleClass")),
    )
    value.setdefault("brakes", {})
    _optional(
        value,
        "angle",
        _raw(state.steering_wheel_angle_deg, _ANGLE_NA, 1 / 1.5, -126, 126),
        state.steering_wheel_angle_deg is not None,
    )
    _optional(value, "posAccuracy", _accuracy_value(state.accuracy), state.accuracy is not None)
    return value


def _sec_mark_value(unix_ms: int, old: int | None, *, keep_unavailable: bool) -> int:
    """The DSecond of `unix_ms`, or the template's `old` one when it says the same (a leap-second code), or when it
    is "unavailable" and the time came from the reference clock (`keep_unavailable`)."""
    if old == SEC_MARK_UNAVAILABLE and keep_unavailable:
        return old
    if old is not None and old != SEC_MARK_UNAVAILABLE:
        try:
            if resolve_sec_mark(old, unix_ms) == unix_ms:
                return old
        except ValidationError:
            pass
    return unix_ms % _MINUTE_MS


def _optional(value: dict[str, Any], key: str, fresh: Any, present: bool) -> None:
    """Set an optional component from v1 when v1 has it; drop it when v1 says unavailable and the template's agrees."""
    if present:
        value[key] = fresh
    elif key in value and key == "angle" and value[key] != _ANGLE_NA:
        value[key] = _ANGLE_NA
    elif key == "posAccuracy" and key in value and _accuracy(value[key]) is not None:
        del value[key]


def _accuracy_value(accuracy: PositionAccuracy | None) -> dict[str, int]:
    if accuracy is None:
        return {"semiMajor": _AXIS_NA, "semiMinor": _AXIS_NA, "orientation": _ORIENTATION_NA}
    return {
        "semiMajor": _raw(accuracy.semi_major_m, _AXIS_NA, 20, 0, 254),
        "semiMinor": _raw(accuracy.semi_minor_m, _AXIS_NA, 20, 0, 254),
        "orientation": _raw(accuracy.semi_major_orientation_deg, _ORIENTATION_NA, 65535 / 360, 0, 65534),
    }


def _transmission(name: str) -> TransmissionState:
    return _TRANSMISSION.get(name, TransmissionState.UNSPECIFIED)


def _vehicle_class(cls: ObjectClass, template: Mapping[str, Any] | None) -> dict[str, Any]:
    if template is not None and object_class_of(template["classification"]) == cls:
        return dict(template)
    return {"classification": basic_vehicle_class_of(cls)}


def _id8(identifier: bytes) -> bytes:
    if len(identifier) > 8:
        raise ValidationError("out_of_range", f"id of {len(identifier)} octets does not fit 8", field="id")
    return identifier.rjust(8, b"\0")


# --- RSM <-> PerceptionFrame ------------------------------------------------------------------------------------------


def rsm_to_perception_frame(rsm: Mapping[str, Any], reference_unix_ms: int) -> PerceptionFrame:
    """A decoded RoadsideSafetyMessage -> PerceptionFrame (source id = RSU id as hex, sequence = msgCnt).

    The frame time is the latest participant secMark (the RSM itself has no time stamp); each object's
    `sensor_ids` holds its CSAE source type (video, microwaveRadar, lidar, ...).
    """
    ref = rsm["refPos"]
    objects = tuple(_participant(p, ref, reference_unix_ms, i) for i, p in enumerate(rsm["participants"]))
    times = [o.measurement_time_unix_ms for o in objects if o.measurement_time_unix_ms is not None]
    frame_time = max(times) if times else reference_unix_ms
    source_id = bytes(rsm["id"]).hex()
    provenance = Provenance(source_id, frame_time, source_sequence=rsm["msgCnt"])
    return PerceptionFrame(source_id, rsm["msgCnt"], frame_time, objects, provenance, position_of(ref, "refPos"))


def _participant_class(p: Mapping[str, Any]) -> ObjectClass:
    """ptcType, refined by vehicleClass for a motor vehicle."""
    if "vehicleClass" in p and p["ptcType"] == "motor":
        return object_class_of(p["vehicleClass"]["classification"])
    return _PTC_CLASS.get(p["ptcType"], ObjectClass.UNKNOWN)


def _participant(p: Mapping[str, Any], ref: Mapping[str, Any], reference_unix_ms: int, i: int) -> DetectedObject:
    cls = _participant_class(p)
    sec_mark = p["secMark"]
    return DetectedObject(
        object_id=p["ptcId"],
        object_class=cls,
        position=absolute_position(p["pos"], ref, f"participants[{i}].pos"),
        speed_mps=_scaled(p["speed"], _SPEED_NA, 50),
        heading_deg=_scaled(p["heading"], _HEADING_NA, 80),
        acceleration_mps2=_scaled(p["accelSet"]["long"], _ACCEL_NA, 100) if "accelSet" in p else None,
        size=_size(p["size"]),
        sensor_ids=(str(p["source"]),),
        measurement_time_unix_ms=None
        if sec_mark == SEC_MARK_UNAVAILABLE
        else resolve_sec_mark(sec_mark, reference_unix_ms),
    )


def perception_frame_to_rsm(
    frame: PerceptionFrame, rsu_id: bytes, template: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """PerceptionFrame -> a RoadsideSafetyMessage value (at most 16 objects, the first 16).

    `rsu_id` is the 8-octet RSU id; refPos is the frame's reference position, else the first object's position.

    Raises:
        ValidationError: reason "wrong_shape" for a frame without objects.
    """
    if not frame.objects:
        raise ValidationError("wrong_shape", "an RSM needs at least one participant", field="objects")
    template = template or air_template(frame.provenance, "rsmFrame")
    t = template or {}
    ref_position = frame.reference_position or frame.objects[0].position
    ref = position_value(ref_position, t.get("refPos"))
    old = t.get("participants", [])
    participants = [
        _participant_value(o, ref, frame.time_unix_ms, old[i] if i < len(old) else None)
        for i, o in enumerate(frame.objects[:16])
    ]
    value = dict(t)
    value.update(msgCnt=frame.frame_sequence % 128, id=_id8(rsu_id), refPos=ref, participants=participants)
    return value


def _participant_value(
    o: DetectedObject, ref: Mapping[str, Any], frame_time: int, template: Mapping[str, Any] | None
) -> dict[str, Any]:
    t = template or {}
    kept = template is not None and _participant_class(template) == o.object_class
    if kept:
        ptc = t["ptcType"]
    elif o.object_class in _MOTOR:
        ptc = "motor"
    else:
        ptc = {v: k for k, v in _PTC_CLASS.items()}.get(o.object_class, "unknown")
    value = dict(t)
    value.update(
        ptcType=ptc,
        ptcId=o.object_id % 65536,
        source=o.sensor_ids[0] if o.sensor_ids and o.sensor_ids[0] in _SOURCES else t.get("source", "unknown"),
        secMark=SEC_MARK_UNAVAILABLE
        if o.measurement_time_unix_ms is None
        else _sec_mark_value(o.measurement_time_unix_ms, t.get("secMark"), keep_unavailable=False),
        pos=offset_position(o.position, ref, t.get("pos")),
        posConfidence=t.get("posConfidence", {"pos": "unavailable"}),
        speed=_raw(o.speed_mps, _SPEED_NA, 50, 0, 8190),
        heading=_raw(o.heading_deg, _HEADING_NA, 80, 0, 28799)
        if o.heading_deg is None
        else round(o.heading_deg * 80) % 28800,
        size=_keep(t, "size", _size, o.size, _size_value(o.size, t.get("size"))),
    )
    if not kept and ptc == "motor":
        if o.object_class == ObjectClass.VEHICLE:
            value.pop("vehicleClass", None)
        else:
            value["vehicleClass"] = _vehicle_class(o.object_class, t.get("vehicleClass"))
    if o.acceleration_mps2 is not None:
        accel = dict(t.get("accelSet", {"lat": _ACCEL_NA, "vert": _VERT_NA, "yaw": 0}))
        accel["long"] = _raw(o.acceleration_mps2, _ACCEL_NA, 100, -2000, 2000)
        value["accelSet"] = accel
    return value


_SOURCES: Final = frozenset({"unknown", "selfinfo", "v2x", "video", "microwaveRadar", "loop", "lidar", "integrated"})


# --- SPAT <-> SignalPhaseAndTiming ------------------------------------------------------------------------------------


def spat_to_signals(spat: Mapping[str, Any], reference_unix_ms: int) -> tuple[SignalPhaseAndTiming, ...]:
    """A decoded CSAE SPAT -> one SignalPhaseAndTiming per intersection, every time absolute (unix ms).

    Raises:
        ValidationError: reason "out_of_range" for a reserved moy / timeStamp / TimeMark.
    """
    return tuple(_intersection(i, spat, reference_unix_ms) for i in spat["intersections"])


def _intersection(state: Mapping[str, Any], spat: Mapping[str, Any], reference_unix_ms: int) -> SignalPhaseAndTiming:
    moy = state.get("moy", spat.get("moy"))
    stamp = state.get("timeStamp", spat.get("timeStamp"))
    now = resolve_message_time(moy, stamp, reference_unix_ms)
    bits, _ = state["status"]
    movements = tuple(
        MovementState(phase["id"], tuple(_event(s, now) for s in phase["phaseStates"])) for phase in state["phases"]
    )
    node = state["intersectionId"]
    return SignalPhaseAndTiming(
        node["id"],
        now,
        movements,
        region=node.get("region"),
        revision=spat["msgCnt"],
        status_flags=bits,
        name=spat.get("name", ""),
    )


_COUNTING_KEYS: Final = ("startTime", "minEndTime", "maxEndTime", "likelyEndTime", "nextStartTime")
_UTC_KEYS: Final = ("startUTCTime", "minEndUTCTime", "maxEndUTCTime", "likelyEndUTCTime", "nextStartUTCTime")


def _time_at(kind: str, raw: int | None, now: int) -> int | None:
    """Unix ms of a countdown (0.1 s from `now`; 36001 and above unknown) or a UTC TimeMark; None when unknown."""
    if raw is None:
        return None
    if kind == "counting":
        return None if raw >= _TIME_MARK_NA else now + 100 * raw
    return resolve_time_mark(raw, now)


def _event(state: Mapping[str, Any], now: int) -> MovementEvent:
    phase = _LIGHTS.get(state["light"], MovementPhase.UNAVAILABLE)
    if "timing" not in state:
        return MovementEvent(phase)
    kind, t = state["timing"]
    keys = _COUNTING_KEYS if kind == "counting" else _UTC_KEYS
    start, min_end, max_end, likely, next_time = (_time_at(kind, t.get(k), now) for k in keys)
    return MovementEvent(phase, start, min_end, max_end, likely, t.get("timeConfidence"), next_time)


def signals_to_spat(
    signals: Iterable[SignalPhaseAndTiming], message_count: int, template: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """SignalPhaseAndTiming (one per intersection) -> a CSAE SPAT value with countdown timing.

    Each intersection carries its own moy + timeStamp (its `time_unix_ms`); the countdowns are relative to it,
    in 0.1 s rounded down, clamped to 0..36000. A template's utcTiming is kept in that form.
    """
    items = list(signals)
    if template is None and items:
        template = air_template(items[0].provenance, "spatFrame")
    t = template or {}
    old = t.get("intersections", [])
    value = dict(t)
    value["msgCnt"] = message_count % 128
    first = old[0] if old else {}
    if items and not _same_time(first, t, items[0].time_unix_ms):
        # message-level time parts the first intersection takes (not having its own) follow its time
        moy, ms = moy_and_dsecond(items[0].time_unix_ms)
        value |= {k: v for k, v in (("moy", moy), ("timeStamp", ms)) if k in t and k not in first}
    value["intersections"] = [_state_value(s, old[i] if i < len(old) else None, template) for i, s in enumerate(items)]
    return value


def _same_time(state: Mapping[str, Any], msg: Mapping[str, Any], unix_ms: int) -> bool:
    """True when the time parts `state` (else `msg`) sends already resolve to `unix_ms`."""
    moy, stamp = state.get("moy", msg.get("moy")), state.get("timeStamp", msg.get("timeStamp"))
    if moy is None and stamp is None:
        return False
    try:
        return resolve_message_time(moy, stamp, unix_ms) == unix_ms
    except ValidationError:
        return False


def _state_value(
    spat: SignalPhaseAndTiming, template: Mapping[str, Any] | None, msg: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One IntersectionState; its own moy + timeStamp when it had them, or always without a template (`msg`)."""
    t = template or {}
    value = dict(t)
    moy, ms = moy_and_dsecond(spat.time_unix_ms)
    if not _same_time(t, msg or {}, spat.time_unix_ms):
        if "moy" in t or msg is None:
            value["moy"] = moy
        if "timeStamp" in t or msg is None:
            value["timeStamp"] = ms
    node: dict[str, int] = {"id": spat.intersection_id}
    if spat.region is not None:
        node = {"region": spat.region, "id": spat.intersection_id}
    value.update(intersectionId=node, status=(spat.status_flags & 0xFFFF, 16))
    old = t.get("phases", [])
    value["phases"] = [
        _phase_value(m, spat.time_unix_ms, old[i] if i < len(old) else None) for i, m in enumerate(spat.movements)
    ]
    return value


def _phase_value(movement: MovementState, now: int, template: Mapping[str, Any] | None) -> dict[str, Any]:
    old = (template or {}).get("phaseStates", [])
    states = [_state(e, now, old[i] if i < len(old) else None) for i, e in enumerate(movement.events)]
    return {"id": movement.signal_group, "phaseStates": states}


def _state(event: MovementEvent, now: int, template: Mapping[str, Any] | None) -> dict[str, Any]:
    t = template or {}
    value = dict(t)
    value["light"] = _keep(
        t,
        "light",
        lambda n: _LIGHTS.get(n, MovementPhase.UNAVAILABLE),
        event.phase,
        _LIGHT_NAME.get(event.phase, "unavailable"),
    )
    times = (
        event.start_time_unix_ms,
        event.min_end_time_unix_ms,
        event.max_end_time_unix_ms,
        event.likely_end_time_unix_ms,
        event.next_time_unix_ms,
    )
    if all(x is None for x in times) and event.confidence is None and "timing" not in t:
        value.pop("timing", None)
        return value
    kind, old = t.get("timing", ("counting", {}))
    value["timing"] = (kind, _timing(kind, times, event.confidence, now, old))
    return value


def _timing(
    kind: str, times: tuple[int | None, ...], confidence: int | None, now: int, old: Mapping[str, Any]
) -> dict[str, Any]:
    counting = kind == "counting"
    keys = _COUNTING_KEYS if counting else _UTC_KEYS
    value = dict(old)
    for i, (key, at) in enumerate(zip(keys, times, strict=True)):
        if at is not None:
            value[key] = min(max((at - now) // 100, 0), _TIME_MARK_MAX) if counting else (at % 3_600_000) // 100
        elif key in old and _time_at(kind, old[key], now) is None:
            pass  # the template's own "unknown" code
        elif i in (0, 3):  # startTime and likelyEndTime are mandatory: "unknown"
            value[key] = _TIME_MARK_NA
        else:
            value.pop(key, None)
    if confidence is None:
        value.pop("timeConfidence", None)
    else:
        value["timeConfidence"] = confidence
    return value

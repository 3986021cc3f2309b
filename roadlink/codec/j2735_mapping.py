"""Decoded J2735 BSM (as `roadlink.codec.j2735` returns it) <-> `VehicleState` in SI units.

Scaling, per the J2735 field facts (every "unavailable" code becomes None / an absent field):

    lat / long    1e-7 deg (900000001 / 1800000001 unavailable: no VehicleState, "position_unavailable")
    elev          0.1 m, -4096 -> None                 speed      0.02 m/s, 8191 -> None
    heading       0.0125 deg, 28800 -> None            angle      1.5 deg (steering wheel), 127 -> None
    accel long/lat 0.01 m/s^2, 2001 -> None            vert       0.02 g with g = 9.80665, -127 -> None
    yaw           0.01 deg/s (no unavailable code)
    accuracy      semi-axes 0.05 m, 255 -> None (the whole ellipse, since an axis is required);
                  orientation 360/65535 deg, 65535 -> None
    size          1 cm; 0 in width or length -> None (both are required)
    transmission  neutral/park/forwardGears/reverseGears -> J2735 code + 1; reserved and unavailable -> UNSPECIFIED
    id            the 4 bytes of TemporaryID;  msgCnt -> message_count

Time: secMark is the millisecond within the UTC minute; the minute is implicit and is taken as the one that puts
the time closest to the reference clock (usually the receive time), across the minute boundary in either
direction. A leap second (60000..60999) resolves to the minute's last millisecond, since unix time has none;
61000..65534 are out of range; 65535 (unavailable) falls back to the reference time. These are the same rules
as the JSON BSM relay adapter, so a BSM maps identically whichever way it arrives.

`vehicle_state_to_bsm(state, template=None)` is the inverse for the core data (SI values rounded to the nearest
LSB, clamped to the field's range, None -> the unavailable code). What v1 has no field for (brake status, Part II
content, regional extensions, the exact raw code of a many-to-one mapping such as a leap-second secMark or a
reserved transmission state) comes from `template`, the decoded BSM the state came from, or else from the BSM in
the state's provenance.air_message: each core component of the template is kept when it maps to the same v1
value, so an unchanged state encodes to the original octets. Without either, brakes are all "unavailable" and
there is no Part II.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from roadlink.codec import j2735
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.j2735 import BSM_MESSAGE_ID
from roadlink.domain.errors import ValidationError
from roadlink.domain.spatial import Dimensions, Position, PositionAccuracy
from roadlink.domain.vehicle import TransmissionState, VehicleState

__all__ = [
    "SEC_MARK_UNAVAILABLE",
    "STANDARD_GRAVITY_MPS2",
    "bsm_to_vehicle_state",
    "frame_to_vehicle_state",
    "resolve_sec_mark",
    "vehicle_state_to_bsm",
]

STANDARD_GRAVITY_MPS2: Final = 9.80665
"""g for J2735 VerticalAcceleration (0.02 g), m/s^2."""

SEC_MARK_UNAVAILABLE: Final = 65535
_LATITUDE_UNAVAILABLE: Final = 900_000_001
_LONGITUDE_UNAVAILABLE: Final = 1_800_000_001
_ELEVATION_UNAVAILABLE: Final = -4096
_SPEED_UNAVAILABLE: Final = 8191
_HEADING_UNAVAILABLE: Final = 28800
_ANGLE_UNAVAILABLE: Final = 127
_ACCELERATION_UNAVAILABLE: Final = 2001
_VERTICAL_UNAVAILABLE: Final = -127
_ACCURACY_UNAVAILABLE: Final = 255
_ORIENTATION_UNAVAILABLE: Final = 65535
_MINUTE_MS: Final = 60_000
_LAST_MS_OF_MINUTE: Final = 59_999
_LAST_LEAP_MS: Final = 60_999

_TRANSMISSION: Final = {
    "neutral": TransmissionState.NEUTRAL,
    "park": TransmissionState.PARK,
    "forwardGears": TransmissionState.FORWARD_GEARS,
    "reverseGears": TransmissionState.REVERSE_GEARS,
}


def resolve_sec_mark(sec_mark: int, reference_unix_ms: int) -> int:
    """Unix ms of a DSecond: the instant closest to `reference_unix_ms` with that millisecond of the minute.

    Raises:
        ValidationError: reason "out_of_range" for 61000..65534 (and anything outside 0..65535).
    """
    if sec_mark == SEC_MARK_UNAVAILABLE:
        return reference_unix_ms
    if not 0 <= sec_mark <= _LAST_LEAP_MS:
        raise ValidationError("out_of_range", f"secMark {sec_mark} is neither 0..60999 nor 65535", field="secMark")
    offset = min(sec_mark, _LAST_MS_OF_MINUTE)
    half = _MINUTE_MS // 2
    return reference_unix_ms + (offset - reference_unix_ms % _MINUTE_MS + half) % _MINUTE_MS - half


def frame_to_vehicle_state(frame: Mapping[str, Any], reference_unix_ms: int) -> VehicleState:
    """A decoded MessageFrame holding a BSM -> VehicleState.

    Raises:
        ValidationError: reason "wrong_message" when the frame is not a BSM, else as `bsm_to_vehicle_state`.
    """
    if frame.get("messageId") != BSM_MESSAGE_ID or not isinstance(frame.get("value"), Mapping):
        raise ValidationError("wrong_message", f"messageId {frame.get('messageId')!r} is not a BSM", field="messageId")
    return bsm_to_vehicle_state(frame["value"], reference_unix_ms)


def bsm_to_vehicle_state(bsm: Mapping[str, Any], reference_unix_ms: int) -> VehicleState:
    """A decoded BasicSafetyMessage -> VehicleState (see the module docstring for every scaling).

    Raises:
        ValidationError: reason "position_unavailable" when lat or long is unavailable, "out_of_range" for a
            reserved secMark.
    """
    core = bsm["coreData"]
    accel = core["accelSet"]
    return VehicleState(
        temporary_id=bytes(core["id"]),
        time_unix_ms=resolve_sec_mark(core["secMark"], reference_unix_ms),
        position=_position(core),
        message_count=core["msgCnt"],
        accuracy=_accuracy(core["accuracy"]),
        speed_mps=_scaled(core["speed"], _SPEED_UNAVAILABLE, 50),
        heading_deg=_scaled(core["heading"], _HEADING_UNAVAILABLE, 80),
        steering_wheel_angle_deg=None if core["angle"] == _ANGLE_UNAVAILABLE else core["angle"] * 1.5,
        longitudinal_acceleration_mps2=_scaled(accel["long"], _ACCELERATION_UNAVAILABLE, 100),
        lateral_acceleration_mps2=_scaled(accel["lat"], _ACCELERATION_UNAVAILABLE, 100),
        vertical_acceleration_mps2=_scaled(accel["vert"], _VERTICAL_UNAVAILABLE, 50 / STANDARD_GRAVITY_MPS2),
        yaw_rate_deg_per_s=accel["yaw"] / 100,
        transmission=_TRANSMISSION.get(core["transmission"], TransmissionState.UNSPECIFIED),
        size=_size(core["size"]),
    )


def _scaled(value: int, unavailable: int, per_unit: float) -> float | None:
    """value / per_unit (the LSBs in one SI unit, so one correctly rounded division), or None."""
    return None if value == unavailable else value / per_unit


def _position(core: Mapping[str, Any]) -> Position:
    for name, unavailable in (("lat", _LATITUDE_UNAVAILABLE), ("long", _LONGITUDE_UNAVAILABLE)):
        if core[name] == unavailable:
            field = f"coreData.{name}"
            raise ValidationError("position_unavailable", f"{field}: {unavailable} = unavailable", field=field)
    elevation = _scaled(core["elev"], _ELEVATION_UNAVAILABLE, 10)
    return Position(core["lat"] / 10_000_000, core["long"] / 10_000_000, elevation)


def _accuracy(accuracy: Mapping[str, int]) -> PositionAccuracy | None:
    semi_major, semi_minor, orientation = accuracy["semiMajor"], accuracy["semiMinor"], accuracy["orientation"]
    if _ACCURACY_UNAVAILABLE in (semi_major, semi_minor):
        return None
    return PositionAccuracy(
        semi_major / 20,
        semi_minor / 20,
        None if orientation == _ORIENTATION_UNAVAILABLE else orientation * 360 / 65535,
    )


def _size(size: Mapping[str, int]) -> Dimensions | None:
    if size["width"] == 0 or size["length"] == 0:
        return None
    return Dimensions(size["length"] / 100, size["width"] / 100)


# --- VehicleState -> BSM --------------------------------------------------------------------------------------------

_GEAR_NAMES: Final = {state: name for name, state in _TRANSMISSION.items()}
_NO_BRAKES: Final = {
    "wheelBrakes": (0b10000, 5),  # bit 0: unavailable
    "traction": "unavailable",
    "abs": "unavailable",
    "scs": "unavailable",
    "brakeBoost": "unavailable",
    "auxBrakes": "unavailable",
}


def _raw(value: float | None, per_unit: float, unavailable: int, lo: int, hi: int) -> int:
    return unavailable if value is None else min(max(round(value * per_unit), lo), hi)


def _core_value(state: VehicleState) -> dict[str, Any]:
    """The core data of `state` from its v1 fields alone."""
    p, a = state.position, state.accuracy
    return {
        "msgCnt": state.message_count % 128,
        "id": bytes(state.temporary_id[-4:]).rjust(4, b"\0"),
        "secMark": state.time_unix_ms % _MINUTE_MS,
        "lat": round(p.latitude_deg * 10_000_000),
        "long": round(p.longitude_deg * 10_000_000),
        "elev": _raw(p.elevation_m, 10, _ELEVATION_UNAVAILABLE, -4095, 61439),
        "accuracy": {
            "semiMajor": _raw(None if a is None else a.semi_major_m, 20, _ACCURACY_UNAVAILABLE, 0, 254),
            "semiMinor": _raw(None if a is None else a.semi_minor_m, 20, _ACCURACY_UNAVAILABLE, 0, 254),
            "orientation": _orientation(a),
        },
        "transmission": _GEAR_NAMES.get(state.transmission, "unavailable"),
        "speed": _raw(state.speed_mps, 50, _SPEED_UNAVAILABLE, 0, 8190),
        "heading": _raw(state.heading_deg, 80, _HEADING_UNAVAILABLE, 0, 28800) % 28800
        if state.heading_deg is not None
        else _HEADING_UNAVAILABLE,
        "angle": _raw(state.steering_wheel_angle_deg, 1 / 1.5, _ANGLE_UNAVAILABLE, -126, 126),
        "accelSet": _accel_value(state),
        "brakes": dict(_NO_BRAKES),
        "size": {
            "width": 0 if state.size is None else min(max(round(state.size.width_m * 100), 0), 1023),
            "length": 0 if state.size is None else min(max(round(state.size.length_m * 100), 0), 4095),
        },
    }


def _orientation(accuracy: PositionAccuracy | None) -> int:
    if accuracy is None or accuracy.semi_major_orientation_deg is None:
        return _ORIENTATION_UNAVAILABLE
    return round(accuracy.semi_major_orientation_deg * 65535 / 360) % 65535


def _accel_value(state: VehicleState) -> dict[str, int]:
    long_, lat = state.longitudinal_acceleration_mps2, state.lateral_acceleration_mps2
    vert, yaw = state.vertical_acceleration_mps2, state.yaw_rate_deg_per_s
    return {
        "long": _raw(long_, 100, _ACCELERATION_UNAVAILABLE, -2000, 2000),
        "lat": _raw(lat, 100, _ACCELERATION_UNAVAILABLE, -2000, 2000),
        "vert": _raw(vert, 50 / STANDARD_GRAVITY_MPS2, _VERTICAL_UNAVAILABLE, -126, 127),
        "yaw": _raw(yaw, 100, 0, -32767, 32767),
    }


def vehicle_state_to_bsm(state: VehicleState, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """VehicleState -> a J2735 BasicSafetyMessage value (see the module docstring for `template`).

    Raises:
        EncodeError: the state's air_message is a J2735 frame that does not decode.
    """
    template = template if template is not None else _air_template(state)
    core = _core_value(state)
    if template is None:
        return {"coreData": core}
    value = dict(template)
    value["coreData"] = _overlay(core, template["coreData"], state)
    return value


def _overlay(core: dict[str, Any], old: Mapping[str, Any], state: VehicleState) -> dict[str, Any]:
    """Each component of `old` that maps to the same v1 value as the fresh one, else the fresh one."""
    want = _mapped(core, state.time_unix_ms)
    out = dict(core)
    for key in core:
        if key == "brakes" or (key in old and _mapped({**core, key: old[key]}, state.time_unix_ms) == want):
            out[key] = old.get(key, core[key])
    return out


def _mapped(core: Mapping[str, Any], reference_unix_ms: int) -> VehicleState | None:
    try:
        return bsm_to_vehicle_state({"coreData": core}, reference_unix_ms)
    except ValidationError:
        return None


def _air_template(state: VehicleState) -> dict[str, Any] | None:
    air = None if state.provenance is None else state.provenance.air_message
    if air is None or air.standard != "j2735" or air.message_id != BSM_MESSAGE_ID:
        return None
    try:
        template: dict[str, Any] = j2735.decode_frame(air.uper)["value"]
    except DecodeError as exc:
        raise EncodeError(f"provenance.air_message is no J2735 BSM: {exc}", path="provenance.air_message") from exc
    return template

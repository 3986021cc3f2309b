"""Adapter for the "BSM relayed as JSON" format: an RSU forwards a J2735 BasicSafetyMessage -> VehicleState.

The RSU decodes the BSM it received over the air and relays its core data as JSON, one BSM per MQTT
message, keeping the J2735 field names and the J2735 scaled integers (no unit conversion on the RSU):

    {"coreData": {"msgCnt": 95, "id": "31325431", "secMark": 23794, "lat": 405657318, "long": -1050318485,
        "elev": 14728, "accuracy": {"semiMajor": 254, "semiMinor": 248, "orientation": 65535},
        "transmission": 0, "speed": 5, "heading": 20073, "angle": 127,
        "accelSet": {"long": 52, "lat": 0, "vert": 0, "yaw": 0}, "size": {"width": 190, "length": 570}}}

`BsmRelay` and the models below describe it field by field, with each field's LSB and its "unavailable"
code. Every field of BSMcoreData is required (J2735 has a code for "unavailable" instead of absence);
`brakes`, `partII` and any other field are ignored. Numbers are strict integers.

Mapping decisions (one v1 VehicleState per message, built directly from the validated model), J2735 LSBs
per roadlink's interop/STANDARDS.md:
- every "unavailable" code becomes an absent field: elev -4096, speed 8191, heading 28800, angle 127, accel long/lat
  2001, vert -127, semiMajor/semiMinor 255 (accuracy None), orientation 65535, size width or length 0
  (size None), transmission 7 (and the reserved 4..6) -> TransmissionState.UNSPECIFIED.
- lat/long unavailable (900000001 / 1800000001) cannot make a VehicleState: reason "position_unavailable".
- time_unix_ms: secMark is the millisecond within the UTC minute; the minute is implicit and is taken as the
  one that puts the time closest to the gateway's receive time (within 30 s either side, across the minute
  boundary in either direction). A leap second (60000..60999) resolves to the minute's last millisecond,
  since unix time has none; 61000..65534 are out of range; 65535 (unavailable) falls back to the receive
  time. Relay latency is far below 30 s, so the resolution is unambiguous.
- vertical acceleration: 0.02 g with standard gravity STANDARD_GRAVITY_MPS2.
- semiMajor 254 means ">= 12.7 m" and is kept as 12.7 m.
- temporary_id is the 4 bytes of `id`; message_count is msgCnt; vehicle_class is UNSPECIFIED (coreData has
  none); provenance names the relaying RSU (`context.source_id`) and sensor, the resolved time and the
  receive time.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError
from v2x.vehicle.v1 import vehicle_pb2

from gateway.adapters.base import MessageContext
from gateway.adapters.canonical import fill_provenance
from gateway.adapters.json_payload import PAYLOAD_MODEL_CONFIG, parse_json_payload
from roadlink.codec.j2735_mapping import SEC_MARK_UNAVAILABLE, STANDARD_GRAVITY_MPS2, resolve_sec_mark
from roadlink.domain.errors import ValidationError

__all__ = [
    "ELEVATION_UNAVAILABLE",
    "LATITUDE_UNAVAILABLE",
    "LONGITUDE_UNAVAILABLE",
    "MAX_PAYLOAD_BYTES",
    "SEC_MARK_UNAVAILABLE",
    "STANDARD_GRAVITY_MPS2",
    "AccelerationSet4Way",
    "BsmCoreData",
    "BsmRelay",
    "PositionalAccuracy",
    "VehicleSize",
    "normalize_bsm_json",
    "resolve_sec_mark",
]

MAX_PAYLOAD_BYTES: Final = 64 * 1024
"""Largest accepted payload, bytes (64 KiB; a BSM with a full Part II is a few KiB as JSON)."""


LATITUDE_UNAVAILABLE: Final = 900_000_001
LONGITUDE_UNAVAILABLE: Final = 1_800_000_001
ELEVATION_UNAVAILABLE: Final = -4096
_SPEED_UNAVAILABLE: Final = 8191
_HEADING_UNAVAILABLE: Final = 28800
_ANGLE_UNAVAILABLE: Final = 127
_LEAP_SECOND_END: Final = 60_999


class PositionalAccuracy(BaseModel):
    """J2735 PositionalAccuracy: the one-sigma error ellipse of the position."""

    model_config = PAYLOAD_MODEL_CONFIG

    semi_major: int = Field(
        alias="semiMajor",
        strict=True,
        ge=0,
        le=255,
        description="Semi-major axis, LSB 0.05 m (0..254; 254 = 12.7 m or more); 255 = unavailable.",
    )
    semi_minor: int = Field(
        alias="semiMinor",
        strict=True,
        ge=0,
        le=255,
        description="Semi-minor axis, LSB 0.05 m (0..254; 254 = 12.7 m or more); 255 = unavailable.",
    )
    orientation: int = Field(
        strict=True,
        ge=0,
        le=65535,
        description="Orientation of the semi-major axis, LSB 360/65535 deg clockwise from north; 65535 = unavailable.",
    )


class AccelerationSet4Way(BaseModel):
    """J2735 AccelerationSet4Way, in the vehicle frame (x forward, y right)."""

    model_config = PAYLOAD_MODEL_CONFIG

    long: int = Field(
        strict=True,
        ge=-2000,
        le=2001,
        description="Longitudinal acceleration, LSB 0.01 m/s^2, forward positive; 2001 = unavailable.",
    )
    lat: int = Field(
        strict=True,
        ge=-2000,
        le=2001,
        description="Lateral acceleration, LSB 0.01 m/s^2, right positive; 2001 = unavailable.",
    )
    vert: int = Field(
        strict=True, ge=-127, le=127, description="Vertical acceleration, LSB 0.02 g; -127 = unavailable."
    )
    yaw: int = Field(strict=True, ge=-32767, le=32767, description="Yaw rate, LSB 0.01 deg/s (no unavailable code).")


class VehicleSize(BaseModel):
    """J2735 VehicleSize."""

    model_config = PAYLOAD_MODEL_CONFIG

    width: int = Field(strict=True, ge=0, le=1023, description="Vehicle width, cm; 0 = unavailable.")
    length: int = Field(strict=True, ge=0, le=4095, description="Vehicle length, cm; 0 = unavailable.")


class BsmCoreData(BaseModel):
    """J2735 BSMcoreData with its scaled integers. Unknown fields (brakes, ...) are ignored."""

    model_config = PAYLOAD_MODEL_CONFIG

    msg_cnt: int = Field(alias="msgCnt", strict=True, ge=0, le=127, description="MsgCount, rolling 0..127 per vehicle.")
    id: str = Field(
        strict=True,
        pattern=r"^[0-9A-Fa-f]{8}$",
        description="TemporaryID, 4 bytes as 8 hex characters (random, rotated for privacy).",
    )
    sec_mark: int = Field(
        alias="secMark",
        strict=True,
        ge=0,
        le=65535,
        description="DSecond: milliseconds within the UTC minute, 0..59999 (60000..60999 = leap second); "
        "65535 = unavailable.",
    )
    lat: int = Field(
        strict=True,
        ge=-900_000_000,
        le=LATITUDE_UNAVAILABLE,
        description="Latitude, LSB 1e-7 deg, north positive; 900000001 = unavailable.",
    )
    long: int = Field(
        strict=True,
        ge=-1_799_999_999,
        le=LONGITUDE_UNAVAILABLE,
        description="Longitude, LSB 1e-7 deg, east positive; 1800000001 = unavailable.",
    )
    elev: int = Field(
        strict=True,
        ge=ELEVATION_UNAVAILABLE,
        le=61439,
        description="Elevation above the WGS84 ellipsoid, LSB 0.1 m; -4096 = unavailable.",
    )
    accuracy: PositionalAccuracy = Field(description="Position accuracy ellipse.")
    transmission: int = Field(
        strict=True,
        ge=0,
        le=7,
        description="TransmissionState: 0 neutral, 1 park, 2 forward gears, 3 reverse gears, 4..6 reserved, "
        "7 unavailable.",
    )
    speed: int = Field(strict=True, ge=0, le=_SPEED_UNAVAILABLE, description="Speed, LSB 0.02 m/s; 8191 = unavailable.")
    heading: int = Field(
        strict=True,
        ge=0,
        le=_HEADING_UNAVAILABLE,
        description="Heading, LSB 0.0125 deg clockwise from north; 28800 = unavailable.",
    )
    angle: int = Field(
        strict=True,
        ge=-126,
        le=_ANGLE_UNAVAILABLE,
        description="SteeringWheelAngle, LSB 1.5 deg, clockwise (right) positive; 127 = unavailable.",
    )
    accel_set: AccelerationSet4Way = Field(alias="accelSet", description="Accelerations and yaw rate.")
    size: VehicleSize = Field(description="Vehicle size.")

    @field_validator("sec_mark")
    @classmethod
    def _check_sec_mark(cls, value: int) -> int:
        """Reject the DSecond values J2735 leaves undefined (61000..65534)."""
        if _LEAP_SECOND_END < value < SEC_MARK_UNAVAILABLE:
            raise PydanticCustomError(
                "out_of_range", "secMark {value} is neither 0..60999 nor 65535 (unavailable)", {"value": value}
            )
        return value


class BsmRelay(BaseModel):
    """One relayed BSM. Unknown fields (partII, regional, relay metadata) are ignored."""

    model_config = PAYLOAD_MODEL_CONFIG

    core_data: BsmCoreData = Field(alias="coreData", description="J2735 BSMcoreData (Part I).")


_ACCELERATION_UNAVAILABLE: Final = 2001
_VERTICAL_UNAVAILABLE: Final = -127
_ACCURACY_UNAVAILABLE: Final = 255
_ORIENTATION_UNAVAILABLE: Final = 65535
_VERTICAL_LSB_PER_MPS2: Final = 50 / STANDARD_GRAVITY_MPS2
_POSITION_FIELDS: Final = (("lat", LATITUDE_UNAVAILABLE), ("long", LONGITUDE_UNAVAILABLE))


def normalize_bsm_json(payload: bytes, context: MessageContext) -> list[vehicle_pb2.VehicleState]:
    """The Adapter for this format: one message -> one v1 VehicleState (see the module docstring).

    The scaling is `roadlink.codec.j2735_mapping.bsm_to_vehicle_state`'s, the same as for a BSM decoded from
    UPER, so a BSM maps identically whichever way it arrives (tests compare the two over the real log); the
    message is built here directly from the validated model, without the domain round trip.

    Raises:
        ValidationError: reason "too_large", "not_json", "wrong_shape", "out_of_range" or
            "position_unavailable"; never anything else.
    """
    core = parse_json_payload(BsmRelay, payload, max_bytes=MAX_PAYLOAD_BYTES).core_data
    _check_position(core)
    time_unix_ms = resolve_sec_mark(core.sec_mark, context.receive_time_unix_ms)
    accel, size = core.accel_set, core.size
    state = vehicle_pb2.VehicleState(
        temporary_id=bytes.fromhex(core.id),
        message_count=core.msg_cnt,
        time_unix_ms=time_unix_ms,
        speed_mps=None if core.speed == _SPEED_UNAVAILABLE else core.speed / 50,
        heading_deg=None if core.heading == _HEADING_UNAVAILABLE else core.heading / 80,
        steering_wheel_angle_deg=None if core.angle == _ANGLE_UNAVAILABLE else core.angle * 1.5,
        longitudinal_acceleration_mps2=None if accel.long == _ACCELERATION_UNAVAILABLE else accel.long / 100,
        lateral_acceleration_mps2=None if accel.lat == _ACCELERATION_UNAVAILABLE else accel.lat / 100,
        vertical_acceleration_mps2=None if accel.vert == _VERTICAL_UNAVAILABLE else accel.vert / _VERTICAL_LSB_PER_MPS2,
        yaw_rate_deg_per_s=accel.yaw / 100,
        transmission=core.transmission + 1 if core.transmission <= 3 else 0,  # type: ignore[arg-type]
    )
    position = state.position
    position.latitude_deg = core.lat / 10_000_000
    position.longitude_deg = core.long / 10_000_000
    if core.elev != ELEVATION_UNAVAILABLE:
        position.elevation_m = core.elev / 10
    _fill_accuracy(state, core.accuracy)
    if size.width != 0 and size.length != 0:
        state.size.length_m = size.length / 100
        state.size.width_m = size.width / 100
    fill_provenance(state.provenance, context, time_unix_ms)
    return [state]


def _check_position(core: BsmCoreData) -> None:
    """A BSM without latitude or longitude cannot make a VehicleState: reason "position_unavailable"."""
    for name, unavailable in _POSITION_FIELDS:
        if getattr(core, name) == unavailable:
            field = f"coreData.{name}"
            raise ValidationError("position_unavailable", f"{field}: {unavailable} = unavailable", field=field)


def _fill_accuracy(state: vehicle_pb2.VehicleState, accuracy: PositionalAccuracy) -> None:
    """One-sigma ellipse in metres (LSB 0.05 m), orientation in degrees; absent when an axis is unavailable."""
    if _ACCURACY_UNAVAILABLE in (accuracy.semi_major, accuracy.semi_minor):
        return
    target = state.accuracy
    target.semi_major_m = accuracy.semi_major / 20
    target.semi_minor_m = accuracy.semi_minor / 20
    if accuracy.orientation != _ORIENTATION_UNAVAILABLE:
        target.semi_major_orientation_deg = accuracy.orientation * 360 / 65535

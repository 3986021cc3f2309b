"""Adapter for the "radar target list in WGS84" vendor format: roadside radar JSON to PerceptionFrame.

The format is the one in the open-v2x/roadmocker recording (`roadlink.samples`, device N22W75HMBLD). Each
MQTT message is one JSON object (optionally UTF-8 with a BOM):

    {"timeStamp": "1664423415000", "number": 2, "deviceId": "N22W75HMBLD", "targets": [
        {"targetId": 7286, "targetType": 3, "latitude": 39.0737, "longitude": 115.9326, "speed": -8.1,
         "headingAngle": 173.1, "acceleration": 0.0, "confidenceLevel": 0, "laneNo": 2,
         "targetLength": 4.5, "targetWidth": 1.8, "targetHeight": 1.5, "height": 0.0, "rcs": 3214468640}]}

`RadarFrame` and `RadarTarget` describe it field by field (units in each Field description), so
`RadarFrame.model_json_schema()` is the schema to hand to firmware teams. Numbers are strict: a string where
a number belongs, or a bool anywhere, is a shape error. Unknown fields are ignored.

Mapping decisions (one v1 PerceptionFrame per message, built directly from the validated model):
- source_id is `context.source_id` (from the topic). A `deviceId` that differs from it is not an error:
  the topic is what the broker's ACLs authenticate, so it wins and `deviceId` is only informational.
- frame_sequence is 0: the vendor sends no frame counter.
- `speed` is signed along the radar's line of sight (negative = toward the radar); the direction of motion
  is `headingAngle`, so the ground speed is |speed| (checked against the recorded positions).
- latitude/longitude are passed through untouched; elevation is unknown (None).
- A size whose length and width are both 0 is unknown (None).
- Every object gets the same isotropic position covariance, from RADAR_POSITION_SIGMA_M.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError
from v2x.roadside.v1 import perception_pb2

from gateway.adapters.base import MessageContext
from gateway.adapters.canonical import ProtoClass, new_perception_frame, proto_class
from gateway.adapters.json_payload import parse_json_payload
from roadlink.domain.classes import ObjectClass

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_TARGETS",
    "RADAR_POSITION_SIGMA_M",
    "VENDOR_TARGET_TYPES",
    "RadarFrame",
    "RadarTarget",
    "normalize_radar_wgs84",
    "parse_radar_frame",
]

MAX_PAYLOAD_BYTES: Final = 1 << 20
"""Largest accepted payload, bytes (1 MiB); a full 1024-target frame is about 300 KiB."""

MAX_TARGETS: Final = 1024
"""Most targets accepted in one frame."""

RADAR_POSITION_SIGMA_M: Final = 1.0
"""One-sigma position error of a target, metres, in east and north alike.

A typical figure for a roadside traffic radar after the vendor's WGS84 projection; the vendor sends no
accuracy. A constant for now, to become per-sensor configuration later.
"""

VENDOR_TARGET_TYPES: Final[Mapping[int, ObjectClass]] = types.MappingProxyType(
    {
        0: ObjectClass.UNKNOWN,
        1: ObjectClass.PEDESTRIAN,
        2: ObjectClass.BICYCLE,
        3: ObjectClass.PASSENGER_CAR,
        4: ObjectClass.BUS,
        5: ObjectClass.TRUCK,
        6: ObjectClass.MOTORCYCLE,
    }
)
"""Vendor `targetType` code -> ObjectClass; codes not listed map to ObjectClass.UNKNOWN.

Only code 3 occurs in the recording, always sized 4.5 x 1.8 m, i.e. passenger cars. The other codes follow
the common roadside-radar vendor convention and are an assumption until a vendor document confirms them.
"""

_CLASS_CODES: Final[Mapping[int, ProtoClass]] = {code: proto_class(c) for code, c in VENDOR_TARGET_TYPES.items()}
_UNKNOWN: Final = proto_class(ObjectClass.UNKNOWN)
_MAX_SPEED_MPS: Final = 150.0
_MAX_ACCELERATION_MPS2: Final = 100.0
_MAX_SIZE_M: Final = 50.0
_MAX_INT32: Final = 2**31 - 1
_MAX_INT64: Final = 2**63 - 1
_MAX_UINT64: Final = 2**64 - 1
_MAX_UNIX_MS_DIGITS: Final = len(str(_MAX_INT64))
_POSITION_VARIANCE_M2: Final = RADAR_POSITION_SIGMA_M * RADAR_POSITION_SIGMA_M


def _unix_ms_from_digits(value: object) -> object:
    """Turn the vendor's decimal-digit string into an int; anything else goes on to the strict int check."""
    if not isinstance(value, str):
        return value
    if not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_parsing", "timeStamp must be a string of decimal digits or an integer")
    if len(value) > _MAX_UNIX_MS_DIGITS:
        raise PydanticCustomError("less_than_equal", "timeStamp must be <= {le}", {"le": _MAX_INT64})
    return int(value)


_UnixMs = Annotated[
    int,
    BeforeValidator(_unix_ms_from_digits),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": "^[0-9]{1,19}$"},
                {"type": "integer", "minimum": 1, "maximum": _MAX_INT64},
            ]
        }
    ),
]


class RadarTarget(BaseModel):
    """One tracked object in a radar frame. Unknown fields are ignored; numbers must be JSON numbers."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)

    target_id: int = Field(
        alias="targetId",
        strict=True,
        ge=0,
        le=_MAX_UINT64,
        description="Track id, stable while the radar keeps tracking the object; unsigned integer.",
    )
    target_type: int = Field(
        alias="targetType",
        strict=True,
        ge=0,
        le=_MAX_INT32,
        description="Object type code: 0 unknown, 1 pedestrian, 2 bicycle, 3 passenger car, 4 bus, 5 truck, "
        "6 motorcycle; other codes are treated as unknown.",
    )
    latitude: float = Field(
        strict=True, ge=-90.0, le=90.0, description="WGS84 latitude of the target, degrees, north positive."
    )
    longitude: float = Field(
        strict=True, ge=-180.0, le=180.0, description="WGS84 longitude of the target, degrees, east positive."
    )
    speed: float = Field(
        strict=True,
        ge=-_MAX_SPEED_MPS,
        le=_MAX_SPEED_MPS,
        description="Speed, m/s. Signed along the radar's line of sight (negative = approaching the radar); "
        "the ground speed is its absolute value, in the direction of headingAngle.",
    )
    heading_angle: float = Field(
        alias="headingAngle",
        strict=True,
        ge=0.0,
        le=360.0,
        description="Direction of motion, degrees clockwise from true north, [0, 360].",
    )
    acceleration: float | None = Field(
        default=None,
        strict=True,
        ge=-_MAX_ACCELERATION_MPS2,
        le=_MAX_ACCELERATION_MPS2,
        description="Acceleration along the direction of motion, m/s^2; absent = unknown.",
    )
    confidence_level: float = Field(
        default=0.0,
        alias="confidenceLevel",
        strict=True,
        ge=0.0,
        le=100.0,
        description="Confidence in the detection, percent [0, 100]; 0 = not provided.",
    )
    lane_no: int = Field(
        default=0,
        alias="laneNo",
        strict=True,
        ge=-_MAX_INT32 - 1,
        le=_MAX_INT32,
        description="Lane number as configured in the radar, 1-based; 0 or negative = unknown.",
    )
    target_length: float = Field(
        default=0.0,
        alias="targetLength",
        strict=True,
        ge=0.0,
        le=_MAX_SIZE_M,
        description="Object length, metres; 0 = unknown.",
    )
    target_width: float = Field(
        default=0.0,
        alias="targetWidth",
        strict=True,
        ge=0.0,
        le=_MAX_SIZE_M,
        description="Object width, metres; 0 = unknown.",
    )
    target_height: float = Field(
        default=0.0,
        alias="targetHeight",
        strict=True,
        ge=0.0,
        le=_MAX_SIZE_M,
        description="Object height, metres; 0 = unknown.",
    )
    height: float = Field(
        default=0.0,
        strict=True,
        description="Vendor field of undocumented meaning (always 0.0 in the recording); ignored.",
    )
    rcs: float | None = Field(
        default=None,
        strict=True,
        description="Radar cross-section, raw vendor value of undocumented scale (integers up to ~3.2e9 in "
        "the recording, i.e. not dBsm); ignored.",
    )


class RadarFrame(BaseModel):
    """One radar message: the targets seen at one instant. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)

    time_stamp: _UnixMs = Field(
        alias="timeStamp",
        strict=True,
        gt=0,
        le=_MAX_INT64,
        description="Measurement time, unix epoch milliseconds (UTC), as a string of decimal digits "
        "(what the radar sends) or an integer.",
    )
    number: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=MAX_TARGETS,
        description="Number of entries in targets; when present it must equal their count.",
    )
    targets: tuple[RadarTarget, ...] = Field(
        max_length=MAX_TARGETS, description="The targets, at most 1024; may be empty."
    )
    device_id: str | None = Field(
        default=None,
        alias="deviceId",
        strict=True,
        max_length=128,
        description="Radar serial number / device id; informational (the MQTT topic names the source).",
    )

    @model_validator(mode="after")
    def _check_number(self) -> RadarFrame:
        """Reject a frame whose `number` disagrees with the length of `targets`."""
        if self.number is not None and self.number != len(self.targets):
            raise PydanticCustomError(
                "count_mismatch",
                "number is {number} but targets has {count} entries",
                {"number": self.number, "count": len(self.targets), "field": "number"},
            )
        return self


def parse_radar_frame(payload: bytes) -> RadarFrame:
    """Validate one vendor message (UTF-8 JSON, optional BOM, at most MAX_PAYLOAD_BYTES).

    Raises:
        ValidationError: reason "too_large", "not_json", "wrong_shape", "out_of_range" or "count_mismatch";
            never anything else.
    """
    return parse_json_payload(RadarFrame, payload, max_bytes=MAX_PAYLOAD_BYTES)


def normalize_radar_wgs84(payload: bytes, context: MessageContext) -> list[perception_pb2.PerceptionFrame]:
    """The Adapter for this format: one message -> one v1 PerceptionFrame (see the module docstring).

    Raises:
        ValidationError: as parse_radar_frame.
    """
    frame = parse_radar_frame(payload)
    message = new_perception_frame(context, frame.time_stamp)
    add = message.objects.add
    sensor_ids = (context.sensor_id,)
    classes = _CLASS_CODES
    for target in frame.targets:
        confidence = target.confidence_level
        lane = target.lane_no
        obj = add(
            object_id=target.target_id,
            object_class=classes.get(target.target_type, _UNKNOWN),
            class_confidence=confidence / 100.0 if confidence > 0 else None,
            speed_mps=abs(target.speed),
            heading_deg=target.heading_angle % 360.0,
            acceleration_mps2=target.acceleration,
            sensor_ids=sensor_ids,
            lane_id=lane if lane > 0 else None,
        )
        position = obj.position
        position.latitude_deg = target.latitude
        position.longitude_deg = target.longitude
        if target.target_length != 0.0 or target.target_width != 0.0:
            size = obj.size
            size.length_m = target.target_length
            size.width_m = target.target_width
            if target.target_height:
                size.height_m = target.target_height
        covariance = obj.position_covariance
        covariance.east_east = _POSITION_VARIANCE_M2
        covariance.north_north = _POSITION_VARIANCE_M2
    return [message]

"""Adapter for the "lidar object list in the sensor frame" format: lidar JSON + mounting pose -> PerceptionFrame.

Each MQTT message is one JSON object (UTF-8, optional BOM) holding the objects the lidar's perception
software tracked in one sweep, in the sensor's own frame (x forward, y left, z up, metres):

    {"frame_counter": 5121, "timestamp_ms": 1714579200100, "sensor_id": "lidar-ne", "objects": [
        {"id": 17, "class": "car", "x_m": 24.1, "y_m": -3.2, "z_m": -4.9, "yaw_rad": 1.52,
         "vx_mps": 0.3, "vy_mps": 8.9, "length_m": 4.6, "width_m": 1.9, "height_m": 1.5,
         "confidence": 0.93, "sigma_x_m": 0.15, "sigma_y_m": 0.1}]}

`LidarFrame` and `LidarObject` describe it field by field (units in each Field description). Numbers are
strict (a string or a bool where a number belongs is a shape error); unknown fields are ignored.

The sensor does not know where it is: its mounting pose comes from the route's options (`LidarMountingPose`,
validated once at start-up by `build`; a bad pose is a ConfigurationError). The pose rotates the sensor
frame into the local east/north/up (ENU) frame at the sensor:

    p_enu = R_z(90 deg - yaw) @ R_y(-pitch) @ R_x(roll) @ p_sensor

yaw_deg is the heading of the sensor's x axis (degrees clockwise from north), pitch_deg > 0 tilts the x axis
up, roll_deg > 0 lowers the right side (raises +y). ENU is then converted to WGS84 with
`roadlink.domain.geodesy.LocalOrigin` at the sensor (latitude_deg, longitude_deg, height_m). All of it is
vectorized with numpy over the objects of a frame.

Mapping decisions (one v1 PerceptionFrame per message, built directly: numpy computes the columns, and the
only per-object Python left is copying them into the message):
- source_id is `context.source_id`; frame_sequence and provenance.source_sequence are `frame_counter`.
- position: WGS84 latitude/longitude and ellipsoidal height (elevation_m) of the box centre.
- speed_mps / heading_deg: the horizontal (east, north) part of the rotated velocity. Below
  MIN_SPEED_FOR_HEADING_MPS the direction of a velocity is noise, so heading_deg is then the box's forward
  direction (yaw_rad rotated into ENU) instead.
- position_covariance: diag(sigma_x^2, sigma_y^2, 0) along the sensor's x and y axes, rotated into ENU (east,
  north block). A missing sigma falls back to the pose's default_sigma_x_m / default_sigma_y_m
  (DEFAULT_SIGMA_X_M, DEFAULT_SIGMA_Y_M unless configured).
- class: `class` per json_payload.CLASS_NAMES (unknown names -> ObjectClass.UNKNOWN); class_confidence is
  `confidence` when sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field
from v2x.roadside.v1 import perception_pb2

from gateway.adapters.base import Adapter, MessageContext
from gateway.adapters.canonical import ProtoClass, new_perception_frame, proto_class
from gateway.adapters.json_payload import CLASS_NAMES, MAX_UINT32, MAX_UNIX_MS, PAYLOAD_MODEL_CONFIG, parse_json_payload
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ConfigurationError
from roadlink.domain.geodesy import FloatArray, LocalOrigin, ecef_to_geodetic

__all__ = [
    "DEFAULT_SIGMA_X_M",
    "DEFAULT_SIGMA_Y_M",
    "MAX_OBJECTS",
    "MAX_PAYLOAD_BYTES",
    "MIN_SPEED_FOR_HEADING_MPS",
    "LidarFrame",
    "LidarMounting",
    "LidarMountingPose",
    "LidarObject",
    "build",
    "normalize_lidar_sensor_frame",
    "sensor_to_enu_rotation",
]

MAX_PAYLOAD_BYTES: Final = 1 << 20
"""Largest accepted payload, bytes (1 MiB); a full 1024-object frame is about 300 KiB."""

MAX_OBJECTS: Final = 1024
"""Most objects accepted in one frame."""

DEFAULT_SIGMA_X_M: Final = 0.3
"""Default one-sigma position error along the sensor's x axis (range direction), metres."""

DEFAULT_SIGMA_Y_M: Final = 0.15
"""Default one-sigma position error along the sensor's y axis (cross-range), metres."""

MIN_SPEED_FOR_HEADING_MPS: Final = 0.5
"""Below this ground speed heading_deg comes from the box yaw, not from the velocity, m/s."""

_MAX_RANGE_M: Final = 1000.0
_MAX_SPEED_MPS: Final = 150.0
_MAX_SIZE_M: Final = 50.0
_MAX_SIGMA_M: Final = 100.0
_CLASS_CODES: Final[Mapping[str, ProtoClass]] = {name: proto_class(c) for name, c in CLASS_NAMES.items()}
_UNKNOWN: Final = proto_class(ObjectClass.UNKNOWN)


class LidarObject(BaseModel):
    """One tracked object, in the sensor frame. Unknown fields are ignored; numbers must be JSON numbers."""

    model_config = PAYLOAD_MODEL_CONFIG

    id: int = Field(
        strict=True, ge=0, le=MAX_UINT32, description="Track id, stable while the lidar tracks the object; uint32."
    )
    class_name: str = Field(
        alias="class",
        strict=True,
        max_length=64,
        description="Object class name, case-insensitive: car, van, truck, bus, motorcycle, bicycle, cyclist, "
        "pedestrian, animal, emergency_vehicle, obstacle, traffic_cone, vehicle, unknown, ...; other names are "
        "kept as unknown.",
    )
    x_m: float = Field(
        strict=True, ge=-_MAX_RANGE_M, le=_MAX_RANGE_M, description="Box centre along the sensor x axis (forward), m."
    )
    y_m: float = Field(
        strict=True, ge=-_MAX_RANGE_M, le=_MAX_RANGE_M, description="Box centre along the sensor y axis (left), m."
    )
    z_m: float = Field(
        strict=True, ge=-_MAX_RANGE_M, le=_MAX_RANGE_M, description="Box centre along the sensor z axis (up), m."
    )
    yaw_rad: float = Field(
        strict=True,
        ge=-2 * math.pi,
        le=2 * math.pi,
        description="Direction the box's front faces, radians about the sensor z axis, counter-clockwise from "
        "the sensor x axis (0 = facing along +x, pi/2 = facing along +y).",
    )
    vx_mps: float = Field(
        strict=True, ge=-_MAX_SPEED_MPS, le=_MAX_SPEED_MPS, description="Velocity along the sensor x axis, m/s."
    )
    vy_mps: float = Field(
        strict=True, ge=-_MAX_SPEED_MPS, le=_MAX_SPEED_MPS, description="Velocity along the sensor y axis, m/s."
    )
    vz_mps: float = Field(
        default=0.0,
        strict=True,
        ge=-_MAX_SPEED_MPS,
        le=_MAX_SPEED_MPS,
        description="Velocity along the sensor z axis, m/s; absent = 0.",
    )
    length_m: float = Field(strict=True, ge=0.0, le=_MAX_SIZE_M, description="Box length (along yaw), m.")
    width_m: float = Field(strict=True, ge=0.0, le=_MAX_SIZE_M, description="Box width, m.")
    height_m: float | None = Field(
        default=None, strict=True, ge=0.0, le=_MAX_SIZE_M, description="Box height, m; absent = unknown."
    )
    confidence: float | None = Field(
        default=None,
        strict=True,
        ge=0.0,
        le=1.0,
        description="Confidence in the detection and its class, [0, 1]; absent = not provided.",
    )
    sigma_x_m: float | None = Field(
        default=None,
        strict=True,
        gt=0.0,
        le=_MAX_SIGMA_M,
        description="One-sigma position error along the sensor x axis, m; absent = the configured default.",
    )
    sigma_y_m: float | None = Field(
        default=None,
        strict=True,
        gt=0.0,
        le=_MAX_SIGMA_M,
        description="One-sigma position error along the sensor y axis, m; absent = the configured default.",
    )


class LidarFrame(BaseModel):
    """One lidar message: the objects of one sweep, in the sensor frame. Unknown fields are ignored."""

    model_config = PAYLOAD_MODEL_CONFIG

    frame_counter: int = Field(
        strict=True, ge=0, le=MAX_UINT32, description="Sweep counter, +1 per message, wraps at 2^32; uint32."
    )
    timestamp_ms: int = Field(
        strict=True, gt=0, le=MAX_UNIX_MS, description="Measurement time of the sweep, unix epoch ms (UTC)."
    )
    sensor_id: str | None = Field(
        default=None,
        strict=True,
        max_length=128,
        description="Lidar serial number; informational (the MQTT topic names the sensor).",
    )
    objects: tuple[LidarObject, ...] = Field(max_length=MAX_OBJECTS, description="The objects, at most 1024.")


class LidarMountingPose(BaseModel):
    """Route options of a lidar: where it is mounted and how it is turned. Unknown options are an error."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    latitude_deg: float = Field(strict=True, ge=-89.0, le=89.0, description="WGS84 latitude of the sensor, deg.")
    longitude_deg: float = Field(strict=True, ge=-180.0, le=180.0, description="WGS84 longitude of the sensor, deg.")
    height_m: float = Field(
        strict=True, ge=-500.0, le=9000.0, description="Ellipsoidal (WGS84) height of the sensor origin, m."
    )
    yaw_deg: float = Field(
        strict=True, ge=-360.0, le=360.0, description="Heading of the sensor x axis, degrees clockwise from north."
    )
    pitch_deg: float = Field(
        default=0.0, strict=True, ge=-90.0, le=90.0, description="Tilt of the x axis, degrees, > 0 = up."
    )
    roll_deg: float = Field(
        default=0.0,
        strict=True,
        ge=-180.0,
        le=180.0,
        description="Rotation about the x axis, degrees, > 0 = right side down.",
    )
    default_sigma_x_m: float = Field(
        default=DEFAULT_SIGMA_X_M,
        strict=True,
        gt=0.0,
        le=_MAX_SIGMA_M,
        description="One-sigma error along x for objects that send no sigma_x_m, m.",
    )
    default_sigma_y_m: float = Field(
        default=DEFAULT_SIGMA_Y_M,
        strict=True,
        gt=0.0,
        le=_MAX_SIGMA_M,
        description="One-sigma error along y for objects that send no sigma_y_m, m.",
    )


def sensor_to_enu_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> FloatArray:
    """The 3x3 matrix taking sensor-frame (forward, left, up) vectors to local (east, north, up) vectors.

    R = R_z(90 - yaw) @ R_y(-pitch) @ R_x(roll), angles in degrees as in LidarMountingPose.
    """
    psi, theta, phi = np.radians([90.0 - yaw_deg, -pitch_deg, roll_deg])
    cz, sz, cy, sy, cx, sx = np.cos(psi), np.sin(psi), np.cos(theta), np.sin(theta), np.cos(phi), np.sin(phi)
    r_z = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    r_y = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    r_x = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    rotation: FloatArray = r_z @ r_y @ r_x
    rotation.setflags(write=False)
    return rotation


@dataclass(frozen=True, slots=True)
class LidarMounting:
    """A validated pose, precomputed: the ENU origin at the sensor, the sensor -> ENU rotation (3x3), and the
    sensor -> ECEF rotation (3x3, origin.rotation^T @ rotation) that takes positions to ECEF in one product."""

    origin: LocalOrigin
    rotation: FloatArray
    default_sigma_x_m: float
    default_sigma_y_m: float
    sensor_to_ecef: FloatArray

    @classmethod
    def from_pose(cls, pose: LidarMountingPose) -> LidarMounting:
        """Precompute the frame of a pose."""
        origin = LocalOrigin(pose.latitude_deg, pose.longitude_deg, pose.height_m)
        rotation = sensor_to_enu_rotation(pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
        sensor_to_ecef: FloatArray = origin.rotation.T @ rotation
        sensor_to_ecef.setflags(write=False)
        return cls(origin, rotation, pose.default_sigma_x_m, pose.default_sigma_y_m, sensor_to_ecef)


def build(options: Mapping[str, object]) -> Adapter:
    """AdapterFactory: the adapter for a lidar mounted as `options` (LidarMountingPose fields) says.

    Raises:
        ConfigurationError: the options are not a valid LidarMountingPose.
    """
    try:
        pose = LidarMountingPose.model_validate(dict(options))
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"lidar_sensor_frame options: {problems}") from exc
    mounting = LidarMounting.from_pose(pose)

    def adapter(payload: bytes, context: MessageContext) -> list[perception_pb2.PerceptionFrame]:
        return normalize_lidar_sensor_frame(payload, context, mounting)

    return adapter


def normalize_lidar_sensor_frame(
    payload: bytes, context: MessageContext, mounting: LidarMounting
) -> list[perception_pb2.PerceptionFrame]:
    """One message -> one v1 PerceptionFrame (see the module docstring).

    Raises:
        ValidationError: reason "too_large", "not_json", "wrong_shape" or "out_of_range"; never anything else.
    """
    frame = parse_json_payload(LidarFrame, payload, max_bytes=MAX_PAYLOAD_BYTES)
    message = new_perception_frame(context, frame.timestamp_ms, frame.frame_counter)
    if frame.objects:
        _add_objects(message, frame.objects, mounting, context.sensor_id)
    return [message]


def _add_objects(
    message: perception_pb2.PerceptionFrame, objects: tuple[LidarObject, ...], mounting: LidarMounting, sensor_id: str
) -> None:
    """Rotate and convert all objects at once (numpy over shape (N, ...)), then append them to `message`.

    The per-object Python is only the copy of the computed columns into the message, built in place.
    """
    rows = _sensor_rows(objects, mounting)
    rotation = mounting.rotation
    ecef = rows[:, 0:3] @ mounting.sensor_to_ecef.T + mounting.origin.ecef_m  # (N, 3), m
    latitude, longitude, height = ecef_to_geodetic(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    horizontal = rotation[:2]  # sensor -> (east, north), shape (2, 3)
    velocity_en = rows[:, 3:6] @ horizontal.T  # (N, 2), m/s
    yaw = rows[:, 6]
    forward_en = np.stack([np.cos(yaw), np.sin(yaw)], axis=1) @ horizontal[:, :2].T  # box front (N, 2)
    heading, speed = _heading_speed(velocity_en, forward_en)
    covariance = _covariance(rotation, rows[:, 7] ** 2, rows[:, 8] ** 2)
    columns = zip(
        objects,
        latitude.tolist(),
        longitude.tolist(),
        height.tolist(),
        speed.tolist(),
        heading.tolist(),
        covariance.tolist(),
        strict=True,
    )
    add, sensor_ids, classes = message.objects.add, (sensor_id,), _CLASS_CODES
    for o, lat, lon, h, v, hdg, (east_east, east_north, north_north) in columns:
        obj = add(
            object_id=o.id,
            object_class=classes.get(o.class_name.lower(), _UNKNOWN),
            class_confidence=o.confidence,
            speed_mps=v,
            heading_deg=hdg,
            sensor_ids=sensor_ids,
        )
        position = obj.position
        position.latitude_deg, position.longitude_deg, position.elevation_m = lat, lon, h
        size = obj.size
        size.length_m, size.width_m = o.length_m, o.width_m
        if o.height_m is not None:
            size.height_m = o.height_m
        cov = obj.position_covariance
        cov.east_east, cov.east_north, cov.north_north = east_east, east_north, north_north


def _sensor_rows(objects: tuple[LidarObject, ...], mounting: LidarMounting) -> FloatArray:
    """Shape (N, 9): position (3, m), velocity (3, m/s) in the sensor frame; yaw (rad); sigma x, y (m)."""
    sx, sy = mounting.default_sigma_x_m, mounting.default_sigma_y_m
    return np.array(
        [
            (o.x_m, o.y_m, o.z_m, o.vx_mps, o.vy_mps, o.vz_mps, o.yaw_rad, o.sigma_x_m or sx, o.sigma_y_m or sy)
            for o in objects
        ],
        dtype=np.float64,
    )


def _heading_speed(velocity_en: FloatArray, forward_en: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Heading (deg in [0, 360), from the velocity, or from the box front when slow) and ground speed (m/s)."""
    speed = np.hypot(velocity_en[:, 0], velocity_en[:, 1])
    moving = speed >= MIN_SPEED_FOR_HEADING_MPS
    direction = np.where(moving[:, None], velocity_en, forward_en)
    heading = np.mod(np.degrees(np.arctan2(direction[:, 0], direction[:, 1])), 360.0)
    heading = np.where(heading >= 360.0, 0.0, heading)  # np.mod of a tiny negative angle rounds up to 360
    return heading, speed


def _covariance(rotation: FloatArray, var_x: FloatArray, var_y: FloatArray) -> FloatArray:
    """East/north block of R diag(var_x, var_y, 0) R^T per object: columns (ee, en, nn), m^2, shape (N, 3)."""
    (r_ex, r_ey, _), (r_nx, r_ny, _) = rotation[0], rotation[1]
    east_east = r_ex * r_ex * var_x + r_ey * r_ey * var_y
    east_north = r_ex * r_nx * var_x + r_ey * r_ny * var_y
    north_north = r_nx * r_nx * var_x + r_ny * r_ny * var_y
    return np.stack([east_east, east_north, north_north], axis=1)

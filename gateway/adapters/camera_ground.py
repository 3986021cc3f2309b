"""Adapter for the "camera detections on the ground plane" format: camera JSON -> PerceptionFrame.

The camera's firmware has already projected each detection's ground contact point through its calibration
onto the road surface and reports it in WGS84 (latitude/longitude; the height is the road's, so it is left
unknown). Each MQTT message is one JSON object (UTF-8, optional BOM):

    {"frame_counter": 90211, "timestamp_ms": 1714579200040, "camera_id": "cam-sw", "detections": [
        {"track_id": 311, "latitude_deg": 31.2304512, "longitude_deg": 121.4737021,
         "class_scores": {"car": 0.81, "truck": 0.12, "bus": 0.04},
         "sigma_along_m": 1.6, "sigma_across_m": 0.3, "line_of_sight_bearing_deg": 57.0,
         "speed_mps": 7.9, "heading_deg": 144.0, "length_m": 4.4, "width_m": 1.8}]}

`CameraFrame` and `CameraDetection` describe it field by field (units in each Field description). Numbers are
strict; unknown fields are ignored. No route options (the positions are absolute).

Mapping decisions (one v1 PerceptionFrame per message, built directly from the validated model):
- source_id is `context.source_id`; frame_sequence and provenance.source_sequence are `frame_counter`.
- object_class is the argmax of class_scores (the first listed wins a tie), named per json_payload.CLASS_NAMES
  (unknown names -> ObjectClass.UNKNOWN); class_confidence is that maximum score. No scores: UNKNOWN, None.
- position_covariance: a pixel error grows with distance along the camera's line of sight much more than
  across it. With the unit vectors u = (sin b, cos b) along and v = (cos b, -sin b) across the line of sight
  (bearing b, degrees clockwise from north) in (east, north):
      cov = sigma_along^2 u u^T + sigma_across^2 v v^T
- speed_mps, heading_deg and the size pass through when sent (a size needs length and width).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Final

from pydantic import BaseModel, Field
from v2x.roadside.v1 import perception_pb2

from gateway.adapters.base import MessageContext
from gateway.adapters.canonical import ProtoClass, new_perception_frame, proto_class
from gateway.adapters.json_payload import CLASS_NAMES, MAX_UINT32, MAX_UNIX_MS, PAYLOAD_MODEL_CONFIG, parse_json_payload
from roadlink.domain.classes import ObjectClass
from roadlink.domain.spatial import Covariance2D

__all__ = [
    "MAX_CLASS_SCORES",
    "MAX_DETECTIONS",
    "MAX_PAYLOAD_BYTES",
    "CameraDetection",
    "CameraFrame",
    "line_of_sight_covariance",
    "normalize_camera_ground",
]

MAX_PAYLOAD_BYTES: Final = 1 << 20
"""Largest accepted payload, bytes (1 MiB)."""

MAX_DETECTIONS: Final = 1024
"""Most detections accepted in one frame."""

MAX_CLASS_SCORES: Final = 32
"""Most entries in one detection's class_scores."""

_MAX_SPEED_MPS: Final = 150.0
_MAX_SIZE_M: Final = 50.0
_MAX_SIGMA_M: Final = 1000.0
_CLASS_CODES: Final[Mapping[str, ProtoClass]] = {name: proto_class(c) for name, c in CLASS_NAMES.items()}
_UNKNOWN: Final = proto_class(ObjectClass.UNKNOWN)

_Score = Annotated[float, Field(strict=True, ge=0.0, le=1.0)]
_ClassName = Annotated[str, Field(max_length=64)]


class CameraDetection(BaseModel):
    """One detection on the ground plane. Unknown fields are ignored; numbers must be JSON numbers."""

    model_config = PAYLOAD_MODEL_CONFIG

    track_id: int = Field(
        strict=True, ge=0, le=MAX_UINT32, description="Track id, stable while the camera tracks the object; uint32."
    )
    latitude_deg: float = Field(
        strict=True, ge=-90.0, le=90.0, description="WGS84 latitude of the ground contact point, degrees."
    )
    longitude_deg: float = Field(
        strict=True, ge=-180.0, le=180.0, description="WGS84 longitude of the ground contact point, degrees."
    )
    class_scores: dict[_ClassName, _Score] = Field(
        max_length=MAX_CLASS_SCORES,
        description="Class name -> score in [0, 1], at most 32 entries (names as for the lidar format: car, "
        "truck, bus, van, motorcycle, bicycle, cyclist, pedestrian, person, animal, ...). The highest score "
        "names the class; may be empty (class unknown).",
    )
    sigma_along_m: float = Field(
        strict=True,
        gt=0.0,
        le=_MAX_SIGMA_M,
        description="One-sigma position error along the camera's line of sight to the object, m.",
    )
    sigma_across_m: float = Field(
        strict=True,
        gt=0.0,
        le=_MAX_SIGMA_M,
        description="One-sigma position error across the line of sight (horizontal, perpendicular), m.",
    )
    line_of_sight_bearing_deg: float = Field(
        strict=True,
        ge=0.0,
        le=360.0,
        description="Bearing of the line of sight from the camera to the object, degrees clockwise from north.",
    )
    speed_mps: float | None = Field(
        default=None, strict=True, ge=0.0, le=_MAX_SPEED_MPS, description="Ground speed, m/s; absent = unknown."
    )
    heading_deg: float | None = Field(
        default=None,
        strict=True,
        ge=0.0,
        le=360.0,
        description="Direction of motion, degrees clockwise from north; absent = unknown.",
    )
    length_m: float | None = Field(
        default=None, strict=True, ge=0.0, le=_MAX_SIZE_M, description="Object length, m; absent = unknown."
    )
    width_m: float | None = Field(
        default=None, strict=True, ge=0.0, le=_MAX_SIZE_M, description="Object width, m; absent = unknown."
    )
    height_m: float | None = Field(
        default=None, strict=True, ge=0.0, le=_MAX_SIZE_M, description="Object height, m; absent = unknown."
    )


class CameraFrame(BaseModel):
    """One camera message: the detections of one video frame. Unknown fields are ignored."""

    model_config = PAYLOAD_MODEL_CONFIG

    frame_counter: int = Field(
        strict=True, ge=0, le=MAX_UINT32, description="Video frame counter, +1 per message, wraps at 2^32; uint32."
    )
    timestamp_ms: int = Field(
        strict=True, gt=0, le=MAX_UNIX_MS, description="Exposure time of the video frame, unix epoch ms (UTC)."
    )
    camera_id: str | None = Field(
        default=None,
        strict=True,
        max_length=128,
        description="Camera serial number; informational (the MQTT topic names the sensor).",
    )
    detections: tuple[CameraDetection, ...] = Field(
        max_length=MAX_DETECTIONS, description="The detections, at most 1024."
    )


def line_of_sight_covariance(sigma_along_m: float, sigma_across_m: float, bearing_deg: float) -> Covariance2D:
    """Covariance (east/north, m^2) of an error ellipse with the given axes along and across a bearing."""
    return Covariance2D(*_line_of_sight_terms(sigma_along_m, sigma_across_m, bearing_deg))


def _line_of_sight_terms(sigma_along_m: float, sigma_across_m: float, bearing_deg: float) -> tuple[float, float, float]:
    """(east_east, east_north, north_north) of `line_of_sight_covariance`, m^2."""
    bearing = math.radians(bearing_deg)
    s, c = math.sin(bearing), math.cos(bearing)
    along, across = sigma_along_m * sigma_along_m, sigma_across_m * sigma_across_m
    return along * s * s + across * c * c, (along - across) * s * c, along * c * c + across * s * s


def normalize_camera_ground(payload: bytes, context: MessageContext) -> list[perception_pb2.PerceptionFrame]:
    """The Adapter for this format: one message -> one v1 PerceptionFrame (see the module docstring).

    Raises:
        ValidationError: reason "too_large", "not_json", "wrong_shape" or "out_of_range"; never anything else.
    """
    frame = parse_json_payload(CameraFrame, payload, max_bytes=MAX_PAYLOAD_BYTES)
    message = new_perception_frame(context, frame.timestamp_ms, frame.frame_counter)
    add, sensor_ids = message.objects.add, (context.sensor_id,)
    for detection in frame.detections:
        _fill_object(add(sensor_ids=sensor_ids), detection)
    return [message]


def _fill_object(obj: perception_pb2.DetectedObject, detection: CameraDetection) -> None:
    """Map one detection in place: class by argmax, covariance from the line-of-sight ellipse."""
    obj.object_id = detection.track_id
    scores = detection.class_scores
    if scores:
        name = max(scores, key=scores.__getitem__)
        obj.object_class = _CLASS_CODES.get(name.lower(), _UNKNOWN)
        obj.class_confidence = scores[name]
    else:
        obj.object_class = _UNKNOWN
    position = obj.position
    position.latitude_deg, position.longitude_deg = detection.latitude_deg, detection.longitude_deg
    if detection.speed_mps is not None:
        obj.speed_mps = detection.speed_mps
    if detection.heading_deg is not None:
        obj.heading_deg = detection.heading_deg % 360.0
    if detection.length_m is not None and detection.width_m is not None:
        size = obj.size
        size.length_m, size.width_m = detection.length_m, detection.width_m
        if detection.height_m is not None:
            size.height_m = detection.height_m
    cov = obj.position_covariance
    cov.east_east, cov.east_north, cov.north_north = _line_of_sight_terms(
        detection.sigma_along_m, detection.sigma_across_m, detection.line_of_sight_bearing_deg
    )

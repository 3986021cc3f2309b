"""Tests for gateway.adapters.camera_ground: class argmax, line-of-sight covariance, pass-through, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.adapters.base import MessageContext
from gateway.adapters.camera_ground import (
    MAX_CLASS_SCORES,
    MAX_PAYLOAD_BYTES,
    line_of_sight_covariance,
    normalize_camera_ground,
)
from gateway.adapters.canonical import as_domain
from gateway.adapters.json_payload import CLASS_NAMES
from gateway.adapters.registry import ADAPTERS
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.domain.perception import DetectedObject, PerceptionFrame
from roadlink.domain.spatial import Covariance2D, Dimensions, Position

SAMPLE = (Path(__file__).parent.parent / "data" / "gateway" / "camera_ground.json").read_bytes()
CONTEXT = MessageContext("rsu/rsu-7/camera/cam0", "rsu-7", "cam0", receive_time_unix_ms=1_714_579_200_090)


def _detection(**changes: Any) -> dict[str, Any]:
    detection: dict[str, Any] = {
        "track_id": 5,
        "latitude_deg": 31.23,
        "longitude_deg": 121.47,
        "class_scores": {"car": 0.8, "truck": 0.1},
        "sigma_along_m": 2.0,
        "sigma_across_m": 0.5,
        "line_of_sight_bearing_deg": 90.0,
    }
    detection.update(changes)
    return detection


def _payload(detections: list[dict[str, Any]], **changes: Any) -> bytes:
    frame: dict[str, Any] = {"frame_counter": 3, "timestamp_ms": 1_714_579_200_040, "detections": detections}
    frame.update(changes)
    return json.dumps(frame).encode()


def _frame(payload: bytes) -> PerceptionFrame:
    frames = normalize_camera_ground(payload, CONTEXT)
    assert len(frames) == 1
    frame = as_domain(frames[0])
    assert isinstance(frame, PerceptionFrame)
    return frame


def _one(**changes: Any) -> DetectedObject:
    return _frame(_payload([_detection(**changes)])).objects[0]


def _reason(payload: bytes) -> str:
    with pytest.raises(ValidationError) as info:
        normalize_camera_ground(payload, CONTEXT)
    return info.value.reason


def _as_tuple(cov: Covariance2D | None) -> tuple[float, float, float]:
    assert cov is not None
    return cov.east_east, cov.east_north, cov.north_north


# --- covariance -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bearing", "expected"),
    [
        (0.0, (0.25, 0.0, 4.0)),
        (90.0, (4.0, 0.0, 0.25)),
        (180.0, (0.25, 0.0, 4.0)),
        (270.0, (4.0, 0.0, 0.25)),
        (45.0, (2.125, 1.875, 2.125)),
        (135.0, (2.125, -1.875, 2.125)),
        (30.0, (4.0 * 0.25 + 0.25 * 0.75, 3.75 * 0.5 * math.sqrt(3) / 2, 4.0 * 0.75 + 0.25 * 0.25)),
    ],
)
def test_line_of_sight_ellipse_rotates_into_east_north(bearing: float, expected: tuple[float, float, float]) -> None:
    cov = _one(sigma_along_m=2.0, sigma_across_m=0.5, line_of_sight_bearing_deg=bearing).position_covariance
    assert _as_tuple(cov) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("bearing", [0.0, 12.5, 57.0, 90.0, 181.0, 299.9, 360.0])
def test_covariance_eigen_axes_are_along_and_across_the_line_of_sight(bearing: float) -> None:
    ee, en, nn = _as_tuple(line_of_sight_covariance(1.6, 0.3, bearing))
    eigenvalues, eigenvectors = np.linalg.eigh(np.array([[ee, en], [en, nn]]))
    assert eigenvalues == pytest.approx([0.09, 2.56], abs=1e-12)
    along = eigenvectors[:, 1]
    direction = np.array([math.sin(math.radians(bearing)), math.cos(math.radians(bearing))])
    assert abs(float(along @ direction)) == pytest.approx(1.0, abs=1e-12)


def test_circular_uncertainty_is_isotropic_at_any_bearing() -> None:
    cov = line_of_sight_covariance(0.7, 0.7, 123.0)
    assert _as_tuple(cov) == pytest.approx(_as_tuple(Covariance2D.isotropic(0.7)), abs=1e-12)


# --- classes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "object_class", "confidence"),
    [
        ({"car": 0.8, "truck": 0.1}, ObjectClass.PASSENGER_CAR, 0.8),
        ({"car": 0.2, "truck": 0.7, "bus": 0.1}, ObjectClass.TRUCK, 0.7),
        ({"PERSON": 0.6}, ObjectClass.PEDESTRIAN, 0.6),
        ({"cyclist": 0.4, "motorcycle": 0.4}, ObjectClass.BICYCLE, 0.4),
        ({"motorcycle": 0.4, "cyclist": 0.4}, ObjectClass.MOTORCYCLE, 0.4),
        ({"forklift": 0.9, "car": 0.05}, ObjectClass.UNKNOWN, 0.9),
        ({}, ObjectClass.UNKNOWN, None),
    ],
)
def test_class_is_the_argmax_with_its_score(
    scores: dict[str, float], object_class: ObjectClass, confidence: float | None
) -> None:
    obj = _one(class_scores=scores)
    assert (obj.object_class, obj.class_confidence) == (object_class, confidence)


@pytest.mark.parametrize(("name", "object_class"), sorted(CLASS_NAMES.items()))
def test_every_documented_class_name_maps(name: str, object_class: ObjectClass) -> None:
    assert _one(class_scores={name: 1.0}).object_class is object_class


# --- mapping and metadata -------------------------------------------------------------------------------


def test_sample_frame_normalizes_with_metadata_and_provenance() -> None:
    frame = _frame(SAMPLE)
    assert (frame.source_id, frame.frame_sequence, frame.time_unix_ms) == ("rsu-7", 90211, 1_714_579_200_040)
    assert frame.provenance.source_sequence == 90211
    assert frame.provenance.sensor_ids == ("cam0",)
    assert frame.provenance.gateway_receive_time_unix_ms == CONTEXT.receive_time_unix_ms
    car, person = frame.objects
    assert car.object_id == 311
    assert car.position == Position(31.2304512, 121.4737021)
    assert (car.speed_mps, car.heading_deg, car.size) == (7.9, 144.0, Dimensions(4.4, 1.8, None))
    assert car.sensor_ids == ("cam0",)
    assert (person.object_class, person.class_confidence) == (ObjectClass.PEDESTRIAN, 0.66)
    assert (person.speed_mps, person.heading_deg, person.size) == (None, None, None)


@pytest.mark.parametrize(
    ("changes", "size"),
    [
        ({"length_m": 4.0, "width_m": 1.7, "height_m": 1.4}, Dimensions(4.0, 1.7, 1.4)),
        ({"length_m": 4.0, "width_m": 1.7}, Dimensions(4.0, 1.7, None)),
        ({"length_m": 4.0}, None),
        ({"height_m": 1.4}, None),
    ],
)
def test_size_needs_length_and_width(changes: dict[str, Any], size: Dimensions | None) -> None:
    assert _one(**changes).size == size


def test_heading_360_wraps_to_zero() -> None:
    assert _one(heading_deg=360.0).heading_deg == 0.0


def test_registry_entry_takes_no_options() -> None:
    assert ADAPTERS["camera_ground"]({})(SAMPLE, CONTEXT) == normalize_camera_ground(SAMPLE, CONTEXT)
    with pytest.raises(ConfigurationError):
        ADAPTERS["camera_ground"]({"origin": 1})


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"class_scores": {"car": 1.5}}, "out_of_range", "detections.0.class_scores.car"),
        ({"class_scores": {"car": "high"}}, "wrong_shape", "detections.0.class_scores.car"),
        ({"class_scores": ["car"]}, "wrong_shape", "detections.0.class_scores"),
        ({"class_scores": {f"c{i}": 0.1 for i in range(MAX_CLASS_SCORES + 1)}}, "out_of_range", None),
        ({"sigma_along_m": 0.0}, "out_of_range", "detections.0.sigma_along_m"),
        ({"sigma_across_m": -1.0}, "out_of_range", "detections.0.sigma_across_m"),
        ({"line_of_sight_bearing_deg": 361.0}, "out_of_range", "detections.0.line_of_sight_bearing_deg"),
        ({"latitude_deg": 90.5}, "out_of_range", "detections.0.latitude_deg"),
        ({"speed_mps": -1.0}, "out_of_range", "detections.0.speed_mps"),
        ({"track_id": 2**32}, "out_of_range", "detections.0.track_id"),
        ({"longitude_deg": "121.4"}, "wrong_shape", "detections.0.longitude_deg"),
    ],
)
def test_bad_detections_are_rejected_naming_the_field(change: dict[str, Any], reason: str, field: str | None) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_camera_ground(_payload([_detection(**change)]), CONTEXT)
    assert info.value.reason == reason
    assert info.value.field == (field or "detections.0.class_scores")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x00\x01", "not_json"),
        (b'{"frame_counter": 1, "timestamp_ms": 1714579200040}', "wrong_shape"),
        (b'{"frame_counter": 1.0, "timestamp_ms": 1714579200040, "detections": []}', "wrong_shape"),
        (b'{"frame_counter": 1, "timestamp_ms": 1e300, "detections": []}', "wrong_shape"),
        (b'{"frame_counter": 1, "timestamp_ms": 99999999999999999999, "detections": []}', "out_of_range"),
        (b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "too_large"),
    ],
)
def test_bad_frames_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    assert _reason(payload) == reason

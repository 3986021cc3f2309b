"""Tests for gateway.adapters.lidar_sensor_frame: sensor frame -> ENU -> WGS84, covariance, options, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from gateway.adapters.base import Adapter, MessageContext
from gateway.adapters.canonical import as_domain
from gateway.adapters.lidar_sensor_frame import (
    DEFAULT_SIGMA_X_M,
    DEFAULT_SIGMA_Y_M,
    MAX_PAYLOAD_BYTES,
    MIN_SPEED_FOR_HEADING_MPS,
    build,
    sensor_to_enu_rotation,
)
from gateway.adapters.registry import ADAPTERS
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame
from roadlink.domain.spatial import Covariance2D, Dimensions

SAMPLE = (Path(__file__).parent.parent / "data" / "gateway" / "lidar_sensor_frame.json").read_bytes()
CONTEXT = MessageContext("rsu/rsu-7/lidar/lidar0", "rsu-7", "lidar0", receive_time_unix_ms=1_714_579_200_150)
POSE: dict[str, Any] = {"latitude_deg": 40.5657, "longitude_deg": -105.0318, "height_m": 1480.0, "yaw_deg": 90.0}
ORIGIN = LocalOrigin(POSE["latitude_deg"], POSE["longitude_deg"], POSE["height_m"])
ADAPTER = build(POSE)
MM = 1e-3


def _object(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": 1,
        "class": "car",
        "x_m": 10.0,
        "y_m": 0.0,
        "z_m": 0.0,
        "yaw_rad": 0.0,
        "vx_mps": 0.0,
        "vy_mps": 0.0,
        "length_m": 4.5,
        "width_m": 1.8,
    }
    obj.update(changes)
    return obj


def _payload(objects: list[dict[str, Any]], **changes: Any) -> bytes:
    frame: dict[str, Any] = {"frame_counter": 7, "timestamp_ms": 1_714_579_200_100, "objects": objects}
    frame.update(changes)
    return json.dumps(frame).encode()


def _adapter(**pose: Any) -> Adapter:
    return build({**POSE, **pose}) if pose else ADAPTER


def _frame(payload: bytes, adapter: Adapter | None = None) -> PerceptionFrame:
    frames = (adapter or _adapter())(payload, CONTEXT)
    assert len(frames) == 1
    frame = as_domain(frames[0])
    assert isinstance(frame, PerceptionFrame)
    return frame


def _one(adapter: Adapter | None = None, **changes: Any) -> DetectedObject:
    """The only object of a one-object frame: the default object with `changes`."""
    return _frame(_payload([_object(**changes)]), adapter).objects[0]


def _enu(obj: DetectedObject) -> tuple[float, float, float]:
    position = obj.position
    assert position.elevation_m is not None
    return ORIGIN.to_enu(position.latitude_deg, position.longitude_deg, position.elevation_m)


def _reason(payload: bytes) -> str:
    with pytest.raises(ValidationError) as info:
        _adapter()(payload, CONTEXT)
    return info.value.reason


# --- geometry -------------------------------------------------------------------------------------------


def test_sensor_facing_east_puts_an_object_ahead_east_of_the_sensor() -> None:
    east, north, up = _enu(_one())
    assert east == pytest.approx(10.0, abs=MM)
    assert north == pytest.approx(0.0, abs=MM)
    assert up == pytest.approx(0.0, abs=MM)


@pytest.mark.parametrize(
    ("yaw_deg", "x_m", "y_m", "expected_east", "expected_north"),
    [
        (0.0, 10.0, 0.0, 0.0, 10.0),
        (30.0, 10.0, 0.0, 5.0, 10.0 * math.cos(math.radians(30.0))),
        (30.0, 0.0, 4.0, -4.0 * math.cos(math.radians(30.0)), 2.0),
        (90.0, 0.0, 4.0, 0.0, 4.0),
        (180.0, 10.0, 0.0, 0.0, -10.0),
        (-90.0, 3.0, 2.0, -3.0, -2.0),
        (270.0, 3.0, 2.0, -3.0, -2.0),
    ],
)
def test_yaw_turns_the_sensor_frame_clockwise_from_north(
    yaw_deg: float, x_m: float, y_m: float, expected_east: float, expected_north: float
) -> None:
    east, north, up = _enu(_one(_adapter(yaw_deg=yaw_deg), x_m=x_m, y_m=y_m))
    assert (east, north, up) == pytest.approx((expected_east, expected_north, 0.0), abs=MM)


def test_pitching_down_lowers_objects_ahead() -> None:
    obj = _one(_adapter(pitch_deg=-10.0), x_m=10.0)
    east, _, up = _enu(obj)
    assert up == pytest.approx(-10.0 * math.sin(math.radians(10.0)), abs=MM)
    assert east == pytest.approx(10.0 * math.cos(math.radians(10.0)), abs=MM)
    assert obj.position.elevation_m == pytest.approx(POSE["height_m"] + up, abs=0.01)


def test_rolling_right_side_down_raises_objects_on_the_left() -> None:
    east, north, up = _enu(_one(_adapter(roll_deg=5.0), x_m=0.0, y_m=5.0))
    assert up == pytest.approx(5.0 * math.sin(math.radians(5.0)), abs=MM)
    assert north == pytest.approx(5.0 * math.cos(math.radians(5.0)), abs=MM)
    assert east == pytest.approx(0.0, abs=MM)


def test_height_above_the_sensor_adds_to_the_elevation() -> None:
    obj = _one(x_m=0.0, z_m=-6.5)
    assert _enu(obj) == pytest.approx((0.0, 0.0, -6.5), abs=MM)
    assert obj.position.elevation_m == pytest.approx(POSE["height_m"] - 6.5, abs=MM)


def test_rotation_matches_an_independent_intrinsic_zyx_rotation() -> None:
    for yaw, pitch, roll in [(0.0, 0.0, 0.0), (37.0, -12.0, 4.0), (301.5, 8.0, -20.0), (-45.0, 89.0, 179.0)]:
        expected = Rotation.from_euler("ZYX", [90.0 - yaw, -pitch, roll], degrees=True).as_matrix()
        np.testing.assert_allclose(sensor_to_enu_rotation(yaw, pitch, roll), expected, atol=1e-12)


def test_round_trip_through_geodesy_recovers_the_rotated_positions() -> None:
    rng = np.random.default_rng(7)
    pose = {"yaw_deg": 123.4, "pitch_deg": -7.5, "roll_deg": 2.25}
    points = rng.uniform(-150.0, 150.0, size=(40, 3))
    objects = [_object(id=i, x_m=float(x), y_m=float(y), z_m=float(z)) for i, (x, y, z) in enumerate(points)]
    frame = _frame(_payload(objects), _adapter(**pose))
    rotation = Rotation.from_euler("ZYX", [90.0 - pose["yaw_deg"], -pose["pitch_deg"], pose["roll_deg"]], degrees=True)
    expected_enu = rotation.apply(points)
    for obj, enu in zip(frame.objects, expected_enu, strict=True):
        assert _enu(obj) == pytest.approx(tuple(enu), abs=MM)
        latitude, longitude, height = ORIGIN.to_geodetic(*(float(v) for v in enu))
        assert obj.position.latitude_deg == pytest.approx(latitude, abs=1e-10)
        assert obj.position.longitude_deg == pytest.approx(longitude, abs=1e-10)
        assert obj.position.elevation_m == pytest.approx(height, abs=MM)


# --- velocity and heading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaw_deg", "vx", "vy", "speed", "heading"),
    [
        (90.0, 5.0, 0.0, 5.0, 90.0),
        (90.0, 0.0, 5.0, 5.0, 0.0),
        (90.0, 3.0, 4.0, 5.0, math.degrees(math.atan2(3.0, 4.0))),
        (0.0, -2.0, 0.0, 2.0, 180.0),
        (30.0, 10.0, 0.0, 10.0, 30.0),
        (30.0, 0.0, -1.0, 1.0, 120.0),
    ],
)
def test_velocity_becomes_ground_speed_and_heading(
    yaw_deg: float, vx: float, vy: float, speed: float, heading: float
) -> None:
    obj = _one(_adapter(yaw_deg=yaw_deg), vx_mps=vx, vy_mps=vy)
    assert obj.speed_mps == pytest.approx(speed, abs=1e-9)
    assert obj.heading_deg == pytest.approx(heading, abs=1e-9)


def test_pitch_leaves_only_the_horizontal_part_of_the_velocity() -> None:
    obj = _one(_adapter(pitch_deg=30.0), vx_mps=10.0)
    assert obj.speed_mps == pytest.approx(10.0 * math.cos(math.radians(30.0)), abs=1e-9)


@pytest.mark.parametrize(("yaw_rad", "heading"), [(0.0, 90.0), (math.pi / 2, 0.0), (-math.pi / 2, 180.0)])
def test_slow_objects_take_their_heading_from_the_box_yaw(yaw_rad: float, heading: float) -> None:
    obj = _one(yaw_rad=yaw_rad, vx_mps=0.0, vy_mps=MIN_SPEED_FOR_HEADING_MPS / 2)
    assert obj.heading_deg == pytest.approx(heading, abs=1e-9)
    assert obj.speed_mps == pytest.approx(MIN_SPEED_FOR_HEADING_MPS / 2)


def test_heading_is_in_zero_to_360() -> None:
    obj = _one(_adapter(yaw_deg=0.0), vx_mps=5.0, vy_mps=1e-13)
    assert obj.heading_deg is not None
    assert 0.0 <= obj.heading_deg < 360.0


# --- covariance -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaw_deg", "expected"),
    [
        (90.0, Covariance2D(0.16, 0.0, 0.01)),
        (0.0, Covariance2D(0.01, 0.0, 0.16)),
        (45.0, Covariance2D(0.085, 0.075, 0.085)),
        (135.0, Covariance2D(0.085, -0.075, 0.085)),
    ],
)
def test_object_sigmas_rotate_into_enu(yaw_deg: float, expected: Covariance2D) -> None:
    cov = _one(_adapter(yaw_deg=yaw_deg), sigma_x_m=0.4, sigma_y_m=0.1).position_covariance
    assert cov is not None
    assert (cov.east_east, cov.east_north, cov.north_north) == pytest.approx(
        (expected.east_east, expected.east_north, expected.north_north), abs=1e-12
    )


def test_missing_sigmas_use_the_documented_defaults() -> None:
    cov = _one(_adapter(yaw_deg=0.0)).position_covariance
    assert cov is not None
    assert (cov.east_east, cov.east_north, cov.north_north) == pytest.approx(
        (DEFAULT_SIGMA_Y_M**2, 0.0, DEFAULT_SIGMA_X_M**2), abs=1e-12
    )
    cov = _one(_adapter(yaw_deg=0.0, default_sigma_x_m=1.0, default_sigma_y_m=0.5), sigma_y_m=0.2).position_covariance
    assert cov is not None
    assert (cov.east_east, cov.north_north) == pytest.approx((0.04, 1.0))


def test_covariance_is_the_horizontal_block_of_the_rotated_matrix() -> None:
    pose = {"yaw_deg": 211.0, "pitch_deg": -15.0, "roll_deg": 6.0}
    cov = _one(_adapter(**pose), sigma_x_m=0.5, sigma_y_m=0.2).position_covariance
    rotation = sensor_to_enu_rotation(pose["yaw_deg"], pose["pitch_deg"], pose["roll_deg"])
    full = rotation @ np.diag([0.25, 0.04, 0.0]) @ rotation.T
    assert cov is not None
    assert (cov.east_east, cov.east_north, cov.north_north) == pytest.approx(
        (full[0, 0], full[0, 1], full[1, 1]), abs=1e-12
    )


# --- mapping and metadata -------------------------------------------------------------------------------


def test_sample_frame_normalizes_with_metadata_and_provenance() -> None:
    frame = _frame(SAMPLE)
    assert [obj.object_id for obj in frame.objects] == [17, 18, 21]
    assert [obj.object_class for obj in frame.objects] == [
        ObjectClass.PASSENGER_CAR,
        ObjectClass.PEDESTRIAN,
        ObjectClass.TRUCK,
    ]
    assert frame.source_id == "rsu-7"
    assert frame.frame_sequence == 5121
    assert frame.time_unix_ms == 1_714_579_200_100
    provenance = frame.provenance
    assert (provenance.source_id, provenance.source_sequence, provenance.topic) == ("rsu-7", 5121, CONTEXT.topic)
    assert provenance.source_time_unix_ms == 1_714_579_200_100
    assert provenance.gateway_receive_time_unix_ms == CONTEXT.receive_time_unix_ms
    assert provenance.sensor_ids == ("lidar0",)
    first = frame.objects[0]
    assert first.class_confidence == 0.93
    assert first.size == Dimensions(4.6, 1.9, 1.5)
    assert first.sensor_ids == ("lidar0",)


@pytest.mark.parametrize(
    ("name", "object_class"),
    [("car", ObjectClass.PASSENGER_CAR), ("Cyclist", ObjectClass.BICYCLE), ("forklift", ObjectClass.UNKNOWN)],
)
def test_class_names_map_case_insensitively(name: str, object_class: ObjectClass) -> None:
    changes: dict[str, Any] = {"class": name}
    assert _one(None, **changes).object_class is object_class


def test_empty_frame_and_bom_are_accepted() -> None:
    assert _frame(_payload([])).objects == ()
    assert _frame(b"\xef\xbb\xbf" + SAMPLE) == _frame(SAMPLE)


def test_registry_builds_the_adapter_from_route_options() -> None:
    adapter = ADAPTERS["lidar_sensor_frame"](POSE)
    assert adapter(SAMPLE, CONTEXT) == _adapter()(SAMPLE, CONTEXT)


# --- options --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {k: v for k, v in POSE.items() if k != "yaw_deg"},
        {**POSE, "yaw": 1.0},
        {**POSE, "latitude_deg": 95.0},
        {**POSE, "pitch_deg": 91.0},
        {**POSE, "yaw_deg": "90"},
        {**POSE, "yaw_deg": True},
        {**POSE, "height_m": math.nan},
        {**POSE, "default_sigma_x_m": 0.0},
    ],
)
def test_bad_options_are_a_configuration_error(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="lidar_sensor_frame options"):
        build(options)


def test_integer_options_are_accepted() -> None:
    assert _one(build({"latitude_deg": 40, "longitude_deg": -105, "height_m": 1480, "yaw_deg": 90})) is not None


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not_json"),
        (b"{", "not_json"),
        (b"[]", "wrong_shape"),
        (b'{"frame_counter": 1, "objects": []}', "wrong_shape"),
        (b'{"frame_counter": 1, "timestamp_ms": "1714579200100", "objects": []}', "wrong_shape"),
        (b'{"frame_counter": -1, "timestamp_ms": 1714579200100, "objects": []}', "out_of_range"),
        (b'{"frame_counter": 1, "timestamp_ms": 0, "objects": []}', "out_of_range"),
    ],
)
def test_bad_frames_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    assert _reason(payload) == reason


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"x_m": 1000.5}, "out_of_range", "objects.0.x_m"),
        ({"yaw_rad": 7.0}, "out_of_range", "objects.0.yaw_rad"),
        ({"vx_mps": 151.0}, "out_of_range", "objects.0.vx_mps"),
        ({"sigma_x_m": 0.0}, "out_of_range", "objects.0.sigma_x_m"),
        ({"confidence": 1.5}, "out_of_range", "objects.0.confidence"),
        ({"class": 3}, "wrong_shape", "objects.0.class"),
        ({"y_m": "1.0"}, "wrong_shape", "objects.0.y_m"),
        ({"z_m": None}, "wrong_shape", "objects.0.z_m"),
        ({"id": True}, "wrong_shape", "objects.0.id"),
    ],
)
def test_bad_objects_are_rejected_naming_the_field(change: dict[str, Any], reason: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        _adapter()(_payload([_object(**change)]), CONTEXT)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_nan_and_oversized_payloads_are_rejected() -> None:
    assert _reason(_payload([_object()]).replace(b'"x_m": 10.0', b'"x_m": NaN')) == "out_of_range"
    assert _reason(b"{" + b" " * MAX_PAYLOAD_BYTES + b"}") == "too_large"
    assert _reason(_payload([_object(id=i) for i in range(1025)])) == "out_of_range"

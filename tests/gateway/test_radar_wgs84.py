"""Tests for gateway.adapters.radar_wgs84 against the real roadmocker radar recording."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.adapters.base import MessageContext
from gateway.adapters.canonical import as_domain
from gateway.adapters.radar_wgs84 import (
    MAX_PAYLOAD_BYTES,
    RADAR_POSITION_SIGMA_M,
    VENDOR_TARGET_TYPES,
    normalize_radar_wgs84,
)
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.spatial import Covariance2D, Dimensions
from roadlink.samples import RADAR_DEVICE_ID, RecordedMessage, load_radar_recording

CONTEXT = MessageContext(
    topic=f"rsu/{RADAR_DEVICE_ID}/radar/radar0",
    source_id=RADAR_DEVICE_ID,
    sensor_id="radar0",
    receive_time_unix_ms=1_700_000_000_000,
)
RECORDED_TARGETS = 11165
RECORDING = load_radar_recording()
FIRST = RECORDING[0]


def _frame_dict(message: RecordedMessage = FIRST) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(message.payload)
    return frame


def _target(**changes: Any) -> dict[str, Any]:
    target = dict(_frame_dict()["targets"][0])
    target.update(changes)
    return target


def _payload(targets: list[dict[str, Any]], **changes: Any) -> bytes:
    frame: dict[str, Any] = {
        "timeStamp": "1664423415000",
        "number": len(targets),
        "targets": targets,
        "deviceId": RADAR_DEVICE_ID,
    }
    frame.update(changes)
    return json.dumps(frame).encode()


def _normalize_one(payload: bytes) -> PerceptionFrame:
    frames = normalize_radar_wgs84(payload, CONTEXT)
    assert len(frames) == 1
    frame = as_domain(frames[0])
    assert isinstance(frame, PerceptionFrame)
    return frame


def _reason(payload: bytes) -> str:
    with pytest.raises(ValidationError) as info:
        normalize_radar_wgs84(payload, CONTEXT)
    return info.value.reason


# --- the recording -------------------------------------------------------------------------------------


def test_every_recorded_frame_normalizes_with_its_targets() -> None:
    frames = [_normalize_one(message.payload) for message in RECORDING]
    assert len(frames) == 500
    assert sum(len(frame.objects) for frame in frames) == RECORDED_TARGETS
    for message, frame in zip(RECORDING, frames, strict=True):
        assert frame.time_unix_ms == message.time_unix_ms
        assert len(frame.objects) == _frame_dict(message)["number"]


def test_recorded_positions_arrive_bit_for_bit() -> None:
    compared = 0
    for message in RECORDING:
        frame = _normalize_one(message.payload)
        for target, obj in zip(_frame_dict(message)["targets"], frame.objects, strict=True):
            assert obj.position.latitude_deg == target["latitude"]
            assert obj.position.longitude_deg == target["longitude"]
            assert obj.position.elevation_m is None
            compared += 1
    assert compared == RECORDED_TARGETS


def test_recorded_kinematics_and_sizes_map() -> None:
    for message in RECORDING:
        frame = _normalize_one(message.payload)
        for target, obj in zip(_frame_dict(message)["targets"], frame.objects, strict=True):
            assert obj.object_id == target["targetId"]
            assert obj.object_class is ObjectClass.PASSENGER_CAR
            assert obj.speed_mps == abs(target["speed"])
            assert obj.heading_deg == target["headingAngle"]
            assert obj.acceleration_mps2 == target["acceleration"]
            assert obj.lane_id == target["laneNo"]
            if target["targetLength"] == 0.0 and target["targetWidth"] == 0.0:
                assert obj.size is None
            else:
                assert obj.size == Dimensions(
                    target["targetLength"], target["targetWidth"], target["targetHeight"] or None
                )


def test_frame_metadata_and_provenance() -> None:
    frame = _normalize_one(FIRST.payload)
    assert frame.source_id == CONTEXT.source_id
    assert frame.frame_sequence == 0
    assert frame.time_unix_ms == FIRST.time_unix_ms
    assert frame.provenance.source_id == CONTEXT.source_id
    assert frame.provenance.source_time_unix_ms == FIRST.time_unix_ms
    assert frame.provenance.gateway_receive_time_unix_ms == CONTEXT.receive_time_unix_ms
    assert frame.provenance.sensor_ids == ("radar0",)
    assert frame.provenance.topic == CONTEXT.topic
    obj = frame.objects[0]
    assert obj.sensor_ids == ("radar0",)
    assert obj.position_covariance == Covariance2D.isotropic(RADAR_POSITION_SIGMA_M)


def test_context_source_wins_over_device_id() -> None:
    frame = _normalize_one(_payload([_target()], deviceId="SOMETHING-ELSE"))
    assert frame.source_id == CONTEXT.source_id


# --- field mapping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("speed", "heading", "speed_mps", "heading_deg"),
    [
        (-16.5, 173.25, 16.5, 173.25),
        (2.5, 353.1, 2.5, 353.1),
        (0.0, 0.0, 0.0, 0.0),
        (-150.0, 360.0, 150.0, 0.0),
    ],
)
def test_speed_is_absolute_and_heading_wraps(
    speed: float, heading: float, speed_mps: float, heading_deg: float
) -> None:
    obj = _normalize_one(_payload([_target(speed=speed, headingAngle=heading)])).objects[0]
    assert obj.speed_mps == speed_mps
    assert obj.heading_deg == heading_deg


@pytest.mark.parametrize(
    ("length", "width", "height", "size"),
    [
        (4.5, 1.8, 1.5, Dimensions(4.5, 1.8, 1.5)),
        (4.5, 0.5, 0.0, Dimensions(4.5, 0.5, None)),
        (0.0, 0.5, 1.5, Dimensions(0.0, 0.5, 1.5)),
        (0.0, 0.0, 1.5, None),
    ],
)
def test_size(length: float, width: float, height: float, size: Dimensions | None) -> None:
    target = _target(targetLength=length, targetWidth=width, targetHeight=height)
    assert _normalize_one(_payload([target])).objects[0].size == size


@pytest.mark.parametrize(("code", "object_class"), [*VENDOR_TARGET_TYPES.items(), (7, ObjectClass.UNKNOWN)])
def test_target_type_maps_to_object_class(code: int, object_class: ObjectClass) -> None:
    obj = _normalize_one(_payload([_target(targetType=code)])).objects[0]
    assert obj.object_class is object_class


def test_vendor_type_three_is_a_passenger_car() -> None:
    assert VENDOR_TARGET_TYPES[3] is ObjectClass.PASSENGER_CAR


@pytest.mark.parametrize(("level", "confidence"), [(0, None), (100, 1.0), (50, 0.5)])
def test_confidence_level_is_a_percentage(level: int, confidence: float | None) -> None:
    obj = _normalize_one(_payload([_target(confidenceLevel=level)])).objects[0]
    assert obj.class_confidence == confidence


@pytest.mark.parametrize(("lane", "lane_id"), [(2, 2), (0, None), (-1, None)])
def test_lane(lane: int, lane_id: int | None) -> None:
    assert _normalize_one(_payload([_target(laneNo=lane)])).objects[0].lane_id == lane_id


def test_optional_fields_may_be_absent() -> None:
    required = ("targetId", "targetType", "latitude", "longitude", "speed", "headingAngle")
    target = {key: _target()[key] for key in required}
    obj = _normalize_one(_payload([target], number=None)).objects[0]
    assert obj.size is None
    assert obj.acceleration_mps2 is None
    assert obj.lane_id is None


def test_integer_timestamp_and_empty_frame_accepted() -> None:
    frame = _normalize_one(_payload([], timeStamp=1664423415000))
    assert frame.time_unix_ms == 1664423415000
    assert frame.objects == ()


def test_bom_prefixed_json_is_accepted() -> None:
    assert _normalize_one(b"\xef\xbb\xbf" + FIRST.payload) == _normalize_one(FIRST.payload)


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not_json"),
        (b"not json", "not_json"),
        (b'{"timeStamp": "1", "targets": [', "not_json"),
        (b"\xff\xfe\x00", "not_json"),
        (b"[]", "wrong_shape"),
        (b'{"targets": []}', "wrong_shape"),
        (b'{"timeStamp": "1", "targets": {}}', "wrong_shape"),
        (b'{"timeStamp": "1.5", "targets": []}', "wrong_shape"),
        (b'{"timeStamp": "0", "targets": []}', "out_of_range"),
        (b'{"timeStamp": "1", "number": 1, "targets": []}', "count_mismatch"),
    ],
)
def test_bad_frames_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    assert _reason(payload) == reason


def test_nan_token_is_out_of_range() -> None:
    payload = FIRST.payload.replace(b'"speed":', b'"speed":NaN,"x":', 1)
    assert b"NaN" in payload
    assert _reason(payload) == "out_of_range"


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"latitude": 91.0}, "out_of_range", "targets.0.latitude"),
        ({"longitude": -180.5}, "out_of_range", "targets.0.longitude"),
        ({"speed": 150.5}, "out_of_range", "targets.0.speed"),
        ({"headingAngle": 360.5}, "out_of_range", "targets.0.headingAngle"),
        ({"targetLength": 51.0}, "out_of_range", "targets.0.targetLength"),
        ({"targetWidth": -0.1}, "out_of_range", "targets.0.targetWidth"),
        ({"targetId": -1}, "out_of_range", "targets.0.targetId"),
        ({"latitude": "39.07"}, "wrong_shape", "targets.0.latitude"),
        ({"targetId": 1.5}, "wrong_shape", "targets.0.targetId"),
        ({"speed": True}, "wrong_shape", "targets.0.speed"),
        ({"latitude": None}, "wrong_shape", "targets.0.latitude"),
    ],
)
def test_bad_targets_are_rejected_naming_the_field(change: dict[str, Any], reason: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_radar_wgs84(_payload([_target(**change)]), CONTEXT)
    assert (info.value.reason, info.value.field) == (reason, field)
    assert field in info.value.detail


def test_missing_target_field_is_wrong_shape() -> None:
    target = _target()
    del target["latitude"]
    with pytest.raises(ValidationError) as info:
        normalize_radar_wgs84(_payload([target]), CONTEXT)
    assert (info.value.reason, info.value.field) == ("wrong_shape", "targets.0.latitude")


def test_count_mismatch_names_number() -> None:
    with pytest.raises(ValidationError) as info:
        normalize_radar_wgs84(_payload([_target()], number=2), CONTEXT)
    assert (info.value.reason, info.value.field) == ("count_mismatch", "number")


def test_too_many_targets_is_out_of_range() -> None:
    assert _reason(_payload([_target()] * 1025, number=None)) == "out_of_range"


def test_oversized_payload_is_rejected_before_parsing() -> None:
    assert _reason(b"{" + b" " * MAX_PAYLOAD_BYTES + b"}") == "too_large"


def test_payload_at_the_limit_is_parsed() -> None:
    payload = FIRST.payload + b" " * (MAX_PAYLOAD_BYTES - len(FIRST.payload))
    assert len(_normalize_one(payload).objects) == _frame_dict()["number"]

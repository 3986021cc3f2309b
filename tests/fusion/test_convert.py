"""Domain (WGS84) <-> fusion arrays (ENU)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.spatial import Covariance2D, Position, PositionAccuracy
from roadlink.domain.vehicle import VehicleState
from roadlink.fusion import (
    SourceDefaults,
    SourceKind,
    Tracker,
    TrackerConfig,
    detections_from_frames,
    detections_from_vehicle_states,
    tracks_from_table,
)

ORIGIN = LocalOrigin(39.9042, 116.4074, 50.0)


def _position(east_m: float, north_m: float) -> Position:
    lat, lon, height = ORIGIN.to_geodetic(east_m, north_m, 0.0)
    return Position(lat, lon, height)


def _frame(source: str, time_ms: int, offset_ms: int | None = None) -> PerceptionFrame:
    objects = (
        DetectedObject(
            object_id=11,
            object_class=ObjectClass.PASSENGER_CAR,
            position=_position(10.0, 20.0),
            class_confidence=0.9,
            speed_mps=10.0,
            heading_deg=90.0,
            position_covariance=Covariance2D(0.3, 0.1, 0.5),
        ),
        DetectedObject(
            object_id=12,
            object_class=ObjectClass.PEDESTRIAN,
            position=Position(*ORIGIN.to_geodetic(-5.0, 3.0, 0.0)[:2]),
        ),
    )
    return PerceptionFrame(source, 1, time_ms, objects, Provenance(source, time_ms, clock_offset_ms=offset_ms))


def test_frames_to_detections() -> None:
    detections = detections_from_frames([_frame("rsu-1", 5000, offset_ms=40)], ORIGIN)
    np.testing.assert_allclose(detections.positions_m, [[10.0, 20.0], [-5.0, 3.0]], atol=1e-6)
    np.testing.assert_allclose(detections.velocities_mps[0], [10.0, 0.0], atol=1e-9)
    assert detections.has_velocity.tolist() == [True, False]
    np.testing.assert_allclose(detections.covariances[0, :2, :2], [[0.3, 0.1], [0.1, 0.5]])
    np.testing.assert_allclose(detections.covariances[1, :2, :2], np.eye(2) * SourceDefaults().rsu_position_std_m ** 2)
    # Heading east: speed uncertainty along east, heading uncertainty (10 m/s * 5 deg) along north.
    np.testing.assert_allclose(
        detections.covariances[0, 2:, 2:], np.diag([0.25, (10.0 * np.radians(5.0)) ** 2]), atol=1e-12
    )
    assert detections.times_ms.tolist() == [4960, 4960]  # source clock 40 ms ahead of the receiver
    assert detections.kinds.tolist() == [SourceKind.RSU_OBJECT_LIST] * 2
    assert detections.object_ids.tolist() == [11, 12]
    assert detections.object_class.tolist() == [ObjectClass.PASSENGER_CAR, ObjectClass.PEDESTRIAN]
    assert detections.class_confidence.tolist() == [0.9, 0.5]
    assert len(detections_from_frames([], ORIGIN)) == 0


def test_vehicle_states_to_detections() -> None:
    state = VehicleState(
        temporary_id=b"\x0a\x00\x00\x00",
        time_unix_ms=7000,
        position=_position(-30.0, 4.0),
        accuracy=PositionAccuracy(2.0, 1.0, 90.0),
        speed_mps=5.0,
        heading_deg=180.0,
        vehicle_class=ObjectClass.BUS,
    )
    detections = detections_from_vehicle_states([state], ORIGIN)
    np.testing.assert_allclose(detections.positions_m, [[-30.0, 4.0]], atol=1e-6)
    np.testing.assert_allclose(detections.velocities_mps, [[0.0, -5.0]], atol=1e-9)
    np.testing.assert_allclose(detections.covariances[0, :2, :2], np.diag([4.0, 1.0]), atol=1e-12)
    assert detections.kinds.tolist() == [SourceKind.VEHICLE_SELF_REPORT]
    assert detections.source_ids.tolist() == ["0a000000"]
    assert detections.class_confidence.tolist() == [1.0]


def test_tracker_output_to_domain_tracks() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0))
    state = VehicleState(
        temporary_id=b"\x0a\x00\x00\x00",
        time_unix_ms=1050,
        position=_position(3.0, 4.0),
        speed_mps=2.0,
        heading_deg=0.0,
    )
    tracker.step(1000, detections_from_frames([_frame("rsu-1", 1000)], ORIGIN))
    snapshot = tracker.step(1050, detections_from_vehicle_states([state], ORIGIN))
    assert len(snapshot) == 1  # only the self-report's track is confirmed yet
    (track,) = tracks_from_table(snapshot, ORIGIN, tracker.source_names)
    assert track.vehicle_temporary_id == b"\x0a\x00\x00\x00"
    assert track.source_ids == ("0a000000",)
    assert track.time_unix_ms == 1050
    assert track.speed_mps == pytest.approx(2.0, abs=0.2)
    east, north, _ = ORIGIN.to_enu(track.position.latitude_deg, track.position.longitude_deg, ORIGIN.height_m)
    assert (east, north) == pytest.approx((3.0, 4.0), abs=0.5)
    assert track.position_covariance is not None
    all_tracks = tracks_from_table(tracker.tracks, ORIGIN, tracker.source_names)
    assert {t.source_ids for t in all_tracks} == {("0a000000",), ("rsu-1",)}


def test_existence_probability_survives_the_wire() -> None:
    """The RSU tracker's existence probability reaches the fusion node through the v1 proto; absent stays absent."""
    from roadlink.wire.convert import detected_object_from_proto, frame_to_proto

    obj = _frame("rsu-1", 5000).objects[0]
    reported = dataclasses.replace(obj, existence_probability=0.37)
    frame = PerceptionFrame("rsu-1", 1, 5000, (reported, obj), Provenance("rsu-1", 5000))
    message = frame_to_proto(frame)
    assert message.objects[0].HasField("existence_probability")
    assert not message.objects[1].HasField("existence_probability")
    assert detected_object_from_proto(message.objects[0]).existence_probability == pytest.approx(0.37)
    assert detected_object_from_proto(message.objects[1]).existence_probability is None
    detections = detections_from_frames([frame], ORIGIN)
    np.testing.assert_array_equal(detections.existence_probability, [0.37, np.nan])

"""Tests for roadlink.wire.convert: domain -> proto -> domain round trips, presence and validation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from v2x.cloud.v1 import situation_pb2
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import perception_pb2
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, AdvisoryType, Severity, SituationUpdate, Track
from roadlink.domain.spatial import (
    Area,
    BoundingBox,
    Circle,
    Covariance2D,
    Dimensions,
    Position,
    PositionAccuracy,
)
from roadlink.domain.vehicle import TransmissionState, VehicleState
from roadlink.wire.convert import (
    advisory_from_proto,
    advisory_to_proto,
    area_from_proto,
    area_to_proto,
    detected_object_from_proto,
    detected_object_to_proto,
    frame_from_proto,
    frame_to_proto,
    position_from_proto,
    position_to_proto,
    situation_from_proto,
    situation_to_proto,
    track_from_proto,
    track_to_proto,
    vehicle_state_from_proto,
    vehicle_state_to_proto,
)

T0 = 1_664_423_415_000
HERE = Position(39.0737, 115.9326, 12.5)
PROVENANCE = Provenance(
    source_id="rsu-7",
    source_time_unix_ms=T0,
    gateway_receive_time_unix_ms=T0 + 4,
    sensor_ids=("radar0", "camera1"),
    topic="rsu/rsu-7/radar/radar0",
    source_sequence=0,
    clock_offset_ms=-17,
)
FULL_OBJECT = DetectedObject(
    object_id=2**64 - 1,
    object_class=ObjectClass.PEDESTRIAN,
    position=HERE,
    class_confidence=0.75,
    speed_mps=1.4,
    heading_deg=271.5,
    acceleration_mps2=-0.3,
    size=Dimensions(0.5, 0.6, 1.8),
    position_covariance=Covariance2D(1.0, 0.1, 2.0),
    velocity_covariance=Covariance2D(0.25, -0.05, 0.5),
    sensor_ids=("radar0",),
    measurement_time_unix_ms=T0 - 20,
    lane_id=3,
)
BARE_OBJECT = DetectedObject(object_id=7, object_class=ObjectClass.UNSPECIFIED, position=Position(0.0, 0.0))
FULL_VEHICLE = VehicleState(
    temporary_id=b"\x01\x02\x03\x04",
    time_unix_ms=T0,
    position=HERE,
    message_count=127,
    accuracy=PositionAccuracy(1.5, 0.8, 45.0),
    speed_mps=13.9,
    heading_deg=90.0,
    steering_wheel_angle_deg=-12.5,
    longitudinal_acceleration_mps2=0.4,
    lateral_acceleration_mps2=-0.2,
    vertical_acceleration_mps2=0.05,
    yaw_rate_deg_per_s=1.25,
    transmission=TransmissionState.FORWARD_GEARS,
    size=Dimensions(4.5, 1.8, 1.5),
    vehicle_class=ObjectClass.PASSENGER_CAR,
    provenance=PROVENANCE,
)
FULL_TRACK = Track(
    track_id=2**63 - 1,
    object_class=ObjectClass.BUS,
    position=HERE,
    time_unix_ms=T0,
    first_seen_unix_ms=T0 - 5_000,
    class_confidence=0.9,
    speed_mps=8.0,
    heading_deg=180.0,
    size=Dimensions(12.0, 2.5),
    position_covariance=Covariance2D.isotropic(1.0),
    velocity_covariance=Covariance2D.isotropic(0.5),
    source_ids=("rsu-7", "rsu-8"),
    vehicle_temporary_id=b"\xaa\xbb\xcc\xdd\xee\xff\x00\x11",
)
CIRCLE = Circle(Position(39.07, 115.93), 250.0)
BOX = BoundingBox(39.0, 115.9, 39.1, 116.0)
FULL_ADVISORY = Advisory(
    advisory_id="adv-1",
    type=AdvisoryType.VULNERABLE_ROAD_USER,
    severity=Severity.CRITICAL,
    time_unix_ms=T0,
    track_ids=(1, 2**63 - 1),
    zone=CIRCLE,
    time_to_event_s=2.5,
    valid_until_unix_ms=T0 + 10_000,
    description="pedestrian crossing",
)


@pytest.mark.parametrize("position", [HERE, Position(-33.9, 151.2), Position(0.0, 0.0, 0.0)])
def test_position_round_trip(position: Position) -> None:
    assert position_from_proto(position_to_proto(position)) == position


def test_position_without_elevation_has_no_elevation_field() -> None:
    message = position_to_proto(Position(1.0, 2.0))

    assert not message.HasField("elevation_m")
    assert position_from_proto(message).elevation_m is None


def test_position_zero_elevation_is_present_not_none() -> None:
    message = position_to_proto(Position(1.0, 2.0, 0.0))

    assert message.HasField("elevation_m")
    assert position_from_proto(message).elevation_m == 0.0


@pytest.mark.parametrize("obj", [FULL_OBJECT, BARE_OBJECT], ids=["all_fields", "all_none"])
def test_detected_object_round_trip(obj: DetectedObject) -> None:
    assert detected_object_from_proto(detected_object_to_proto(obj)) == obj


def test_detected_object_all_none_sets_no_optional_field() -> None:
    message = detected_object_to_proto(BARE_OBJECT)

    for name in (
        "class_confidence",
        "speed_mps",
        "heading_deg",
        "acceleration_mps2",
        "size",
        "position_covariance",
        "velocity_covariance",
        "measurement_time_unix_ms",
        "lane_id",
    ):
        assert not message.HasField(name), name


def test_detected_object_zero_values_stay_zero() -> None:
    zeros = DetectedObject(
        object_id=0,
        object_class=ObjectClass.UNKNOWN,
        position=Position(0.0, 0.0, 0.0),
        class_confidence=0.0,
        speed_mps=0.0,
        heading_deg=0.0,
        acceleration_mps2=0.0,
        size=Dimensions(0.0, 0.0, 0.0),
        position_covariance=Covariance2D(0.0, 0.0, 0.0),
        velocity_covariance=Covariance2D(0.0, 0.0, 0.0),
        measurement_time_unix_ms=0,
        lane_id=0,
    )

    back = detected_object_from_proto(detected_object_to_proto(zeros))

    assert back == zeros
    assert back.speed_mps is not None
    assert back.lane_id is not None
    assert back.size is not None
    assert back.size.height_m is not None


def test_perception_frame_round_trip() -> None:
    frame = PerceptionFrame(
        source_id="rsu-7",
        frame_sequence=42,
        time_unix_ms=T0,
        objects=(FULL_OBJECT, BARE_OBJECT),
        provenance=PROVENANCE,
        reference_position=Position(39.0, 115.0, 30.0),
    )

    assert frame_from_proto(frame_to_proto(frame)) == frame


def test_perception_frame_without_reference_or_objects_round_trip() -> None:
    frame = PerceptionFrame("rsu-7", 0, T0, (), Provenance("rsu-7", T0))

    message = frame_to_proto(frame)

    assert not message.HasField("reference_position")
    assert frame_from_proto(message) == frame


def test_perception_frame_without_provenance_gets_a_minimal_one() -> None:
    message = perception_pb2.PerceptionFrame(source_id="rsu-9", frame_sequence=3, time_unix_ms=T0)

    frame = frame_from_proto(message)

    assert frame.provenance == Provenance(source_id="rsu-9", source_time_unix_ms=T0)


def test_vehicle_state_round_trip_all_fields() -> None:
    assert vehicle_state_from_proto(vehicle_state_to_proto(FULL_VEHICLE)) == FULL_VEHICLE


def test_vehicle_state_round_trip_minimal() -> None:
    minimal = VehicleState(temporary_id=b"\x00\x00\x00\x01", time_unix_ms=T0, position=Position(1.0, 2.0))

    message = vehicle_state_to_proto(minimal)

    assert not message.HasField("accuracy")
    assert not message.HasField("provenance")
    assert not message.HasField("speed_mps")
    assert vehicle_state_from_proto(message) == minimal


def test_vehicle_state_zero_speed_is_not_unavailable() -> None:
    state = VehicleState(b"\x01", T0, Position(1.0, 2.0), speed_mps=0.0, yaw_rate_deg_per_s=0.0)

    back = vehicle_state_from_proto(vehicle_state_to_proto(state))

    assert back.speed_mps == 0.0
    assert back.yaw_rate_deg_per_s == 0.0
    assert back.heading_deg is None


def test_accuracy_orientation_presence_is_preserved() -> None:
    without = VehicleState(b"\x01", T0, Position(1.0, 2.0), accuracy=PositionAccuracy(2.0, 1.0))
    zero = VehicleState(b"\x01", T0, Position(1.0, 2.0), accuracy=PositionAccuracy(2.0, 1.0, 0.0))

    assert vehicle_state_from_proto(vehicle_state_to_proto(without)) == without
    assert vehicle_state_from_proto(vehicle_state_to_proto(zero)) == zero


_finite = st.floats(allow_nan=False, allow_infinity=False)
_optional_finite = st.none() | _finite


_vehicle_states = st.builds(
    VehicleState,
    temporary_id=st.binary(min_size=4, max_size=8),
    time_unix_ms=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    position=st.builds(Position, _finite, _finite, _optional_finite),
    message_count=st.integers(min_value=0, max_value=2**32 - 1),
    accuracy=st.none() | st.builds(PositionAccuracy, _finite, _finite, _optional_finite),
    speed_mps=_optional_finite,
    heading_deg=_optional_finite,
    steering_wheel_angle_deg=_optional_finite,
    longitudinal_acceleration_mps2=_optional_finite,
    lateral_acceleration_mps2=_optional_finite,
    vertical_acceleration_mps2=_optional_finite,
    yaw_rate_deg_per_s=_optional_finite,
    transmission=st.sampled_from(TransmissionState),
    size=st.none() | st.builds(Dimensions, _finite, _finite, _optional_finite),
    vehicle_class=st.sampled_from(ObjectClass),
    provenance=st.none() | st.just(PROVENANCE),
)


@given(state=_vehicle_states)
def test_vehicle_state_round_trip_property(state: VehicleState) -> None:
    assert vehicle_state_from_proto(vehicle_state_to_proto(state)) == state


@pytest.mark.parametrize(
    "track",
    [FULL_TRACK, Track(1, ObjectClass.UNKNOWN, Position(0.0, 0.0), T0, T0)],
    ids=["all_fields", "minimal"],
)
def test_track_round_trip(track: Track) -> None:
    assert track_from_proto(track_to_proto(track)) == track


@pytest.mark.parametrize(
    "advisory",
    [
        FULL_ADVISORY,
        Advisory("adv-2", AdvisoryType.ROAD_EVENT, Severity.INFO, T0, zone=BOX),
        Advisory("adv-3", AdvisoryType.UNSPECIFIED, Severity.UNSPECIFIED, T0),
        Advisory("adv-4", AdvisoryType.WRONG_WAY, Severity.WARNING, T0, time_to_event_s=0.0, valid_until_unix_ms=0),
    ],
    ids=["all_fields", "box_zone", "minimal", "zeros"],
)
def test_advisory_round_trip(advisory: Advisory) -> None:
    assert advisory_from_proto(advisory_to_proto(advisory)) == advisory


RED_SPAT = SignalPhaseAndTiming(
    intersection_id=7,
    time_unix_ms=T0,
    movements=(MovementState(2, (MovementEvent(MovementPhase.STOP_AND_REMAIN, min_end_time_unix_ms=T0 + 9_000),)),),
    revision=3,
)
"""A red signal of one intersection, as a situation update carries it."""


@pytest.mark.parametrize("area", [CIRCLE, BOX], ids=["circle", "box"])
def test_situation_update_round_trip(area: Area) -> None:
    update = SituationUpdate(
        time_unix_ms=T0,
        area=area,
        tracks=(FULL_TRACK, Track(5, ObjectClass.BICYCLE, Position(39.05, 115.95), T0, T0 - 1)),
        advisories=(FULL_ADVISORY,),
        sequence=17,
        skipped_updates=3,
        signal_timings=(RED_SPAT,),
    )

    message = situation_to_proto(update)

    assert [s.intersection_id for s in message.signal_timings] == [RED_SPAT.intersection_id]
    assert situation_from_proto(message) == update


@pytest.mark.parametrize(
    "area",
    [CIRCLE, BOX, Circle(Position(1.0, 2.0, 3.0), 0.001), BoundingBox(10.0, 20.0, 10.0, 20.0)],
    ids=["circle", "box", "tiny_circle", "point_box"],
)
def test_area_round_trip(area: Area) -> None:
    assert area_from_proto(area_to_proto(area)) == area


def test_area_to_proto_sets_the_matching_oneof() -> None:
    assert area_to_proto(CIRCLE).WhichOneof("shape") == "circle"
    assert area_to_proto(BOX).WhichOneof("shape") == "box"


def _circle_area(radius_m: float) -> common_pb2.Area:
    return common_pb2.Area(circle=common_pb2.Circle(center=common_pb2.Position(), radius_m=radius_m))


def _box_area(min_lat: float, min_lon: float, max_lat: float, max_lon: float) -> common_pb2.Area:
    box = common_pb2.BoundingBox(
        min_latitude_deg=min_lat, min_longitude_deg=min_lon, max_latitude_deg=max_lat, max_longitude_deg=max_lon
    )
    return common_pb2.Area(box=box)


@pytest.mark.parametrize(
    "message",
    [
        _circle_area(0.0),
        _circle_area(-5.0),
        _circle_area(math.nan),
        _box_area(39.1, 115.9, 39.0, 116.0),
        _box_area(39.0, 116.0, 39.1, 115.9),
        _box_area(math.nan, 115.9, 39.1, 116.0),
        common_pb2.Area(polygon=common_pb2.Polygon(vertices=[common_pb2.Position(), common_pb2.Position()])),
        common_pb2.Area(path=common_pb2.Path(points=[common_pb2.Position()], radius_m=5.0)),
        common_pb2.Area(),
    ],
    ids=[
        "zero_radius",
        "negative_radius",
        "nan_radius",
        "min_lat_above_max",
        "min_lon_above_max",
        "nan_box",
        "polygon",
        "path",
        "empty_oneof",
    ],
)
def test_invalid_area_raises_invalid_area(message: common_pb2.Area) -> None:
    with pytest.raises(ValidationError) as caught:
        area_from_proto(message)

    assert caught.value.reason == "invalid_area"


def test_invalid_area_inside_a_situation_update_raises() -> None:
    message = situation_pb2.SituationUpdate(time_unix_ms=T0)

    with pytest.raises(ValidationError) as caught:
        situation_from_proto(message)

    assert caught.value.reason == "invalid_area"


def test_unknown_object_class_degrades_to_unknown() -> None:
    obj = perception_pb2.DetectedObject(object_id=1, object_class=999)  # type: ignore[arg-type]
    track = situation_pb2.Track(track_id=1, object_class=999)  # type: ignore[arg-type]
    state = vehicle_pb2.VehicleState(temporary_id=b"\x01", vehicle_class=999)  # type: ignore[arg-type]

    assert detected_object_from_proto(obj).object_class is ObjectClass.UNKNOWN
    assert track_from_proto(track).object_class is ObjectClass.UNKNOWN
    assert vehicle_state_from_proto(state).vehicle_class is ObjectClass.UNKNOWN


def test_unknown_transmission_state_degrades_to_unspecified() -> None:
    """A value added by a newer contract must not break an older reader."""
    message = vehicle_pb2.VehicleState(temporary_id=b"\x01", transmission=7)  # type: ignore[arg-type]

    assert vehicle_state_from_proto(message).transmission is TransmissionState.UNSPECIFIED


@pytest.mark.parametrize("field", ["type", "severity"])
def test_unknown_advisory_enums_degrade_to_unspecified(field: str) -> None:
    advisory = advisory_from_proto(situation_pb2.Advisory(advisory_id="a", **{field: 99}))  # type: ignore[arg-type]

    assert int(getattr(advisory, field)) == 0

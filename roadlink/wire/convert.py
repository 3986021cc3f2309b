"""Converters between domain values and v1 protobuf messages: the only place that knows both.

Absent optional proto fields become None and back; enums convert by value (the domain enums mirror the
proto enums). `to_proto_*` functions build messages with keyword arguments, which is the fastest way to
build upb messages from Python.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message
from v2x.cloud.v1 import situation_pb2
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import perception_pb2, signal_pb2
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import AirMessage, DetectedObject, PerceptionFrame, Provenance
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

__all__ = [
    "advisory_from_proto",
    "advisory_to_proto",
    "area_from_proto",
    "area_to_proto",
    "detected_object_from_proto",
    "detected_object_to_proto",
    "frame_from_proto",
    "frame_to_proto",
    "position_from_proto",
    "position_to_proto",
    "provenance_from_proto",
    "provenance_to_proto",
    "signal_from_proto",
    "signal_to_proto",
    "situation_from_proto",
    "situation_to_proto",
    "track_from_proto",
    "track_to_proto",
    "vehicle_state_from_proto",
    "vehicle_state_to_proto",
]


def position_to_proto(position: Position) -> common_pb2.Position:
    """Domain position -> proto (elevation omitted when unknown)."""
    return common_pb2.Position(
        latitude_deg=position.latitude_deg,
        longitude_deg=position.longitude_deg,
        elevation_m=position.elevation_m,
    )


def position_from_proto(message: common_pb2.Position) -> Position:
    """Proto position -> domain."""
    elevation = message.elevation_m if message.HasField("elevation_m") else None
    return Position(message.latitude_deg, message.longitude_deg, elevation)


def _covariance_to_proto(cov: Covariance2D | None) -> common_pb2.Covariance2D | None:
    if cov is None:
        return None
    return common_pb2.Covariance2D(east_east=cov.east_east, east_north=cov.east_north, north_north=cov.north_north)


def _covariance_from_proto(owner: Message, name: str) -> Covariance2D | None:
    if not owner.HasField(name):
        return None
    cov = getattr(owner, name)
    return Covariance2D(cov.east_east, cov.east_north, cov.north_north)


def _dimensions_to_proto(size: Dimensions | None) -> common_pb2.Dimensions | None:
    if size is None:
        return None
    return common_pb2.Dimensions(length_m=size.length_m, width_m=size.width_m, height_m=size.height_m)


def _dimensions_from_proto(owner: Message) -> Dimensions | None:
    if not owner.HasField("size"):
        return None
    size = getattr(owner, "size")  # noqa: B009 - any message with a size field
    height = size.height_m if size.HasField("height_m") else None
    return Dimensions(size.length_m, size.width_m, height)


def _optional(message: Message, name: str) -> float | None:
    value: float | None = getattr(message, name) if message.HasField(name) else None
    return value


def provenance_to_proto(provenance: Provenance) -> common_pb2.Provenance:
    """Domain provenance -> proto."""
    return common_pb2.Provenance(
        source_id=provenance.source_id,
        sensor_ids=provenance.sensor_ids,
        source_time_unix_ms=provenance.source_time_unix_ms,
        gateway_receive_time_unix_ms=provenance.gateway_receive_time_unix_ms,
        topic=provenance.topic,
        source_sequence=provenance.source_sequence,
        clock_offset_ms=provenance.clock_offset_ms,
        flags=provenance.flags,
        air_message=_air_message_to_proto(provenance.air_message),
    )


def _air_message_to_proto(air: AirMessage | None) -> common_pb2.AirMessage | None:
    if air is None:
        return None
    return common_pb2.AirMessage(standard=air.standard, message_id=air.message_id, uper=air.uper)


def provenance_from_proto(message: common_pb2.Provenance) -> Provenance:
    """Proto provenance -> domain."""
    sequence = message.source_sequence if message.HasField("source_sequence") else None
    offset = message.clock_offset_ms if message.HasField("clock_offset_ms") else None
    return Provenance(
        source_id=message.source_id,
        source_time_unix_ms=message.source_time_unix_ms,
        gateway_receive_time_unix_ms=message.gateway_receive_time_unix_ms,
        sensor_ids=tuple(message.sensor_ids),
        topic=message.topic,
        source_sequence=sequence,
        clock_offset_ms=offset,
        flags=tuple(message.flags),
        air_message=_air_message_from_proto(message),
    )


def _air_message_from_proto(message: common_pb2.Provenance) -> AirMessage | None:
    if not message.HasField("air_message"):
        return None
    air = message.air_message
    return AirMessage(standard=air.standard, message_id=air.message_id, uper=bytes(air.uper))


def detected_object_to_proto(obj: DetectedObject) -> perception_pb2.DetectedObject:
    """Domain detected object -> proto."""
    message = perception_pb2.DetectedObject()
    _fill_detected_object(message, obj)
    return message


def _fill_detected_object(message: perception_pb2.DetectedObject, obj: DetectedObject) -> None:
    """Set `message`'s fields in place: building sub-messages in place avoids upb copying them (hot path)."""
    message.object_id = obj.object_id
    message.object_class = int(obj.object_class)  # type: ignore[assignment]
    position = message.position
    position.latitude_deg = obj.position.latitude_deg
    position.longitude_deg = obj.position.longitude_deg
    if obj.position.elevation_m is not None:
        position.elevation_m = obj.position.elevation_m
    if obj.class_confidence is not None:
        message.class_confidence = obj.class_confidence
    if obj.speed_mps is not None:
        message.speed_mps = obj.speed_mps
    if obj.heading_deg is not None:
        message.heading_deg = obj.heading_deg
    if obj.acceleration_mps2 is not None:
        message.acceleration_mps2 = obj.acceleration_mps2
    if obj.size is not None:
        _fill_dimensions(message.size, obj.size)
    if obj.position_covariance is not None:
        _fill_covariance(message.position_covariance, obj.position_covariance)
    if obj.velocity_covariance is not None:
        _fill_covariance(message.velocity_covariance, obj.velocity_covariance)
    if obj.sensor_ids:
        message.sensor_ids.extend(obj.sensor_ids)
    if obj.measurement_time_unix_ms is not None:
        message.measurement_time_unix_ms = obj.measurement_time_unix_ms
    if obj.lane_id is not None:
        message.lane_id = obj.lane_id
    if obj.existence_probability is not None:
        message.existence_probability = obj.existence_probability


def _fill_dimensions(message: common_pb2.Dimensions, size: Dimensions) -> None:
    message.length_m = size.length_m
    message.width_m = size.width_m
    if size.height_m is not None:
        message.height_m = size.height_m


def _fill_covariance(message: common_pb2.Covariance2D, cov: Covariance2D) -> None:
    message.east_east = cov.east_east
    message.east_north = cov.east_north
    message.north_north = cov.north_north


def detected_object_from_proto(message: perception_pb2.DetectedObject) -> DetectedObject:
    """Proto detected object -> domain."""
    return DetectedObject(
        object_id=message.object_id,
        object_class=_object_class(message.object_class),
        position=position_from_proto(message.position),
        class_confidence=_optional(message, "class_confidence"),
        speed_mps=_optional(message, "speed_mps"),
        heading_deg=_optional(message, "heading_deg"),
        acceleration_mps2=_optional(message, "acceleration_mps2"),
        size=_dimensions_from_proto(message),
        position_covariance=_covariance_from_proto(message, "position_covariance"),
        velocity_covariance=_covariance_from_proto(message, "velocity_covariance"),
        sensor_ids=tuple(message.sensor_ids),
        measurement_time_unix_ms=message.measurement_time_unix_ms
        if message.HasField("measurement_time_unix_ms")
        else None,
        lane_id=message.lane_id if message.HasField("lane_id") else None,
        existence_probability=_optional(message, "existence_probability"),
    )


def frame_to_proto(frame: PerceptionFrame) -> perception_pb2.PerceptionFrame:
    """Domain perception frame -> proto."""
    reference = frame.reference_position
    message = perception_pb2.PerceptionFrame(
        source_id=frame.source_id,
        frame_sequence=frame.frame_sequence,
        time_unix_ms=frame.time_unix_ms,
        reference_position=position_to_proto(reference) if reference is not None else None,
        provenance=provenance_to_proto(frame.provenance),
    )
    add = message.objects.add
    for obj in frame.objects:
        _fill_detected_object(add(), obj)
    return message


def frame_from_proto(message: perception_pb2.PerceptionFrame) -> PerceptionFrame:
    """Proto perception frame -> domain."""
    reference = position_from_proto(message.reference_position) if message.HasField("reference_position") else None
    provenance = (
        provenance_from_proto(message.provenance)
        if message.HasField("provenance")
        else Provenance(source_id=message.source_id, source_time_unix_ms=message.time_unix_ms)
    )
    return PerceptionFrame(
        source_id=message.source_id,
        frame_sequence=message.frame_sequence,
        time_unix_ms=message.time_unix_ms,
        objects=tuple(detected_object_from_proto(obj) for obj in message.objects),
        provenance=provenance,
        reference_position=reference,
    )


def _accuracy_to_proto(accuracy: PositionAccuracy | None) -> common_pb2.PositionAccuracy | None:
    if accuracy is None:
        return None
    return common_pb2.PositionAccuracy(
        semi_major_m=accuracy.semi_major_m,
        semi_minor_m=accuracy.semi_minor_m,
        semi_major_orientation_deg=accuracy.semi_major_orientation_deg,
    )


def _accuracy_from_proto(message: vehicle_pb2.VehicleState) -> PositionAccuracy | None:
    if not message.HasField("accuracy"):
        return None
    acc = message.accuracy
    return PositionAccuracy(acc.semi_major_m, acc.semi_minor_m, _optional(acc, "semi_major_orientation_deg"))


def vehicle_state_to_proto(state: VehicleState) -> vehicle_pb2.VehicleState:
    """Domain vehicle state -> proto."""
    return vehicle_pb2.VehicleState(
        temporary_id=state.temporary_id,
        message_count=state.message_count,
        time_unix_ms=state.time_unix_ms,
        position=position_to_proto(state.position),
        accuracy=_accuracy_to_proto(state.accuracy),
        speed_mps=state.speed_mps,
        heading_deg=state.heading_deg,
        steering_wheel_angle_deg=state.steering_wheel_angle_deg,
        longitudinal_acceleration_mps2=state.longitudinal_acceleration_mps2,
        lateral_acceleration_mps2=state.lateral_acceleration_mps2,
        vertical_acceleration_mps2=state.vertical_acceleration_mps2,
        yaw_rate_deg_per_s=state.yaw_rate_deg_per_s,
        transmission=int(state.transmission),  # type: ignore[arg-type]
        size=_dimensions_to_proto(state.size),
        vehicle_class=int(state.vehicle_class),  # type: ignore[arg-type]
        provenance=provenance_to_proto(state.provenance) if state.provenance is not None else None,
    )


def vehicle_state_from_proto(message: vehicle_pb2.VehicleState) -> VehicleState:
    """Proto vehicle state -> domain."""
    return VehicleState(
        temporary_id=message.temporary_id,
        time_unix_ms=message.time_unix_ms,
        position=position_from_proto(message.position),
        message_count=message.message_count,
        accuracy=_accuracy_from_proto(message),
        speed_mps=_optional(message, "speed_mps"),
        heading_deg=_optional(message, "heading_deg"),
        steering_wheel_angle_deg=_optional(message, "steering_wheel_angle_deg"),
        longitudinal_acceleration_mps2=_optional(message, "longitudinal_acceleration_mps2"),
        lateral_acceleration_mps2=_optional(message, "lateral_acceleration_mps2"),
        vertical_acceleration_mps2=_optional(message, "vertical_acceleration_mps2"),
        yaw_rate_deg_per_s=_optional(message, "yaw_rate_deg_per_s"),
        transmission=_enum(TransmissionState, message.transmission, "transmission"),
        size=_dimensions_from_proto(message),
        vehicle_class=_object_class(message.vehicle_class),
        provenance=provenance_from_proto(message.provenance) if message.HasField("provenance") else None,
    )


_E = TypeVar("_E", TransmissionState, AdvisoryType, Severity, MovementPhase)


def _enum(kind: type[_E], value: int, name: str) -> _E:
    """A known enum value, or UNSPECIFIED (0) for one added by a newer contract: old clients keep working."""
    try:
        return kind(value)
    except ValueError:
        return kind(0)


def _object_class(value: int) -> ObjectClass:
    """Unknown future class values degrade to UNKNOWN rather than failing the message."""
    try:
        return ObjectClass(value)
    except ValueError:
        return ObjectClass.UNKNOWN


def area_to_proto(area: Area) -> common_pb2.Area:
    """Domain area -> proto."""
    if isinstance(area, Circle):
        circle = common_pb2.Circle(center=position_to_proto(area.center), radius_m=area.radius_m)
        return common_pb2.Area(circle=circle)
    box = common_pb2.BoundingBox(
        min_latitude_deg=area.min_latitude_deg,
        min_longitude_deg=area.min_longitude_deg,
        max_latitude_deg=area.max_latitude_deg,
        max_longitude_deg=area.max_longitude_deg,
    )
    return common_pb2.Area(box=box)


def area_from_proto(message: common_pb2.Area) -> Area:
    """Proto area -> domain; raises ValidationError for a missing, unsupported or degenerate shape."""
    shape = message.WhichOneof("shape")
    if shape == "circle":
        if not message.circle.radius_m > 0:
            raise ValidationError("invalid_area", "circle radius must be > 0", field="area.circle.radius_m")
        return Circle(position_from_proto(message.circle.center), message.circle.radius_m)
    if shape == "box":
        b = message.box
        if not (b.min_latitude_deg <= b.max_latitude_deg and b.min_longitude_deg <= b.max_longitude_deg):
            raise ValidationError("invalid_area", "box minimum exceeds maximum", field="area.box")
        return BoundingBox(b.min_latitude_deg, b.min_longitude_deg, b.max_latitude_deg, b.max_longitude_deg)
    raise ValidationError("invalid_area", f"area shape {shape!r} is not supported (use circle or box)")


def track_to_proto(track: Track) -> situation_pb2.Track:
    """Domain track -> proto."""
    return situation_pb2.Track(
        track_id=track.track_id,
        object_class=int(track.object_class),  # type: ignore[arg-type]
        class_confidence=track.class_confidence,
        position=position_to_proto(track.position),
        speed_mps=track.speed_mps,
        heading_deg=track.heading_deg,
        size=_dimensions_to_proto(track.size),
        position_covariance=_covariance_to_proto(track.position_covariance),
        velocity_covariance=_covariance_to_proto(track.velocity_covariance),
        source_ids=track.source_ids,
        vehicle_temporary_id=track.vehicle_temporary_id,
        time_unix_ms=track.time_unix_ms,
        first_seen_unix_ms=track.first_seen_unix_ms,
    )


def track_from_proto(message: situation_pb2.Track) -> Track:
    """Proto track -> domain."""
    return Track(
        track_id=message.track_id,
        object_class=_object_class(message.object_class),
        position=position_from_proto(message.position),
        time_unix_ms=message.time_unix_ms,
        first_seen_unix_ms=message.first_seen_unix_ms,
        class_confidence=_optional(message, "class_confidence"),
        speed_mps=_optional(message, "speed_mps"),
        heading_deg=_optional(message, "heading_deg"),
        size=_dimensions_from_proto(message),
        position_covariance=_covariance_from_proto(message, "position_covariance"),
        velocity_covariance=_covariance_from_proto(message, "velocity_covariance"),
        source_ids=tuple(message.source_ids),
        vehicle_temporary_id=message.vehicle_temporary_id,
    )


def advisory_to_proto(advisory: Advisory) -> situation_pb2.Advisory:
    """Domain advisory -> proto."""
    return situation_pb2.Advisory(
        advisory_id=advisory.advisory_id,
        type=int(advisory.type),  # type: ignore[arg-type]
        severity=int(advisory.severity),  # type: ignore[arg-type]
        time_to_event_s=advisory.time_to_event_s,
        track_ids=advisory.track_ids,
        zone=area_to_proto(advisory.zone) if advisory.zone is not None else None,
        time_unix_ms=advisory.time_unix_ms,
        validity=common_pb2.Validity(end_time_unix_ms=advisory.valid_until_unix_ms),
        description=advisory.description,
    )


def advisory_from_proto(message: situation_pb2.Advisory) -> Advisory:
    """Proto advisory -> domain."""
    validity = message.validity
    return Advisory(
        advisory_id=message.advisory_id,
        type=_enum(AdvisoryType, message.type, "type"),
        severity=_enum(Severity, message.severity, "severity"),
        time_unix_ms=message.time_unix_ms,
        track_ids=tuple(message.track_ids),
        zone=area_from_proto(message.zone) if message.HasField("zone") else None,
        time_to_event_s=_optional(message, "time_to_event_s"),
        valid_until_unix_ms=validity.end_time_unix_ms if validity.HasField("end_time_unix_ms") else None,
        description=message.description,
    )


def situation_to_proto(update: SituationUpdate) -> situation_pb2.SituationUpdate:
    """Domain situation update -> proto."""
    return situation_pb2.SituationUpdate(
        time_unix_ms=update.time_unix_ms,
        area=area_to_proto(update.area),
        tracks=[track_to_proto(track) for track in update.tracks],
        advisories=[advisory_to_proto(advisory) for advisory in update.advisories],
        signal_timings=[signal_to_proto(spat) for spat in update.signal_timings],
        sequence=update.sequence,
        skipped_updates=update.skipped_updates,
    )


def situation_from_proto(message: situation_pb2.SituationUpdate) -> SituationUpdate:
    """Proto situation update -> domain."""
    return SituationUpdate(
        time_unix_ms=message.time_unix_ms,
        area=area_from_proto(message.area),
        tracks=tuple(track_from_proto(track) for track in message.tracks),
        advisories=tuple(advisory_from_proto(advisory) for advisory in message.advisories),
        sequence=message.sequence,
        skipped_updates=message.skipped_updates,
        signal_timings=tuple(signal_from_proto(spat) for spat in message.signal_timings),
    )


_EVENT_TIMES = (
    "start_time_unix_ms",
    "min_end_time_unix_ms",
    "max_end_time_unix_ms",
    "likely_end_time_unix_ms",
    "next_time_unix_ms",
)


def _event_to_proto(event: MovementEvent) -> signal_pb2.MovementEvent:
    return signal_pb2.MovementEvent(
        phase=int(event.phase),  # type: ignore[arg-type]
        start_time_unix_ms=event.start_time_unix_ms,
        min_end_time_unix_ms=event.min_end_time_unix_ms,
        max_end_time_unix_ms=event.max_end_time_unix_ms,
        likely_end_time_unix_ms=event.likely_end_time_unix_ms,
        confidence=event.confidence,
        next_time_unix_ms=event.next_time_unix_ms,
    )


def _event_from_proto(message: signal_pb2.MovementEvent) -> MovementEvent:
    def present(name: str) -> int | None:
        value: int | None = getattr(message, name) if _has(message, name) else None
        return value

    return MovementEvent(
        phase=_enum(MovementPhase, message.phase, "phase"),
        confidence=present("confidence"),
        **{name: present(name) for name in _EVENT_TIMES},
    )


def _has(message: Message, name: str) -> bool:
    """HasField for a field name only known at run time."""
    return message.HasField(name)


def signal_to_proto(spat: SignalPhaseAndTiming) -> signal_pb2.SignalPhaseAndTiming:
    """Domain SPaT -> proto."""
    return signal_pb2.SignalPhaseAndTiming(
        intersection_id=spat.intersection_id,
        region=spat.region,
        revision=spat.revision,
        status_flags=spat.status_flags,
        time_unix_ms=spat.time_unix_ms,
        movements=[
            signal_pb2.MovementState(signal_group=m.signal_group, events=[_event_to_proto(e) for e in m.events])
            for m in spat.movements
        ],
        name=spat.name,
        provenance=provenance_to_proto(spat.provenance) if spat.provenance is not None else None,
    )


def signal_from_proto(message: signal_pb2.SignalPhaseAndTiming) -> SignalPhaseAndTiming:
    """Proto SPaT -> domain."""
    return SignalPhaseAndTiming(
        intersection_id=message.intersection_id,
        time_unix_ms=message.time_unix_ms,
        movements=tuple(
            MovementState(m.signal_group, tuple(_event_from_proto(e) for e in m.events)) for m in message.movements
        ),
        region=message.region if message.HasField("region") else None,
        revision=message.revision,
        status_flags=message.status_flags,
        name=message.name,
        provenance=provenance_from_proto(message.provenance) if message.HasField("provenance") else None,
    )

"""Building and reading the canonical v1 messages that adapters return (see gateway.adapters.base).

- `new_perception_frame(context, time_unix_ms, sequence)`: an empty v1 PerceptionFrame with its provenance,
  for an adapter to add objects to in place (`message.objects.add(...)`, then the sub-messages' fields set
  on the child: upb copies a sub-message passed as an argument, and that copy was the hot path's largest
  cost).
- `fill_provenance(message.provenance, context, source_time_unix_ms, sequence)`: the provenance every
  output carries (source id, sensor id, topic, source time, gateway receive time).
- `as_canonical(item)`: (PublishRequest field, v1 message) for any `Normalized` item.
- `as_domain(item)`: the domain object for any `Normalized` item (tests, readers).
"""

from __future__ import annotations

from typing import Final, TypeAlias

from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import perception_pb2, signal_pb2
from v2x.vehicle.v1 import vehicle_pb2

from gateway.adapters.base import Canonical, Domain, MessageContext, Normalized
from roadlink.domain.classes import ObjectClass
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.vehicle import VehicleState
from roadlink.wire.convert import (
    frame_from_proto,
    frame_to_proto,
    signal_from_proto,
    signal_to_proto,
    vehicle_state_from_proto,
    vehicle_state_to_proto,
)

__all__ = [
    "FIELDS",
    "ProtoClass",
    "as_canonical",
    "as_domain",
    "fill_provenance",
    "new_perception_frame",
    "proto_class",
]

ProtoClass: TypeAlias = common_pb2.ObjectClass.ValueType
"""An ObjectClass as the v1 messages hold it (the domain enum's value)."""

FIELDS: Final = {
    perception_pb2.PerceptionFrame: "frames",
    vehicle_pb2.VehicleState: "vehicle_states",
    signal_pb2.SignalPhaseAndTiming: "signal_timings",
}
"""v1 message class -> the PublishRequest field that carries it."""


def proto_class(object_class: ObjectClass) -> ProtoClass:
    """The v1 enum value of a domain ObjectClass (the two enums share their values)."""
    return common_pb2.ObjectClass.ValueType(int(object_class))


def fill_provenance(
    message: common_pb2.Provenance, context: MessageContext, source_time_unix_ms: int, sequence: int | None = None
) -> None:
    """Set a provenance in place: where the data came from (topic levels), its source time and number."""
    message.source_id = context.source_id
    message.sensor_ids.append(context.sensor_id)
    message.source_time_unix_ms = source_time_unix_ms
    message.gateway_receive_time_unix_ms = context.receive_time_unix_ms
    message.topic = context.topic
    if sequence is not None:
        message.source_sequence = sequence


def new_perception_frame(
    context: MessageContext, time_unix_ms: int, sequence: int | None = None
) -> perception_pb2.PerceptionFrame:
    """An empty frame of the context's source with its provenance; frame_sequence 0 when the source has none."""
    message = perception_pb2.PerceptionFrame(
        source_id=context.source_id, frame_sequence=sequence or 0, time_unix_ms=time_unix_ms
    )
    fill_provenance(message.provenance, context, time_unix_ms, sequence)
    return message


def as_canonical(item: Normalized) -> tuple[str, Canonical]:
    """(PublishRequest field, v1 message) of an adapter's output item; domain items are converted."""
    field = FIELDS.get(type(item))
    if field is not None:
        return field, item  # type: ignore[return-value]  # FIELDS holds exactly the Canonical classes
    if isinstance(item, PerceptionFrame):
        return "frames", frame_to_proto(item)
    if isinstance(item, SignalPhaseAndTiming):
        return "signal_timings", signal_to_proto(item)
    if isinstance(item, VehicleState):
        return "vehicle_states", vehicle_state_to_proto(item)
    raise TypeError(f"an adapter returned {type(item).__name__}, not a Normalized item")


def as_domain(item: Normalized) -> Domain:
    """The domain object of an adapter's output item (v1 messages are converted)."""
    if isinstance(item, perception_pb2.PerceptionFrame):
        return frame_from_proto(item)
    if isinstance(item, vehicle_pb2.VehicleState):
        return vehicle_state_from_proto(item)
    if isinstance(item, signal_pb2.SignalPhaseAndTiming):
        return signal_from_proto(item)
    return item

"""The adapter seam: what every vendor adapter receives and returns.

An adapter is a pure function `(payload: bytes, context: MessageContext) -> Sequence[Normalized]`. It
never does I/O and raises nothing but `roadlink.domain.errors.ValidationError` (with a specific reason),
so the gateway can dead-letter a bad message and go on with the stream.

What it returns, `Normalized`, is either the canonical v1 protobuf message the gateway forwards
(`Canonical`: PerceptionFrame, VehicleState or SignalPhaseAndTiming of the v2x packages) or the
equivalent domain object (`Domain`), which the pipeline converts with `roadlink.wire.convert`. The JSON
adapters build the v1 message directly from their validated payload model: at 50 objects per frame the
domain round trip (frozen dataclasses, then a copy into protobuf) cost more than the parse and the
validation together. An adapter whose mapping already exists for domain objects (a decoder shared with
other tiers) returns those. `gateway.adapters.canonical.as_domain` turns either into domain objects, for
tests and for readers who want plain typed values.

Adapters that need configuration (a lidar's mounting pose, a class table) are built by an
`AdapterFactory` from the `options` table of their route in the settings; a bad option raises
`ConfigurationError` at start-up, never at message time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from v2x.roadside.v1 import perception_pb2, signal_pb2
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.domain.errors import ConfigurationError
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.vehicle import VehicleState

__all__ = ["Adapter", "AdapterFactory", "Canonical", "Domain", "MessageContext", "Normalized", "fixed"]

Canonical: TypeAlias = perception_pb2.PerceptionFrame | vehicle_pb2.VehicleState | signal_pb2.SignalPhaseAndTiming
"""The v1 messages the gateway forwards to the roadside node."""

Domain: TypeAlias = PerceptionFrame | VehicleState | SignalPhaseAndTiming
"""The same three kinds as domain objects."""

Normalized: TypeAlias = Canonical | Domain
"""What an adapter may return for each item of a message."""


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Where and when a raw message arrived.

    source_id and sensor_id come from the topic (e.g. `rsu/<source_id>/radar/<sensor_id>`);
    receive_time_unix_ms is the gateway's clock when the message arrived.
    """

    topic: str
    source_id: str
    sensor_id: str
    receive_time_unix_ms: int


Adapter: TypeAlias = Callable[[bytes, MessageContext], Sequence[Normalized]]

AdapterFactory: TypeAlias = Callable[[Mapping[str, object]], Adapter]


def fixed(adapter: Adapter) -> AdapterFactory:
    """Factory for an adapter that takes no options (any given option is a configuration error)."""

    def build(options: Mapping[str, object]) -> Adapter:
        if options:
            raise ConfigurationError(f"adapter takes no options, got {sorted(options)}")
        return adapter

    return build

"""The adapter seam: what every vendor adapter receives and returns.

An adapter is a pure function `(payload: bytes, context: MessageContext) -> Sequence[Normalized]`. It
never does I/O and raises nothing but `roadlink.domain.errors.ValidationError` (with a specific reason),
so the gateway can dead-letter a bad message and go on with the stream.

Adapters that need configuration (a lidar's mounting pose, a class table) are built by an
`AdapterFactory` from the `options` table of their route in the settings; a bad option raises
`ConfigurationError` at start-up, never at message time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from roadlink.domain.errors import ConfigurationError
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.vehicle import VehicleState

__all__ = ["Adapter", "AdapterFactory", "MessageContext", "Normalized", "fixed"]

Normalized = PerceptionFrame | VehicleState | SignalPhaseAndTiming


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


Adapter = Callable[[bytes, MessageContext], Sequence[Normalized]]

AdapterFactory = Callable[[Mapping[str, object]], Adapter]


def fixed(adapter: Adapter) -> AdapterFactory:
    """Factory for an adapter that takes no options (any given option is a configuration error)."""

    def build(options: Mapping[str, object]) -> Adapter:
        if options:
            raise ConfigurationError(f"adapter takes no options, got {sorted(options)}")
        return adapter

    return build

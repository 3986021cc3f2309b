"""The adapter seam: what every vendor adapter receives and returns.

An adapter is a pure function `(payload: bytes, context: MessageContext) -> Sequence[Normalized]`. It
never does I/O and raises nothing but `roadlink.domain.errors.ValidationError` (with a specific reason),
so the gateway can dead-letter a bad message and go on with the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.vehicle import VehicleState

__all__ = ["Adapter", "MessageContext", "Normalized"]

Normalized = PerceptionFrame | VehicleState


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

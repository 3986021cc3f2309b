"""The gateway's pure core: topic -> route -> adapter -> v1 protobuf messages, or a specific error.

No I/O here, so it is tested directly and benchmarked without a broker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message

from gateway.adapters.base import Adapter, AdapterFactory, MessageContext, Normalized
from gateway.settings import Route
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.wire.convert import frame_to_proto, signal_to_proto, vehicle_state_to_proto

__all__ = ["Pipeline", "PipelineStats", "topic_matches"]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic filter matching with `+` (one level) and `#` (rest) wildcards."""
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels) or (level != "+" and level != topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


@dataclass(slots=True)
class PipelineStats:
    """Counts of messages in, items out and rejections by reason."""

    messages_in: int = 0
    items_out: int = 0
    objects_out: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _BoundRoute:
    route: Route
    adapter: Adapter


class Pipeline:
    """Normalizes raw MQTT messages into (PublishRequest field, message) pairs."""

    def __init__(self, routes: Sequence[Route], adapters: Mapping[str, AdapterFactory], max_payload_bytes: int) -> None:
        unknown = [r.adapter for r in routes if r.adapter not in adapters]
        if unknown:
            raise ConfigurationError(f"routes name unknown adapters: {unknown}; known: {sorted(adapters)}")
        self._routes = [_BoundRoute(r, adapters[r.adapter](r.options)) for r in routes]
        self._max_payload_bytes = max_payload_bytes
        self.stats = PipelineStats()

    def process(self, topic: str, payload: bytes, receive_time_unix_ms: int) -> list[tuple[str, Message]]:
        """Normalize one message; ValidationError (counted by reason) when it cannot be."""
        self.stats.messages_in += 1
        try:
            items = self._normalize(topic, payload, receive_time_unix_ms)
        except ValidationError as error:
            self.stats.rejected[error.reason] += 1
            raise
        self.stats.items_out += len(items)
        return [_to_proto(item) for item in items]

    def _normalize(self, topic: str, payload: bytes, receive_time_unix_ms: int) -> Sequence[Normalized]:
        if len(payload) > self._max_payload_bytes:
            raise ValidationError("too_large", f"{len(payload)} bytes > limit {self._max_payload_bytes}")
        bound = next((b for b in self._routes if topic_matches(b.route.topic_filter, topic)), None)
        if bound is None:
            raise ValidationError("unknown_topic", f"no route for topic {topic!r}")
        context = _context(bound.route, topic, receive_time_unix_ms)
        items = bound.adapter(payload, context)
        self.stats.objects_out += sum(len(i.objects) for i in items if isinstance(i, PerceptionFrame))
        return items


def _context(route: Route, topic: str, receive_time_unix_ms: int) -> MessageContext:
    levels = topic.split("/")
    if max(route.source_level, route.sensor_level) >= len(levels):
        raise ValidationError("unknown_topic", f"topic {topic!r} lacks the source/sensor levels of its route")
    return MessageContext(topic, levels[route.source_level], levels[route.sensor_level], receive_time_unix_ms)


def _to_proto(item: Normalized) -> tuple[str, Message]:
    if isinstance(item, PerceptionFrame):
        return "frames", frame_to_proto(item)
    if isinstance(item, SignalPhaseAndTiming):
        return "signal_timings", signal_to_proto(item)
    return "vehicle_states", vehicle_state_to_proto(item)

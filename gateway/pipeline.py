"""The gateway's pure core: topic -> route -> adapter -> v1 protobuf messages, or a specific error.

Besides normalizing, it drops exact re-deliveries (counted in `duplicates`), rejects data outside the
time bounds (StaleDataError, reasons "stale" and "future") and records each source's estimated clock offset
in the provenance. Ordering within a stream is the next stage's job (`gateway.reorder`). No I/O here, so
it is tested directly and benchmarked without a broker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from v2x.roadside.v1 import perception_pb2

from gateway.adapters.base import Adapter, AdapterFactory, Canonical, MessageContext
from gateway.adapters.canonical import as_canonical
from gateway.dedupe import RecentMessages
from gateway.settings import Route
from roadlink.domain.clock import ClockOffsetEstimator
from roadlink.domain.errors import ConfigurationError, StaleDataError, ValidationError

__all__ = ["Pipeline", "PipelineStats", "TimeBounds", "topic_matches"]


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
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """How old (ms before receipt) or how far ahead (ms after receipt) data may be."""

    max_age_ms: int = 2_000
    max_future_ms: int = 500


_ROUTED_TOPICS = 65_536
"""Most topics whose route is remembered (each sensor is one topic; the memo is cleared when full)."""
_Routed: TypeAlias = tuple[Adapter, str, str]
"""A topic's adapter, source id and sensor id."""


@dataclass(frozen=True, slots=True)
class _BoundRoute:
    route: Route
    adapter: Adapter


class Pipeline:
    """Normalizes raw MQTT messages into (PublishRequest field, message) pairs."""

    def __init__(
        self,
        routes: Sequence[Route],
        adapters: Mapping[str, AdapterFactory],
        max_payload_bytes: int,
        *,
        time_bounds: TimeBounds | None = None,
        dedupe_capacity: int = 65_536,
    ) -> None:
        unknown = [r.adapter for r in routes if r.adapter not in adapters]
        if unknown:
            raise ConfigurationError(f"routes name unknown adapters: {unknown}; known: {sorted(adapters)}")
        self._routes = [_BoundRoute(r, adapters[r.adapter](r.options)) for r in routes]
        self._max_payload_bytes = max_payload_bytes
        self._bounds = time_bounds or TimeBounds()
        self._recent = RecentMessages(dedupe_capacity)
        self._routed: dict[str, _Routed] = {}
        self._clocks: dict[str, ClockOffsetEstimator] = {}
        self.stats = PipelineStats()

    def process(self, topic: str, payload: bytes, receive_time_unix_ms: int) -> list[tuple[str, Canonical]]:
        """Normalize one message; [] for a duplicate; ValidationError (counted by reason) when invalid."""
        self.stats.messages_in += 1
        if self._recent.seen_before(topic, payload):
            self.stats.duplicates += 1
            return []
        try:
            items = self._normalize(topic, payload, receive_time_unix_ms)
            for _, message in items:
                self._check_time(message, receive_time_unix_ms)
        except ValidationError as error:
            self.stats.rejected[error.reason] += 1
            raise
        items = [item for item in items if not self._repeated_frame(item[1])]
        self.stats.items_out += len(items)
        for _, message in items:
            self._stamp(message, receive_time_unix_ms)
        return items

    def _repeated_frame(self, message: Canonical) -> bool:
        """A frame a numbering source already sent (same frame number and time), even if re-serialized."""
        if not isinstance(message, perception_pb2.PerceptionFrame) or message.frame_sequence == 0:
            return False
        sensors = tuple(message.provenance.sensor_ids)
        key = ("frame", message.source_id, sensors, message.frame_sequence, message.time_unix_ms)
        if self._recent.seen_key_before(key):
            self.stats.duplicates += 1
            return True
        return False

    def _check_time(self, message: Canonical, receive_time_unix_ms: int) -> None:
        age_ms = receive_time_unix_ms - message.time_unix_ms
        if age_ms > self._bounds.max_age_ms:
            raise StaleDataError("stale", f"data is {age_ms} ms old (limit {self._bounds.max_age_ms} ms)")
        if -age_ms > self._bounds.max_future_ms:
            raise StaleDataError("future", f"data is {-age_ms} ms ahead (limit {self._bounds.max_future_ms} ms)")

    def _stamp(self, message: Canonical, receive_time_unix_ms: int) -> None:
        """Record the source's clock offset (source minus gateway clock, ms) in the provenance."""
        if not message.HasField("provenance"):
            return
        provenance = message.provenance
        time_unix_ms = message.time_unix_ms
        clock = self._clocks.setdefault(provenance.source_id, ClockOffsetEstimator())
        clock.add(time_unix_ms, receive_time_unix_ms)
        provenance.clock_offset_ms = clock.offset_ms or 0

    def _route(self, topic: str) -> _Routed:
        """The adapter and ids of a topic, remembered (a bounded memo: cleared when it reaches its capacity)."""
        bound = next((b for b in self._routes if topic_matches(b.route.topic_filter, topic)), None)
        if bound is None:
            raise ValidationError("unknown_topic", f"no route for topic {topic!r}")
        routed = (bound.adapter, *_ids(bound.route, topic))
        if len(self._routed) >= _ROUTED_TOPICS:
            self._routed.clear()
        self._routed[topic] = routed
        return routed

    def _normalize(self, topic: str, payload: bytes, receive_time_unix_ms: int) -> list[tuple[str, Canonical]]:
        if len(payload) > self._max_payload_bytes:
            raise ValidationError("too_large", f"{len(payload)} bytes > limit {self._max_payload_bytes}")
        routed = self._routed.get(topic) or self._route(topic)
        adapter, source_id, sensor_id = routed
        context = MessageContext(topic, source_id, sensor_id, receive_time_unix_ms)
        self.stats.by_source[context.source_id] += 1
        items = [as_canonical(item) for item in adapter(payload, context)]
        self.stats.objects_out += sum(len(m.objects) for _, m in items if isinstance(m, perception_pb2.PerceptionFrame))
        return items


def _ids(route: Route, topic: str) -> tuple[str, str]:
    """(source id, sensor id) from the topic levels the route names."""
    levels = topic.split("/")
    if max(route.source_level, route.sensor_level) >= len(levels):
        raise ValidationError("unknown_topic", f"topic {topic!r} lacks the source/sensor levels of its route")
    return levels[route.source_level], levels[route.sensor_level]

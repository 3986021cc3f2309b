"""Per-stream ordering of perception frames: reorder within a small window, flag what arrives too late.

A stream is one sensor of one source: the frames of one MQTT topic (`provenance.source_id` and
`provenance.topic`). MQTT keeps one topic's order on one connection, but a sensor that publishes over
several connections, a relay that retries, or a broker bridge can deliver a stream's frames out of order.

Numbered streams (frames whose provenance carries `source_sequence`: the lidar and camera formats' frame
counters) are released in sequence order:
- the next number goes out at once, followed by any held successors that are now in order;
- a frame after a gap is held until the missing numbers arrive, or until a held frame has waited
  `window_ms` (gateway clock), or more than `max_held` frames are held for the stream; then the stream
  skips to its lowest held number (the skipped numbers are counted in `gaps`) and releases in order;
- a frame numbered at or below the last released one came too late to be reordered: it is forwarded at
  once, counted in `late` and flagged (fusion accepts out-of-sequence data; exact re-deliveries never get
  here, the pipeline drops them);
- a lower number with a newer source time than the last released frame is a counter restart (the sensor
  rebooted, or a 32-bit counter wrapped): the stream releases what it holds and restarts its numbering.

Unnumbered streams (the radar format has no frame counter) cannot reveal a gap, and holding them would add
the window to every frame's latency, so they are never held: a frame whose source time is older than the
stream's newest is forwarded, counted in `late` and flagged. Vehicle states and signal timing are passed through
(a BSM topic carries many vehicles, each with its own counter).

`window_ms` 0 never holds (gaps are skipped at once, late frames still counted): the setting for workers of
an MQTT shared subscription, where each worker sees only part of a stream and gaps are the normal case.

A frame forwarded late carries `OUT_OF_ORDER_FLAG` ("out_of_order") in `provenance.flags` (on a copy: the
pushed message is not changed), so that consumers can tell it from one released in order.

Bounds: at most `max_held` frames per stream are held, and at most `max_streams` streams are tracked; the
least recently seen stream is forgotten first, releasing what it holds. Each released item carries the
opaque token it was pushed with (the gateway's MQTT acknowledgement).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final, Generic, TypeAlias, TypeVar

from v2x.roadside.v1 import perception_pb2

from gateway.adapters.base import Canonical

__all__ = ["OUT_OF_ORDER_FLAG", "OrderingStats", "Released", "ReorderWindow"]

OUT_OF_ORDER_FLAG: Final = "out_of_order"
"""In provenance.flags of a frame forwarded after a newer frame of its stream (too late to reorder)."""

T = TypeVar("T")
Released: TypeAlias = tuple[str, Canonical, T]
"""(PublishRequest field, v1 message, token) of an item ready to forward."""


@dataclass(slots=True)
class OrderingStats:
    """Frames held back and then released in order; frames forwarded late (out of order); numbers skipped."""

    reordered: int = 0
    late: int = 0
    gaps: int = 0


@dataclass(slots=True)
class _Held(Generic[T]):
    item: Released[T]
    time_unix_ms: int
    held_since_ms: int


@dataclass(slots=True)
class _Stream(Generic[T]):
    """One stream's state: the last released number (None before the first) and source time, held frames."""

    last_sequence: int | None = None
    last_time_unix_ms: int = -(2**63)
    held: dict[int, _Held[T]] = field(default_factory=dict)


class ReorderWindow(Generic[T]):
    """The ordering stage between the pipeline and the uplink (see the module docstring)."""

    def __init__(
        self, window_ms: int, max_held: int = 8, max_streams: int = 4096, stats: OrderingStats | None = None
    ) -> None:
        if window_ms < 0 or max_held < 1 or max_streams < 1:
            raise ValueError(f"need window_ms >= 0, max_held >= 1, max_streams >= 1: {window_ms}, {max_held}")
        self._window_ms = window_ms
        self._max_held = max_held if window_ms > 0 else 0
        self._max_streams = max_streams
        self._streams: OrderedDict[tuple[str, str], _Stream[T]] = OrderedDict()
        self._holding: set[tuple[str, str]] = set()
        self.stats = stats if stats is not None else OrderingStats()

    @property
    def held(self) -> int:
        """Frames held right now, over all streams."""
        return sum(len(self._streams[key].held) for key in self._holding)

    def push(self, field_name: str, message: Canonical, token: T, now_ms: int) -> list[Released[T]]:
        """Add one normalized item; returns the items to forward now, in order (maybe none, maybe several)."""
        item: Released[T] = (field_name, message, token)
        if not isinstance(message, perception_pb2.PerceptionFrame) or not message.HasField("provenance"):
            return [item]
        provenance = message.provenance
        key = (provenance.source_id, provenance.topic)
        stream, released = self._stream(key)
        if provenance.HasField("source_sequence"):
            released += self._push_numbered(key, stream, item, provenance.source_sequence, now_ms)
            if not stream.held:
                self._holding.discard(key)
        else:
            if message.time_unix_ms < stream.last_time_unix_ms:
                released.append(self._late(item))
            else:
                released.append(item)
                stream.last_time_unix_ms = message.time_unix_ms
        return released

    def expire(self, now_ms: int) -> list[Released[T]]:
        """Release what has waited `window_ms` for a missing number (call when `next_deadline_ms` is due)."""
        released: list[Released[T]] = []
        for key in list(self._holding):
            stream = self._streams[key]
            while stream.held and min(h.held_since_ms for h in stream.held.values()) + self._window_ms <= now_ms:
                released += self._skip_gap(stream)
            if not stream.held:
                self._holding.discard(key)
        return released

    def next_deadline_ms(self) -> int | None:
        """Gateway time (unix ms) at which `expire` will next release something; None when nothing is held."""
        first = min((h.held_since_ms for key in self._holding for h in self._streams[key].held.values()), default=None)
        return None if first is None else first + self._window_ms

    def _stream(self, key: tuple[str, str]) -> tuple[_Stream[T], list[Released[T]]]:
        """The stream of `key` (created, and the least recently seen one forgotten, when new)."""
        stream = self._streams.get(key)
        if stream is not None:
            self._streams.move_to_end(key)
            return stream, []
        released: list[Released[T]] = []
        if len(self._streams) >= self._max_streams:
            old_key, old = self._streams.popitem(last=False)
            self._holding.discard(old_key)
            while old.held:
                released += self._skip_gap(old)
        stream = self._streams[key] = _Stream()
        return stream, released

    def _push_numbered(
        self, key: tuple[str, str], stream: _Stream[T], item: Released[T], sequence: int, now_ms: int
    ) -> list[Released[T]]:
        time_unix_ms = item[1].time_unix_ms
        last = stream.last_sequence
        if last is None or sequence == last + 1:
            return self._release(stream, item, sequence, time_unix_ms) + self._successors(stream)
        if sequence > last and sequence not in stream.held:
            stream.held[sequence] = _Held(item, time_unix_ms, now_ms)
            self._holding.add(key)
            released: list[Released[T]] = []
            while len(stream.held) > self._max_held:
                released += self._skip_gap(stream)
            return released
        if sequence <= last and time_unix_ms > stream.last_time_unix_ms:  # the counter restarted
            released = []
            while stream.held:
                released += self._skip_gap(stream)
            return released + self._release(stream, item, sequence, time_unix_ms)
        return [self._late(item)]

    def _late(self, item: Released[T]) -> Released[T]:
        """Count a late frame and flag it (on a copy) as out of order."""
        self.stats.late += 1
        field_name, message, token = item
        assert isinstance(message, perception_pb2.PerceptionFrame)  # only frames are ever held back or late
        flagged = perception_pb2.PerceptionFrame()
        flagged.CopyFrom(message)
        flagged.provenance.flags.append(OUT_OF_ORDER_FLAG)
        return (field_name, flagged, token)

    def _release(self, stream: _Stream[T], item: Released[T], sequence: int, time_unix_ms: int) -> list[Released[T]]:
        stream.last_sequence = sequence
        stream.last_time_unix_ms = max(stream.last_time_unix_ms, time_unix_ms)
        return [item]

    def _successors(self, stream: _Stream[T]) -> list[Released[T]]:
        """Held frames that follow the last released number without a gap, in order."""
        released: list[Released[T]] = []
        while stream.last_sequence is not None and (held := stream.held.pop(stream.last_sequence + 1, None)):
            self.stats.reordered += 1
            released += self._release(stream, held.item, stream.last_sequence + 1, held.time_unix_ms)
        return released

    def _skip_gap(self, stream: _Stream[T]) -> list[Released[T]]:
        """Give up on the missing numbers below the lowest held frame: release it and its successors."""
        lowest = min(stream.held)
        held = stream.held.pop(lowest)
        if stream.last_sequence is not None:
            self.stats.gaps += max(0, lowest - stream.last_sequence - 1)
        self.stats.reordered += 1
        return self._release(stream, held.item, lowest, held.time_unix_ms) + self._successors(stream)

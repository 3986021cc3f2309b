"""`RoadsideFeed`: what a nearby roadside node (RSU) broadcasts, with reconnects and resumption built in.

The feed keeps `VehicleDownlinkService.WatchRoadside` open to one roadside node and tells it where the
vehicle is (the first request, then again whenever the vehicle moved more than `move_threshold_m`). The
node answers with `RoadsideUpdate`s; each carries one of:

- `PerceptionFrame`: the node's fused object list of one cycle (vehicles in its service range);
- `SignalPhaseAndTiming`: signal timing of an intersection it serves (in range);
- `RoadsideMap`: the lane map of its intersections (in range; first thing after entering range);
- `Advisory`: a cloud advisory whose zone holds the vehicle;
- `RoadSideInfo`: road events and signs whose zone holds the vehicle.

Besides iterating, the feed keeps the current picture for readers that poll: `map`, `signal_of`,
`latest_frame`, and the still valid `advisories` and `road_side_infos` (read against the local clock, so an
item disappears when its validity ends even if the consumer never iterates).

A pump task owned by the feed reads the stream into a bounded buffer that the consumer iterates.
Overflow policy: the buffer holds at most `max_buffered` updates; when it is full the oldest is dropped
and counted in `dropped_updates`. The picture above is updated on arrival, so a dropped advisory is still
listed by `advisories`.

Liveness: a roadside node sends a keepalive (an empty response) after each second without anything to
send, so even a quiet node is heard at least once a second; the feed counts them (`keepalives`) and never
delivers them. Silence for `idle_timeout_s` (default 5 s, a few keepalive periods; None turns it off, for a
node too old to send keepalives) therefore means a dead link or a hung node.

Reconnect and resumption: when the stream fails with a transient code (UNAVAILABLE while the node restarts),
or delivers nothing, not even a keepalive, for `idle_timeout_s`, the pump reopens it after a backoff delay
with the vehicle's current position. The node then sends the map, the signal timing and every valid advisory
again; the feed passes on the map and timing (they may have changed) but never an advisory or road-side
information it already delivered (`repeats_suppressed`), so each reaches the consumer once. After
`ReconnectPolicy.max_attempts` failed reopenings in a row, or at once for a permanent code (INVALID_ARGUMENT,
UNAUTHENTICATED, ...), iteration raises `ServiceError`. The pump, the buffer and the reconnects are
`StreamFeed`'s, shared with `SituationFeed`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2

from roadlink.domain.clock import now_unix_ms
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory
from roadlink.domain.spatial import Position, distance_m
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk.core import ReconnectPolicy
from roadlink.sdk.lane_map import RoadsideMap, map_from_proto
from roadlink.sdk.road_info import RoadSideInfo, road_side_info_from_proto
from roadlink.sdk.stream_feed import StreamFeed
from roadlink.wire.convert import advisory_from_proto, frame_from_proto, position_to_proto, signal_from_proto

__all__ = [
    "ROADSIDE_IDLE_TIMEOUT_S",
    "RoadsideContent",
    "RoadsideFeed",
    "RoadsideUpdate",
    "roadside_content_from_response",
]

RoadsideContent: TypeAlias = PerceptionFrame | SignalPhaseAndTiming | RoadsideMap | Advisory | RoadSideInfo
"""What one `RoadsideUpdate` carries."""

ROADSIDE_IDLE_TIMEOUT_S = 5.0
"""Default `idle_timeout_s` of a roadside feed: five keepalive periods of the node (it sends one a second)."""

_MAX_REMEMBERED = 4_096
"""Advisory and road-side information keys remembered to suppress repeats (oldest forgotten first)."""


@dataclass(frozen=True, slots=True)
class RoadsideUpdate:
    """One item a roadside node sent: `content` is exactly one of the five kinds (module docstring).

    `received_unix_ms` is the local arrival time; `skipped_updates` counts what the node dropped on this
    stream so far because the vehicle read too slowly (it restarts at 0 after a reconnect).
    """

    content: RoadsideContent
    received_unix_ms: int
    skipped_updates: int = 0

    @property
    def frame(self) -> PerceptionFrame | None:
        """The fused object list, when this update is one."""
        return self.content if isinstance(self.content, PerceptionFrame) else None

    @property
    def signal_timing(self) -> SignalPhaseAndTiming | None:
        """The signal timing, when this update is one."""
        return self.content if isinstance(self.content, SignalPhaseAndTiming) else None

    @property
    def map(self) -> RoadsideMap | None:
        """The lane map, when this update is one."""
        return self.content if isinstance(self.content, RoadsideMap) else None

    @property
    def advisory(self) -> Advisory | None:
        """The advisory, when this update is one."""
        return self.content if isinstance(self.content, Advisory) else None

    @property
    def road_side_info(self) -> RoadSideInfo | None:
        """The road-side information, when this update is one."""
        return self.content if isinstance(self.content, RoadSideInfo) else None


def roadside_content_from_response(response: dl_pb2.WatchRoadsideResponse) -> RoadsideContent | None:
    """Decode one stream message (None for an empty one; `ValidationError` for a malformed one)."""
    kind = response.WhichOneof("content")
    if kind == "frame":
        return frame_from_proto(response.frame)
    if kind == "signal_timing":
        return signal_from_proto(response.signal_timing)
    if kind == "map":
        return map_from_proto(response.map)
    if kind == "advisory":
        return advisory_from_proto(response.advisory)
    if kind == "road_side_info":
        return road_side_info_from_proto(response.road_side_info)
    return None


class _Picture:
    """The current state the node told: map, signal timing, latest frame, valid advisories and RSI, and the
    keys of items already delivered (bounded, with their expiry)."""

    def __init__(self, clock: Callable[[], int], default_validity_ms: int) -> None:
        self.clock = clock
        self.default_validity_ms = default_validity_ms
        self.map: RoadsideMap | None = None
        self.frame: PerceptionFrame | None = None
        self.signals: dict[tuple[int | None, int], SignalPhaseAndTiming] = {}
        self.items: OrderedDict[str, tuple[int, Advisory | RoadSideInfo]] = OrderedDict()

    def take(self, content: RoadsideContent) -> bool:
        """Record `content`; False when it is an advisory or RSI already delivered (a repeat)."""
        if isinstance(content, PerceptionFrame):
            self.frame = content
        elif isinstance(content, SignalPhaseAndTiming):
            self.signals[(content.region, content.intersection_id)] = content
        elif isinstance(content, RoadsideMap):
            self.map = content
        else:
            return self._take_item(content)
        return True

    def _take_item(self, item: Advisory | RoadSideInfo) -> bool:
        now = self.clock()
        self.expire(now)
        key = item.key if isinstance(item, RoadSideInfo) else f"advisory:{item.advisory_id}"
        if key in self.items:
            return False
        self.items[key] = (item.valid_until_unix_ms or now + self.default_validity_ms, item)
        while len(self.items) > _MAX_REMEMBERED:
            self.items.popitem(last=False)
        return True

    def expire(self, now_ms: int) -> None:
        for key in [key for key, (until, _) in self.items.items() if until <= now_ms]:
            del self.items[key]

    def valid_items(self) -> list[Advisory | RoadSideInfo]:
        self.expire(self.clock())
        return [item for _, item in self.items.values()]


class RoadsideFeed(StreamFeed[RoadsideUpdate]):
    """Async iterator of `RoadsideUpdate`s from one roadside node; an async context manager that closes it.

    Created by `VehicleClient.follow_roadside`, which shows it every published state (`observe`) so the
    node always knows where the vehicle is.
    """

    _name = "roadside"

    def __init__(
        self,
        open_call: Callable[[], Any],
        position: Position,
        *,
        policy: ReconnectPolicy,
        vehicle_id: bytes | None = None,
        move_threshold_m: float = 5.0,
        idle_timeout_s: float | None = ROADSIDE_IDLE_TIMEOUT_S,
        max_buffered: int = 256,
        default_validity_s: float = 60.0,
        close_transport: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], int] = now_unix_ms,
    ) -> None:
        if move_threshold_m < 0 or default_validity_s <= 0:
            raise ValueError("need move_threshold_m >= 0 and default_validity_s > 0")
        super().__init__(
            open_call,
            policy=policy,
            idle_timeout_s=idle_timeout_s,
            max_buffered=max_buffered,
            close_transport=close_transport,
        )
        self._position = position
        self._vehicle_id = vehicle_id
        self._threshold_m = move_threshold_m
        self._picture = _Picture(clock, int(default_validity_s * 1000))
        self._repeats = 0
        self._keepalives = 0

    @property
    def position(self) -> Position:
        """The vehicle position the node was last told."""
        return self._position

    @property
    def vehicle_id(self) -> bytes | None:
        """The vehicle whose published positions move the feed (None = any vehicle the client publishes)."""
        return self._vehicle_id

    @property
    def moves(self) -> int:
        """How many new positions were sent to the node after the first."""
        return self._moves

    @property
    def repeats_suppressed(self) -> int:
        """Advisories and road-side information the node sent again (after a reconnect) and the feed held back
        because they were already delivered."""
        return self._repeats

    @property
    def keepalives(self) -> int:
        """Keepalives (empty responses) the node sent: it was alive but had nothing new (never delivered)."""
        return self._keepalives

    @property
    def map(self) -> RoadsideMap | None:
        """The newest lane map the node sent (None before the vehicle came into its range)."""
        return self._picture.map

    @property
    def latest_frame(self) -> PerceptionFrame | None:
        """The newest fused object list the node sent."""
        return self._picture.frame

    @property
    def signal_timings(self) -> tuple[SignalPhaseAndTiming, ...]:
        """The newest signal timing of each intersection the node sent."""
        return tuple(self._picture.signals.values())

    def signal_of(self, intersection_id: int) -> SignalPhaseAndTiming | None:
        """The newest signal timing of one intersection, if the node sent one."""
        return next((s for s in self._picture.signals.values() if s.intersection_id == intersection_id), None)

    @property
    def advisories(self) -> tuple[Advisory, ...]:
        """Advisories received and still valid now (without an end: for `default_validity_s` after arrival)."""
        return tuple(item for item in self._picture.valid_items() if isinstance(item, Advisory))

    @property
    def road_side_infos(self) -> tuple[RoadSideInfo, ...]:
        """Road-side information received and still valid now (as `advisories`)."""
        return tuple(item for item in self._picture.valid_items() if isinstance(item, RoadSideInfo))

    def observe(self, state: VehicleState) -> bool:
        """Follow a published state: tell the node the new position when the vehicle moved far enough."""
        if self._vehicle_id is not None and state.temporary_id != self._vehicle_id:
            return False
        return self.move_to(state.position)

    def move_to(self, position: Position, *, force: bool = False) -> bool:
        """Tell the node the vehicle is at `position` if it moved more than the threshold (or `force`)."""
        if not force and distance_m(self._position, position) <= self._threshold_m:
            return False
        self._position = position
        self._moved_to()
        return True

    def _first_request(self) -> dl_pb2.WatchRoadsideRequest:
        vehicle = self._vehicle_id.hex() if self._vehicle_id is not None else ""
        return dl_pb2.WatchRoadsideRequest(position=position_to_proto(self._position), vehicle_id=vehicle)

    def _move_request(self) -> dl_pb2.WatchRoadsideRequest:
        return self._first_request()

    def _take(self, response: dl_pb2.WatchRoadsideResponse) -> None:
        content = roadside_content_from_response(response)
        if content is None:  # a keepalive: reading it already reset the idle timeout
            self._keepalives += 1
            return
        if not self._picture.take(content):
            self._repeats += 1
            return
        self._deliver(RoadsideUpdate(content, self._picture.clock(), response.skipped_updates))

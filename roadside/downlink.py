"""What the roadside node sends down to vehicles near it, and where it gets the cloud's part from.

`VehicleHub` fans the node's output out to watching vehicles (`VehicleDownlinkService.WatchRoadside`):

- the fused object list of every local fusion cycle, the signal timing of its intersections and their map,
  to every vehicle within `service_range_m` of the node (all vehicles when the node's position is unknown);
  a vehicle that comes into range first gets the current map and the latest signal timing (unless that is
  older than `max_signal_age_ms`);
- the cloud's advisories and road-side information (`DownlinkItem`), to the vehicles inside an item's
  zone, each at most once per vehicle, and never after its validity ended: the end is checked again right
  before an item is written to the stream, and expired items are forgotten.

`CloudDownlink` keeps a `DownlinkService.WatchDownlink` stream to the cloud open (reconnecting with
backoff) and hands every item it receives to the hub.

When a vehicle's stream has had nothing to send for `keepalive_s` (default 1 s), the hub sends it a
keepalive: a response without content stamped with the node's `sent_time_unix_ms`, so the vehicle can tell a
quiet node from a dead link (the SDK's roadside feed reconnects after a few silent keepalive periods).

Queue bound and overflow policy: each vehicle has a queue of at most `queue_items` responses; when it is
full the oldest is dropped and counted in the stream's `skipped_updates`. The hub never blocks a producer.
Items without an end of validity expire `default_validity_s` after they arrived, so the store is bounded
in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import grpc
from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.cloud.v1 import situation_pb2
from v2x.roadside.v1 import info_pb2, map_pb2, perception_pb2, signal_pb2

from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ValidationError
from roadlink.domain.spatial import Area, Circle, Position
from roadlink.wire.auth import bearer_metadata
from roadlink.wire.backoff import Backoff
from roadlink.wire.convert import advisory_from_proto, area_to_proto, position_from_proto

__all__ = [
    "CloudDownlink",
    "DownlinkItem",
    "VehicleDownlinkServicer",
    "VehicleHub",
    "VehicleWatch",
    "advisory_item",
    "road_side_info_item",
]

_log = logging.getLogger(__name__)
_FIRST_REQUEST_TIMEOUT_S = 10.0
_KEEPALIVE_S = 1.0
_DEFAULT_EVENT_RADIUS_M = 300.0

Response = dl_pb2.WatchRoadsideResponse


@dataclass(frozen=True, slots=True)
class DownlinkItem:
    """An advisory or road-side information for the vehicles in `zones` (any of them; empty = everywhere),
    valid until `valid_until_unix_ms`."""

    key: str
    zones: tuple[Area, ...]
    valid_until_unix_ms: int
    response: Response

    def applies_at(self, position: Position) -> bool:
        """True when `position` is inside one of the item's zones (or the item has none)."""
        return not self.zones or any(zone.contains(position) for zone in self.zones)


def advisory_item(
    advisory: situation_pb2.Advisory, *, received_unix_ms: int, default_validity_s: float
) -> DownlinkItem:
    """The hub item of a cloud advisory: its zone, its end of validity (or the default lifetime)."""
    domain = advisory_from_proto(advisory)
    until = domain.valid_until_unix_ms or received_unix_ms + int(default_validity_s * 1000)
    zones = (domain.zone,) if domain.zone is not None else ()
    return DownlinkItem(f"advisory:{advisory.advisory_id}", zones, until, Response(advisory=advisory))


def _rsi_zones(rsi: info_pb2.RoadSideInfo) -> tuple[Area, ...]:
    zones: list[Area] = [
        Circle(position_from_proto(e.position), e.radius_m if e.HasField("radius_m") else _DEFAULT_EVENT_RADIUS_M)
        for e in rsi.events
        if e.HasField("position")
    ]
    zones += [
        Circle(position_from_proto(s.position), _DEFAULT_EVENT_RADIUS_M) for s in rsi.signs if s.HasField("position")
    ]
    if not zones and rsi.HasField("reference_position"):
        zones.append(Circle(position_from_proto(rsi.reference_position), _DEFAULT_EVENT_RADIUS_M))
    return tuple(zones)


def _rsi_end(rsi: info_pb2.RoadSideInfo) -> int | None:
    """The latest end of validity over its events and signs; None when any of them is open-ended."""
    validities = [e.validity for e in rsi.events] + [s.validity for s in rsi.signs]
    ends = [v.end_time_unix_ms for v in validities if v.HasField("end_time_unix_ms")]
    return max(ends) if ends and len(ends) == len(validities) else None


def road_side_info_item(
    rsi: info_pb2.RoadSideInfo, *, received_unix_ms: int, default_validity_s: float
) -> DownlinkItem:
    """The hub item of road-side information: circles around its events and signs (radius_m, else 300 m)."""
    end = _rsi_end(rsi)
    until = end if end is not None else received_unix_ms + int(default_validity_s * 1000)
    key = f"rsi:{rsi.source_id}:{rsi.message_count}:{rsi.time_unix_ms}"
    return DownlinkItem(key, _rsi_zones(rsi), until, Response(road_side_info=rsi))


@dataclass(eq=False, slots=True)
class VehicleWatch:
    """One vehicle's stream: its position, its bounded queue of (expiry or None, response)."""

    position: Position
    in_range: bool
    queue: deque[tuple[int | None, Response]]
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    delivered: set[str] = field(default_factory=set)
    skipped: int = 0
    expired: int = 0

    def offer(self, response: Response, expires_unix_ms: int | None = None) -> None:
        if len(self.queue) == self.queue.maxlen:
            self.skipped += 1
        self.queue.append((expires_unix_ms, response))
        self.ready.set()

    def take(self, now_ms: int) -> Response | None:
        """The next response still valid at `now_ms` (expired ones are dropped), or None."""
        while self.queue:
            expires, response = self.queue.popleft()
            if expires is None or now_ms < expires:
                response.skipped_updates = self.skipped
                return response
            self.expired += 1
        self.ready.clear()
        return None


class VehicleHub:
    """Fan-out of the node's downlink to watching vehicles (module docstring). Event-loop only."""

    def __init__(
        self,
        *,
        center: Position | None,
        service_range_m: float,
        queue_items: int = 256,
        max_signal_age_ms: int = 5_000,
        keepalive_s: float = _KEEPALIVE_S,
        clock: Callable[[], int] = now_unix_ms,
    ) -> None:
        if not keepalive_s > 0:
            raise ValueError(f"keepalive_s must be > 0, got {keepalive_s}")
        self._keepalive_s = keepalive_s
        self._max_signal_age_ms = max_signal_age_ms
        self._range = Circle(center, service_range_m) if center is not None else None
        self._queue_items = queue_items
        self._clock = clock
        self._watchers: set[VehicleWatch] = set()
        self._map: map_pb2.MapData | None = None
        self._signals: dict[tuple[int, int], signal_pb2.SignalPhaseAndTiming] = {}
        self._items: dict[str, DownlinkItem] = {}
        self.items_delivered = 0
        self.keepalives_sent = 0

    def now_unix_ms(self) -> int:
        """The hub's clock, unix ms."""
        return self._clock()

    @property
    def watchers(self) -> int:
        """Vehicles watching now."""
        return len(self._watchers)

    def in_range(self, position: Position) -> bool:
        """True when the node serves a vehicle at `position`."""
        return self._range is None or self._range.contains(position)

    def publish_frame(self, frame: perception_pb2.PerceptionFrame) -> None:
        """Send one fused frame to every vehicle in range."""
        self._broadcast(Response(frame=frame))

    def publish_signal(self, spat: signal_pb2.SignalPhaseAndTiming) -> None:
        """Keep the intersection's latest signal timing and send it to every vehicle in range."""
        self._signals[(spat.region, spat.intersection_id)] = spat
        self._broadcast(Response(signal_timing=spat))

    def set_map(self, map_data: map_pb2.MapData) -> None:
        """Replace the served map and send it to every vehicle in range."""
        self._map = map_data
        self._broadcast(Response(map=map_data))

    def publish_item(self, item: DownlinkItem) -> None:
        """Keep a downlink item until it expires and send it to the vehicles in its zone now."""
        now = self._clock()
        self._expire(now)
        if item.valid_until_unix_ms <= now:
            return
        self._items[item.key] = item
        for watcher in self._watchers:
            self._deliver(watcher, item)

    def join(self, position: Position) -> VehicleWatch:
        """A new vehicle stream at `position`: it gets the map, signal timing and items that apply there."""
        watcher = VehicleWatch(position, in_range=False, queue=deque(maxlen=self._queue_items))
        self._watchers.add(watcher)
        self.move(watcher, position)
        return watcher

    def leave(self, watcher: VehicleWatch) -> None:
        """Forget a closed stream."""
        self._watchers.discard(watcher)

    def move(self, watcher: VehicleWatch, position: Position) -> None:
        """The vehicle moved: on entering range it gets the current map and signals; then the items now
        applying at its position that it has not had yet."""
        watcher.position = position
        was_in_range, watcher.in_range = watcher.in_range, self.in_range(position)
        if watcher.in_range and not was_in_range:
            for response in self._current_state():
                watcher.offer(response)
        self._expire(self._clock())
        for item in self._items.values():
            self._deliver(watcher, item)

    async def responses(self, watcher: VehicleWatch) -> AsyncIterator[Response]:
        """The vehicle's responses as they come, and a keepalive after each `keepalive_s` without one."""
        while True:
            response = watcher.take(self._clock())
            if response is not None:
                yield response
                continue
            try:
                async with asyncio.timeout(self._keepalive_s):
                    await watcher.ready.wait()
            except TimeoutError:
                yield self.keepalive(watcher)

    def keepalive(self, watcher: VehicleWatch) -> Response:
        """An empty response stamped with the node's clock: the stream is alive, there is nothing new."""
        self.keepalives_sent += 1
        return Response(sent_time_unix_ms=self._clock(), skipped_updates=watcher.skipped)

    def _current_state(self) -> list[Response]:
        """The map and each intersection's latest signal timing, unless older than `max_signal_age_ms` (a
        controller that went silent must not leave a stale timing to newcomers; 0 = time not sent)."""
        oldest = self._clock() - self._max_signal_age_ms
        state = [Response(map=self._map)] if self._map is not None else []
        fresh = [spat for spat in self._signals.values() if spat.time_unix_ms == 0 or spat.time_unix_ms >= oldest]
        return state + [Response(signal_timing=spat) for spat in fresh]

    def _broadcast(self, response: Response) -> None:
        for watcher in self._watchers:
            if watcher.in_range:
                watcher.offer(response)

    def _deliver(self, watcher: VehicleWatch, item: DownlinkItem) -> None:
        if item.key in watcher.delivered or not item.applies_at(watcher.position):
            return
        watcher.delivered.add(item.key)
        watcher.offer(item.response, item.valid_until_unix_ms)
        self.items_delivered += 1

    def _expire(self, now_ms: int) -> None:
        gone = [key for key, item in self._items.items() if item.valid_until_unix_ms <= now_ms]
        for key in gone:
            del self._items[key]
            for watcher in self._watchers:
                watcher.delivered.discard(key)


class VehicleDownlinkServicer(dl_grpc.VehicleDownlinkServiceServicer):
    """`VehicleDownlinkService`: one hub stream per watching vehicle."""

    def __init__(self, hub: VehicleHub) -> None:
        self._hub = hub

    async def WatchRoadside(  # noqa: N802 - generated method name
        self,
        request_iterator: AsyncIterator[dl_pb2.WatchRoadsideRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[Response]:
        requests = aiter(request_iterator)
        async with asyncio.timeout(_FIRST_REQUEST_TIMEOUT_S):
            first = await anext(requests)
        if not first.HasField("position"):
            raise ValidationError("missing_position", "the first WatchRoadside request must set position")
        watcher = self._hub.join(position_from_proto(first.position))
        follower = asyncio.create_task(self._follow(requests, watcher), name="roadside-watch-follower")
        try:
            async for response in self._hub.responses(watcher):
                yield response
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
            self._hub.leave(watcher)

    async def _follow(self, requests: AsyncIterator[dl_pb2.WatchRoadsideRequest], watcher: VehicleWatch) -> None:
        """Move the vehicle as it reports new positions; requests without one are ignored."""
        async for request in requests:
            if request.HasField("position"):
                self._hub.move(watcher, position_from_proto(request.position))


class CloudDownlink:
    """Keeps `DownlinkService.WatchDownlink` open to the cloud and feeds the hub (async context manager).

    With `credentials` the channel is TLS, else plaintext (loopback and trusted networks only).
    Reconnects with exponential backoff and jitter whenever the stream ends, fails, or stays silent for
    `idle_timeout_s` (the cloud sends a keepalive about every second); the cloud resends
    every currently valid item on reconnect, and the hub sends each vehicle an item at most once.
    """

    def __init__(
        self,
        hub: VehicleHub,
        target: str,
        rsu_id: str,
        zone: Area,
        *,
        default_validity_s: float = 60.0,
        access_token: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        idle_timeout_s: float = 10.0,
    ) -> None:
        self._hub = hub
        self._idle_timeout_s = idle_timeout_s
        self._credentials = credentials
        self._target = target
        self._request = dl_pb2.WatchDownlinkRequest(rsu_id=rsu_id, zone=area_to_proto(zone))
        self._default_validity_s = default_validity_s
        self._metadata = bearer_metadata(access_token)
        self._task: asyncio.Task[None] | None = None
        self.items_received = 0
        self.reconnects = 0

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="roadside-cloud-downlink")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff, attempt = Backoff(), 0
        while True:
            try:
                received = await self._session()
            except (grpc.RpcError, TimeoutError) as exc:
                _log.info("cloud downlink stream failed: %r", exc)
                received = False
            attempt = 0 if received else attempt + 1
            self.reconnects += 1
            await asyncio.sleep(backoff.delay_s(attempt))

    async def _session(self) -> bool:
        """One stream until it ends, fails or stays silent for `idle_timeout_s` (TimeoutError); True when
        it delivered anything (the backoff starts over)."""
        received = False
        async with self._channel() as channel:
            call = dl_grpc.DownlinkServiceStub(channel).WatchDownlink(self._request, metadata=self._metadata)
            try:
                while True:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that lands
                    # as the read completes, and the node's shutdown would then wait on this task forever.
                    async with asyncio.timeout(self._idle_timeout_s):
                        response = await call.read()
                    if response is aio.EOF:
                        break
                    received = True
                    self._take(response)
            finally:
                call.cancel()
        return received

    def _channel(self) -> aio.Channel:
        """TLS with `credentials` (see `roadlink.wire.uplink.channel_credentials`), else plaintext."""
        if self._credentials is None:
            return aio.insecure_channel(self._target)
        return aio.secure_channel(self._target, self._credentials)

    def _take(self, response: dl_pb2.WatchDownlinkResponse) -> None:
        now = now_unix_ms()
        items: Sequence[DownlinkItem] = [
            *(
                advisory_item(a, received_unix_ms=now, default_validity_s=self._default_validity_s)
                for a in response.advisories
            ),
            *(
                road_side_info_item(r, received_unix_ms=now, default_validity_s=self._default_validity_s)
                for r in response.road_side_infos
            ),
        ]
        for item in items:
            self.items_received += 1
            self._hub.publish_item(item)

"""The async client of `VehicleService`: connect, publish the vehicle's state, follow the situation around it.

`VehicleClient` is an async context manager owning one channel (reusable, not re-entrant):

    async with VehicleClient("node.example:443", tls=TlsCredentials(), access_token=token) as client:
        await client.publish_state(state)                  # newest state, at most 10 Hz, one stream
        async with client.follow_situation(radius_m=500) as feed:
            async for situation in feed:                   # area follows the published position
                ...

        async with client.follow_roadside("rsu-17.example:443") as rsu:  # what the nearby RSU broadcasts
            async for update in rsu:                       # map, SPaT, fused objects, advisories, RSI
                ...

`publish_state`, `follow_situation` and `follow_roadside` reconnect by themselves (see `VehiclePublisher`,
`SituationFeed` and `RoadsideFeed`).
The lower-level `publisher()` and `situation(area)` open one plain stream each, without reconnects.
Every failure reaches the caller as `ServiceError` with a `StatusCode`, never as `grpc.RpcError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self

import grpc
from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc

from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.domain.situation import SituationUpdate
from roadlink.domain.spatial import Area, Circle, Position
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk.core import ClientCore, ConnectionOptions, open_channel, translate_error
from roadlink.sdk.feed import SituationFeed
from roadlink.sdk.publisher import PublishStats, VehiclePublisher
from roadlink.sdk.roadside_feed import ROADSIDE_IDLE_TIMEOUT_S, RoadsideFeed
from roadlink.wire.convert import area_to_proto, situation_from_proto, vehicle_state_to_proto

__all__ = ["PublishResult", "SituationSubscription", "StatePublisher", "VehicleClient"]

_CLOSE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What the node accepted from a closed state stream."""

    accepted: int
    rejected: int


class StatePublisher:
    """One open PublishState stream. `publish` sends a state; `close` ends the stream and returns counts.

    No rate limit and no reconnect: `VehicleClient.publish_state` is the managed alternative.
    """

    def __init__(self, call: aio.StreamUnaryCall[vs_pb2.PublishStateRequest, vs_pb2.PublishStateResponse]) -> None:
        self._call = call

    async def publish(self, *states: VehicleState) -> None:
        """Send one message with these states (usually one, at 10 Hz)."""
        request = vs_pb2.PublishStateRequest(states=[vehicle_state_to_proto(s) for s in states])
        try:
            await self._call.write(request)
        except (grpc.RpcError, asyncio.InvalidStateError) as exc:
            raise translate_error(exc) from exc

    async def close(self) -> PublishResult:
        """End the stream and return what the node accepted."""
        try:
            await self._call.done_writing()
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                response = await self._call
        except (grpc.RpcError, TimeoutError) as exc:
            raise translate_error(exc) from exc
        return PublishResult(response.accepted_count, response.rejected_count)


class SituationSubscription:
    """An open situation stream: iterate for updates, `move_to` to change the area.

    No reconnect: `VehicleClient.follow_situation` is the managed alternative.
    """

    def __init__(self, call: aio.StreamStreamCall[vs_pb2.WatchSituationRequest, vs_pb2.WatchSituationResponse]) -> None:
        self._call = call

    async def move_to(self, area: Area) -> None:
        """Watch a new area from the next update on."""
        try:
            await self._call.write(vs_pb2.WatchSituationRequest(area=area_to_proto(area)))
        except (grpc.RpcError, asyncio.InvalidStateError) as exc:
            raise translate_error(exc) from exc

    def cancel(self) -> None:
        """End the subscription."""
        self._call.cancel()

    async def __aiter__(self) -> AsyncIterator[SituationUpdate]:
        try:
            async for response in self._call:
                yield situation_from_proto(response.update)
        except grpc.RpcError as exc:
            if self._call.cancelled():
                return
            raise translate_error(exc) from exc


class VehicleClient(ClientCore):
    """Async client of a node's VehicleService at `target` (host:port); options as in `ClientCore`.

    `connect()` (or entering the context) waits until the channel is ready: ServiceError(UNAVAILABLE)
    after `connect_timeout_s`. `close()` (or leaving it) closes feeds, the publisher and the channel.
    """

    def _setup(self) -> None:
        self._channel: aio.Channel | None = None
        self._publisher: VehiclePublisher | None = None
        self._feeds: set[SituationFeed] = set()
        self._roadside_feeds: set[RoadsideFeed] = set()
        self._positions: dict[bytes, Position] = {}
        self._last_position: Position | None = None

    @property
    def connected(self) -> bool:
        """True between `connect` and `close`."""
        return self._channel is not None

    @property
    def publish_stats(self) -> PublishStats:
        """Counters of `publish_state` since `connect` (all zero before the first call); kept after `close`."""
        return PublishStats(0, 0, 0) if self._publisher is None else self._publisher.stats

    async def connect(self) -> None:
        """Open the channel and wait until it is ready; ServiceError(UNAVAILABLE) after `connect_timeout_s`."""
        if self._channel is not None:
            raise RuntimeError("VehicleClient is already connected (reusable, but not re-entrant)")
        channel = open_channel(self.options)
        try:
            async with asyncio.timeout(self.options.connect_timeout_s):
                await channel.channel_ready()
        except TimeoutError:
            await channel.close()
            raise ServiceError(
                StatusCode.UNAVAILABLE, f"cannot connect to {self.target} within {self.options.connect_timeout_s} s"
            ) from None
        self._channel = channel
        self._publisher = None

    async def close(self) -> None:
        """Close every feed, send pending states (best effort), end the publisher and close the channel."""
        for feed in list(self._feeds):
            await feed.close()
        for roadside in list(self._roadside_feeds):
            await roadside.close()
        if self._publisher is not None:
            await self._publisher.close()  # kept (closed) so `publish_stats` still tells what was sent
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def publish_state(self, state: VehicleState) -> None:
        """Publish the vehicle's own state (call it at up to 10 Hz; returns without waiting for the network).

        The newest state per vehicle is sent at most `max_publish_rate_hz` times per second on one
        long-lived stream that is reopened after failures; feeds following this vehicle move their area.
        ServiceError when publishing stopped for good (after `reconnect.max_attempts`, or UNAUTHENTICATED).
        """
        self._stub()  # fail early when not connected
        if self._publisher is None:
            self._publisher = VehiclePublisher(
                lambda: self._stub().PublishState(metadata=self.options.metadata()),
                policy=self.options.reconnect,
                max_rate_hz=self.options.max_publish_rate_hz,
            )
        await self._publisher.publish(state)
        self._positions[state.temporary_id] = state.position
        self._last_position = state.position
        for feed in self._feeds:
            feed.observe(state)
        for roadside in self._roadside_feeds:
            roadside.observe(state)

    def follow_situation(
        self,
        radius_m: float,
        *,
        center: Position | None = None,
        vehicle_id: bytes | None = None,
        rate_hz: float = 10.0,
        move_threshold_m: float | None = None,
        idle_timeout_s: float = 10.0,
        max_buffered: int = 8,
    ) -> SituationFeed:
        """Watch the circle of `radius_m` around the vehicle; the circle follows its published positions.

        `center` defaults to the last position published (of `vehicle_id`, when given). `vehicle_id`
        chooses whose positions move the area (None = every state this client publishes). The area moves
        when the vehicle is more than `move_threshold_m` (default radius/4) from its centre. See
        `SituationFeed` for buffering, `idle_timeout_s` and reconnects.
        """
        start = center
        if start is None:
            start = self._last_position if vehicle_id is None else self._positions.get(vehicle_id)
        if start is None:
            raise ValueError("no position yet: publish a state first, or pass center=")
        self._stub()  # fail early when not connected
        feed = SituationFeed(
            lambda: self._stub().WatchSituation(metadata=self.options.metadata()),
            Circle(start, radius_m),
            policy=self.options.reconnect,
            rate_hz=rate_hz,
            move_threshold_m=move_threshold_m,
            vehicle_id=vehicle_id,
            idle_timeout_s=idle_timeout_s,
            max_buffered=max_buffered,
        )
        self._feeds.add(feed)
        feed.on_close(self._feeds.discard)
        feed.start()
        return feed

    def follow_roadside(
        self,
        target: str | ConnectionOptions,
        *,
        position: Position | None = None,
        vehicle_id: bytes | None = None,
        move_threshold_m: float = 5.0,
        idle_timeout_s: float | None = ROADSIDE_IDLE_TIMEOUT_S,
        max_buffered: int = 256,
        default_validity_s: float = 60.0,
    ) -> RoadsideFeed:
        """Receive what the roadside node at `target` (host:port) broadcasts to vehicles near it: its fused
        object list, signal timing, lane map, and the cloud's advisories and road-side information.

        The node is reached on a channel of its own: with a `target` string, using this client's TLS
        credentials, token and reconnect policy; with `ConnectionOptions`, using those (an RSU whose
        certificate another CA signs, or that wants another token). `position` defaults to the last position
        published (of `vehicle_id`, when given); the node is told each new published position more than
        `move_threshold_m` from the last one it got. See `RoadsideFeed` for buffering, `idle_timeout_s`,
        `default_validity_s` and resumption.
        """
        start = position
        if start is None:
            start = self._last_position if vehicle_id is None else self._positions.get(vehicle_id)
        if start is None:
            raise ValueError("no position yet: publish a state first, or pass position=")
        self._stub()  # fail early when not connected
        options = target if isinstance(target, ConnectionOptions) else replace(self.options, target=target)
        channel = open_channel(options)
        feed = RoadsideFeed(
            lambda: dl_grpc.VehicleDownlinkServiceStub(channel).WatchRoadside(metadata=options.metadata()),
            start,
            policy=options.reconnect,
            vehicle_id=vehicle_id,
            move_threshold_m=move_threshold_m,
            idle_timeout_s=idle_timeout_s,
            max_buffered=max_buffered,
            default_validity_s=default_validity_s,
            close_transport=channel.close,
        )
        self._roadside_feeds.add(feed)
        feed.on_close(self._roadside_feeds.discard)
        feed.start()
        return feed

    def publisher(self) -> StatePublisher:
        """Open a plain state stream (no rate limit, no reconnect)."""
        return StatePublisher(self._stub().PublishState(metadata=self.options.metadata()))

    async def situation(self, area: Area, *, rate_hz: float = 10.0) -> SituationSubscription:
        """Open a plain situation subscription for a fixed `area` at `rate_hz` (no reconnect)."""
        call = self._stub().WatchSituation(metadata=self.options.metadata())
        subscription = SituationSubscription(call)
        try:
            await call.write(vs_pb2.WatchSituationRequest(area=area_to_proto(area), rate_hz=rate_hz))
        except (grpc.RpcError, asyncio.InvalidStateError) as exc:
            raise translate_error(exc) from exc
        return subscription

    def _stub(self) -> vs_grpc.VehicleServiceStub:
        if self._channel is None:
            raise RuntimeError("VehicleClient is not connected; use `async with VehicleClient(...)` or connect()")
        return vs_grpc.VehicleServiceStub(self._channel)

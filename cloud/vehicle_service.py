"""`VehicleService`: vehicles publish their state and watch the situation around them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from grpc import aio
from v2x.cloud.v1 import situation_pb2
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc

from cloud.change_feed import ChangeFeed
from cloud.picture import Picture
from cloud.road_context import RoadContext
from cloud.situation_stream import SituationStream
from roadlink.domain.errors import ValidationError
from roadlink.domain.situation import SituationUpdate
from roadlink.wire.convert import area_from_proto, situation_to_proto, vehicle_state_from_proto

__all__ = ["DEFAULT_RATE_HZ", "VehicleServicer", "rate_from_request", "situation_message"]

DEFAULT_RATE_HZ = 10.0
_FIRST_REQUEST_TIMEOUT_S = 10.0


def rate_from_request(request: vs_pb2.WatchSituationRequest | Any) -> float:
    """The requested update rate, or the default; ValidationError when out of range."""
    rate = request.rate_hz if request.HasField("rate_hz") else DEFAULT_RATE_HZ
    if not 0 < rate <= 50:
        raise ValidationError("invalid_rate", f"rate_hz must be in (0, 50], got {rate}", field="rate_hz")
    return float(rate)


def situation_message(update: SituationUpdate, road: RoadContext | None) -> situation_pb2.SituationUpdate:
    """The proto of ``update`` with the current signal states of the intersections in its area."""
    if road is not None:
        signals = tuple(road.signals_in(update.area, update.time_unix_ms))
        update = dataclasses.replace(update, signal_timings=update.signal_timings + signals)
    return situation_to_proto(update)


class VehicleServicer(vs_grpc.VehicleServiceServicer):
    """Serves vehicles from the node's store."""

    def __init__(self, store: Picture, feed: ChangeFeed, road: RoadContext | None = None) -> None:
        self._store = store
        self._feed = feed
        self._road = road
        self.accepted_states = 0
        self.rejected_states = 0

    async def PublishState(  # noqa: N802 - generated method name
        self,
        request_iterator: AsyncIterator[vs_pb2.PublishStateRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> vs_pb2.PublishStateResponse:
        accepted = rejected = 0
        async for request in request_iterator:
            for state in request.states:
                try:
                    self._store.update_vehicle(vehicle_state_from_proto(state))
                    accepted += 1
                    self.accepted_states += 1
                except ValidationError:
                    rejected += 1
                    self.rejected_states += 1
            self._feed.notify()
        return vs_pb2.PublishStateResponse(accepted_count=accepted, rejected_count=rejected)

    async def WatchSituation(  # noqa: N802 - generated method name
        self,
        request_iterator: AsyncIterator[vs_pb2.WatchSituationRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[vs_pb2.WatchSituationResponse]:
        requests = aiter(request_iterator)
        async with asyncio.timeout(_FIRST_REQUEST_TIMEOUT_S):
            first = await anext(requests)
        if not first.HasField("area"):
            raise ValidationError("missing_area", "the first WatchSituation request must set area", field="area")
        area = area_from_proto(first.area)
        stream = SituationStream(
            self._store.tracks_in, area, rate_from_request(first), feed=self._feed, advisories=self._store.advisories_in
        )
        mover = asyncio.create_task(_follow_area(requests, stream), name="situation-area-follower")
        try:
            async for update in stream.updates():
                yield vs_pb2.WatchSituationResponse(update=situation_message(update, self._road))
        finally:
            mover.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await mover


async def _follow_area(requests: AsyncIterator[vs_pb2.WatchSituationRequest], stream: SituationStream) -> None:
    """Move the stream's area as the vehicle sends new ones; invalid areas are ignored."""
    async for request in requests:
        if request.HasField("area"):
            with contextlib.suppress(ValidationError):
                stream.area = area_from_proto(request.area)

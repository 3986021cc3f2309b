"""`FusionService`: operators list and watch the node's tracks and read its counters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from grpc import aio
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc

from cloud.change_feed import ChangeFeed
from cloud.picture import Picture
from cloud.road_context import RoadContext
from cloud.rsu_registry import RsuRegistry
from cloud.situation_stream import SituationStream
from cloud.tile_handover import Handover
from cloud.vehicle_service import rate_from_request, situation_message
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ServiceError, StatusCode, ValidationError
from roadlink.wire.convert import area_from_proto, track_from_proto, track_to_proto

__all__ = ["FusionServicer"]


class FusionServicer(fs_grpc.FusionServiceServicer):
    """Operator queries over the node's store; `counters` supplies the node's named counters."""

    def __init__(
        self,
        node_id: str,
        store: Picture,
        counters: Callable[[], Mapping[str, int]],
        feed: ChangeFeed | None = None,
        registry: RsuRegistry | None = None,
        road: RoadContext | None = None,
        handovers: Callable[[Sequence[Handover]], None] | None = None,
    ) -> None:
        """`handovers` takes tracks neighbours hand over (None: this node owns no tiles)."""
        self._registry = registry
        self._road = road
        self._handovers = handovers
        self._node_id = node_id
        self._feed = feed
        self._store = store
        self._counters = counters

    async def ListTracks(  # noqa: N802 - generated method name
        self, request: fs_pb2.ListTracksRequest, context: aio.ServicerContext[Any, Any]
    ) -> fs_pb2.ListTracksResponse:
        if not request.HasField("area"):
            raise ValidationError("missing_area", "ListTracks needs an area", field="area")
        wanted = set(request.object_classes)
        tracks = [
            track_to_proto(t)
            for t in self._store.tracks_in(area_from_proto(request.area))
            if not wanted or int(t.object_class) in wanted
        ]
        return fs_pb2.ListTracksResponse(time_unix_ms=now_unix_ms(), tracks=tracks)

    async def WatchArea(  # noqa: N802 - generated method name
        self, request: fs_pb2.WatchAreaRequest, context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[fs_pb2.WatchAreaResponse]:
        if not request.HasField("area"):
            raise ValidationError("missing_area", "WatchArea needs an area", field="area")
        area = area_from_proto(request.area)
        stream = SituationStream(
            self._store.tracks_in,
            area,
            rate_from_request(request),
            feed=self._feed,
            advisories=self._store.advisories_in,
        )
        async for update in stream.updates():
            yield fs_pb2.WatchAreaResponse(update=situation_message(update, self._road))

    async def HandOverTracks(  # noqa: N802 - generated method name
        self, request: fs_pb2.HandOverTracksRequest, context: aio.ServicerContext[Any, Any]
    ) -> fs_pb2.HandOverTracksResponse:
        if self._handovers is None:
            raise ServiceError(StatusCode.NOT_FOUND, f"node {self._node_id} owns no tiles and takes no handovers")
        if not request.from_node_id:
            raise ValidationError("missing_sender", "HandOverTracks needs from_node_id", field="from_node_id")
        tracks = [track_from_proto(track) for track in request.tracks]
        self._handovers([Handover(request.from_node_id, self._node_id, track) for track in tracks])
        return fs_pb2.HandOverTracksResponse(accepted_count=len(tracks))

    async def GetNodeStats(  # noqa: N802 - generated method name
        self, request: fs_pb2.GetNodeStatsRequest, context: aio.ServicerContext[Any, Any]
    ) -> fs_pb2.GetNodeStatsResponse:
        return fs_pb2.GetNodeStatsResponse(
            node_id=self._node_id,
            time_unix_ms=now_unix_ms(),
            track_count=self._store.track_count,
            counters=dict(self._counters()),
            sources=self._registry.source_stats(now_unix_ms()) if self._registry is not None else (),
        )

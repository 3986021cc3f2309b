"""Composition root of the cloud node: store, services and gRPC server, owned by one object."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Self

from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from cloud.change_feed import ChangeFeed
from cloud.downlink_service import DownlinkBoard, DownlinkServicer
from cloud.fused_picture import FusedPicture
from cloud.fusion_service import FusionServicer
from cloud.handover_grpc import GrpcHandoverRouter
from cloud.ingest import StoreSink
from cloud.latest_store import LatestObjectStore
from cloud.map_lanes import intersection_lanes, load_map_file
from cloud.picture import Picture
from cloud.road_context import RoadContext
from cloud.settings import CloudSettings
from cloud.tile_handover import HandoverRouter, InProcessHandoverRouter, make_tile_gate
from cloud.vehicle_service import VehicleServicer
from roadlink.domain.spatial import Position
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.sequence_ledger import SequenceLedger
from roadlink.wire.server import (
    RunningServer,
    ServerTls,
    ServiceBinding,
    start_server,
)

__all__ = ["CloudNode"]


class CloudNode:
    """A running cloud node (async context manager). `port` is the bound gRPC port once entered."""

    def __init__(self, settings: CloudSettings, handover_router: HandoverRouter | None = None) -> None:
        """`handover_router` (owned by the caller) replaces the one built from settings.tile_peers; an
        `InProcessHandoverRouter` links nodes of one process that share a city's tiles."""
        self.settings = settings
        self.feed = ChangeFeed()
        self.road = RoadContext(max_signal_age_ms=settings.max_age_ms)
        for path in settings.map_files:
            self.road.update_map(intersection_lanes(load_map_file(path)))
        self.peer_router = _make_peer_router(settings) if handover_router is None else None
        self.fused = _make_fused(settings, self.feed, self.road, handover_router or self.peer_router)
        self.store: Picture = self.fused or LatestObjectStore(max_age_ms=settings.max_age_ms)
        self.sink = StoreSink(self.store, self.feed, road=self.road)
        self.ledger = _make_ledger(settings.state_dir)
        self.publish = PublishServicer(self.sink, ledger=self.ledger)
        self.vehicles = VehicleServicer(self.store, self.feed, self.road)
        self.downlink_board = DownlinkBoard(self.feed)
        self.downlink = DownlinkServicer(self.store, self.downlink_board, self.feed)
        self.fusion = FusionServicer(
            settings.node_id,
            self.store,
            self.counters,
            self.feed,
            self.sink.registry,
            self.road,
            handovers=self.fused.deliver_handovers if self.fused is not None and self.fused.gate is not None else None,
        )
        self._server: RunningServer | None = None

    @property
    def port(self) -> int:
        """The bound gRPC port."""
        if self._server is None:
            raise RuntimeError("cloud node is not running")
        return self._server.port

    def counters(self) -> dict[str, int]:
        """Named counters for stats and the demo summary."""
        stats = self.publish.stats
        return {
            "batches_accepted": stats.batches_accepted,
            "batches_duplicate": stats.batches_duplicate,
            "items_accepted": stats.items_accepted,
            "items_rejected": stats.items_rejected,
            "frames": self.sink.frames,
            "vehicle_states": self.sink.vehicle_states + self.vehicles.accepted_states,
            "tracks": self.store.track_count,
            "maps_received": self.road.maps_received,
            "signal_timings_received": self.road.signals_received,
            **(self.fused.gate.stats.as_counters() if self.fused is not None and self.fused.gate is not None else {}),
            **(self.peer_router.counters() if self.peer_router is not None else {}),
        }

    async def __aenter__(self) -> Self:
        bindings = [
            ServiceBinding(
                self.publish, rs_grpc.add_RoadsideServiceServicer_to_server, "v2x.roadside.v1.RoadsideService"
            ),
            ServiceBinding(self.vehicles, vs_grpc.add_VehicleServiceServicer_to_server, "v2x.cloud.v1.VehicleService"),
            ServiceBinding(self.fusion, fs_grpc.add_FusionServiceServicer_to_server, "v2x.cloud.v1.FusionService"),
            ServiceBinding(
                self.downlink, dl_grpc.add_DownlinkServiceServicer_to_server, "v2x.cloud.v1.DownlinkService"
            ),
        ]
        if self.peer_router is not None:
            await self.peer_router.__aenter__()
        if self.fused is not None:
            await self.fused.__aenter__()
        settings = self.settings
        tls = ServerTls.from_settings(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
        self._server = await start_server(bindings, settings.listen, access_tokens=settings.access_tokens, tls=tls)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None
        await self.publish.drain(timeout_s=10.0)
        if self.fused is not None:
            await self.fused.__aexit__(None, None, None)
        if self.peer_router is not None:
            await self.peer_router.__aexit__(None, None, None)
        if self.ledger is not None:
            await asyncio.to_thread(self.ledger.close)


def _make_ledger(state_dir: Path | None) -> SequenceLedger | None:
    if state_dir is None:
        return None
    state_dir.mkdir(parents=True, exist_ok=True)
    return SequenceLedger(state_dir / "ledger.db")


def _make_peer_router(settings: CloudSettings) -> GrpcHandoverRouter | None:
    if not settings.tile_peers:
        return None
    return GrpcHandoverRouter(settings.node_id, settings.tile_peers, access_token=settings.tile_peer_access_token)


def _make_fused(
    settings: CloudSettings, feed: ChangeFeed, road: RoadContext, router: HandoverRouter | None
) -> FusedPicture | None:
    if settings.picture != "fused":
        return None
    lat, lon = settings.fusion_origin_latitude_deg, settings.fusion_origin_longitude_deg
    origin = Position(lat, lon) if lat is not None and lon is not None else None
    gate = make_tile_gate(settings.node_id, settings.tile_owners, settings.tile_size_m, origin)
    fused = FusedPicture(feed, origin=origin, period_ms=settings.fusion_period_ms, road=road, gate=gate, router=router)
    if isinstance(router, InProcessHandoverRouter):
        router.register(settings.node_id, fused.deliver_handovers)
    return fused

"""Nodes configured with access tokens admit only calls that carry one; health and reflection stay open."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.roadside.v1 import perception_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.sdk import Circle, Position, VehicleClient
from roadlink.wire.auth import bearer_metadata
from roadlink.wire.convert import area_to_proto
from roadlink.wire.uplink import BatchUplink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

pytestmark = pytest.mark.integration

AREA = fs_pb2.ListTracksRequest(area=area_to_proto(Circle(Position(39.07, 115.93), 5e3)))


def _frame() -> perception_pb2.PerceptionFrame:
    frame = perception_pb2.PerceptionFrame(source_id="rsu-9", time_unix_ms=1)
    frame.provenance.sensor_ids.append("radar0")
    frame.objects.add(object_id=1).position.latitude_deg = 39.07
    frame.objects[0].position.longitude_deg = 115.93
    return frame


async def _list_tracks(port: int, token: str | None) -> fs_pb2.ListTracksResponse:
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = fs_grpc.FusionServiceStub(channel)
        response: fs_pb2.ListTracksResponse = await stub.ListTracks(AREA, metadata=bearer_metadata(token), timeout=5)
        return response


async def test_tokens_gate_every_hop_but_health() -> None:
    cloud_settings = CloudSettings.load(listen="127.0.0.1:0", access_tokens=["cloud-secret"], max_age_ms=10**12)
    async with CloudNode(cloud_settings) as cloud:
        roadside_settings = RoadsideSettings.load(
            listen="127.0.0.1:0",
            cloud_target=f"127.0.0.1:{cloud.port}",
            access_tokens=["rsu-secret"],
            cloud_access_token="cloud-secret",
        )
        async with RoadsideNode(roadside_settings) as roadside:
            gateway = BatchUplink(f"127.0.0.1:{roadside.port}", "gw-tok", access_token="rsu-secret")
            running = asyncio.create_task(gateway.run())
            try:
                await gateway.send("frames", _frame())
                assert await gateway.flush(10.0)
                async with asyncio.timeout(10):
                    while not (await _list_tracks(cloud.port, "cloud-secret")).tracks:
                        await asyncio.sleep(0.05)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        for token in (None, "wrong"):
            with pytest.raises(aio.AioRpcError) as denied:
                await _list_tracks(cloud.port, token)
            assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        async with aio.insecure_channel(f"127.0.0.1:{cloud.port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        area = Circle(Position(39.07, 115.93), 5e3)
        async with VehicleClient(f"127.0.0.1:{cloud.port}", access_token="cloud-secret") as client:
            subscription = await client.situation(area)
            async with asyncio.timeout(10):
                update = await anext(aiter(subscription))
            subscription.cancel()
        assert update.tracks
        async with VehicleClient(f"127.0.0.1:{cloud.port}") as client:
            subscription = await client.situation(area)
            with pytest.raises(ServiceError) as refused:
                async with asyncio.timeout(10):
                    await anext(aiter(subscription))
        assert refused.value.code is StatusCode.UNAUTHENTICATED


async def test_a_gateway_without_the_token_delivers_nothing() -> None:
    settings = RoadsideSettings.load(listen="127.0.0.1:0", cloud_target="127.0.0.1:1", access_tokens=["rsu-secret"])
    async with RoadsideNode(settings) as roadside:
        gateway = BatchUplink(f"127.0.0.1:{roadside.port}", "gw-none")
        running = asyncio.create_task(gateway.run())
        try:
            await gateway.send("frames", _frame())
            assert not await gateway.flush(1.5)
            assert gateway.pending_items == 1  # kept, not lost: it goes through once a token is configured
            assert roadside.publish.stats.items_accepted == 0
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

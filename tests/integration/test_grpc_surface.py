"""What every node shows on the wire: health, reflection, FusionService, and the SDK's connect error.

Real CloudNode and RoadsideNode on 127.0.0.1 port 0, queried through generated stubs as grpcurl, a load
balancer or an operator tool would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import perception_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.sdk.client import VehicleClient
from roadlink.wire.backoff import Backoff
from roadlink.wire.uplink import BatchUplink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

pytestmark = pytest.mark.integration

ROADSIDE_SERVICE = "v2x.roadside.v1.RoadsideService"
VEHICLE_SERVICE = "v2x.cloud.v1.VehicleService"
FUSION_SERVICE = "v2x.cloud.v1.FusionService"
DOWNLINK_SERVICE = "v2x.cloud.v1.DownlinkService"
VEHICLE_DOWNLINK_SERVICE = "v2x.cloud.v1.VehicleDownlinkService"
HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_SERVICE = "grpc.reflection.v1alpha.ServerReflection"
CLOUD_NODE_ID = "cloud-surface-test"
SOURCE_ID = "RSU-SURFACE"
CENTER = common_pb2.Position(latitude_deg=39.0742, longitude_deg=115.9325)
AREA = common_pb2.Area(circle=common_pb2.Circle(center=CENTER, radius_m=5_000.0))
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
WAIT_S = 10.0


@pytest.fixture
async def cloud() -> AsyncIterator[CloudNode]:
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0", node_id=CLOUD_NODE_ID)) as node:
        yield node


@pytest.fixture
async def roadside(cloud: CloudNode) -> AsyncIterator[RoadsideNode]:
    settings = RoadsideSettings.load(listen="127.0.0.1:0", cloud_target=f"127.0.0.1:{cloud.port}")
    async with RoadsideNode(settings) as node:
        yield node


@contextlib.asynccontextmanager
async def channel_to(port: int) -> AsyncIterator[aio.Channel]:
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        await asyncio.wait_for(channel.channel_ready(), WAIT_S)
        yield channel


async def health_of(port: int, service: str) -> int:
    async with channel_to(port) as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        response = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=WAIT_S)
    status: int = response.status
    return status


async def reflect(
    port: int, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    async with channel_to(port) as channel:
        call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(timeout=WAIT_S)
        await call.write(request)
        response: reflection_pb2.ServerReflectionResponse = await call.read()
        await call.done_writing()
    return response


async def test_health_is_serving_for_the_server_and_each_service(cloud: CloudNode, roadside: RoadsideNode) -> None:
    for service in ("", ROADSIDE_SERVICE, VEHICLE_SERVICE, FUSION_SERVICE, DOWNLINK_SERVICE):
        assert await health_of(cloud.port, service) == SERVING, service
    for service in ("", ROADSIDE_SERVICE, VEHICLE_DOWNLINK_SERVICE):
        assert await health_of(roadside.port, service) == SERVING, service


@pytest.mark.parametrize("service", ["v2x.nothing.v1.Missing", VEHICLE_SERVICE])
async def test_health_of_a_service_the_node_lacks_is_not_found(roadside: RoadsideNode, service: str) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await health_of(roadside.port, service)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_watch_turns_not_serving_when_the_node_stops() -> None:
    node = CloudNode(CloudSettings.load(listen="127.0.0.1:0"))
    await node.__aenter__()
    stopping: asyncio.Task[None] | None = None
    try:
        async with channel_to(node.port) as channel, asyncio.timeout(WAIT_S):
            call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=FUSION_SERVICE))
            first = await call.read()
            stopping = asyncio.create_task(node.__aexit__(None, None, None))
            second = await call.read()
            call.cancel()
            await stopping
    finally:
        if stopping is None:
            await node.__aexit__(None, None, None)
    assert (first.status, second.status) == (SERVING, NOT_SERVING)


async def test_reflection_lists_the_services(cloud: CloudNode, roadside: RoadsideNode) -> None:
    list_request = reflection_pb2.ServerReflectionRequest(list_services="")
    cloud_names = {s.name for s in (await reflect(cloud.port, list_request)).list_services_response.service}
    roadside_names = {s.name for s in (await reflect(roadside.port, list_request)).list_services_response.service}
    assert cloud_names == {
        ROADSIDE_SERVICE,
        VEHICLE_SERVICE,
        FUSION_SERVICE,
        DOWNLINK_SERVICE,
        HEALTH_SERVICE,
        REFLECTION_SERVICE,
    }
    assert roadside_names == {ROADSIDE_SERVICE, VEHICLE_DOWNLINK_SERVICE, HEALTH_SERVICE, REFLECTION_SERVICE}


async def test_reflection_serves_the_descriptor_of_a_service(cloud: CloudNode) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=FUSION_SERVICE)
    response = await reflect(cloud.port, request)
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]
    fusion_file = next(f for f in files if f.name == "v2x/cloud/v1/fusion_service.proto")
    assert [m.name for m in fusion_file.service[0].method] == [
        "ListTracks",
        "WatchArea",
        "GetNodeStats",
        "HandOverTracks",
    ]


def radar_frame(time_unix_ms: int) -> perception_pb2.PerceptionFrame:
    """Two cars 11 m apart near CENTER, seen by one radar."""
    objects = [
        perception_pb2.DetectedObject(
            object_id=object_id,
            object_class=common_pb2.OBJECT_CLASS_PASSENGER_CAR,
            position=common_pb2.Position(latitude_deg=39.0742 + 0.0001 * object_id, longitude_deg=115.9325),
            speed_mps=10.0,
            heading_deg=90.0,
            sensor_ids=["radar0"],
        )
        for object_id in (1, 2)
    ]
    provenance = common_pb2.Provenance(
        source_id=SOURCE_ID,
        sensor_ids=["radar0"],
        source_time_unix_ms=time_unix_ms,
        gateway_receive_time_unix_ms=time_unix_ms,
        topic=f"rsu/{SOURCE_ID}/radar/radar0",
    )
    return perception_pb2.PerceptionFrame(
        source_id=SOURCE_ID, frame_sequence=1, time_unix_ms=time_unix_ms, objects=objects, provenance=provenance
    )


async def push_frame(port: int, frame: perception_pb2.PerceptionFrame) -> None:
    """Publish one frame through a BatchUplink and wait for its acknowledgement."""
    uplink = BatchUplink(f"127.0.0.1:{port}", "surface-test-gateway", backoff=Backoff(0.01, 0.2))
    task = asyncio.create_task(uplink.run())
    try:
        await uplink.send("frames", frame, timeout_s=WAIT_S)
        assert await uplink.flush(WAIT_S) is True
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def list_tracks_until(stub: fs_grpc.FusionServiceStub, count: int) -> fs_pb2.ListTracksResponse:
    """ListTracks in AREA until `count` tracks show (the roadside node forwards asynchronously)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            response: fs_pb2.ListTracksResponse = await stub.ListTracks(
                fs_pb2.ListTracksRequest(area=AREA), timeout=WAIT_S
            )
            if len(response.tracks) >= count:
                return response
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("entry", ["cloud", "roadside"])
async def test_fusion_service_shows_a_published_frame(cloud: CloudNode, roadside: RoadsideNode, entry: str) -> None:
    stamp = now_unix_ms()
    await push_frame(cloud.port if entry == "cloud" else roadside.port, radar_frame(stamp))
    async with channel_to(cloud.port) as channel:
        stub = fs_grpc.FusionServiceStub(channel)
        listed = await list_tracks_until(stub, 2)
        cars = await stub.ListTracks(
            fs_pb2.ListTracksRequest(area=AREA, object_classes=[common_pb2.OBJECT_CLASS_PASSENGER_CAR]), timeout=WAIT_S
        )
        people = await stub.ListTracks(
            fs_pb2.ListTracksRequest(area=AREA, object_classes=[common_pb2.OBJECT_CLASS_PEDESTRIAN]), timeout=WAIT_S
        )
        stats = await stub.GetNodeStats(fs_pb2.GetNodeStatsRequest(), timeout=WAIT_S)
        watch = stub.WatchArea(fs_pb2.WatchAreaRequest(area=AREA, rate_hz=20.0), timeout=WAIT_S)
        async with asyncio.timeout(WAIT_S):
            watched = await watch.read()
        watch.cancel()

    assert len(listed.tracks) == 2
    assert all(list(t.source_ids) == [SOURCE_ID] and t.time_unix_ms == stamp for t in listed.tracks)
    latitudes = sorted(t.position.latitude_deg for t in listed.tracks)
    assert latitudes == pytest.approx([39.0743, 39.0744], abs=1e-6)
    assert {t.track_id for t in cars.tracks} == {t.track_id for t in listed.tracks}
    assert list(people.tracks) == []
    assert (stats.node_id, stats.track_count) == (CLOUD_NODE_ID, 2)
    heartbeats = sum(source.messages_received for source in stats.sources)  # the roadside node registers itself
    assert (stats.counters["frames"], stats.counters["items_accepted"]) == (1, 1 + heartbeats)
    assert {t.track_id for t in watched.update.tracks} == {t.track_id for t in listed.tracks}
    assert watched.update.area == AREA


async def test_fusion_calls_without_area_are_invalid_argument(cloud: CloudNode) -> None:
    async with channel_to(cloud.port) as channel:
        stub = fs_grpc.FusionServiceStub(channel)
        with pytest.raises(aio.AioRpcError) as listed:
            await stub.ListTracks(fs_pb2.ListTracksRequest(), timeout=WAIT_S)
        with pytest.raises(aio.AioRpcError) as watched:
            await stub.WatchArea(fs_pb2.WatchAreaRequest(), timeout=WAIT_S).read()
    assert listed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert watched.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_sdk_client_without_a_node_raises_service_error_unavailable() -> None:
    """VehicleClient waits its fixed 10 s connect timeout here: this test takes about 10 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServiceError) as raised:
        async with asyncio.timeout(30.0), VehicleClient(f"127.0.0.1:{port}", connect_timeout_s=1.0):
            pass
    assert raised.value.code is StatusCode.UNAVAILABLE
    assert not isinstance(raised.value, grpc.RpcError)

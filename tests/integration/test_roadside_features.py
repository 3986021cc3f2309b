"""The roadside node's own features over real gRPC: local fusion, signal timing and map, cloud downlink."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.roadside.v1 import perception_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from roadlink.domain.clock import now_unix_ms
from roadlink.domain.spatial import Position
from roadlink.wire.convert import frame_to_proto, position_to_proto
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.roadside.test_local_fusion import ORIGIN, SENSORS, sensor_frame

pytestmark = pytest.mark.integration

Response = dl_pb2.WatchRoadsideResponse


@dataclass
class CloudRecorder:
    """The cloud's RoadsideService.Publish with a sink that keeps every accepted batch."""

    batches: list[rs_pb2.PublishRequest] = field(default_factory=list)

    async def accept(self, batch: rs_pb2.PublishRequest) -> list[rs_pb2.ItemRejection]:
        self.batches.append(batch)
        return []

    def frames(self) -> list[perception_pb2.PerceptionFrame]:
        return [frame for batch in self.batches for frame in batch.frames]


@contextlib.asynccontextmanager
async def recording_cloud() -> AsyncIterator[tuple[CloudRecorder, RunningServer]]:
    recorder = CloudRecorder()
    binding = ServiceBinding(PublishServicer(recorder), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    try:
        yield recorder, server
    finally:
        await server.stop(0)


@contextlib.asynccontextmanager
async def gateway(port: int) -> AsyncIterator[BatchUplink]:
    """A gateway's uplink into the roadside node."""
    uplink = BatchUplink(f"127.0.0.1:{port}", "gw-1", linger_s=0.001)
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Vehicle:
    """A vehicle watching the roadside node over VehicleDownlinkService.WatchRoadside."""

    def __init__(self, port: int, position: Position) -> None:
        self._channel = aio.insecure_channel(f"127.0.0.1:{port}")
        self._positions: asyncio.Queue[Position] = asyncio.Queue()
        self._positions.put_nowait(position)
        self.received: list[Response] = []
        self._call = dl_grpc.VehicleDownlinkServiceStub(self._channel).WatchRoadside(self._requests())

    async def _requests(self) -> AsyncIterator[dl_pb2.WatchRoadsideRequest]:
        while True:
            position = await self._positions.get()
            yield dl_pb2.WatchRoadsideRequest(position=position_to_proto(position), vehicle_id="car-1")

    def move(self, position: Position) -> None:
        self._positions.put_nowait(position)

    async def until(self, done: Callable[[list[Response]], bool], timeout_s: float = 20.0) -> list[Response]:
        """Read responses until `done(received)` holds."""
        async with asyncio.timeout(timeout_s):
            while not done(self.received):
                self.received.append(await self._call.read())
        return self.received

    async def close(self) -> None:
        self._call.cancel()
        await self._channel.close()


def roadside_settings(cloud_port: int, **overrides: Any) -> RoadsideSettings:
    return RoadsideSettings.load(
        node_id="rsu-7",
        listen="127.0.0.1:0",
        cloud_target=f"127.0.0.1:{cloud_port}",
        latitude_deg=ORIGIN.latitude_deg,
        longitude_deg=ORIGIN.longitude_deg,
        heartbeat_s=60.0,
        uplink_linger_ms=1.0,
        **overrides,
    )


def _fused(responses: list[Response]) -> list[Response]:
    return [r for r in responses if r.WhichOneof("content") == "frame" and r.frame.objects]


async def test_local_fusion_publishes_one_object_per_car_to_cloud_and_vehicles() -> None:
    async with (
        recording_cloud() as (cloud, server),
        RoadsideNode(roadside_settings(server.port, local_fusion=True, local_fusion_period_ms=50)) as node,
        gateway(node.port) as uplink,
    ):
        vehicle = Vehicle(node.port, ORIGIN)
        t0, sequence = now_unix_ms(), 0

        async def sensors() -> None:
            nonlocal sequence
            while True:
                sequence += 1
                for sensor_id in SENSORS:
                    await uplink.send("frames", frame_to_proto(sensor_frame(sensor_id, t0, now_unix_ms(), sequence)))
                await asyncio.sleep(0.05)

        feeding = asyncio.create_task(sensors())
        try:
            received = await vehicle.until(lambda got: len(_fused(got)) >= 10)
            async with asyncio.timeout(20):
                while len([f for f in cloud.frames() if f.objects]) < 10:
                    await asyncio.sleep(0.05)
        finally:
            feeding.cancel()
            await vehicle.close()
    for frames in ([r.frame for r in _fused(received)], [f for f in cloud.frames() if f.objects]):
        settled = frames[3:]
        assert all(len(frame.objects) == 2 for frame in settled), [len(frame.objects) for frame in settled]
        assert all(frame.source_id == "rsu-7" for frame in frames)
        assert list(settled[-1].provenance.sensor_ids) == ["lidar0", "radar0"]
    # The raw sensor frames never reach the cloud: only the node's fused frames do.
    assert all(obj.sensor_ids for frame in cloud.frames() for obj in frame.objects)
    assert node.counters()["fused_frames"] >= 10

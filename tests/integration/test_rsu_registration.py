"""RSUs register with the cloud through heartbeats; the cloud says which are live, stale or down."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from grpc import aio
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.roadside.v1 import info_pb2, perception_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink import __version__
from roadlink.wire.uplink import BatchUplink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

pytestmark = pytest.mark.integration

HEARTBEAT_S = 0.2


async def _stats(port: int) -> fs_pb2.GetNodeStatsResponse:
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        response: fs_pb2.GetNodeStatsResponse = await fs_grpc.FusionServiceStub(channel).GetNodeStats(
            fs_pb2.GetNodeStatsRequest(), timeout=5
        )
        return response


async def _rsu(port: int, liveness: int) -> fs_pb2.SourceStats:
    async with asyncio.timeout(20):
        while True:
            found = [s for s in (await _stats(port)).sources if s.source_id == "rsu-7" and s.liveness == liveness]
            if found:
                return found[0]
            await asyncio.sleep(0.05)


async def test_registration_sensor_health_and_liveness() -> None:
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as cloud:
        settings = RoadsideSettings.load(
            node_id="rsu-7",
            listen="127.0.0.1:0",
            cloud_target=f"127.0.0.1:{cloud.port}",
            heartbeat_s=HEARTBEAT_S,
            latitude_deg=39.0742,
            longitude_deg=115.9325,
        )
        async with RoadsideNode(settings) as roadside:
            gateway = BatchUplink(f"127.0.0.1:{roadside.port}", "gw-1")
            running = asyncio.create_task(gateway.run())
            try:
                for n in range(20):
                    frame = perception_pb2.PerceptionFrame(source_id="rsu-7", frame_sequence=n)
                    frame.provenance.sensor_ids.append("lidar0")
                    await gateway.send("frames", frame)
                    await asyncio.sleep(0.02)
                live = await _rsu(cloud.port, fs_pb2.LIVENESS_LIVE)
                while not any(s.sensor_id == "lidar0" for s in live.status.sensors):
                    live = await _rsu(cloud.port, fs_pb2.LIVENESS_LIVE)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        stale = await _rsu(cloud.port, fs_pb2.LIVENESS_STALE)
        down = await _rsu(cloud.port, fs_pb2.LIVENESS_DOWN)
    assert live.status.software_version == __version__
    assert live.status.heartbeat_interval_s == HEARTBEAT_S
    assert (live.status.position.latitude_deg, live.status.position.longitude_deg) == (39.0742, 115.9325)
    lidar = next(s for s in live.status.sensors if s.sensor_id == "lidar0")
    assert lidar.health == info_pb2.HEALTH_STATE_OK
    assert lidar.last_frame_time_unix_ms > 0
    assert stale.last_seen_unix_ms == down.last_seen_unix_ms  # no heartbeat after the node stopped

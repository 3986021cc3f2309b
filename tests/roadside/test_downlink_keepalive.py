"""A quiet roadside node keeps a vehicle's WatchRoadside stream alive with keepalives, over real gRPC.

A real RoadsideNode (a real CloudNode behind it) on 127.0.0.1 port 0 has no map, no signal timing and no
local fusion: it has nothing to tell a vehicle in its range. Its stream still delivers keepalives: responses
without content, stamped with the node's clock, each after about a second of silence.
"""

from __future__ import annotations

import asyncio

import pytest
from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.spatial import Position
from roadlink.wire.convert import position_to_proto
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

pytestmark = pytest.mark.integration

CENTRE = Position(39.0742, 115.9325)
WAIT_S = 20.0


async def test_a_quiet_node_sends_keepalives_stamped_with_its_clock() -> None:
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as cloud:
        settings = RoadsideSettings.load(
            listen="127.0.0.1:0",
            cloud_target=f"127.0.0.1:{cloud.port}",
            latitude_deg=CENTRE.latitude_deg,
            longitude_deg=CENTRE.longitude_deg,
            heartbeat_s=60.0,
        )
        async with RoadsideNode(settings) as node, aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
            start = now_unix_ms()
            request = dl_pb2.WatchRoadsideRequest(position=position_to_proto(CENTRE), vehicle_id="car-1")
            call = dl_grpc.VehicleDownlinkServiceStub(channel).WatchRoadside(iter([request]))
            try:
                async with asyncio.timeout(WAIT_S):
                    received = [await call.read(), await call.read()]
            finally:
                call.cancel()
            sent = node.hub.keepalives_sent
    assert all(isinstance(r, dl_pb2.WatchRoadsideResponse) for r in received)
    assert [r.WhichOneof("content") for r in received] == [None, None]
    times = [r.sent_time_unix_ms for r in received]
    assert start <= times[0] <= times[1] <= now_unix_ms()
    assert sent >= 2


async def test_the_keepalive_period_comes_from_the_settings() -> None:
    """With `vehicle_keepalive_s` = 0.05, five keepalives arrive well within 2 s (the 1 s default needs 5 s)."""
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as cloud:
        settings = RoadsideSettings.load(
            listen="127.0.0.1:0",
            cloud_target=f"127.0.0.1:{cloud.port}",
            latitude_deg=CENTRE.latitude_deg,
            longitude_deg=CENTRE.longitude_deg,
            heartbeat_s=60.0,
            vehicle_keepalive_s=0.05,
        )
        async with RoadsideNode(settings) as node, aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
            request = dl_pb2.WatchRoadsideRequest(position=position_to_proto(CENTRE), vehicle_id="car-1")
            call = dl_grpc.VehicleDownlinkServiceStub(channel).WatchRoadside(iter([request]))
            try:
                async with asyncio.timeout(2.0):
                    received = [await call.read() for _ in range(5)]
            finally:
                call.cancel()
    assert [r.WhichOneof("content") for r in received] == [None] * 5

"""MapData and SPaT from the edge through a real roadside node into the fused cloud, on to a vehicle.

The RSU's batch (MapData of intersection 7 and a red SPaT) goes into a RoadsideNode over
RoadsideService.Publish; the roadside node validates the map, serves both and forwards them upstream to
a fused CloudNode. A connected car drives the wrong way on the ingress lane and watches its situation
from the cloud: it receives the signal state and the wrong-way advisory built from the forwarded map.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from grpc import aio
from v2x.cloud.v1 import situation_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import signal_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.integration.test_cloud_road_context import (
    INTERSECTION_ID,
    REFERENCE,
    _advisories,
    _publish_road,
    _states,
    _watch_until,
)

pytestmark = pytest.mark.integration


def _complete(update: situation_pb2.SituationUpdate) -> bool:
    return bool(update.signal_timings) and bool(_advisories(update, situation_pb2.ADVISORY_TYPE_WRONG_WAY))


async def test_the_edge_map_and_signal_reach_a_vehicle_through_the_roadside_node() -> None:
    area = common_pb2.Area(circle=common_pb2.Circle(center=REFERENCE, radius_m=500.0))
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0", picture="fused")) as cloud:
        cloud_target = f"127.0.0.1:{cloud.port}"
        roadside_settings = RoadsideSettings.load(listen="127.0.0.1:0", cloud_target=cloud_target)
        async with RoadsideNode(roadside_settings) as roadside, aio.insecure_channel(cloud_target) as channel:
            await _publish_road(f"127.0.0.1:{roadside.port}")
            stub = vs_grpc.VehicleServiceStub(channel)
            drive = stub.PublishState(_states(b"\x0b\xad\xca\xfe", lambda t: (0.0, -50.0 - 10.0 * t), 10.0, 180.0))
            try:
                update = await _watch_until(stub, area, _complete)
            finally:
                drive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drive
        assert cloud.road.intersection_count == 1
    (spat,) = update.signal_timings
    assert spat.intersection_id == INTERSECTION_ID
    assert spat.movements[0].events[0].phase == signal_pb2.MOVEMENT_PHASE_STOP_AND_REMAIN
    (advisory,) = _advisories(update, situation_pb2.ADVISORY_TYPE_WRONG_WAY)
    assert list(advisory.track_ids) == [t.track_id for t in update.tracks]

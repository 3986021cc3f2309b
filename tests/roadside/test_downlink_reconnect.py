"""The roadside CloudDownlink over real gRPC: a silent stream is dropped and reopened, items then arrive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.cloud.v1 import situation_pb2

from roadlink.domain.clock import now_unix_ms
from roadlink.domain.spatial import Circle, Position
from roadlink.wire.server import ServiceBinding, start_server
from roadside.downlink import CloudDownlink, VehicleHub

pytestmark = pytest.mark.integration

CENTRE = Position(39.0742, 115.9325)


class SilentThenTalking(dl_grpc.DownlinkServiceServicer):
    """The first stream never sends anything (a hung cloud); later streams send one advisory."""

    def __init__(self) -> None:
        self.requests: list[dl_pb2.WatchDownlinkRequest] = []

    async def WatchDownlink(  # noqa: N802 - generated method name
        self, request: dl_pb2.WatchDownlinkRequest, context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[dl_pb2.WatchDownlinkResponse]:
        self.requests.append(request)
        if len(self.requests) == 1:
            await asyncio.sleep(60)
        advisory = situation_pb2.Advisory(advisory_id="a1")
        advisory.validity.end_time_unix_ms = now_unix_ms() + 60_000
        yield dl_pb2.WatchDownlinkResponse(advisories=[advisory])
        await asyncio.sleep(60)


async def test_a_silent_cloud_stream_is_reopened_and_its_items_reach_the_hub() -> None:
    servicer = SilentThenTalking()
    binding = ServiceBinding(servicer, dl_grpc.add_DownlinkServiceServicer_to_server, "v2x.cloud.v1.DownlinkService")
    server = await start_server([binding], "127.0.0.1:0")
    hub = VehicleHub(center=CENTRE, service_range_m=300.0)
    watcher = hub.join(CENTRE)
    zone = Circle(CENTRE, 300.0)
    try:
        async with CloudDownlink(hub, f"127.0.0.1:{server.port}", "rsu-7", zone, idle_timeout_s=0.3) as downlink:
            async with asyncio.timeout(20):
                response = await anext(r async for r in hub.responses(watcher) if r.WhichOneof("content"))
    finally:
        await server.stop(0)
    assert response.advisory.advisory_id == "a1"
    assert downlink.reconnects >= 1
    assert len(servicer.requests) >= 2
    assert servicer.requests[0].rsu_id == "rsu-7"
    assert servicer.requests[0].zone.circle.radius_m == 300.0

"""The gRPC handover router: bounded per-peer queues (oldest dropped) drained into a real node."""

from __future__ import annotations

import asyncio

from cloud.handover_grpc import GrpcHandoverRouter
from cloud.node import CloudNode
from cloud.settings import CloudSettings
from cloud.tile_handover import Handover
from roadlink.domain.classes import ObjectClass
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Position

ANCHOR = Position(39.0742, 115.9325)


def _handover(track_id: int) -> Handover:
    now = now_unix_ms()
    return Handover("west", "east", Track(track_id, ObjectClass.PASSENGER_CAR, ANCHOR, now, now))


async def test_a_full_queue_drops_its_oldest_and_the_rest_reaches_the_peer() -> None:
    settings = CloudSettings.load(
        node_id="east",
        listen="127.0.0.1:0",
        picture="fused",
        fusion_origin_latitude_deg=ANCHOR.latitude_deg,
        fusion_origin_longitude_deg=ANCHOR.longitude_deg,
        tile_owners={"west": [(-1, 0)], "east": [(0, 0)]},
    )
    async with CloudNode(settings) as east:
        router = GrpcHandoverRouter("west", {"east": f"127.0.0.1:{east.port}"}, max_queued=2)
        async with router:
            router.send([_handover(k) for k in range(1, 6)])  # no await in between: the queue overflows
            router.send([Handover("west", "north", _handover(9).track)])
            async with asyncio.timeout(10):
                while router.sent < 2:
                    await asyncio.sleep(0.01)
    assert (router.sent, router.dropped, router.failed, router.undeliverable) == (2, 3, 0, 1)

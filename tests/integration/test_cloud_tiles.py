"""Two fused cloud nodes sharing a tile border: a car driving across keeps one id and is in one picture.

Real CloudNodes on 127.0.0.1 port 0: "west" owns tile (-1, 0) and "east" tile (0, 0) of a 100 m grid
anchored at the shared fusion origin; handovers go through an in-process router. Each node gets RSU
object lists over RoadsideService.Publish from its own RSU, and the two RSUs overlap 15 m either side of
the border. Both pictures are sampled at the same instant (no await between the two reads) while the car
drives east across the border at 20 m/s; the final id is also read over FusionService.ListTracks.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest
from grpc import aio
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from cloud.tile_handover import InProcessHandoverRouter
from roadlink.domain.classes import ObjectClass
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.spatial import Circle, Covariance2D, Dimensions, Position
from roadlink.wire.convert import area_to_proto, frame_to_proto

pytestmark = pytest.mark.integration

ANCHOR = Position(39.0742, 115.9325)
FRAME = LocalOrigin(ANCHOR.latitude_deg, ANCHOR.longitude_deg)
OWNERS = {"west": [(-1, 0)], "east": [(0, 0)]}
AREA = Circle(ANCHOR, 1_000.0)
SPEED_MPS = 20.0
START_EAST_M = -70.0
OVERLAP_M = 15.0


def _settings(node_id: str) -> CloudSettings:
    return CloudSettings.load(
        node_id=node_id,
        listen="127.0.0.1:0",
        picture="fused",
        fusion_origin_latitude_deg=ANCHOR.latitude_deg,
        fusion_origin_longitude_deg=ANCHOR.longitude_deg,
        tile_size_m=100.0,
        tile_owners=OWNERS,
    )


def _frame(source: str, time_ms: int, east_m: float, rng: random.Random) -> PerceptionFrame:
    lat, lon, _ = FRAME.to_geodetic(east_m + rng.gauss(0, 0.3), 50.0 + rng.gauss(0, 0.3), 0.0)
    obj = DetectedObject(
        object_id=11,
        object_class=ObjectClass.PASSENGER_CAR,
        position=Position(float(lat), float(lon)),
        speed_mps=SPEED_MPS,
        heading_deg=90.0,
        size=Dimensions(4.5, 1.8),
        position_covariance=Covariance2D.isotropic(0.5),
    )
    return PerceptionFrame(source, 0, time_ms, (obj,), Provenance(source, time_ms, sensor_ids=("lidar",)))


class _Rsu:
    """One RSU's raw Publish stream into one node (batches numbered 1, 2, 3, ...)."""

    def __init__(self, channel: aio.Channel, source: str) -> None:
        self._call = rs_grpc.RoadsideServiceStub(channel).Publish()
        self._source = source
        self._sequence = 0

    async def send(self, frame: PerceptionFrame) -> None:
        self._sequence += 1
        batch = rs_pb2.PublishRequest(
            sender_id=self._source, sender_epoch=1, sequence=self._sequence, frames=[frame_to_proto(frame)]
        )
        await self._call.write(batch)

    async def close(self) -> None:
        await self._call.done_writing()
        self._call.cancel()


async def _drive(west_rsu: _Rsu, east_rsu: _Rsu, seconds: float) -> None:
    rng = random.Random(3)
    start = now_unix_ms()
    while (now := now_unix_ms()) - start < seconds * 1000:
        east_m = START_EAST_M + SPEED_MPS * (now - start) / 1000
        if east_m < OVERLAP_M:
            await west_rsu.send(_frame("rsu-west", now, east_m, rng))
        if east_m > -OVERLAP_M:
            await east_rsu.send(_frame("rsu-east", now, east_m, rng))
        await asyncio.sleep(0.1)


async def _sample(west: CloudNode, east: CloudNode, until: asyncio.Task[None]) -> list[tuple[set[int], set[int]]]:
    """Both nodes' published ids at the same instants, every 20 ms until ``until`` is done."""
    samples = []
    while not until.done():
        samples.append(
            ({t.track_id for t in west.store.tracks_in(AREA)}, {t.track_id for t in east.store.tracks_in(AREA)})
        )
        await asyncio.sleep(0.02)
    return samples


async def test_a_car_crossing_the_tile_border_keeps_one_id_in_one_node() -> None:
    router = InProcessHandoverRouter()
    async with (
        CloudNode(_settings("west"), handover_router=router) as west,
        CloudNode(_settings("east"), handover_router=router) as east,
        aio.insecure_channel(f"127.0.0.1:{west.port}") as west_channel,
        aio.insecure_channel(f"127.0.0.1:{east.port}") as east_channel,
    ):
        west_rsu, east_rsu = _Rsu(west_channel, "rsu-west"), _Rsu(east_channel, "rsu-east")
        driving = asyncio.create_task(_drive(west_rsu, east_rsu, seconds=6.0))
        try:
            samples = await asyncio.wait_for(_sample(west, east, driving), 30.0)
            await driving
        finally:
            driving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driving
            await west_rsu.close()
            await east_rsu.close()
        listed = await fs_grpc.FusionServiceStub(east_channel).ListTracks(
            fs_pb2.ListTracksRequest(area=area_to_proto(AREA)), timeout=10.0
        )
        west_gate, east_gate = west.fused.gate if west.fused else None, east.fused.gate if east.fused else None
    assert not [s for s in samples if s[0] and s[1]], "published by both nodes at once"
    ids = set().union(*(w | e for w, e in samples))
    assert len(ids) == 1, ids
    first_west = next(k for k, (w, _) in enumerate(samples) if w)
    first_east = next(k for k, (_, e) in enumerate(samples) if e)
    assert first_west < first_east
    assert [t.track_id for t in listed.tracks] == list(ids)
    assert west_gate is not None
    assert east_gate is not None
    assert (west_gate.stats.handed_over, east_gate.stats.adopted) == (1, 1)

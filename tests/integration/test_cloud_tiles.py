"""Two fused cloud nodes sharing a tile border: a car driving across keeps one id and is in one picture.

Real CloudNodes on 127.0.0.1 port 0: "west" owns tile (-1, 0) and "east" tile (0, 0) of a 100 m grid
anchored at the shared fusion origin; handovers go through an in-process router, or over gRPC
(FusionService.HandOverTracks) to the peer address in the settings. Each node gets RSU
object lists over RoadsideService.Publish from its own RSU, and the two RSUs overlap 15 m either side of
the border. Both pictures are sampled at the same instant (no await between the two reads) while the car
drives east across the border at 20 m/s; the final id is also read over FusionService.ListTracks.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import grpc
import pytest
from grpc import aio
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from cloud.tile_handover import InProcessHandoverRouter
from roadlink.domain.classes import ObjectClass
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.situation import AdvisoryType, Track
from roadlink.domain.spatial import Circle, Covariance2D, Dimensions, Position
from roadlink.wire.convert import area_to_proto, frame_to_proto, track_to_proto

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


async def _cross(west: CloudNode, east: CloudNode) -> tuple[list[tuple[set[int], set[int]]], list[int]]:
    """Drive the car across; both nodes' published ids at each sample, and the ids east lists at the end."""
    async with (
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
    return samples, [t.track_id for t in listed.tracks]


def _check(samples: list[tuple[set[int], set[int]]], listed: list[int], west: CloudNode, east: CloudNode) -> None:
    assert not [s for s in samples if s[0] and s[1]], "published by both nodes at once"
    ids = set().union(*(w | e for w, e in samples))
    assert len(ids) == 1, ids
    first_west = next(k for k, (w, _) in enumerate(samples) if w)
    first_east = next(k for k, (_, e) in enumerate(samples) if e)
    assert first_west < first_east
    assert listed == list(ids)
    west_gate = west.fused.gate if west.fused else None
    east_gate = east.fused.gate if east.fused else None
    assert west_gate is not None
    assert east_gate is not None
    assert (west_gate.stats.handed_over, east_gate.stats.adopted) == (1, 1)


async def test_a_car_crossing_the_tile_border_keeps_one_id_in_one_node() -> None:
    router = InProcessHandoverRouter()
    async with (
        CloudNode(_settings("west"), handover_router=router) as west,
        CloudNode(_settings("east"), handover_router=router) as east,
    ):
        samples, listed = await _cross(west, east)
        _check(samples, listed, west, east)


async def test_nodes_in_separate_servers_hand_over_through_grpc() -> None:
    """West hands over to east's real server (FusionService.HandOverTracks) at the address in its settings."""
    async with CloudNode(_settings("east")) as east:
        west_settings = _settings("west").model_copy(update={"tile_peers": {"east": f"127.0.0.1:{east.port}"}})
        async with CloudNode(west_settings) as west:
            samples, listed = await _cross(west, east)
            _check(samples, listed, west, east)
            router = west.peer_router
            async with aio.insecure_channel(f"127.0.0.1:{west.port}") as channel:
                stats = await fs_grpc.FusionServiceStub(channel).GetNodeStats(
                    fs_pb2.GetNodeStatsRequest(), timeout=10.0
                )
    assert (stats.counters["tile_handed_over"], stats.counters["handovers_sent"]) == (1, 1)
    assert router is not None
    assert (router.sent, router.failed, router.dropped, router.undeliverable) == (1, 0, 0, 0)


async def test_handovers_need_a_sender_and_a_node_with_tiles() -> None:
    track = track_to_proto(_frame_track())
    async with (
        CloudNode(_settings("east")) as tiled,
        CloudNode(CloudSettings.load(listen="127.0.0.1:0", picture="fused")) as untiled,
        aio.insecure_channel(f"127.0.0.1:{tiled.port}") as tiled_channel,
        aio.insecure_channel(f"127.0.0.1:{untiled.port}") as untiled_channel,
    ):
        anonymous = fs_pb2.HandOverTracksRequest(tracks=[track])
        with pytest.raises(aio.AioRpcError) as invalid:
            await fs_grpc.FusionServiceStub(tiled_channel).HandOverTracks(anonymous, timeout=10.0)
        signed = fs_pb2.HandOverTracksRequest(from_node_id="west", tracks=[track])
        with pytest.raises(aio.AioRpcError) as not_found:
            await fs_grpc.FusionServiceStub(untiled_channel).HandOverTracks(signed, timeout=10.0)
        accepted = await fs_grpc.FusionServiceStub(tiled_channel).HandOverTracks(signed, timeout=10.0)
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not_found.value.code() == grpc.StatusCode.NOT_FOUND
    assert accepted.accepted_count == 1


def _frame_track() -> Track:
    now = now_unix_ms()
    return Track(7, ObjectClass.PASSENGER_CAR, ANCHOR, now, now, speed_mps=SPEED_MPS, heading_deg=90.0)


async def _report(calls: list[Any], seconds: float) -> None:
    """Lead from -35 m at 10 m/s and follower from -70 m at 15 m/s, both east, report to every node at 10 Hz."""
    start = now_unix_ms()
    while (now := now_unix_ms()) - start < seconds * 1000:
        elapsed_s = (now - start) / 1000
        states = [
            _state(LEAD_ID, -35.0 + 10.0 * elapsed_s, 10.0, now),
            _state(FOLLOWER_ID, -70.0 + 15.0 * elapsed_s, 15.0, now),
        ]
        for call in calls:
            await call.write(vs_pb2.PublishStateRequest(states=states))
        await asyncio.sleep(0.1)


def _state(vehicle_id: bytes, east_m: float, speed_mps: float, time_ms: int) -> vehicle_pb2.VehicleState:
    lat, lon, _ = FRAME.to_geodetic(east_m, 50.0, 0.0)
    return vehicle_pb2.VehicleState(
        temporary_id=vehicle_id,
        time_unix_ms=time_ms,
        position=common_pb2.Position(latitude_deg=float(lat), longitude_deg=float(lon)),
        speed_mps=speed_mps,
        heading_deg=90.0,
        vehicle_class=common_pb2.OBJECT_CLASS_PASSENGER_CAR,
    )


LEAD_ID, FOLLOWER_ID = b"\x00\x00\x1e\xad", b"\x00\x00\xf0\x11"


async def test_a_forward_collision_across_the_border_is_issued_by_the_followers_node() -> None:
    """The lead has been handed to east while the follower is still west's: west warns, naming both."""
    router = InProcessHandoverRouter()
    crossing: list[tuple[int, ...]] = []
    async with (
        CloudNode(_settings("west"), handover_router=router) as west,
        CloudNode(_settings("east"), handover_router=router) as east,
        aio.insecure_channel(f"127.0.0.1:{west.port}") as west_channel,
        aio.insecure_channel(f"127.0.0.1:{east.port}") as east_channel,
    ):
        calls = [vs_grpc.VehicleServiceStub(c).PublishState() for c in (west_channel, east_channel)]
        reporting = asyncio.create_task(_report(calls, seconds=6.0))
        try:
            async with asyncio.timeout(30):
                while not reporting.done() and not crossing:
                    crossing = _cross_border_warnings(west, east)
                    await asyncio.sleep(0.02)
        finally:
            reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporting
            for call in calls:
                call.cancel()
    assert crossing, "no forward-collision advisory named a track of the other node"


def _cross_border_warnings(west: CloudNode, east: CloudNode) -> list[tuple[int, ...]]:
    """Track ids of west's forward-collision advisories that name one west track and one east track (now)."""
    west_ids = {t.track_id for t in west.store.tracks_in(AREA)}
    east_ids = {t.track_id for t in east.store.tracks_in(AREA)}
    return [
        a.track_ids
        for a in west.store.advisories_in(AREA)
        if a.type is AdvisoryType.FORWARD_COLLISION and set(a.track_ids) & west_ids and set(a.track_ids) & east_ids
    ]

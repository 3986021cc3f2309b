"""The cloud node in fused mode: overlapping RSUs and a connected vehicle become one track."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.classes import ObjectClass
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.situation import AdvisoryType, SituationUpdate
from roadlink.domain.spatial import Circle, Covariance2D, Dimensions, Position
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk.client import VehicleClient
from roadlink.wire.convert import frame_to_proto
from roadlink.wire.uplink import BatchUplink

pytestmark = pytest.mark.integration

ORIGIN_POSITION = Position(39.0742, 115.9325)
ORIGIN = LocalOrigin(ORIGIN_POSITION.latitude_deg, ORIGIN_POSITION.longitude_deg)
CAR_ID = bytes.fromhex("0badcafe")
SPEED_MPS = 10.0


def _position(east_m: float, north_m: float) -> Position:
    lat, lon, _ = ORIGIN.to_geodetic(east_m, north_m, 0.0)
    return Position(float(lat), float(lon))


def _frame(source: str, time_ms: int, east_m: float, rng: random.Random, object_id: int) -> PerceptionFrame:
    obj = DetectedObject(
        object_id=object_id,
        object_class=ObjectClass.PASSENGER_CAR,
        position=_position(east_m + rng.gauss(0, 0.3), rng.gauss(0, 0.3)),
        speed_mps=SPEED_MPS,
        heading_deg=90.0,
        size=Dimensions(4.5, 1.8),
        position_covariance=Covariance2D.isotropic(0.5),
    )
    return PerceptionFrame(source, 0, time_ms, (obj,), Provenance(source, time_ms, sensor_ids=("lidar",)))


async def _drive(uplink: BatchUplink, client: VehicleClient, seconds: float) -> None:
    """The car drives east at 10 m/s; RSU A and RSU B both see it; it reports itself at 10 Hz."""
    rng = random.Random(7)
    publisher = client.publisher()
    start = now_unix_ms()
    for _ in range(int(seconds * 10)):
        now = now_unix_ms()
        east_m = SPEED_MPS * (now - start) / 1000
        for source, object_id in (("rsu-a", 17), ("rsu-b", 4242)):
            await uplink.send("frames", frame_to_proto(_frame(source, now, east_m, rng, object_id)))
        state = VehicleState(
            temporary_id=CAR_ID,
            time_unix_ms=now,
            position=_position(east_m, 0.0),
            speed_mps=SPEED_MPS,
            heading_deg=90.0,
            vehicle_class=ObjectClass.PASSENGER_CAR,
        )
        await publisher.publish(state)
        await asyncio.sleep(0.1)
    await publisher.close()


async def test_two_rsus_and_the_car_itself_make_one_track() -> None:
    settings = CloudSettings.load(listen="127.0.0.1:0", picture="fused")
    async with CloudNode(settings) as cloud, VehicleClient(f"127.0.0.1:{cloud.port}") as client:
        uplink = BatchUplink(f"127.0.0.1:{cloud.port}", "gateway-fused")
        running = asyncio.create_task(uplink.run())
        subscription = await client.situation(Circle(ORIGIN_POSITION, 500.0), rate_hz=20.0)
        driving = asyncio.create_task(_drive(uplink, client, seconds=3.0))
        last: SituationUpdate | None = None
        try:
            async with asyncio.timeout(30):
                async for update in subscription:
                    last = update
                    if driving.done():
                        break
            await driving
        finally:
            subscription.cancel()
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        stats = cloud.fused.tracker.stats if cloud.fused else None
    assert last is not None
    assert len(last.tracks) == 1, last.tracks
    track = last.tracks[0]
    assert track.vehicle_temporary_id == CAR_ID
    assert {"rsu-a", "rsu-b"} <= set(track.source_ids)
    assert stats is not None
    assert stats.detections_fused > 0


async def test_a_closing_car_gets_a_forward_collision_advisory() -> None:
    follower_id, lead_id = bytes.fromhex("0000f011"), bytes.fromhex("00001ead")
    settings = CloudSettings.load(listen="127.0.0.1:0", picture="fused")
    async with CloudNode(settings) as cloud, VehicleClient(f"127.0.0.1:{cloud.port}") as client:
        subscription = await client.situation(Circle(ORIGIN_POSITION, 500.0), rate_hz=20.0)
        publisher = client.publisher()

        async def drive() -> None:
            start = now_unix_ms()
            while True:
                now = now_unix_ms()
                elapsed_s = (now - start) / 1000
                for vehicle_id, east_m, speed_mps in (
                    (follower_id, 20.0 * elapsed_s, 20.0),
                    (lead_id, 40.0 + 5.0 * elapsed_s, 5.0),
                ):
                    await publisher.publish(
                        VehicleState(
                            temporary_id=vehicle_id,
                            time_unix_ms=now,
                            position=_position(east_m, 0.0),
                            speed_mps=speed_mps,
                            heading_deg=90.0,
                            vehicle_class=ObjectClass.PASSENGER_CAR,
                        )
                    )
                await asyncio.sleep(0.1)

        driving = asyncio.create_task(drive())
        try:
            async with asyncio.timeout(20):
                async for update in subscription:
                    warnings = [a for a in update.advisories if a.type is AdvisoryType.FORWARD_COLLISION]
                    if warnings:
                        break
        finally:
            driving.cancel()
            subscription.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driving
    by_vehicle = {t.vehicle_temporary_id: t.track_id for t in update.tracks}
    assert warnings[0].track_ids == (by_vehicle[follower_id], by_vehicle[lead_id])
    assert warnings[0].time_to_event_s is not None
    assert 0 < warnings[0].time_to_event_s < 4

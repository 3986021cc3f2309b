"""Signal states (SPaT) reach an SDK client's situation feed from a real fused cloud node.

An RSU publishes its heartbeat (which locates it) and a red SPaT of intersection 7 in one edge batch over
`RoadsideService.Publish`, either to the fused `CloudNode` itself or to a `RoadsideNode` that forwards it
upstream (the node runs at the RSU: its own registered position locates the SPaT). A vehicle near the RSU
follows its situation with the async or the sync SDK client and receives the signal state as a domain
`SignalPhaseAndTiming` inside `Situation.signal_timings`.
"""

from __future__ import annotations

import asyncio

import pytest
from grpc import aio
from v2x.roadside.v1 import info_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.sdk import (
    MovementEvent,
    MovementPhase,
    MovementState,
    Position,
    SignalPhaseAndTiming,
    Situation,
    SyncVehicleClient,
    VehicleClient,
)
from roadlink.wire.convert import position_to_proto, signal_to_proto
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.sdk.conftest import WAIT_S, first_matching, target_of
from tests.sdk.servers import BackgroundServer

pytestmark = pytest.mark.integration

RSU_POSITION = Position(39.0742, 115.9325)
NEAR_RSU = Position(39.0733, 115.9325)
"""About 100 m south of the RSU."""
RADIUS_M = 300.0
INTERSECTION_ID = 7
SIGNAL_GROUP = 2
MAX_UPDATES = 200
"""Sync updates read before a wait gives up (the node sends about 10 per second)."""


def red_spat() -> SignalPhaseAndTiming:
    """Signal group 2 of intersection 7 red for another minute, stamped now."""
    now = now_unix_ms()
    red = MovementEvent(
        MovementPhase.STOP_AND_REMAIN, start_time_unix_ms=now - 5_000, min_end_time_unix_ms=now + 60_000
    )
    return SignalPhaseAndTiming(
        intersection_id=INTERSECTION_ID, time_unix_ms=now, movements=(MovementState(SIGNAL_GROUP, (red,)),), revision=1
    )


async def publish_from_rsu(target: str, spat: SignalPhaseAndTiming) -> None:
    """What RSU firmware sends: its heartbeat and the SPaT in one batch; returns once it is acknowledged."""
    status = info_pb2.RsuStatus(rsu_id="rsu-spat", position=position_to_proto(RSU_POSITION), heartbeat_interval_s=1.0)
    batch = rs_pb2.PublishRequest(
        sender_id="rsu-spat",
        sender_epoch=1,
        sequence=1,
        sent_time_unix_ms=now_unix_ms(),
        statuses=[status],
        signal_timings=[signal_to_proto(spat)],
    )
    async with aio.insecure_channel(target) as channel:
        call = rs_grpc.RoadsideServiceStub(channel).Publish()
        await call.write(batch)
        async with asyncio.timeout(WAIT_S):
            response = await call.read()
        await call.done_writing()
    assert isinstance(response, rs_pb2.PublishResponse)
    assert (response.acknowledged_sequence, list(response.rejections)) == (1, [])


def has_signal(situation: Situation) -> bool:
    return situation.signal_of(INTERSECTION_ID) is not None


def assert_red(situation: Situation, sent: SignalPhaseAndTiming) -> None:
    (spat,) = situation.signal_timings
    assert isinstance(spat, SignalPhaseAndTiming)
    assert (spat.intersection_id, spat.time_unix_ms, spat.revision) == (INTERSECTION_ID, sent.time_unix_ms, 1)
    assert spat.movements == sent.movements


def fused_cloud() -> CloudNode:
    return CloudNode(CloudSettings.load(listen="127.0.0.1:0", picture="fused"))


async def test_the_async_client_receives_the_signal_state_an_rsu_published() -> None:
    spat = red_spat()
    async with fused_cloud() as cloud:
        await publish_from_rsu(target_of(cloud), spat)
        async with (
            VehicleClient(target_of(cloud)) as client,
            client.follow_situation(RADIUS_M, center=NEAR_RSU) as feed,
        ):
            situation = await first_matching(feed, has_signal)
    assert_red(situation, spat)


async def test_the_signal_state_arrives_through_a_roadside_node() -> None:
    spat = red_spat()
    async with fused_cloud() as cloud:
        settings = RoadsideSettings.load(
            listen="127.0.0.1:0",
            cloud_target=target_of(cloud),
            latitude_deg=RSU_POSITION.latitude_deg,
            longitude_deg=RSU_POSITION.longitude_deg,
        )
        async with RoadsideNode(settings) as roadside:
            await publish_from_rsu(f"127.0.0.1:{roadside.port}", spat)
            async with (
                VehicleClient(target_of(cloud)) as client,
                client.follow_situation(RADIUS_M, center=NEAR_RSU) as feed,
            ):
                situation = await first_matching(feed, has_signal, timeout_s=2 * WAIT_S)
    assert_red(situation, spat)


def test_the_sync_client_receives_the_signal_state_an_rsu_published() -> None:
    spat = red_spat()
    with BackgroundServer(fused_cloud()) as cloud:
        cloud.run(publish_from_rsu(cloud.target, spat))
        with (
            SyncVehicleClient(cloud.target) as client,
            client.follow_situation(RADIUS_M, center=NEAR_RSU, timeout_s=WAIT_S) as feed,
        ):
            situation = next((s for _, s in zip(range(MAX_UPDATES), feed, strict=False) if has_signal(s)), None)
    assert situation is not None, f"no signal state in {MAX_UPDATES} updates"
    assert_red(situation, spat)

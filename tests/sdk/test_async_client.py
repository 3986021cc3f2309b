"""The async client against real servers on 127.0.0.1 port 0: a CloudNode, or a test-only VehicleService
(token checks, TLS, scripted advisories and signal states). Every wait is bounded; nothing is timed."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.sdk import (
    Advisory,
    AdvisoryType,
    Circle,
    MovementEvent,
    MovementPhase,
    MovementState,
    ObjectClass,
    Position,
    ReconnectPolicy,
    ServiceError,
    Severity,
    SignalPhaseAndTiming,
    Situation,
    SituationUpdate,
    StatusCode,
    TlsCredentials,
    Track,
    VehicleClient,
    distance_m,
)
from tests.sdk.conftest import MAX_AGE_MS, WAIT_S, eventually, first_matching, sdk_tasks, state, target_of
from tests.sdk.servers import BearerAuth, ScriptedServicer, TestServer, make_cert

pytestmark = pytest.mark.integration

HOME = Position(39.0742, 115.9325)
AWAY = Position(39.1192, 115.9325)  # 5 km north
RADIUS_M = 1_000.0
OWN = bytes.fromhex("0a000001")
NEAR_HOME = bytes.fromhex("0b000001")
NEAR_AWAY = bytes.fromhex("0c000001")


def north_of(position: Position, metres: float) -> Position:
    return Position(position.latitude_deg + metres / 111_195.0, position.longitude_deg)


def has(*vehicle_ids: bytes) -> Callable[[Situation], bool]:
    return lambda s: all(s.track_of(v) is not None for v in vehicle_ids)


def dead_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def eventually_raises(call: Callable[[], Awaitable[None]], timeout_s: float = WAIT_S) -> None:
    """Repeat `call` until it raises (the exception propagates), within `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while True:
            await call()
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def driving(client: VehicleClient, vehicle_id: bytes, position: Position) -> AsyncIterator[None]:
    """Publish `vehicle_id` at `position` at 10 Hz while the block runs."""

    async def drive() -> None:
        while True:
            await client.publish_state(state(vehicle_id, position))
            await asyncio.sleep(0.1)

    task = asyncio.create_task(drive())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_published_state_appears_as_own_track(node: CloudNode) -> None:
    async with VehicleClient(target_of(node)) as client:
        await client.publish_state(state(OWN, HOME, speed_mps=8.5))
        async with client.follow_situation(RADIUS_M) as feed:
            situation = await first_matching(feed, lambda s: s.track_of(OWN) is not None)
    track = situation.track_of(OWN)
    assert isinstance(situation, Situation)
    assert isinstance(situation, SituationUpdate)
    assert isinstance(track, Track)
    assert (track.position, track.speed_mps, track.vehicle_temporary_id) == (HOME, 8.5, OWN)
    assert situation.area == Circle(HOME, RADIUS_M)
    assert client.publish_stats.states_sent >= 1
    assert sdk_tasks() == []  # closing the client ended its sender and pump


async def test_publishing_faster_than_the_cap_sends_the_newest_state(node: CloudNode) -> None:
    states = [state(OWN, north_of(HOME, float(i))) for i in range(50)]
    async with VehicleClient(target_of(node)) as client:
        for s in states:  # publish_state never suspends: all 50 arrive before the sender runs once
            await client.publish_state(s)
        replaced = client.publish_stats.states_replaced
        async with client.follow_situation(RADIUS_M) as feed:
            situation = await first_matching(feed, lambda s: s.track_of(OWN) is not None)
        sent = client.publish_stats.states_sent
    assert replaced == 49
    assert sent == 1
    own = situation.track_of(OWN)
    assert own is not None
    assert own.position == states[-1].position


async def test_area_follows_the_published_position(node: CloudNode) -> None:
    async with VehicleClient(target_of(node)) as others, VehicleClient(target_of(node)) as client:
        await others.publish_state(state(NEAR_HOME, north_of(HOME, 200.0)))
        await others.publish_state(state(NEAR_AWAY, north_of(AWAY, 200.0)))
        await client.publish_state(state(OWN, HOME))
        async with client.follow_situation(RADIUS_M, vehicle_id=OWN) as feed:
            before = await first_matching(feed, has(OWN, NEAR_HOME))
            await client.publish_state(state(OWN, north_of(HOME, RADIUS_M / 8)))  # within the threshold
            assert feed.moves == 0
            await client.publish_state(state(OWN, AWAY))
            assert feed.area == Circle(AWAY, RADIUS_M)
            after = await first_matching(feed, lambda s: s.area == Circle(AWAY, RADIUS_M) and has(OWN)(s))
    assert before.track_of(NEAR_AWAY) is None
    assert after.track_of(NEAR_AWAY) is not None
    assert after.track_of(NEAR_HOME) is None
    assert feed.moves == 1
    assert distance_m(AWAY, HOME) > RADIUS_M * 4


async def test_subscription_resumes_after_a_node_restart_on_the_same_port() -> None:
    first = CloudNode(CloudSettings.load(listen="127.0.0.1:0", max_age_ms=MAX_AGE_MS))
    await first.__aenter__()
    port = first.port
    second = CloudNode(CloudSettings.load(listen=f"127.0.0.1:{port}", max_age_ms=MAX_AGE_MS))
    try:
        async with VehicleClient(f"127.0.0.1:{port}") as client, driving(client, OWN, HOME):
            async with client.follow_situation(RADIUS_M, center=HOME) as feed:
                await first_matching(feed, has(OWN))
                await first.__aexit__(None, None, None)
                await second.__aenter__()
                async with VehicleClient(f"127.0.0.1:{port}") as other:
                    await other.publish_state(state(NEAR_HOME, north_of(HOME, 100.0)))
                resumed = await first_matching(feed, has(OWN, NEAR_HOME))
                reconnects = feed.reconnects
            publisher_reconnects = client.publish_stats.reconnects
    finally:
        await first.__aexit__(None, None, None)
        await second.__aexit__(None, None, None)
    assert resumed.track_of(NEAR_HOME) is not None  # only the new node has ever seen this vehicle
    assert reconnects == 1
    assert publisher_reconnects >= 1  # OWN is in the new node's picture: the publisher reconnected too
    assert sdk_tasks() == []


async def test_feed_gives_up_after_max_attempts_with_service_error() -> None:
    policy = ReconnectPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.02)
    async with (
        CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as doomed,
        VehicleClient(target_of(doomed), reconnect=policy) as client,
    ):
        feed = client.follow_situation(RADIUS_M, center=HOME)
        await first_matching(feed, lambda s: True)
        await doomed.__aexit__(None, None, None)
        with pytest.raises(ServiceError) as raised:
            await first_matching(feed, lambda s: False)
        await feed.close()
    assert raised.value.code is StatusCode.UNAVAILABLE
    assert "gave up after 2" in raised.value.message
    assert not isinstance(raised.value, grpc.RpcError)


async def test_token_is_sent_with_every_call() -> None:
    async with (
        TestServer(auth=BearerAuth("s3cret")) as server,
        VehicleClient(server.target, access_token=lambda: "s3cret") as client,
    ):
        await client.publish_state(state(OWN, HOME))
        async with client.follow_situation(RADIUS_M) as feed:
            await first_matching(feed, has(OWN))
    calls = [(method.rsplit("/", 1)[-1], md.get("authorization")) for method, md in server.auth.calls]
    assert {method for method, _ in calls} == {"PublishState", "WatchSituation"}
    assert {token for _, token in calls} == {"Bearer s3cret"}


async def test_wrong_token_is_unauthenticated_at_once_for_both_streams() -> None:
    policy = ReconnectPolicy(max_attempts=5)
    async with (
        TestServer(auth=BearerAuth("s3cret")) as server,
        VehicleClient(server.target, access_token="wrong", reconnect=policy) as client,
    ):
        feed = client.follow_situation(RADIUS_M, center=HOME)
        with pytest.raises(ServiceError) as watched:
            await first_matching(feed, lambda s: True)

        with pytest.raises(ServiceError) as published:
            await eventually_raises(lambda: client.publish_state(state(OWN, HOME)))
    assert watched.value.code is published.value.code is StatusCode.UNAUTHENTICATED
    watch_calls = [m for m, _ in server.auth.calls if m.endswith("/WatchSituation")]
    assert len(watch_calls) == 1  # a permanent code is not retried


async def test_a_failing_token_function_is_unauthenticated() -> None:
    def expired() -> str:
        raise LookupError("token cache empty")

    async with TestServer() as server, VehicleClient(server.target, access_token=expired) as client:
        feed = client.follow_situation(RADIUS_M, center=HOME)
        with pytest.raises(ServiceError) as raised:
            await first_matching(feed, lambda s: True)
        await client.publish_state(state(OWN, HOME))
        with pytest.raises(ServiceError) as refused:
            await eventually_raises(lambda: client.publish_state(state(OWN, HOME)))
    assert raised.value.code is refused.value.code is StatusCode.UNAUTHENTICATED
    assert "token cache empty" in raised.value.message
    assert server.auth.calls == []


async def test_advisories_and_signal_states_arrive_as_domain_objects() -> None:
    now = now_unix_ms()
    own_track = Track(7, ObjectClass.PASSENGER_CAR, HOME, now, now, vehicle_temporary_id=OWN)
    advisory = Advisory(
        advisory_id="fcw-1",
        type=AdvisoryType.FORWARD_COLLISION,
        severity=Severity.WARNING,
        time_unix_ms=now,
        track_ids=(7, 9),
        zone=Circle(HOME, 50.0),
        time_to_event_s=2.5,
        valid_until_unix_ms=now + 5_000,
        description="braking vehicle ahead",
    )
    spat = SignalPhaseAndTiming(
        intersection_id=4711,
        time_unix_ms=now,
        movements=(
            MovementState(
                2, (MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, likely_end_time_unix_ms=now + 9_000),)
            ),
        ),
        revision=3,
    )
    update = SituationUpdate(now, Circle(HOME, RADIUS_M), (own_track,), (advisory,), sequence=1)
    async with (
        TestServer(ScriptedServicer([update], (spat,))) as server,
        VehicleClient(server.target) as client,
        client.follow_situation(RADIUS_M, center=HOME) as feed,
    ):
        situation = await first_matching(feed, lambda s: True)
    assert situation.advisories == (advisory,)
    assert situation.signal_timings == (spat,)
    assert situation.advisories_about(7) == (advisory,)
    assert situation.signal_of(4711) == spat
    assert situation.track_of(OWN) == own_track


async def test_tls_with_token(tmp_path: Path) -> None:
    cert = make_cert(tmp_path)
    tls = TlsCredentials(root_certificates=cert.certificate)
    async with (
        TestServer(auth=BearerAuth("t0ken"), cert=cert) as server,
        VehicleClient(server.target, tls=tls, access_token="t0ken") as client,
        client.follow_situation(RADIUS_M, center=HOME) as feed,
    ):
        situation = await first_matching(feed, lambda s: True)
        with pytest.raises(ServiceError) as plaintext:
            async with VehicleClient(server.target, connect_timeout_s=0.5):
                pass
    assert situation.area == Circle(HOME, RADIUS_M)
    assert plaintext.value.code is StatusCode.UNAVAILABLE


async def test_connecting_to_a_dead_port_is_service_error_unavailable() -> None:
    with pytest.raises(ServiceError) as raised:
        async with VehicleClient(f"127.0.0.1:{dead_port()}", connect_timeout_s=0.3):
            pass
    assert raised.value.code is StatusCode.UNAVAILABLE
    assert not isinstance(raised.value, grpc.RpcError)


async def test_misuse_is_reported_before_any_call(node: CloudNode) -> None:
    client = VehicleClient(target_of(node))
    with pytest.raises(RuntimeError, match="not connected"):
        client.follow_situation(RADIUS_M, center=HOME)
    async with client:
        with pytest.raises(ValueError, match="no position yet"):
            client.follow_situation(RADIUS_M)
        with pytest.raises(RuntimeError, match="already connected"):
            await client.connect()
    async with client:  # reusable after close
        await client.publish_state(state(OWN, HOME))
        feed = client.follow_situation(RADIUS_M)
    assert feed.closed  # closing the client closed its feed


async def test_plain_streams_of_the_first_sdk_still_work_with_a_token() -> None:
    async with (
        TestServer(auth=BearerAuth("s3cret")) as server,
        VehicleClient(server.target, access_token="s3cret") as client,
    ):
        subscription = await client.situation(Circle(HOME, RADIUS_M), rate_hz=20.0)
        publisher = client.publisher()
        await publisher.publish(state(OWN, HOME))
        async with asyncio.timeout(WAIT_S):
            async for update in subscription:
                if any(t.vehicle_temporary_id == OWN for t in update.tracks):
                    break
        result = await publisher.close()
        subscription.cancel()
    assert result.accepted == 1
    assert await eventually(lambda: len(server.auth.calls) or None) == 2

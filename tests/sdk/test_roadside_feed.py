"""`follow_roadside` against a real RoadsideNode (and a real CloudNode behind it) on 127.0.0.1 port 0.

The roadside node runs local fusion over two simulated sensors, serves a map file and the signal timing a
gateway sends it, and fans advisories and road-side information out to the vehicles in their zone. Those
are handed to the node's hub (`VehicleHub.publish_item`, where its cloud downlink hands them) rather than
issued on a CloudNode: stopping a RoadsideNode with `cloud_downlink=True` can hang on Python 3.11
(`roadside.downlink.CloudDownlink` reads with `asyncio.wait_for`, which may swallow the cancellation when a
keepalive arrives at the same moment), and the restart test stops one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from v2x.roadside.v1 import info_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.sdk import (
    Advisory,
    AdvisoryType,
    Circle,
    ConnectionOptions,
    LaneDirection,
    MovementEvent,
    MovementPhase,
    MovementState,
    PerceptionFrame,
    Position,
    ReconnectPolicy,
    RoadsideFeed,
    RoadSideInfo,
    RoadsideMap,
    RoadsideUpdate,
    ServiceError,
    Severity,
    SignalPhaseAndTiming,
    SpeedLimitType,
    StatusCode,
    SyncVehicleClient,
    TlsCredentials,
    VehicleClient,
)
from roadlink.wire.backoff import Backoff
from roadlink.wire.convert import advisory_to_proto, frame_to_proto, position_to_proto, signal_to_proto
from roadlink.wire.uplink import BatchUplink
from roadside.downlink import advisory_item, road_side_info_item
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.roadside.test_local_fusion import ORIGIN, SENSORS, sensor_frame
from tests.sdk.conftest import WAIT_S, eventually, sdk_tasks, state
from tests.sdk.servers import BackgroundServer, SilentRoadside, TestServer, make_cert

pytestmark = pytest.mark.integration

MAP_FILE = Path(__file__).resolve().parents[1] / "data" / "maps" / "intersection_1201.json"
FAR = Position(ORIGIN.latitude_deg + 0.01, ORIGIN.longitude_deg)  # about 1.1 km north: out of range
OWN = bytes.fromhex("0c000001")
FAST = ReconnectPolicy(max_attempts=20, initial_backoff_s=0.01, max_backoff_s=0.2)


def roadside_settings(cloud_port: int, *, listen: str = "127.0.0.1:0", **overrides: Any) -> RoadsideSettings:
    fields: dict[str, Any] = {
        "node_id": "rsu-sdk",
        "listen": listen,
        "cloud_target": f"127.0.0.1:{cloud_port}",
        "latitude_deg": ORIGIN.latitude_deg,
        "longitude_deg": ORIGIN.longitude_deg,
        "heartbeat_s": 60.0,
        "uplink_linger_ms": 1.0,
        "map_files": [MAP_FILE],
        "service_range_m": 300.0,
    }
    return RoadsideSettings.load(**(fields | overrides))


@pytest.fixture
async def cloud() -> AsyncIterator[CloudNode]:
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as node:
        yield node


def advisory(advisory_id: str, *, radius_m: float = 200.0, valid_for_ms: int = 60_000) -> Advisory:
    now = now_unix_ms()
    return Advisory(
        advisory_id=advisory_id,
        type=AdvisoryType.ROAD_EVENT,
        severity=Severity.WARNING,
        time_unix_ms=now,
        zone=Circle(ORIGIN, radius_m),
        valid_until_unix_ms=now + valid_for_ms,
        description=advisory_id,
    )


def road_works() -> info_pb2.RoadSideInfo:
    rsi = info_pb2.RoadSideInfo(source_id="cloud-1", message_count=5, time_unix_ms=now_unix_ms())
    event = rsi.events.add(event_id=1, event_type=401, description="road works", radius_m=80.0, priority=3)
    event.position.CopyFrom(position_to_proto(ORIGIN))
    event.validity.end_time_unix_ms = now_unix_ms() + 60_000
    return rsi


def spat(revision: int) -> SignalPhaseAndTiming:
    now = now_unix_ms()
    green = MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, min_end_time_unix_ms=now + 7_000)
    return SignalPhaseAndTiming(1201, now, (MovementState(2, (green,)),), region=7, revision=revision)


def offer(rsu: RoadsideNode, item: Advisory | info_pb2.RoadSideInfo) -> None:
    """Hand an advisory or road-side information to the node's hub, as its cloud downlink does."""
    now = now_unix_ms()
    if isinstance(item, Advisory):
        rsu.hub.publish_item(advisory_item(advisory_to_proto(item), received_unix_ms=now, default_validity_s=60.0))
    else:
        rsu.hub.publish_item(road_side_info_item(item, received_unix_ms=now, default_validity_s=60.0))


async def offer_soon(rsu: RoadsideNode, item: Advisory) -> None:
    """`offer` on the node's own event loop (the hub is event-loop only)."""
    offer(rsu, item)


@contextlib.asynccontextmanager
async def gateway(port: int) -> AsyncIterator[BatchUplink]:
    """A gateway's uplink into the roadside node."""
    uplink = BatchUplink(f"127.0.0.1:{port}", "gw-sdk", linger_s=0.001, backoff=Backoff(0.01, 0.2))
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def sensors_running(uplink: BatchUplink) -> AsyncIterator[None]:
    """Both simulated sensors report the two cars every 50 ms while the block runs."""

    async def report() -> None:
        t0, sequence = now_unix_ms(), 0
        while True:
            sequence += 1
            for sensor_id in SENSORS:
                await uplink.send("frames", frame_to_proto(sensor_frame(sensor_id, t0, now_unix_ms(), sequence)))
            await asyncio.sleep(0.05)

    task = asyncio.create_task(report())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def collect(
    feed: RoadsideFeed, done: Callable[[list[RoadsideUpdate]], bool], timeout_s: float = WAIT_S
) -> list[RoadsideUpdate]:
    """Updates of `feed` until `done(updates)` holds, within `timeout_s`."""
    got: list[RoadsideUpdate] = []
    async with asyncio.timeout(timeout_s):
        async for update in feed:
            got.append(update)
            if done(got):
                return got
    raise AssertionError("the feed ended")


def has_all_kinds(got: list[RoadsideUpdate]) -> bool:
    fused = [u.frame for u in got if u.frame is not None and len(u.frame.objects) == 2]
    kinds = {type(u.content) for u in got}
    return bool(fused) and kinds >= {PerceptionFrame, SignalPhaseAndTiming, RoadsideMap, Advisory, RoadSideInfo}


def advisory_ids(got: list[RoadsideUpdate]) -> list[str]:
    return [u.advisory.advisory_id for u in got if u.advisory is not None]


async def test_everything_the_rsu_broadcasts_arrives_as_domain_objects(cloud: CloudNode) -> None:
    settings = roadside_settings(cloud.port, local_fusion=True, local_fusion_period_ms=50)
    async with (
        RoadsideNode(settings) as rsu,
        gateway(rsu.port) as uplink,
        sensors_running(uplink),
        VehicleClient(f"127.0.0.1:{cloud.port}") as client,
    ):
        offer(rsu, advisory("ice"))
        offer(rsu, road_works())
        await client.publish_state(state(OWN, ORIGIN))
        async with client.follow_roadside(f"127.0.0.1:{rsu.port}") as feed:
            await uplink.send("signal_timings", signal_to_proto(spat(revision=4)))
            got = await collect(feed, has_all_kinds)
            picture = (feed.map, feed.signal_of(1201), feed.latest_frame, feed.advisories, feed.road_side_infos)
    assert not any(isinstance(u.content, grpc.RpcError | bytes) for u in got)
    first = got[0].map  # entering range: the map comes first
    assert first is not None
    intersection = first.intersection(1201)
    assert intersection is not None
    assert intersection.reference_position == ORIGIN
    assert intersection.speed_limits[0].type is SpeedLimitType.VEHICLE_MAX_SPEED
    ingress = intersection.lane(1)
    assert ingress is not None
    assert ingress.direction is LaneDirection.INGRESS
    stop_line = intersection.node_position(ingress.nodes[0])
    assert stop_line.latitude_deg == pytest.approx(ORIGIN.latitude_deg - 12.0 / 111_195.0, abs=1e-6)
    timing = next(u.signal_timing for u in got if u.signal_timing is not None)
    assert (timing.intersection_id, timing.revision) == (1201, 4)
    assert timing.movements[0].events[0].phase is MovementPhase.PROTECTED_MOVEMENT_ALLOWED
    fused = [u.frame for u in got if u.frame is not None and len(u.frame.objects) == 2]
    assert fused[-1].source_id == "rsu-sdk"
    assert advisory_ids(got) == ["ice"]
    info = next(u.road_side_info for u in got if u.road_side_info is not None)
    assert (info.events[0].description, info.events[0].radius_m) == ("road works", 80.0)
    assert info.valid_at(now_unix_ms())
    map_now, timing_now, frame_now, advisories_now, infos_now = picture
    assert map_now == first
    assert timing_now == timing
    assert frame_now is not None
    assert frame_now.source_id == "rsu-sdk"
    assert [a.advisory_id for a in advisories_now] == ["ice"]
    assert infos_now == (info,)
    assert sdk_tasks() == []


async def test_the_rsu_is_told_where_the_vehicle_goes(cloud: CloudNode) -> None:
    async with RoadsideNode(roadside_settings(cloud.port)) as rsu, VehicleClient(f"127.0.0.1:{cloud.port}") as client:
        await client.publish_state(state(OWN, FAR))
        async with client.follow_roadside(f"127.0.0.1:{rsu.port}", vehicle_id=OWN) as feed:
            await eventually(lambda: rsu.hub.watchers == 1 or None)
            await client.publish_state(state(bytes.fromhex("0d000001"), ORIGIN))  # another vehicle: ignored
            assert feed.position == FAR
            await client.publish_state(state(OWN, ORIGIN))  # into the node's range: it sends the map
            got = await collect(feed, lambda got: True)
            moves = feed.moves
    assert got[0].map is not None
    assert moves == 1


async def test_feed_resumes_after_an_rsu_restart_without_repeating_an_advisory(cloud: CloudNode) -> None:
    async with contextlib.AsyncExitStack() as nodes:
        first = await nodes.enter_async_context(RoadsideNode(roadside_settings(cloud.port)))
        offer(first, advisory("first"))
        port = first.port
        async with (
            VehicleClient(f"127.0.0.1:{cloud.port}", reconnect=FAST) as client,
            client.follow_roadside(f"127.0.0.1:{port}", position=ORIGIN) as feed,
        ):
            before = await collect(feed, lambda got: "first" in advisory_ids(got))
            await nodes.aclose()  # the first node stops
            second = RoadsideNode(roadside_settings(cloud.port, listen=f"127.0.0.1:{port}"))
            await nodes.enter_async_context(second)
            offer(second, advisory("first"))  # as the cloud resends every valid item to a reconnecting RSU
            await eventually(lambda: feed.repeats_suppressed or None)  # the new node sent "first" again
            offer(second, advisory("second"))
            after = await collect(feed, lambda got: "second" in advisory_ids(got))
            reconnects = feed.reconnects
    assert advisory_ids(before + after) == ["first", "second"]  # each advisory once
    assert after[0].map is not None  # the new stream starts with the map again
    assert reconnects == 1


async def test_an_advisory_leaves_the_picture_when_its_validity_ends(cloud: CloudNode) -> None:
    async with (
        RoadsideNode(roadside_settings(cloud.port)) as rsu,
        VehicleClient(f"127.0.0.1:{cloud.port}") as client,
        client.follow_roadside(f"127.0.0.1:{rsu.port}", position=ORIGIN) as feed,
    ):
        offer(rsu, advisory("lasting"))
        offer(rsu, advisory("brief", valid_for_ms=500))
        await collect(feed, lambda got: len(advisory_ids(got)) == 2)
        both = [a.advisory_id for a in feed.advisories]
        brief = next(a for a in feed.advisories if a.advisory_id == "brief")
        await eventually(lambda: now_unix_ms() >= (brief.valid_until_unix_ms or 0) or None)
        after = [a.advisory_id for a in feed.advisories]
    assert sorted(both) == ["brief", "lasting"]
    assert after == ["lasting"]


async def test_a_silent_rsu_is_left_after_idle_timeout_s() -> None:
    policy = ReconnectPolicy(max_attempts=1, initial_backoff_s=0.01, max_backoff_s=0.02)
    async with (
        SilentRoadside() as rsu,
        TestServer() as cloud,
        VehicleClient(cloud.target, reconnect=policy) as client,
        client.follow_roadside(rsu.target, position=ORIGIN, idle_timeout_s=0.2) as feed,
    ):
        with pytest.raises(ServiceError) as raised:
            await collect(feed, lambda got: True)
    assert raised.value.code is StatusCode.UNAVAILABLE
    assert "no update from the node for 0.2 s" in raised.value.message
    assert rsu.streams == 2  # the first stream and one reconnect, both silent


async def test_an_rsu_with_its_own_tls_and_token_is_reached_with_its_own_options(
    cloud: CloudNode, tmp_path: Path
) -> None:
    cert = make_cert(tmp_path)
    (tmp_path / "rsu.pem").write_bytes(cert.certificate)
    (tmp_path / "rsu.key").write_bytes(cert.private_key)
    settings = roadside_settings(
        cloud.port,
        tls_cert_file=tmp_path / "rsu.pem",
        tls_key_file=tmp_path / "rsu.key",
        access_tokens=["rsu-secret"],
    )
    async with RoadsideNode(settings) as rsu, VehicleClient(f"127.0.0.1:{cloud.port}") as client:  # cloud: plaintext
        rsu_options = ConnectionOptions(
            f"127.0.0.1:{rsu.port}",
            tls=TlsCredentials(root_certificates=cert.certificate),
            access_token="rsu-secret",
            reconnect=FAST,
        )
        async with client.follow_roadside(rsu_options, position=ORIGIN) as feed:
            got = await collect(feed, lambda got: True)
    assert got[0].map is not None


async def test_wrong_token_is_unauthenticated_at_once(cloud: CloudNode) -> None:
    settings = roadside_settings(cloud.port, access_tokens=["rsu-secret"])
    async with (
        RoadsideNode(settings) as rsu,
        VehicleClient(f"127.0.0.1:{cloud.port}", access_token="wrong") as client,
        client.follow_roadside(f"127.0.0.1:{rsu.port}", position=ORIGIN) as feed,
    ):
        with pytest.raises(ServiceError) as raised:
            await collect(feed, lambda got: True)
    assert raised.value.code is StatusCode.UNAUTHENTICATED
    assert not isinstance(raised.value, grpc.RpcError)


async def test_an_unreachable_rsu_gives_up_after_max_attempts(cloud: CloudNode) -> None:
    policy = ReconnectPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.02)
    async with VehicleClient(f"127.0.0.1:{cloud.port}", reconnect=policy) as client:
        probe = RoadsideNode(roadside_settings(cloud.port))
        async with probe:
            dead = f"127.0.0.1:{probe.port}"
        with pytest.raises(ServiceError) as raised:
            await collect(client.follow_roadside(dead, position=ORIGIN), lambda got: True)
    assert raised.value.code is StatusCode.UNAVAILABLE
    assert "gave up after 2" in raised.value.message
    assert sdk_tasks() == []


def test_sync_client_follows_the_rsu() -> None:
    with BackgroundServer(CloudNode(CloudSettings.load(listen="127.0.0.1:0"))) as cloud:
        assert isinstance(cloud.server, CloudNode)
        with (
            BackgroundServer(RoadsideNode(roadside_settings(cloud.server.port))) as rsu,
            SyncVehicleClient(cloud.target) as client,
        ):
            assert isinstance(rsu.server, RoadsideNode)
            rsu.run(offer_soon(rsu.server, advisory("sync")))
            client.publish_state(state(OWN, ORIGIN))
            with client.follow_roadside(rsu.target, timeout_s=WAIT_S) as feed:
                got = [feed.next()]
                while not feed.advisories:
                    got.append(feed.next())
                advisories = feed.advisories
    assert got[0].map is not None
    assert [a.advisory_id for a in advisories] == ["sync"]

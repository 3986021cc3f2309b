"""The roadside node's own features over real gRPC: local fusion, signal timing and map, cloud downlink."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from grpc import aio
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.cloud.v1 import situation_pb2
from v2x.roadside.v1 import info_pb2, perception_pb2, signal_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.spatial import Circle, Position
from roadlink.wire.convert import area_to_proto, frame_to_proto, position_to_proto
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink
from roadside.map_store import load_map_file
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.roadside.test_local_fusion import ORIGIN, SENSORS, sensor_frame

pytestmark = pytest.mark.integration

MAPS = Path(__file__).resolve().parents[1] / "data" / "maps"

Response = dl_pb2.WatchRoadsideResponse


@dataclass
class CloudRecorder:
    """The cloud's RoadsideService.Publish with a sink that keeps every accepted batch."""

    batches: list[rs_pb2.PublishRequest] = field(default_factory=list)

    async def accept(self, batch: rs_pb2.PublishRequest) -> list[rs_pb2.ItemRejection]:
        self.batches.append(batch)
        return []

    def frames(self) -> list[perception_pb2.PerceptionFrame]:
        return [frame for batch in self.batches for frame in batch.frames]

    def items(self, name: str) -> list[Any]:
        return [item for batch in self.batches for item in getattr(batch, name)]


@contextlib.asynccontextmanager
async def recording_cloud() -> AsyncIterator[tuple[CloudRecorder, RunningServer]]:
    recorder = CloudRecorder()
    binding = ServiceBinding(PublishServicer(recorder), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    try:
        yield recorder, server
    finally:
        await server.stop(0)


@contextlib.asynccontextmanager
async def gateway(port: int) -> AsyncIterator[BatchUplink]:
    """A gateway's uplink into the roadside node."""
    uplink = BatchUplink(f"127.0.0.1:{port}", "gw-1", linger_s=0.001)
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Vehicle:
    """A vehicle watching the roadside node over VehicleDownlinkService.WatchRoadside."""

    def __init__(self, port: int, position: Position) -> None:
        self._channel = aio.insecure_channel(f"127.0.0.1:{port}")
        self._positions: asyncio.Queue[Position] = asyncio.Queue()
        self._positions.put_nowait(position)
        self.received: list[Response] = []
        self._call = dl_grpc.VehicleDownlinkServiceStub(self._channel).WatchRoadside(self._requests())

    async def _requests(self) -> AsyncIterator[dl_pb2.WatchRoadsideRequest]:
        while True:
            position = await self._positions.get()
            yield dl_pb2.WatchRoadsideRequest(position=position_to_proto(position), vehicle_id="car-1")

    def move(self, position: Position) -> None:
        self._positions.put_nowait(position)

    async def until(self, done: Callable[[list[Response]], bool], timeout_s: float = 20.0) -> list[Response]:
        """Read responses until `done(received)` holds."""
        async with asyncio.timeout(timeout_s):
            while not done(self.received):
                response = await self._call.read()
                if response.WhichOneof("content"):  # keepalives carry no content
                    self.received.append(response)
        return self.received

    async def close(self) -> None:
        self._call.cancel()
        await self._channel.close()


def roadside_settings(cloud_port: int, **overrides: Any) -> RoadsideSettings:
    return RoadsideSettings.load(
        node_id="rsu-7",
        listen="127.0.0.1:0",
        cloud_target=f"127.0.0.1:{cloud_port}",
        latitude_deg=ORIGIN.latitude_deg,
        longitude_deg=ORIGIN.longitude_deg,
        heartbeat_s=60.0,
        uplink_linger_ms=1.0,
        **overrides,
    )


def _fused(responses: list[Response]) -> list[Response]:
    return [r for r in responses if r.WhichOneof("content") == "frame" and r.frame.objects]


async def test_local_fusion_publishes_one_object_per_car_to_cloud_and_vehicles() -> None:
    async with (
        recording_cloud() as (cloud, server),
        RoadsideNode(roadside_settings(server.port, local_fusion=True, local_fusion_period_ms=50)) as node,
        gateway(node.port) as uplink,
    ):
        vehicle = Vehicle(node.port, ORIGIN)
        t0, sequence = now_unix_ms(), 0

        async def sensors() -> None:
            nonlocal sequence
            while True:
                sequence += 1
                for sensor_id in SENSORS:
                    await uplink.send("frames", frame_to_proto(sensor_frame(sensor_id, t0, now_unix_ms(), sequence)))
                await asyncio.sleep(0.05)

        feeding = asyncio.create_task(sensors())
        try:
            received = await vehicle.until(lambda got: len(_fused(got)) >= 10)
            async with asyncio.timeout(20):
                while len([f for f in cloud.frames() if f.objects]) < 10:
                    await asyncio.sleep(0.05)
        finally:
            feeding.cancel()
            await vehicle.close()
    for frames in ([r.frame for r in _fused(received)], [f for f in cloud.frames() if f.objects]):
        settled = frames[3:]
        assert all(len(frame.objects) == 2 for frame in settled), [len(frame.objects) for frame in settled]
        assert all(frame.source_id == "rsu-7" for frame in frames)
        assert list(settled[-1].provenance.sensor_ids) == ["lidar0", "radar0"]
    # The raw sensor frames never reach the cloud: only the node's fused frames do.
    assert all(obj.sensor_ids for frame in cloud.frames() for obj in frame.objects)
    assert node.counters()["fused_frames"] >= 10


def _kinds(responses: list[Response]) -> list[str]:
    return [str(r.WhichOneof("content")) for r in responses]


async def _wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)


async def test_spat_and_map_are_served_in_range_and_forwarded_and_broken_maps_rejected() -> None:
    far = Position(ORIGIN.latitude_deg + 0.01, ORIGIN.longitude_deg)  # about 1.1 km north: out of range
    settings = roadside_settings(0, map_files=[MAPS / "intersection_1201.json"], service_range_m=300.0)
    async with recording_cloud() as (cloud, server):
        settings.cloud_target = f"127.0.0.1:{server.port}"
        async with RoadsideNode(settings) as node, gateway(node.port) as uplink:
            near, outside = Vehicle(node.port, ORIGIN), Vehicle(node.port, far)
            try:
                await near.until(lambda got: _kinds(got) == ["map"])
                await _wait_for(lambda: node.hub.watchers == 2)
                for revision in (1, 2):
                    await uplink.send(
                        "signal_timings", signal_pb2.SignalPhaseAndTiming(intersection_id=1201, revision=revision)
                    )
                await uplink.send("maps", load_map_file(MAPS / "broken_connection.json"))
                got = await near.until(lambda got: len(got) >= 3)
                outside.move(ORIGIN)
                joined = await outside.until(lambda got: len(got) >= 2)
                await _wait_for(lambda: node.publish.stats.items_rejected == 1)
                await _wait_for(lambda: len(cloud.items("maps")) >= 1 and len(cloud.items("signal_timings")) >= 2)
            finally:
                await near.close()
                await outside.close()
    assert _kinds(got) == ["map", "signal_timing", "signal_timing"]
    assert [r.signal_timing.revision for r in got[1:]] == [1, 2]
    assert got[0].map.intersections[0].intersection_id == 1201
    assert _kinds(joined) == ["map", "signal_timing"]  # on entering range: the map and only the latest timing
    assert joined[1].signal_timing.revision == 2
    maps = cloud.items("maps")
    assert len(maps) == 1  # the file's map; the broken one from the gateway is rejected, not forwarded
    assert maps[0].intersections[0].lanes[0].connections[1].connecting_lane_id == 4
    assert [s.revision for s in cloud.items("signal_timings")] == [1, 2]
    assert node.maps.maps_rejected == 1


def _advisory(advisory_id: str, centre: Position, radius_m: float, end_ms: int) -> situation_pb2.Advisory:
    advisory = situation_pb2.Advisory(
        advisory_id=advisory_id, type=situation_pb2.ADVISORY_TYPE_ROAD_EVENT, time_unix_ms=now_unix_ms()
    )
    advisory.zone.CopyFrom(area_to_proto(Circle(centre, radius_m)))
    advisory.validity.end_time_unix_ms = end_ms
    return advisory


def _road_works(centre: Position, end_ms: int) -> info_pb2.RoadSideInfo:
    rsi = info_pb2.RoadSideInfo(source_id="cloud-1", message_count=1, time_unix_ms=now_unix_ms())
    event = rsi.events.add(event_id=1, event_type=401, description="road works", radius_m=60.0)
    event.position.CopyFrom(position_to_proto(centre))
    event.validity.end_time_unix_ms = end_ms
    return rsi


def _ids(responses: list[Response]) -> list[str]:
    return [r.advisory.advisory_id or r.road_side_info.events[0].description for r in responses]


async def test_cloud_downlink_reaches_vehicles_in_each_items_zone_until_its_validity_ends() -> None:
    near = Position(ORIGIN.latitude_deg + 0.001, ORIGIN.longitude_deg)  # ~111 m north: in the items' zones
    south = Position(ORIGIN.latitude_deg - 0.0018, ORIGIN.longitude_deg)  # ~200 m south: served, no item zone
    elsewhere = Position(ORIGIN.latitude_deg + 0.05, ORIGIN.longitude_deg)  # ~5.5 km: another RSU's zone
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as cloud:
        board, start = cloud.downlink_board, now_unix_ms()
        short_end = start + 1_500
        board.issue_advisory(_advisory("short", near, 50.0, short_end))
        board.issue_road_side_info(_road_works(near, start + 60_000))
        board.issue_advisory(_advisory("elsewhere", elsewhere, 50.0, start + 60_000))
        async with RoadsideNode(roadside_settings(cloud.port, cloud_downlink=True)) as node:
            assert node.cloud_downlink is not None
            downlink = node.cloud_downlink
            await _wait_for(lambda: downlink.items_received >= 2)
            inside = Vehicle(node.port, near)
            outside = Vehicle(node.port, south)
            try:
                got = await inside.until(lambda got: len(got) >= 2)
                await _wait_for(lambda: node.hub.watchers == 2 and now_unix_ms() > short_end)
                late = Vehicle(node.port, near)
                await _wait_for(lambda: node.hub.watchers == 3)
                board.issue_advisory(_advisory("marker", ORIGIN, 250.0, now_unix_ms() + 60_000))
                late_got = await late.until(lambda got: "marker" in _ids(got))
                outside_got = await outside.until(lambda got: "marker" in _ids(got))
                await late.close()
            finally:
                await inside.close()
                await outside.close()
    assert sorted(_ids(got)) == ["road works", "short"]
    assert _ids(late_got) == ["road works", "marker"]  # "short" expired before this vehicle came
    assert _ids(outside_got) == ["marker"]  # never in the zone of "short" or the road works
    assert downlink.items_received == 3  # "elsewhere" is outside this RSU's zone: never sent to it

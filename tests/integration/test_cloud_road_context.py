"""MapData and SPaT through a running fused cloud node: signal states and lane advisories on the wire.

A real CloudNode on 127.0.0.1 port 0 receives one MapData (intersection 7, a northbound ingress lane with a
50 km/h limit controlled by signal group 2) and SPaT over RoadsideService.Publish; vehicles report
themselves over VehicleService.PublishState and watch their situation over VehicleService.WatchSituation,
all through the generated stubs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from google.protobuf import json_format
from grpc import aio
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.cloud.v1 import situation_pb2
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2, map_pb2, signal_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.spatial import Circle
from roadlink.wire.convert import area_from_proto

pytestmark = pytest.mark.integration

REFERENCE = common_pb2.Position(latitude_deg=39.0742, longitude_deg=115.9325)
ORIGIN = LocalOrigin(REFERENCE.latitude_deg, REFERENCE.longitude_deg)
INTERSECTION_ID = 7
SIGNAL_GROUP = 2
LIMIT_MPS = 13.9
WAIT_S = 20.0

Drive = Callable[[float], tuple[float, float]]
"""Seconds since start -> (east_m, north_m) of the intersection's reference point."""


def _map() -> map_pb2.MapData:
    """Intersection 7: lane 1 northbound into the stop line at the reference point (nodes from the stop line),
    connected to lane 9 leaving northbound 20 m beyond it."""
    lane = map_pb2.Lane(
        lane_id=1,
        direction=map_pb2.LANE_DIRECTION_INGRESS,
        lane_type=map_pb2.LANE_TYPE_VEHICLE,
        nodes=[map_pb2.LaneNode(east_m=0.0, north_m=0.0), map_pb2.LaneNode(east_m=0.0, north_m=-300.0)],
        connections=[map_pb2.LaneConnection(connecting_lane_id=9, signal_group=SIGNAL_GROUP)],
    )
    exit_lane = map_pb2.Lane(
        lane_id=9,
        direction=map_pb2.LANE_DIRECTION_EGRESS,
        lane_type=map_pb2.LANE_TYPE_VEHICLE,
        nodes=[map_pb2.LaneNode(east_m=0.0, north_m=20.0), map_pb2.LaneNode(east_m=0.0, north_m=300.0)],
    )
    limit = map_pb2.SpeedLimit(type=map_pb2.SPEED_LIMIT_TYPE_VEHICLE_MAX_SPEED, speed_mps=LIMIT_MPS)
    intersection = map_pb2.IntersectionGeometry(
        intersection_id=INTERSECTION_ID,
        reference_position=REFERENCE,
        speed_limits=[limit],
        lanes=[lane, exit_lane],
        revision=1,
    )
    return map_pb2.MapData(revision=1, intersections=[intersection])


def _spat(phase: signal_pb2.MovementPhase.ValueType) -> signal_pb2.SignalPhaseAndTiming:
    now = now_unix_ms()
    event = signal_pb2.MovementEvent(phase=phase, start_time_unix_ms=now - 5_000, min_end_time_unix_ms=now + 60_000)
    movement = signal_pb2.MovementState(signal_group=SIGNAL_GROUP, events=[event])
    return signal_pb2.SignalPhaseAndTiming(intersection_id=INTERSECTION_ID, time_unix_ms=now, movements=[movement])


async def _publish_road(target: str, *, with_map: bool = True, with_status: bool | None = None) -> None:
    """Send the MapData (or the RSU's heartbeat) and a red SPaT in one edge batch and wait for its ack."""
    status = info_pb2.RsuStatus(rsu_id="rsu-road", position=REFERENCE, heartbeat_interval_s=1.0)
    with_status = not with_map if with_status is None else with_status
    batch = rs_pb2.PublishRequest(
        sender_id="rsu-road",
        sender_epoch=1,
        sequence=1,
        sent_time_unix_ms=now_unix_ms(),
        maps=[_map()] if with_map else [],
        statuses=[status] if with_status else [],
        signal_timings=[_spat(signal_pb2.MOVEMENT_PHASE_STOP_AND_REMAIN)],
    )
    async with aio.insecure_channel(target) as channel:
        call = rs_grpc.RoadsideServiceStub(channel).Publish()
        await call.write(batch)
        response = await asyncio.wait_for(call.read(), WAIT_S)
        await call.done_writing()
    assert isinstance(response, rs_pb2.PublishResponse)
    assert response.acknowledged_sequence == 1
    assert not response.rejections


def _position(east_m: float, north_m: float) -> common_pb2.Position:
    latitude, longitude, _ = ORIGIN.to_geodetic(east_m, north_m, 0.0)
    return common_pb2.Position(latitude_deg=float(latitude), longitude_deg=float(longitude))


async def _states(
    vehicle_id: bytes, drive: Drive, speed_mps: float, heading_deg: float
) -> AsyncIterator[vs_pb2.PublishStateRequest]:
    """The vehicle's self-reports at 10 Hz along ``drive`` (until cancelled)."""
    start = now_unix_ms()
    while True:
        now = now_unix_ms()
        east_m, north_m = drive((now - start) / 1000)
        state = vehicle_pb2.VehicleState(
            temporary_id=vehicle_id,
            time_unix_ms=now,
            position=_position(east_m, north_m),
            speed_mps=speed_mps,
            heading_deg=heading_deg,
            vehicle_class=common_pb2.OBJECT_CLASS_PASSENGER_CAR,
        )
        yield vs_pb2.PublishStateRequest(states=[state])
        await asyncio.sleep(0.1)


async def _watch_until(
    stub: vs_grpc.VehicleServiceStub, area: common_pb2.Area, done: Callable[[situation_pb2.SituationUpdate], bool]
) -> situation_pb2.SituationUpdate:
    """The first situation update of ``area`` that satisfies ``done``."""
    call = stub.WatchSituation(iter([vs_pb2.WatchSituationRequest(area=area, rate_hz=20.0)]))
    try:
        async with asyncio.timeout(WAIT_S):
            async for response in call:
                update: situation_pb2.SituationUpdate = response.update
                if done(update):
                    return update
    finally:
        call.cancel()
    raise AssertionError("the situation stream ended")


Watch = Callable[[aio.Channel], Awaitable[situation_pb2.SituationUpdate]]
"""Opens a situation stream on the node's channel and returns the update it waited for."""


def _vehicle_watch(area: common_pb2.Area, done: Callable[[situation_pb2.SituationUpdate], bool]) -> Watch:
    return lambda channel: _watch_until(vs_grpc.VehicleServiceStub(channel), area, done)


def _rsu_watch(area: common_pb2.Area, done: Callable[[situation_pb2.SituationUpdate], bool]) -> Watch:
    """An RSU watching its zone over FusionService.WatchArea."""

    async def watch(channel: aio.Channel) -> situation_pb2.SituationUpdate:
        call = fs_grpc.FusionServiceStub(channel).WatchArea(fs_pb2.WatchAreaRequest(area=area, rate_hz=20.0))
        try:
            async with asyncio.timeout(WAIT_S):
                async for response in call:
                    update: situation_pb2.SituationUpdate = response.update
                    if done(update):
                        return update
        finally:
            call.cancel()
        raise AssertionError("the watch stream ended")

    return watch


async def _drive_and_watch(
    drive: Drive,
    speed_mps: float,
    heading_deg: float,
    done: Callable[[situation_pb2.SituationUpdate], bool],
    watch: Watch | None = None,
) -> situation_pb2.SituationUpdate:
    """Run a fused node with the map, drive one car along ``drive`` and watch (default: a vehicle, 500 m around
    the intersection)."""
    settings = CloudSettings.load(listen="127.0.0.1:0", picture="fused")
    area = common_pb2.Area(circle=common_pb2.Circle(center=REFERENCE, radius_m=500.0))
    async with CloudNode(settings) as cloud:
        target = f"127.0.0.1:{cloud.port}"
        await _publish_road(target)
        async with aio.insecure_channel(target) as channel:
            stub = vs_grpc.VehicleServiceStub(channel)
            publishing = stub.PublishState(_states(b"\x0b\xad\xca\xfe", drive, speed_mps, heading_deg))
            try:
                return await (watch or _vehicle_watch(area, done))(channel)
            finally:
                publishing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await publishing


def _advisories(
    update: situation_pb2.SituationUpdate, kind: situation_pb2.AdvisoryType.ValueType
) -> list[situation_pb2.Advisory]:
    return [advisory for advisory in update.advisories if advisory.type == kind]


async def test_a_vehicle_near_the_intersection_receives_its_signal_state() -> None:
    update = await _drive_and_watch(lambda t: (0.0, -150.0 + 8.0 * t), 8.0, 0.0, lambda u: len(u.signal_timings) > 0)
    (spat,) = update.signal_timings
    assert spat.intersection_id == INTERSECTION_ID
    assert spat.movements[0].signal_group == SIGNAL_GROUP
    assert spat.movements[0].events[0].phase == signal_pb2.MOVEMENT_PHASE_STOP_AND_REMAIN


async def test_without_mapdata_the_signal_state_goes_to_vehicles_near_the_sending_rsu() -> None:
    settings = CloudSettings.load(listen="127.0.0.1:0", picture="fused")
    near = common_pb2.Area(circle=common_pb2.Circle(center=_position(0.0, -100.0), radius_m=300.0))
    async with CloudNode(settings) as cloud:
        target = f"127.0.0.1:{cloud.port}"
        await _publish_road(target, with_map=False)
        async with aio.insecure_channel(target) as channel:
            stub = vs_grpc.VehicleServiceStub(channel)
            update = await _watch_until(stub, near, lambda u: len(u.signal_timings) > 0)
        assert cloud.road.intersection_count == 0
    assert [s.intersection_id for s in update.signal_timings] == [INTERSECTION_ID]


async def test_mapdata_from_a_settings_file_locates_the_signal_state(tmp_path: Path) -> None:
    map_file = tmp_path / "intersection-7.json"
    map_file.write_text(json_format.MessageToJson(_map()), encoding="utf-8")
    settings = CloudSettings.load(listen="127.0.0.1:0", picture="fused", map_files=[map_file])
    near = common_pb2.Area(circle=common_pb2.Circle(center=_position(0.0, -100.0), radius_m=300.0))
    async with CloudNode(settings) as cloud:
        assert cloud.road.intersection_count == 1
        target = f"127.0.0.1:{cloud.port}"
        await _publish_road(target, with_map=False, with_status=False)
        async with aio.insecure_channel(target) as channel:
            update = await _watch_until(vs_grpc.VehicleServiceStub(channel), near, lambda u: len(u.signal_timings) > 0)
    assert [s.intersection_id for s in update.signal_timings] == [INTERSECTION_ID]


async def test_a_vehicle_far_from_the_intersection_gets_no_signal_state() -> None:
    settings = CloudSettings.load(listen="127.0.0.1:0", picture="fused")
    far = common_pb2.Area(circle=common_pb2.Circle(center=_position(5_000.0, 0.0), radius_m=500.0))
    async with CloudNode(settings) as cloud:
        target = f"127.0.0.1:{cloud.port}"
        await _publish_road(target)
        async with aio.insecure_channel(target) as channel:
            stub = vs_grpc.VehicleServiceStub(channel)
            update = await _watch_until(stub, far, lambda u: u.sequence >= 2)
        assert cloud.road.signals_received == 1
    assert not update.signal_timings


async def test_a_car_against_the_lane_direction_gets_a_wrong_way_advisory() -> None:
    update = await _drive_and_watch(
        lambda t: (0.0, -50.0 - 10.0 * t),
        10.0,
        180.0,
        lambda u: bool(_advisories(u, situation_pb2.ADVISORY_TYPE_WRONG_WAY)),
    )
    (advisory,) = _advisories(update, situation_pb2.ADVISORY_TYPE_WRONG_WAY)
    (track,) = update.tracks
    assert list(advisory.track_ids) == [track.track_id]
    assert track.vehicle_temporary_id == b"\x0b\xad\xca\xfe"
    assert advisory.severity == situation_pb2.SEVERITY_CRITICAL


async def test_a_car_above_the_map_speed_limit_gets_an_over_speed_advisory() -> None:
    update = await _drive_and_watch(
        lambda t: (0.0, -280.0 + 25.0 * t),
        25.0,
        0.0,
        lambda u: bool(_advisories(u, situation_pb2.ADVISORY_TYPE_OVER_SPEED)),
    )
    (advisory,) = _advisories(update, situation_pb2.ADVISORY_TYPE_OVER_SPEED)
    (track,) = update.tracks
    assert list(advisory.track_ids) == [track.track_id]
    assert advisory.severity == situation_pb2.SEVERITY_CRITICAL
    assert "limit 13.9" in advisory.description


async def test_an_rsu_watching_its_zone_gets_an_advisory_whose_zone_reaches_into_it() -> None:
    """The RSU covers 60 m around a point 200 m south; the wrong-way car comes from 50 m south, driving south.

    The first advisory the RSU receives is about a car outside its zone whose advisory zone (the car and its
    next seconds of travel) overlaps it: the zone's centre is still outside.
    """
    zone = common_pb2.Area(circle=common_pb2.Circle(center=_position(0.0, -200.0), radius_m=60.0))
    wrong_way = situation_pb2.ADVISORY_TYPE_WRONG_WAY
    update = await _drive_and_watch(
        lambda t: (0.0, -50.0 - 10.0 * t),
        10.0,
        180.0,
        lambda u: bool(_advisories(u, wrong_way)),
        _rsu_watch(zone, lambda u: bool(_advisories(u, wrong_way))),
    )
    (advisory,) = _advisories(update, wrong_way)
    rsu_zone = area_from_proto(zone)
    advisory_zone = area_from_proto(advisory.zone)
    assert isinstance(rsu_zone, Circle)
    assert isinstance(advisory_zone, Circle)
    assert not rsu_zone.contains(advisory_zone.center)
    assert not update.tracks  # the car itself is outside the zone
    assert len(advisory.track_ids) == 1


async def test_a_car_that_cannot_stop_before_the_red_stop_line_gets_a_red_light_advisory() -> None:
    red_light = situation_pb2.ADVISORY_TYPE_RED_LIGHT_VIOLATION
    update = await _drive_and_watch(
        lambda t: (0.0, -60.0 + 13.0 * t), 13.0, 0.0, lambda u: bool(_advisories(u, red_light))
    )
    (advisory,) = _advisories(update, red_light)
    (track,) = update.tracks
    assert list(advisory.track_ids) == [track.track_id]
    assert advisory.HasField("time_to_event_s")
    assert 0 < advisory.time_to_event_s < 3
    assert "intersection 7" in advisory.description

"""The roadside VehicleHub: range, zones, at-most-once delivery, expiry and keepalives, with a hand-driven clock."""

from __future__ import annotations

import asyncio

import pytest
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import situation_pb2
from v2x.roadside.v1 import info_pb2, map_pb2, perception_pb2, signal_pb2

from roadlink.domain.spatial import Circle, Position
from roadlink.wire.convert import area_to_proto, position_to_proto
from roadside.downlink import DownlinkItem, VehicleHub, VehicleWatch, advisory_item, road_side_info_item

CENTRE = Position(39.0742, 115.9325)
NEAR = Position(39.0752, 115.9325)  # about 111 m north
FAR = Position(39.0842, 115.9325)  # about 1.1 km north


class Clock:
    def __init__(self, now_ms: int = 1_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def _drain(hub: VehicleHub, watcher: VehicleWatch) -> list[dl_pb2.WatchRoadsideResponse]:
    """Everything the vehicle's stream would write now (at the hub's clock)."""
    taken = []
    while (response := watcher.take(hub.now_unix_ms())) is not None:
        taken.append(response)
    return taken


def _advisory(advisory_id: str, centre: Position, end_ms: int) -> situation_pb2.Advisory:
    advisory = situation_pb2.Advisory(advisory_id=advisory_id, type=situation_pb2.ADVISORY_TYPE_ROAD_EVENT)
    advisory.zone.CopyFrom(area_to_proto(Circle(centre, 50.0)))
    advisory.validity.end_time_unix_ms = end_ms
    return advisory


def _item(advisory_id: str, centre: Position, end_ms: int) -> DownlinkItem:
    return advisory_item(_advisory(advisory_id, centre, end_ms), received_unix_ms=0, default_validity_s=60)


def test_frames_signals_and_map_reach_vehicles_in_range_only() -> None:
    hub = VehicleHub(center=CENTRE, service_range_m=300.0, clock=Clock())
    near, far = hub.join(NEAR), hub.join(FAR)
    hub.set_map(map_pb2.MapData(revision=1))
    hub.publish_signal(signal_pb2.SignalPhaseAndTiming(intersection_id=5, revision=1))
    hub.publish_signal(signal_pb2.SignalPhaseAndTiming(intersection_id=5, revision=2))
    hub.publish_frame(perception_pb2.PerceptionFrame(source_id="rsu-7"))
    kinds = [r.WhichOneof("content") for r in _drain(hub, near)]
    assert kinds == ["map", "signal_timing", "signal_timing", "frame"]
    assert _drain(hub, far) == []
    hub.move(far, NEAR)  # entering range: the map and the latest timing per intersection
    joined = _drain(hub, far)
    assert [r.WhichOneof("content") for r in joined] == ["map", "signal_timing"]
    assert joined[1].signal_timing.revision == 2


def test_a_vehicle_entering_range_gets_no_stale_signal_timing() -> None:
    clock = Clock()
    hub = VehicleHub(center=CENTRE, service_range_m=300.0, max_signal_age_ms=5_000, clock=clock)
    hub.publish_signal(signal_pb2.SignalPhaseAndTiming(intersection_id=5, time_unix_ms=clock.now_ms))
    hub.publish_signal(signal_pb2.SignalPhaseAndTiming(intersection_id=6, time_unix_ms=clock.now_ms - 6_000))
    watcher = hub.join(NEAR)
    assert [r.signal_timing.intersection_id for r in _drain(hub, watcher)] == [5]


def test_an_item_reaches_the_vehicles_in_its_zone_once() -> None:
    clock = Clock()
    hub = VehicleHub(center=None, service_range_m=300.0, clock=clock)
    inside, outside = hub.join(NEAR), hub.join(FAR)
    item = _item("a1", NEAR, clock.now_ms + 10_000)
    hub.publish_item(item)
    hub.publish_item(item)  # the cloud resends after a reconnect
    assert [r.advisory.advisory_id for r in _drain(hub, inside)] == ["a1"]
    assert _drain(hub, outside) == []
    hub.move(outside, NEAR)
    hub.move(inside, NEAR)
    assert [r.advisory.advisory_id for r in _drain(hub, outside)] == ["a1"]
    assert _drain(hub, inside) == []
    assert hub.items_delivered == 2


def test_an_item_is_never_delivered_after_its_validity_ended() -> None:
    clock = Clock()
    hub = VehicleHub(center=None, service_range_m=300.0, clock=clock)
    slow = hub.join(NEAR)
    hub.publish_item(_item("short", NEAR, clock.now_ms + 200))
    hub.publish_item(_item("long", NEAR, clock.now_ms + 60_000))
    clock.now_ms += 200  # the vehicle had not read yet: the short item expired in its queue
    assert [r.advisory.advisory_id for r in _drain(hub, slow)] == ["long"]
    assert slow.expired == 1
    late = hub.join(NEAR)  # joins after expiry: gets only what is still valid
    assert [r.advisory.advisory_id for r in _drain(hub, late)] == ["long"]
    hub.publish_item(_item("stale", NEAR, clock.now_ms - 1))  # arrives already expired
    assert _drain(hub, late) == []


def test_a_slow_vehicle_loses_the_oldest_updates_and_is_told() -> None:
    hub = VehicleHub(center=None, service_range_m=300.0, queue_items=3, clock=Clock())
    watcher = hub.join(NEAR)
    for sequence in range(5):
        hub.publish_frame(perception_pb2.PerceptionFrame(frame_sequence=sequence))
    taken = _drain(hub, watcher)
    assert [r.frame.frame_sequence for r in taken] == [2, 3, 4]
    assert taken[0].skipped_updates == 2
    hub.leave(watcher)
    assert hub.watchers == 0


def test_road_side_info_zones_and_validity() -> None:
    rsi = info_pb2.RoadSideInfo(source_id="cloud-1", message_count=3)
    event = rsi.events.add(event_id=1, radius_m=80.0)
    event.position.CopyFrom(position_to_proto(NEAR))
    event.validity.end_time_unix_ms = 5_000
    sign = rsi.signs.add(sign_id=2)
    sign.position.CopyFrom(position_to_proto(FAR))
    sign.validity.end_time_unix_ms = 7_000
    item = road_side_info_item(rsi, received_unix_ms=1_000, default_validity_s=60)
    assert item.valid_until_unix_ms == 7_000
    assert item.applies_at(NEAR)
    assert item.applies_at(FAR)
    assert not item.applies_at(CENTRE)
    sign.ClearField("validity")  # open-ended: the default lifetime from receipt
    assert road_side_info_item(rsi, received_unix_ms=1_000, default_validity_s=60).valid_until_unix_ms == 61_000


async def test_a_quiet_stream_gets_keepalives_stamped_with_the_node_clock_between_updates() -> None:
    clock = Clock()
    hub = VehicleHub(center=CENTRE, service_range_m=300.0, keepalive_s=0.01, clock=clock)
    watcher = hub.join(NEAR)
    stream = hub.responses(watcher)
    async with asyncio.timeout(10):
        first = await anext(stream)  # nothing to send: a keepalive
        hub.publish_frame(perception_pb2.PerceptionFrame(source_id="rsu-7"))
        second = await anext(stream)
        clock.now_ms += 1_000
        third = await anext(stream)
    assert (first.WhichOneof("content"), first.sent_time_unix_ms) == (None, 1_000_000)
    assert second.frame.source_id == "rsu-7"
    assert (third.WhichOneof("content"), third.sent_time_unix_ms) == (None, 1_001_000)
    assert hub.keepalives_sent == 2


def test_keepalive_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="keepalive_s"):
        VehicleHub(center=None, service_range_m=300.0, keepalive_s=0.0)

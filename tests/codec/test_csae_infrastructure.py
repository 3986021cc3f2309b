"""CSAE MAP and RSI -> v1 MapData / RoadSideInfo, and back to the original octets.

As for the vehicle messages: the real frames map to what their reference decodes say in SI units, come back
byte-exact with the decoded value as template, and without a template encode to a frame that maps to the same
v1 message.
"""

from __future__ import annotations

import calendar
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from v2x.roadside.v1 import info_pb2, map_pb2

from roadlink.codec import csae
from roadlink.codec.csae_infrastructure import map_to_proto, proto_to_map, proto_to_rsi, rsi_to_proto
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin
from tests.codec.strategies import values
from tests.codec.test_csae_golden import frames

NOW_MS = calendar.timegm((2022, 11, 15, 0, 0, 0)) * 1000


def _decoded(kind: str) -> tuple[bytes, Any]:
    [(data, value)] = [(d, v) for _, d in frames() for a, v in [csae.decode_frame(d)] if a == kind]
    return data, value


def test_real_map_maps_to_v1() -> None:
    _, value = _decoded("mapFrame")
    message = map_to_proto(value, NOW_MS)
    assert message.revision == 0
    year = calendar.timegm((2022, 1, 1, 0, 0, 0)) * 1000
    assert message.time_unix_ms == year + 475970 * 60_000
    first = message.intersections[0]
    assert (first.intersection_id, first.region) == (149, 1)
    assert first.reference_position.latitude_deg == pytest.approx(28.0985258)
    lanes = value["nodes"][0]["inLinks"][0]["lanes"]
    lane = first.lanes[0]
    assert lane.lane_id == lanes[0]["laneID"] == 1
    assert lane.ingress_approach == 148
    assert lane.direction == map_pb2.LANE_DIRECTION_INGRESS
    assert lane.width_m == pytest.approx(22.0)
    assert lane.allowed_maneuvers == 0b111  # e000: straight, left, right
    assert [(c.remote_intersection_id, c.connecting_lane_id, c.signal_group, c.maneuver) for c in lane.connections] == [
        (1091, 1, 1, 0b10),
        (150, 1, 2, 0b1),
        (1095, 1, 3, 0b100),
    ]
    origin = LocalOrigin(28.0985258, 112.9830304)
    east, north, _ = origin.to_enu(28.1010657, 112.9827867, 0.0)
    assert (lane.nodes[0].east_m, lane.nodes[0].north_m) == pytest.approx((east, north))
    assert north == pytest.approx(281.47, abs=0.01)
    assert sum(len(g.lanes) for g in message.intersections) == sum(
        len(link.get("lanes", [])) for node in value["nodes"] for link in node.get("inLinks", [])
    )


def test_map_round_trips_byte_exact_through_v1() -> None:
    data, value = _decoded("mapFrame")
    message = map_to_proto(value, NOW_MS)
    assert csae.encode_frame(("mapFrame", proto_to_map(message, value))) == data
    fresh = csae.decode_frame(csae.encode_frame(("mapFrame", proto_to_map(message))))
    again = map_to_proto(fresh[1], NOW_MS)
    for a, b in zip(again.intersections, message.intersections, strict=True):
        for la, lb in zip(a.lanes, b.lanes, strict=True):
            ours = [x for n in la.nodes for x in (n.east_m, n.north_m)]
            assert ours == pytest.approx([x for n in lb.nodes for x in (n.east_m, n.north_m)], abs=0.01)  # 1e-7 deg
            la.ClearField("nodes")
            lb.ClearField("nodes")
    assert again == message


def test_real_rsi_maps_to_v1() -> None:
    _, value = _decoded("rsiFrame")
    message = rsi_to_proto(value, NOW_MS)
    assert message.source_id == "3132333435000000"
    assert message.message_count == 18
    assert message.time_unix_ms == NOW_MS
    [event] = message.events
    assert (event.event_id, event.event_type, event.code_system) == (123, 9902, info_pb2.CODE_SYSTEM_GBT_29100)
    assert event.position.latitude_deg == pytest.approx(28.0988051)
    assert event.position.elevation_m == 0.0
    assert event.radius_m == pytest.approx(100.0)
    assert event.priority == 0
    [path] = event.reference_paths
    assert path.radius_m == pytest.approx(20.0)
    assert [p.latitude_deg for p in path.points] == pytest.approx([28.1005997, 28.1004053, 28.0996026, 28.0988051])


def test_rsi_round_trips_byte_exact_through_v1() -> None:
    data, value = _decoded("rsiFrame")
    message = rsi_to_proto(value, NOW_MS)
    assert csae.encode_frame(("rsiFrame", proto_to_rsi(message, value))) == data
    fresh = csae.decode_frame(csae.encode_frame(("rsiFrame", proto_to_rsi(message))))
    again = rsi_to_proto(fresh[1], NOW_MS)
    assert again.events == message.events
    assert again.source_id == message.source_id


def test_rsi_description_priority_validity_and_signs() -> None:
    message = info_pb2.RoadSideInfo(source_id="0102030405060708", message_count=3, time_unix_ms=NOW_MS)
    message.reference_position.latitude_deg, message.reference_position.longitude_deg = 28.1, 112.98
    event = message.events.add(event_id=1, event_type=100, description="道路施工", priority=5, confidence=0.5)
    event.code_system = info_pb2.CODE_SYSTEM_GBT_29100
    event.validity.start_time_unix_ms, event.validity.end_time_unix_ms = NOW_MS, NOW_MS + 3_600_000
    message.signs.add(sign_id=2, sign_type=38, description="speed limit 60", code_system=info_pb2.CODE_SYSTEM_GB_5768)
    value = proto_to_rsi(message)
    assert value["rtes"][0]["description"][0] == "textGB2312"
    assert value["rtes"][0]["priority"] == b"\xa0"
    again = rsi_to_proto(csae.decode_frame(csae.encode_frame(("rsiFrame", value)))[1], NOW_MS)
    assert again.events == message.events
    assert again.signs[0].description == "speed limit 60"
    assert again.signs[0].code_system == info_pb2.CODE_SYSTEM_GB_5768


# --- lossless: any decoded value -> v1 -> back with the value as template gives the value again --------------------

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@settings(PROPERTY, max_examples=30)  # nested lists: ~0.2 s an example to generate
@given(values(csae.RoadSideInformation))
def test_any_rsi_comes_back_through_v1(rsi: dict[str, Any]) -> None:
    try:
        message = rsi_to_proto(rsi, NOW_MS)
    except ValidationError:
        return  # an unavailable or out-of-range position
    assert proto_to_rsi(message, rsi) == rsi


@settings(PROPERTY, max_examples=15)
@given(values(csae.MapData))
def test_any_map_comes_back_through_v1(value: dict[str, Any]) -> None:
    try:
        message = map_to_proto(value, NOW_MS)
    except ValidationError:
        return
    assert proto_to_map(message, value) == value

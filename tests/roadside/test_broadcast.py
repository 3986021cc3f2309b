"""Broadcast encoders: v1 content -> UPER frames -> decoded and mapped back to the same v1 content.

Starts from real captures where there are some (CSAE SPAT and MAP, the CARMA J2735 SPaTs) and from built v1
messages otherwise (RSI, RSM).
"""

from __future__ import annotations

import calendar

import pytest
from v2x.roadside.v1 import info_pb2

from roadlink.codec import csae, j2735
from roadlink.codec.csae_infrastructure import map_to_proto, rsi_to_proto
from roadlink.codec.csae_mapping import rsm_to_perception_frame, spat_to_signals
from roadlink.codec.errors import EncodeError
from roadlink.codec.framing import strip_ieee1609dot2
from roadlink.codec.j2735_map import frame_to_map
from roadlink.codec.j2735_perception import frame_to_perception
from roadlink.codec.j2735_spat import decode_spat
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.spatial import Dimensions, Position
from roadside.broadcast import BroadcastEncoder, wrap_ieee1609dot2_unsecured
from tests.codec import captures
from tests.codec.test_csae_golden import frames

NOW_MS = calendar.timegm((2022, 11, 15, 6, 55, 10)) * 1000
CSAE = BroadcastEncoder("csae", rsu_id=bytes.fromhex("3132333435000000"))


def _csae(kind: str) -> dict[str, object]:
    [value] = [v for _, d in frames() for a, v in [csae.decode_frame(d)] if a == kind]
    assert isinstance(value, dict)
    return value


def test_csae_spat_round_trips() -> None:
    signals = spat_to_signals(_csae("spatFrame"), NOW_MS)
    alt, value = csae.decode_frame(CSAE.spat(signals))
    assert alt == "spatFrame"
    assert spat_to_signals(value, NOW_MS) == signals


@pytest.mark.parametrize("name", ["SPaT_1", "SPaT_2"])
def test_j2735_spat_round_trips(name: str) -> None:
    signals = decode_spat(captures.carma_hex(name), NOW_MS).signals
    data = BroadcastEncoder("j2735").spat(signals)
    assert decode_spat(data, NOW_MS).signals == signals


def test_csae_map_round_trips() -> None:
    message = map_to_proto(_csae("mapFrame"), NOW_MS)
    alt, value = csae.decode_frame(CSAE.map(message))
    assert alt == "mapFrame"
    again = map_to_proto(value, NOW_MS)
    assert len(again.intersections) == len(message.intersections)
    for a, b in zip(again.intersections, message.intersections, strict=True):
        for la, lb in zip(a.lanes, b.lanes, strict=True):
            ours = [x for n in la.nodes for x in (n.east_m, n.north_m)]
            assert ours == pytest.approx([x for n in lb.nodes for x in (n.east_m, n.north_m)], abs=0.01)
            la.ClearField("nodes")
            lb.ClearField("nodes")
    assert again == message


def test_j2735_map_round_trips() -> None:
    message = frame_to_map(j2735.decode_frame(captures.carma_hex("MAP_3")), NOW_MS)
    data = BroadcastEncoder("j2735").map(message)
    again = frame_to_map(j2735.decode_frame(data), NOW_MS)
    assert [g.intersection_id for g in again.intersections] == [g.intersection_id for g in message.intersections]
    for a, b in zip(again.intersections, message.intersections, strict=True):
        for la, lb in zip(a.lanes, b.lanes, strict=True):
            ours = [x for n in la.nodes for x in (n.east_m, n.north_m)]
            assert ours == pytest.approx([x for n in lb.nodes for x in (n.east_m, n.north_m)], abs=0.011)


def test_csae_rsi_round_trips() -> None:
    message = info_pb2.RoadSideInfo(source_id="3132333435000000", message_count=130, time_unix_ms=NOW_MS - 10_000)
    message.reference_position.latitude_deg, message.reference_position.longitude_deg = 28.0988051, 112.9829511
    event = message.events.add(event_id=7, event_type=401, code_system=info_pb2.CODE_SYSTEM_GBT_29100, radius_m=50)
    event.position.latitude_deg, event.position.longitude_deg = 28.0990000, 112.9830000
    path = event.reference_paths.add(radius_m=20.0)
    for lat in (28.1005997, 28.0988051):
        point = path.points.add()
        point.latitude_deg, point.longitude_deg = lat, 112.9828181
    alt, value = csae.decode_frame(CSAE.rsi(message))
    assert alt == "rsiFrame"
    again = rsi_to_proto(value, NOW_MS)
    assert again.message_count == 2  # MsgCount is 0..127
    assert again.time_unix_ms == NOW_MS - 10_000  # the minute start: moy has minute resolution
    assert again.events == message.events


def test_csae_rsm_round_trips() -> None:
    objects = tuple(
        DetectedObject(
            object_id=i,
            object_class=cls,
            position=Position(39.0 + i * 1e-5, 116.0 - i * 1e-5),
            speed_mps=i * 0.5,
            heading_deg=i * 10.0,
            size=Dimensions(4.5, 1.8, 1.5),
            sensor_ids=("lidar",),
            measurement_time_unix_ms=NOW_MS - i,
        )
        for i, cls in enumerate([ObjectClass.PASSENGER_CAR, ObjectClass.PEDESTRIAN, ObjectClass.BICYCLE])
    )
    frame = PerceptionFrame("3132333435000000", 5, NOW_MS, objects, Provenance("rsu", NOW_MS), Position(39.0, 116.0))
    alt, value = csae.decode_frame(CSAE.rsm(frame))
    assert alt == "rsmFrame"
    again = rsm_to_perception_frame(value, NOW_MS)
    assert again.objects == objects
    assert (again.source_id, again.frame_sequence, again.reference_position) == (
        "3132333435000000",
        5,
        Position(39.0, 116.0),
    )
    with pytest.raises(ValidationError):
        CSAE.rsm(PerceptionFrame("x", 0, NOW_MS, (), Provenance("rsu", NOW_MS)))


def test_j2735_sdsm_round_trips() -> None:
    objects = (
        DetectedObject(
            1,
            ObjectClass.VEHICLE,
            Position(39.00010, 116.00020, 52.0),
            class_confidence=0.9,
            speed_mps=12.5,
            heading_deg=90.0,
            size=Dimensions(4.5, 1.8, 1.5),
            measurement_time_unix_ms=NOW_MS - 40,
        ),
        DetectedObject(
            2,
            ObjectClass.PEDESTRIAN,
            Position(38.99990, 115.99980, 50.5),
            speed_mps=1.2,
            heading_deg=181.25,
            measurement_time_unix_ms=NOW_MS,
        ),
        DetectedObject(
            3, ObjectClass.BICYCLE, Position(39.00030, 116.00000, 50.0), measurement_time_unix_ms=NOW_MS + 20
        ),
        DetectedObject(
            4,
            ObjectClass.OBSTACLE,
            Position(39.00000, 116.00040, 50.0),
            size=Dimensions(2.0, 1.0, 0.5),
            measurement_time_unix_ms=NOW_MS,
        ),
    )
    frame = PerceptionFrame("rsu", 9, NOW_MS, objects, Provenance("rsu", NOW_MS), Position(39.0, 116.0, 50.0))
    decoded = j2735.decode_frame(BroadcastEncoder("j2735", rsu_id=bytes(range(8))).rsm(frame))
    assert decoded["messageId"] == 41
    assert decoded["value"]["sourceID"] == bytes([4, 5, 6, 7])
    again = frame_to_perception(decoded, NOW_MS + 1000)
    assert (again.frame_sequence, again.time_unix_ms) == (9, NOW_MS)
    for ours, sent in zip(again.objects, objects, strict=True):
        assert (ours.object_id, ours.object_class, ours.size) == (sent.object_id, sent.object_class, sent.size)
        assert (ours.speed_mps, ours.heading_deg) == (sent.speed_mps, sent.heading_deg)
        assert ours.class_confidence == sent.class_confidence
        assert ours.measurement_time_unix_ms == sent.measurement_time_unix_ms
        assert ours.position.latitude_deg == pytest.approx(sent.position.latitude_deg, abs=1e-6)  # 0.1 m steps
        assert ours.position.longitude_deg == pytest.approx(sent.position.longitude_deg, abs=1e-6)
        assert ours.position.elevation_m == pytest.approx(sent.position.elevation_m, abs=0.051)


def test_wrapped_frames_strip_back() -> None:
    signals = spat_to_signals(_csae("spatFrame"), NOW_MS)
    plain = CSAE.spat(signals)
    wrapped = BroadcastEncoder("csae", wrap_1609_2=True).spat(signals)
    assert wrapped[:2] == b"\x03\x80"
    assert strip_ieee1609dot2(wrapped).content == plain
    assert strip_ieee1609dot2(wrap_ieee1609dot2_unsecured(b"\x01")).content == b"\x01"
    with pytest.raises(EncodeError):
        wrap_ieee1609dot2_unsecured(b"")


def test_j2735_reports_what_it_cannot_broadcast() -> None:
    j2735 = BroadcastEncoder("j2735")
    with pytest.raises(EncodeError, match="at least one event or sign"):
        j2735.rsi(info_pb2.RoadSideInfo())
    with pytest.raises(ValidationError):
        j2735.rsm(PerceptionFrame("x", 0, NOW_MS, (), Provenance("rsu", NOW_MS)))
    with pytest.raises(EncodeError, match="at least one"):
        j2735.spat([])
    with pytest.raises(ValueError, match="standard"):
        BroadcastEncoder("etsi")  # type: ignore[arg-type]  # the run-time check under test

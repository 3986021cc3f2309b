"""The roadside feed's domain objects, decoded from v1 messages without any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import json_format
from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.roadside.v1 import info_pb2, map_pb2

from roadlink.domain.spatial import distance_m
from roadlink.sdk import (
    CodeSystem,
    LaneConnection,
    LaneDirection,
    LaneType,
    MapNode,
    Position,
    RoadSideInfo,
    RoadsideMap,
    SpeedLimitType,
    ValidationError,
)
from roadlink.sdk.lane_map import map_from_proto
from roadlink.sdk.road_info import road_side_info_from_proto
from roadlink.sdk.roadside_feed import roadside_content_from_response
from roadlink.wire.convert import position_to_proto
from roadside.downlink import road_side_info_item

MAP_FILE = Path(__file__).resolve().parents[1] / "data" / "maps" / "intersection_1201.json"
CENTRE = Position(39.0742, 115.9325)


def map_message() -> map_pb2.MapData:
    return json_format.Parse(MAP_FILE.read_text(encoding="utf-8"), map_pb2.MapData())


def test_a_map_file_decodes_to_lanes_linked_to_signal_groups() -> None:
    decoded = map_from_proto(map_message())

    crossing = decoded.intersection(1201)
    assert crossing is not None
    assert (decoded.revision, crossing.region, crossing.lane_width_m) == (3, 7, 3.5)
    assert crossing.speed_limits[0].type is SpeedLimitType.VEHICLE_MAX_SPEED
    assert [(lane.lane_id, lane.direction, lane.lane_type) for lane in crossing.lanes] == [
        (1, LaneDirection.INGRESS, LaneType.VEHICLE),
        (2, LaneDirection.EGRESS, LaneType.VEHICLE),
        (3, LaneDirection.INGRESS, LaneType.VEHICLE),
        (4, LaneDirection.EGRESS, LaneType.VEHICLE),
    ]
    lane = crossing.lane(1)
    assert lane is not None
    assert lane.connections == (LaneConnection(2, None, 2, 1), LaneConnection(4, None, 2, 1))
    assert crossing.lane(9) is None
    assert decoded.intersection(9) is None


def test_node_position_is_the_offset_from_the_reference_in_metres() -> None:
    crossing = map_from_proto(map_message()).intersection(1201)
    assert crossing is not None

    north_east = crossing.node_position(MapNode(east_m=30.0, north_m=40.0))

    assert distance_m(CENTRE, north_east) == pytest.approx(50.0, abs=0.05)
    assert north_east.latitude_deg > CENTRE.latitude_deg
    assert north_east.longitude_deg > CENTRE.longitude_deg


def test_a_map_the_sdk_cannot_read_is_a_validation_error_naming_the_field() -> None:
    unknown_type = map_message()
    unknown_type.intersections[0].lanes[2].lane_type = 99  # type: ignore[assignment]  # a newer enum value
    no_reference = map_message()
    no_reference.intersections[0].ClearField("reference_position")

    with pytest.raises(ValidationError) as unknown:
        map_from_proto(unknown_type)
    with pytest.raises(ValidationError) as missing:
        map_from_proto(no_reference)

    assert (unknown.value.reason, unknown.value.field) == ("unknown_enum_value", "intersections[0].lanes[2].lane_type")
    assert missing.value.reason == "missing_reference_position"


def road_works(end_ms: int | None) -> info_pb2.RoadSideInfo:
    rsi = info_pb2.RoadSideInfo(source_id="cloud-1", message_count=5, time_unix_ms=1_000)
    event = rsi.events.add(event_id=1, event_type=401, code_system=info_pb2.CODE_SYSTEM_GBT_29100, radius_m=80.0)
    event.position.CopyFrom(position_to_proto(CENTRE))
    event.validity.start_time_unix_ms = 1_000
    if end_ms is not None:
        event.validity.end_time_unix_ms = end_ms
    sign = rsi.signs.add(sign_id=2, sign_type=38, code_system=info_pb2.CODE_SYSTEM_GB_5768, description="40 km/h")
    sign.validity.end_time_unix_ms = 5_000
    path = sign.reference_paths.add(radius_m=4.0)
    path.points.extend([position_to_proto(CENTRE)])
    return rsi


def test_road_side_info_keeps_codes_validity_and_paths() -> None:
    info = road_side_info_from_proto(road_works(end_ms=9_000))

    event, sign = info.events[0], info.signs[0]
    assert (event.code_system, event.event_type, event.position, event.radius_m) == (
        CodeSystem.GBT_29100,
        401,
        CENTRE,
        80.0,
    )
    assert (event.valid_from_unix_ms, event.valid_until_unix_ms) == (1_000, 9_000)
    assert (sign.code_system, sign.description, sign.reference_paths[0].radius_m) == (
        CodeSystem.GB_5768,
        "40 km/h",
        4.0,
    )
    assert info.valid_until_unix_ms == 9_000  # the latest end over events and signs
    assert info.valid_at(8_999)
    assert not info.valid_at(9_000)


def test_road_side_info_with_an_open_ended_event_never_expires_by_itself() -> None:
    info = road_side_info_from_proto(road_works(end_ms=None))

    assert info.valid_until_unix_ms is None
    assert info.valid_at(10**15)


def test_the_sdk_and_the_node_name_road_side_info_alike() -> None:
    """The feed suppresses repeats by key; the node delivers by key: both must mean the same message."""
    message = road_works(end_ms=9_000)

    node_item = road_side_info_item(message, received_unix_ms=1_000, default_validity_s=60.0)

    assert road_side_info_from_proto(message).key == node_item.key


def test_each_content_of_a_watch_response_decodes_to_its_domain_type() -> None:
    responses = {
        RoadsideMap: dl_pb2.WatchRoadsideResponse(map=map_message()),
        RoadSideInfo: dl_pb2.WatchRoadsideResponse(road_side_info=road_works(end_ms=9_000)),
    }

    for kind, response in responses.items():
        assert isinstance(roadside_content_from_response(response), kind)
    assert roadside_content_from_response(dl_pb2.WatchRoadsideResponse()) is None

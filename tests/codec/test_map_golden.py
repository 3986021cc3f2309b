"""Golden tests: every real J2735 MAP capture decodes to its reference decode, maps to v1, and re-encodes to its bytes.

Six captures of five frames: CARMA MAP_1..MAP_4 (pycrate JSON decodes; MAP_1..4 carry a zero-length, extended
`LaneAttributes-Vehicle` BIT STRING that asn1tools cannot decode), and one jpo-ode frame twice: with its asn1_codec
XER decode (decoder-output-map.xml, one trailing octet after the frame) and as the raw UDP payload.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadlink.codec import DecodeError, EncodeError, decode_frame, encode_frame
from roadlink.codec.field_tools import decode_hex, encode_json
from roadlink.codec.j2735 import MessageFrame
from roadlink.codec.j2735_intersection import MapData
from roadlink.codec.j2735_map import encode_map_frame, frame_to_map
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin
from tests.codec import captures
from tests.codec.strategies import values

CARMA = ("MAP_1", "MAP_2", "MAP_3", "MAP_4")
REFERENCE = 1_733_851_960_000
"""2024-12-10T17:32:40Z, close to odeReceivedAt of decoder-output-map.xml."""

CORRUPTED_LEAF = "00002024-12-10T17:32:22.099782646Z 0000"
"""decoder-output-map.xml's laneSet[15] vehicle attributes: a timestamp pasted into the upstream file. The frame's
bits there are 00000000 (what every other lane of that MAP sends); the test checks the pasted text and then
compares the bits."""


def _ode_payload() -> bytes:
    root = ET.parse(captures.DATA / "decoder-output-map.xml").getroot()
    return bytes.fromhex("".join(root.findtext("metadata/asn1", "").split()))


def _udp_payload() -> bytes:
    return bytes.fromhex((captures.DATA / "MapReceiverTest_ValidMAP.txt").read_text().strip())


def _frames() -> dict[str, bytes]:
    frames = {name: captures.carma_hex(name) for name in CARMA}
    frames["ode"] = _ode_payload()[:-1]
    frames["udp"] = _udp_payload()
    return frames


@pytest.mark.parametrize("name", CARMA)
def test_carma_maps_match_the_pycrate_decode_and_re_encode(name: str) -> None:
    data = captures.carma_hex(name)
    frame = decode_frame(data)
    reference = json.loads((captures.DATA / f"{name}_j2735decode.json").read_text())["MessageFrame"]
    captures.assert_matches_pycrate_json(reference, frame)
    assert encode_frame(frame) == data


def test_carma_maps_carry_the_zero_length_extended_vehicle_attributes() -> None:
    for name in CARMA:
        lanes = decode_frame(captures.carma_hex(name))["value"]["intersections"][0]["laneSet"]
        assert ("vehicle", (0, 0)) in [lane["laneAttributes"]["laneType"] for lane in lanes]


def test_ode_map_matches_the_asn1_codec_xer_and_re_encodes() -> None:
    payload = _ode_payload()
    frame, used = MessageFrame.decode_prefix(payload)
    assert (used, payload[used:]) == (len(payload) - 1, b"\0")
    (reference,) = captures.xer_frames("decoder-output-map.xml")
    (leaf,) = [e for e in reference.iter("vehicle") if e.text == CORRUPTED_LEAF]
    leaf.text = "00000000"
    captures.assert_matches_xer(reference, frame)
    assert encode_frame(frame) == payload[:used]


def test_udp_map_is_the_same_frame() -> None:
    assert _udp_payload() == _ode_payload()[:-1]
    assert len(_udp_payload()) == 965


@pytest.mark.parametrize("name", list(_frames()))
def test_every_truncation_is_a_decode_error(name: str) -> None:
    data = _frames()[name]
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            decode_frame(data[:end])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(_frames())), position=st.integers(0, 10_000), flip=st.integers(1, 255))
def test_mutated_maps_raise_decode_error_or_re_encode_exactly(name: str, position: int, flip: int) -> None:
    data = bytearray(_frames()[name])
    data[position % len(data)] ^= flip
    try:
        frame = decode_frame(bytes(data))
    except DecodeError:
        return
    assert encode_frame(frame) == bytes(data)  # canonical: a frame that decodes is its own encoding


# --- v1 -----------------------------------------------------------------------------------------------------------


def test_map_3_maps_to_v1_in_si_units() -> None:
    v1 = frame_to_map(decode_frame(captures.carma_hex("MAP_3")), REFERENCE)
    assert not v1.HasField("time_unix_ms")
    assert v1.revision == 7
    (intersection,) = v1.intersections
    assert (intersection.intersection_id, intersection.revision, intersection.lane_width_m) == (9709, 7, 3.66)
    ref = intersection.reference_position
    assert (ref.latitude_deg, ref.longitude_deg, ref.elevation_m) == (38.9549947, -77.1493143, 39.0)
    ingress, egress = intersection.lanes
    assert (ingress.lane_id, ingress.direction, ingress.lane_type, ingress.ingress_approach) == (1, 1, 1, 1)
    assert not ingress.HasField("egress_approach")
    # node offsets add up: (1457, -190) then (2232, -382) cm
    assert [c for n in ingress.nodes for c in (n.east_m, n.north_m)] == pytest.approx([14.57, -1.90, 36.89, -5.72])
    assert not ingress.nodes[0].HasField("up_m")
    (connection,) = ingress.connections
    assert (connection.connecting_lane_id, connection.signal_group, connection.maneuver) == (2, 2, 1)  # straight
    assert (egress.direction, egress.egress_approach) == (2, 2)


@pytest.mark.parametrize("name", list(_frames()))
def test_every_map_maps_lane_for_lane(name: str) -> None:
    frame = decode_frame(_frames()[name])
    v1 = frame_to_map(frame, REFERENCE)
    for geometry, intersection in zip(frame["value"]["intersections"], v1.intersections, strict=True):
        assert intersection.intersection_id == geometry["id"]["id"]
        assert [lane.lane_id for lane in intersection.lanes] == [lane["laneID"] for lane in geometry["laneSet"]]
        for lane, out in zip(geometry["laneSet"], intersection.lanes, strict=True):
            _assert_nodes(lane, out, geometry["refPoint"])
            assert len(out.connections) == len(lane.get("connectsTo", ()))


def _assert_nodes(lane: dict[str, Any], out: Any, ref: dict[str, Any]) -> None:
    kind, nodes = lane["nodeList"]
    if kind != "nodes":
        return
    assert len(out.nodes) == len(nodes)
    east = north = 0.0
    origin = LocalOrigin(ref["lat"] * 1e-7, ref["long"] * 1e-7)
    for node, mapped in zip(nodes, out.nodes, strict=True):
        alternative, delta = node["delta"]
        if alternative == "node-LatLon":
            east, north, _ = origin.to_enu(delta["lat"] * 1e-7, delta["lon"] * 1e-7, 0.0)
        else:
            east, north = east + delta["x"] / 100, north + delta["y"] / 100
        assert (mapped.east_m, mapped.north_m) == pytest.approx((east, north))


def test_the_ode_map_time_resolves_from_its_minute_of_the_year() -> None:
    frame = decode_frame(_udp_payload())
    v1 = frame_to_map(frame, REFERENCE)
    moy = frame["value"].get("timeStamp")
    if moy is None:
        assert not v1.HasField("time_unix_ms")
    else:
        assert abs(v1.time_unix_ms - REFERENCE) < 183 * 24 * 3_600_000
        assert (v1.time_unix_ms // 60_000) % 60 == moy % 60


def test_a_bsm_frame_is_not_a_map() -> None:
    with pytest.raises(ValidationError, match="not a MAP"):
        frame_to_map(decode_frame(captures.carma_hex("BSM_1")), REFERENCE)


def test_field_tools_give_the_v1_map_and_the_same_octets_back() -> None:
    result = decode_hex(_udp_payload(), reference_unix_ms=REFERENCE)
    assert (result["message"], result["v1_type"]) == ("MAP", "v2x.roadside.v1.MapData")
    (v1,) = result["v1"]
    expected = frame_to_map(decode_frame(_udp_payload()), REFERENCE)
    assert v1 == MessageToDict(expected, preserving_proto_field_name=True)
    assert encode_json(json.loads(json.dumps(result))) == _udp_payload()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(MapData))
def test_every_map_value_round_trips_and_maps_or_says_why(value: dict[str, Any]) -> None:
    frame = {"messageId": 18, "value": value}
    assert decode_frame(encode_frame(frame)) == frame
    reason = ""
    try:
        frame_to_map(frame, REFERENCE)
    except ValidationError as failure:
        reason = failure.reason
    assert reason in {"", "position_unavailable", "out_of_range"}


# --- v1 -> J2735 ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(_frames()))
def test_v1_map_encodes_back_to_a_j2735_map_with_the_same_v1_content(name: str) -> None:
    v1 = frame_to_map(decode_frame(_frames()[name]), REFERENCE)
    data = encode_map_frame(v1)
    again = frame_to_map(decode_frame(data), REFERENCE)
    assert again.revision == v1.revision
    assert again.HasField("time_unix_ms") == v1.HasField("time_unix_ms")
    assert again.time_unix_ms == v1.time_unix_ms
    for before, after in zip(v1.intersections, again.intersections, strict=True):
        assert (after.intersection_id, after.revision, after.lane_width_m) == (
            before.intersection_id,
            before.revision,
            before.lane_width_m,
        )
        assert after.reference_position == before.reference_position
        assert list(after.speed_limits) == list(before.speed_limits)
        for lane, lane_again in zip(before.lanes, after.lanes, strict=True):
            _assert_same_lane(lane, lane_again)


def _assert_same_lane(lane: Any, again: Any) -> None:
    plain = ("lane_id", "ingress_approach", "egress_approach", "direction", "lane_type", "allowed_maneuvers")
    assert [getattr(again, key) for key in plain] == [getattr(lane, key) for key in plain]
    assert list(again.connections) == list(lane.connections)
    assert again.HasField("width_m") == lane.HasField("width_m")
    assert again.width_m == pytest.approx(lane.width_m)
    assert len(again.nodes) == len(lane.nodes)
    for node, node_again in zip(lane.nodes, again.nodes, strict=True):
        assert [node_again.east_m, node_again.north_m] == pytest.approx([node.east_m, node.north_m], abs=0.006)
        assert node_again.HasField("up_m") == node.HasField("up_m")


def test_v1_lanes_j2735_cannot_carry_are_encode_errors() -> None:
    v1 = frame_to_map(decode_frame(captures.carma_hex("MAP_3")), REFERENCE)
    del v1.intersections[0].lanes[0].nodes[1:]
    with pytest.raises(EncodeError, match=r"needs 2\.\.63"):
        encode_map_frame(v1)
    v1 = frame_to_map(decode_frame(captures.carma_hex("MAP_3")), REFERENCE)
    v1.intersections[0].lanes[0].nodes[1].east_m = 400.0
    with pytest.raises(EncodeError, match=r"over 327\.67 m"):
        encode_map_frame(v1)

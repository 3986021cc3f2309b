"""PSM (32) and SDSM (41): golden tests on the jpo-ode captures, their v1 mapping, and round trips over their values.

Each message has one real frame, twice: in decoder-output-*.xml with its asn1_codec XER decode (the PSM's hex
carries 13 more octets after the frame), and as the raw UDP payload (the PSM's frame at byte 3, the SDSM's at 0).
"""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadlink.codec import DecodeError, decode_frame, encode_frame
from roadlink.codec.field_tools import decode_hex, encode_json
from roadlink.codec.j2735 import MessageFrame
from roadlink.codec.j2735_perception import frame_to_perception, resolve_date_time
from roadlink.codec.j2735_psm import PersonalSafetyMessage
from roadlink.codec.j2735_sdsm import SensorDataSharingMessage
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin
from roadlink.wire.convert import frame_to_proto
from tests.codec import captures
from tests.codec.strategies import values

REFERENCE = 1_732_665_201_120
"""2024-11-26T23:53:21.120Z, odeReceivedAt of the UDP captures."""

CAPTURES = {
    "psm": ("decoder-output-psm.xml", "PsmReceiverTest_ValidPSM.txt", 3),
    "sdsm": ("decoder-output-sdsm.xml", "SdsmReceiverTest_ValidSDSM.txt", 0),
}


def _xml_payload(name: str) -> bytes:
    root = ET.parse(captures.DATA / name).getroot()
    return bytes.fromhex("".join(root.findtext("metadata/asn1", "").split()))


def _udp_payload(name: str) -> bytes:
    return bytes.fromhex((captures.DATA / name).read_text().strip())


def _frame(kind: str) -> bytes:
    xml, _, _ = CAPTURES[kind]
    payload = _xml_payload(xml)
    _, used = MessageFrame.decode_prefix(payload)
    return payload[:used]


@pytest.mark.parametrize("kind", sorted(CAPTURES))
def test_capture_matches_the_asn1_codec_xer_and_re_encodes(kind: str) -> None:
    xml, _, _ = CAPTURES[kind]
    data = _frame(kind)
    frame = decode_frame(data)
    (reference,) = captures.xer_frames(xml)
    captures.assert_matches_xer(reference, frame)
    assert encode_frame(frame) == data


@pytest.mark.parametrize("kind", sorted(CAPTURES))
def test_udp_payload_holds_the_same_frame(kind: str) -> None:
    _, udp, offset = CAPTURES[kind]
    payload, data = _udp_payload(udp), _frame(kind)
    assert payload[offset : offset + len(data)] == data
    result = decode_hex(payload, reference_unix_ms=REFERENCE)
    assert (result["message"], result["offset"], result["length"]) == (kind.upper(), offset, len(data))
    assert result["v1_type"] == "v2x.roadside.v1.PerceptionFrame"
    expected = frame_to_proto(frame_to_perception(decode_frame(data), REFERENCE))
    assert result["v1"] == [MessageToDict(expected, preserving_proto_field_name=True)]
    assert encode_json(json.loads(json.dumps(result))) == data


def test_psm_sizes() -> None:
    assert (len(_frame("psm")), len(_frame("sdsm"))) == (29, 40)


@pytest.mark.parametrize("kind", sorted(CAPTURES))
def test_every_truncation_is_a_decode_error(kind: str) -> None:
    data = _frame(kind)
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            decode_frame(data[:end])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(CAPTURES)), position=st.integers(0, 100), flip=st.integers(1, 255))
def test_mutated_frames_raise_decode_error_or_re_encode_exactly(kind: str, position: int, flip: int) -> None:
    data = bytearray(_frame(kind))
    data[position % len(data)] ^= flip
    try:
        frame = decode_frame(bytes(data))
    except DecodeError:
        return
    assert encode_frame(frame) == bytes(data)
    with contextlib.suppress(ValidationError):
        frame_to_perception(frame, REFERENCE)


# --- v1 -----------------------------------------------------------------------------------------------------------


def test_psm_maps_to_a_one_pedestrian_perception_frame() -> None:
    perception = frame_to_perception(decode_frame(_frame("psm")), REFERENCE)
    assert (perception.source_id, perception.frame_sequence) == ("j2735-psm:24779d7e", 26)
    assert perception.time_unix_ms == REFERENCE - 21_120 + 3_564  # secMark 3564 in the reference's minute
    (obj,) = perception.objects
    assert (obj.object_id, obj.object_class) == (0x24779D7E, ObjectClass.PEDESTRIAN)
    assert (obj.position.latitude_deg, obj.position.longitude_deg) == (40.2397377, -74.2761437)
    assert obj.position.elevation_m is None
    assert obj.speed_mps == 0.0
    assert obj.heading_deg == pytest.approx(111.225)
    assert obj.position_covariance is not None
    assert obj.position_covariance.east_east == pytest.approx(1.0)  # semi-axes 20 x 0.05 m = 1 m
    assert perception.provenance.source_time_unix_ms == perception.time_unix_ms


def test_sdsm_maps_its_object_to_wgs84() -> None:
    perception = frame_to_perception(decode_frame(_frame("sdsm")), REFERENCE)
    assert (perception.source_id, perception.frame_sequence) == ("j2735-sdsm:010c0c0a", 10)
    assert perception.time_unix_ms == REFERENCE  # sDSMTimeStamp holds the year only
    assert perception.reference_position is not None
    assert (perception.reference_position.latitude_deg, perception.reference_position.longitude_deg) == (
        42.301007,
        -83.698766,
    )
    (obj,) = perception.objects
    assert (obj.object_id, obj.object_class, obj.class_confidence) == (8010, ObjectClass.PEDESTRIAN, 0.98)
    east, north, _ = LocalOrigin(42.301007, -83.698766).to_enu(obj.position.latitude_deg, obj.position.longitude_deg, 0)
    assert [east, north] == pytest.approx([0.1, 0.1], abs=1e-6)  # offsets 1 x 0.1 m
    assert (obj.speed_mps, obj.heading_deg, obj.measurement_time_unix_ms) == (0.02, 0.0, REFERENCE + 1)
    assert obj.position_covariance is not None
    assert obj.position_covariance.east_east == pytest.approx(0.04)  # a20cm


def test_full_ddatetime_is_absolute_and_partial_ones_use_the_reference() -> None:
    full = {"year": 2024, "month": 11, "day": 26, "hour": 23, "minute": 53, "second": 21_120, "offset": 60}
    assert resolve_date_time(full, 0) == REFERENCE - 3_600_000
    assert resolve_date_time({"second": 21_120}, REFERENCE + 10_000) == REFERENCE
    assert resolve_date_time({"year": 2024}, REFERENCE) == REFERENCE
    with pytest.raises(ValidationError, match="not a time"):
        resolve_date_time({**full, "month": 0}, 0)


def test_sdsm_object_classes_and_sizes_from_the_optional_data() -> None:
    frame = decode_frame(_frame("sdsm"))
    obj = frame["value"]["objects"][0]
    obstacle = {
        "obstSize": {"width": 20, "length": 35, "height": 10},
        "obstSizeConfidence": {"widthConfidence": "unavailable", "lengthConfidence": "unavailable"},
    }
    cyclist = {"basicType": "aPEDALCYCLIST"}
    vehicle = {"size": {"width": 180, "length": 450}, "height": 30}
    for data, cls in ((("detObst", obstacle), ObjectClass.OBSTACLE), (("detVRU", cyclist), ObjectClass.BICYCLE)):
        frame["value"]["objects"] = [{**obj, "detObjOptData": data}]
        assert decode_frame(encode_frame(frame)) == frame
        (mapped,) = frame_to_perception(frame, REFERENCE).objects
        assert mapped.object_class == cls
    frame["value"]["objects"] = [{**obj, "detObjOptData": ("detObst", obstacle)}]
    (mapped,) = frame_to_perception(frame, REFERENCE).objects
    assert mapped.size is not None
    assert (mapped.size.length_m, mapped.size.width_m, mapped.size.height_m) == (3.5, 2.0, 1.0)
    frame["value"]["objects"] = [
        {**obj, "detObjCommon": {**obj["detObjCommon"], "objType": "vehicle"}, "detObjOptData": ("detVeh", vehicle)}
    ]
    (mapped,) = frame_to_perception(decode_frame(encode_frame(frame)), REFERENCE).objects
    assert mapped.object_class == ObjectClass.VEHICLE
    assert mapped.size is not None
    assert [mapped.size.length_m, mapped.size.width_m, mapped.size.height_m] == pytest.approx([4.5, 1.8, 1.5])


def test_other_frames_are_not_perception() -> None:
    with pytest.raises(ValidationError, match="not an SDSM or a PSM"):
        frame_to_perception(decode_frame(captures.carma_hex("BSM_1")), REFERENCE)


# --- the whole value space --------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(PersonalSafetyMessage))
def test_every_psm_value_round_trips(psm: dict[str, Any]) -> None:
    frame = {"messageId": 32, "value": psm}
    assert decode_frame(encode_frame(frame)) == frame
    with contextlib.suppress(ValidationError):
        frame_to_perception(frame, REFERENCE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(SensorDataSharingMessage))
def test_every_sdsm_value_round_trips(sdsm: dict[str, Any]) -> None:
    frame = {"messageId": 41, "value": sdsm}
    assert decode_frame(encode_frame(frame)) == frame
    with contextlib.suppress(ValidationError):
        frame_to_proto(frame_to_perception(frame, REFERENCE))

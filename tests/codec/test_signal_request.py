"""SRM (29) and SSM (30): golden tests on the jpo-ode captures and round trips over their whole value space.

Each message has one real frame, twice: in decoder-output-*.xml with its asn1_codec XER decode (one trailing zero
octet after the frame) and as the raw UDP payload.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadlink.codec import DecodeError, decode_frame, encode_frame
from roadlink.codec.field_tools import decode_hex, encode_json
from roadlink.codec.j2735 import MessageFrame
from roadlink.codec.j2735_signal_request import SignalRequestMessage, SignalStatusMessage
from tests.codec import captures
from tests.codec.strategies import values

REFERENCE = 1_732_665_201_120

CAPTURES = {
    "srm": ("decoder-output-srm.xml", "SrmReceiverTest_ValidData.txt"),
    "ssm": ("decoder-output-ssm.xml", "SsmReceiverTest_ValidSSM.txt"),
}


def _xml_payload(kind: str) -> bytes:
    root = ET.parse(captures.DATA / CAPTURES[kind][0]).getroot()
    return bytes.fromhex("".join(root.findtext("metadata/asn1", "").split()))


def _frame(kind: str) -> bytes:
    payload = _xml_payload(kind)
    _, used = MessageFrame.decode_prefix(payload)
    return payload[:used]


@pytest.mark.parametrize("kind", sorted(CAPTURES))
def test_capture_matches_the_asn1_codec_xer_and_re_encodes(kind: str) -> None:
    payload, data = _xml_payload(kind), _frame(kind)
    assert payload[len(data) :] == b"\0"
    frame = decode_frame(data)
    (reference,) = captures.xer_frames(CAPTURES[kind][0])
    captures.assert_matches_xer(reference, frame)
    assert encode_frame(frame) == data


def test_srm_and_ssm_fields() -> None:
    srm = decode_frame(_frame("srm"))["value"]
    (package,) = srm["requests"]
    assert package["request"]["inBoundLane"] == ("lane", 13)
    assert srm["requestor"]["id"] == ("stationID", 2366845094)
    assert srm["requestor"]["position"]["position"] == {"lat": 395904915, "long": -1050913829, "elevation": 16854}
    ssm = decode_frame(_frame("ssm"))["value"]
    (status,) = ssm["status"]
    assert (status["id"], status["sigStatus"][0]["status"]) == ({"id": 12110}, "granted")


@pytest.mark.parametrize("kind", sorted(CAPTURES))
def test_udp_payload_holds_the_same_frame_and_round_trips_through_the_field_tools(kind: str) -> None:
    text = (captures.DATA / CAPTURES[kind][1]).read_text()
    result = decode_hex(text, reference_unix_ms=REFERENCE)
    assert (result["message"], result["offset"], result["v1"]) == (kind.upper(), 0, [])
    assert bytes.fromhex(result["frame_hex"]) == _frame(kind)
    assert encode_json(json.loads(json.dumps(result))) == _frame(kind)


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


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(SignalRequestMessage))
def test_every_srm_value_round_trips(srm: dict[str, Any]) -> None:
    frame = {"messageId": 29, "value": srm}
    assert decode_frame(encode_frame(frame)) == frame


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(SignalStatusMessage))
def test_every_ssm_value_round_trips(ssm: dict[str, Any]) -> None:
    frame = {"messageId": 30, "value": ssm}
    assert decode_frame(encode_frame(frame)) == frame

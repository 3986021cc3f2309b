"""Field tools: captured payloads -> JSON (raw JER + v1) -> the same frame octets, on every real capture."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadlink.codec import DecodeError, EncodeError, Raw, decode_frame, encode_frame, split_frames
from roadlink.codec.field_tools import decode_hex, encode_json, from_jer, parse_payload, to_jer
from roadlink.codec.j2735 import BasicSafetyMessage, MessageFrame, VehicleSafetyExtensions
from roadlink.codec.j2735_mapping import frame_to_vehicle_state
from roadlink.codec.j2735_spat import decode_spat_frame, spat_to_signals
from roadlink.wire.convert import signal_to_proto, vehicle_state_to_proto
from tests.codec import captures
from tests.codec.strategies import values

REFERENCE = 1_732_665_201_120
"""2024-11-26T23:53:21.120Z, odeReceivedAt of the UDP captures."""


def _json_trip(doc: dict[str, Any]) -> Any:
    """What a CLI user hands back: the printed JSON, parsed again."""
    return json.loads(json.dumps(doc))


def _udp(name: str) -> str:
    return (captures.DATA / name).read_text()


def _assert_round_trip(payload: str | bytes, frame: bytes, **kwargs: Any) -> dict[str, Any]:
    result = decode_hex(payload, reference_unix_ms=REFERENCE, **kwargs)
    assert bytes.fromhex(result["frame_hex"]) == frame
    assert encode_json(_json_trip(result)) == frame
    assert encode_json(_json_trip(result["raw"])) == frame
    return result


# --- BSM -------------------------------------------------------------------------------------------------------------


def test_udp_bsm_frame_is_found_behind_its_header_and_1609_wrapper() -> None:
    text = _udp("BsmReceiverTest_ValidBSM.txt")
    expected = json.loads(_udp("BsmReceiverTest_ValidBSM_expected.json"))["metadata"]["asn1"]
    frame = bytes.fromhex(expected)

    result = _assert_round_trip(text, frame)

    assert (result["message"], result["message_id"], result["offset"], result["length"]) == ("BSM", 20, 30, 188)
    assert result["header_hex"].endswith("038081bc")
    assert result["trailing_hex"] == ""
    assert result["v1_type"] == "v2x.vehicle.v1.VehicleState"
    state = frame_to_vehicle_state(decode_frame(frame), REFERENCE)
    assert result["v1"] == [MessageToDict(vehicle_state_to_proto(state), preserving_proto_field_name=True)]
    (v1,) = result["v1"]
    assert v1["position"]["latitude_deg"] == pytest.approx(40.5659938)
    core = result["raw"]["value"]["coreData"]
    assert (core["msgCnt"], core["id"], core["secMark"], core["lat"]) == (37, "31325433", 25399, 405659938)
    assert core["brakes"]["wheelBrakes"] == "80"  # a fixed-size BIT STRING (5 bits) is hex in JER
    assert "v1_error" not in result


@pytest.mark.parametrize("name", ["BSM_1", "BSM_2"])
def test_carma_bsms_round_trip_from_hex(name: str) -> None:
    data = captures.carma_hex(name)
    spaced = " ".join(re.findall("..", data.hex().upper()))  # as pasted from a capture tool
    result = _assert_round_trip(spaced + "\n", data)
    assert result["offset"] == 0


def test_every_asn1_codec_bsm_round_trips() -> None:
    stream = captures.read("j2735.MessageFrame.128.bsms.uper")
    frames = split_frames(stream)
    ends = [offset for offset, _ in frames[1:]] + [len(stream)]
    for (offset, _), end in zip(frames, ends, strict=True):
        _assert_round_trip(stream[offset:end], stream[offset:end])
    _assert_round_trip(captures.read("j2735.MessageFrame.Bsm.uper"), captures.read("j2735.MessageFrame.Bsm.uper"))


def test_every_log_record_is_found_in_its_record_and_round_trips() -> None:
    """Each raw record: 26-byte log header + 1609.2 wrapper + frame; the frame is found after the wrapper."""
    data = captures.read("bsmLogDuringEvent.bin")
    records = captures.log_records()
    assert len(records) == 222
    for record in records:
        start = record.offset - 4 - captures.LOG_RECORD_HEADER
        result = _assert_round_trip(data[start : record.offset + len(record.frame)], record.frame)
        assert result["offset"] == 30
        assert result["v1"]  # every logged BSM maps


def test_decoder_output_bsm_round_trips() -> None:
    text = (captures.DATA / "decoder-output-bsm.xml").read_text()
    match = re.search(r"<asn1>\s*([0-9A-Fa-f]+)\s*</asn1>", text)
    assert match
    data = bytes.fromhex(match.group(1))
    _, used = MessageFrame.decode_prefix(data)
    _assert_round_trip(match.group(1), data[:used])


def test_an_unmappable_bsm_still_decodes_with_the_reason() -> None:
    frame = decode_frame(captures.carma_hex("BSM_1"))
    frame["value"]["coreData"]["lat"] = 900_000_001  # unavailable
    data = encode_frame(frame)

    result = _assert_round_trip(data.hex(), data)

    assert result["v1"] == []
    assert "position_unavailable" in result["v1_error"]


# --- SPaT ------------------------------------------------------------------------------------------------------------


def test_udp_spat_decodes_to_jer_and_one_v1_message_per_intersection() -> None:
    text = _udp("SpatReceiverTest_ValidSPAT.txt")
    frame = bytes.fromhex(text.strip())

    result = _assert_round_trip(text, frame)

    assert (result["message"], result["message_id"], result["offset"], result["length"]) == ("SPaT", 19, 0, 59)
    assert result["v1_type"] == "v2x.roadside.v1.SignalPhaseAndTiming"
    signals = spat_to_signals(decode_spat_frame(frame)["value"], REFERENCE)
    expected = [MessageToDict(signal_to_proto(s), preserving_proto_field_name=True) for s in signals]
    assert result["v1"] == expected
    (state,) = result["raw"]["value"]["intersections"]
    assert (state["id"], state["status"], state["timeStamp"]) == ({"id": 12111}, "0000", 35176)


def test_decoder_output_spat_reports_its_trailing_octet() -> None:
    text = (captures.DATA / "decoder-output-spat.xml").read_text()
    match = re.search(r"<asn1>\s*([0-9A-Fa-f]+)\s*</asn1>", text)
    assert match
    result = _assert_round_trip(match.group(1), bytes.fromhex(match.group(1))[:59])
    assert (result["offset"], result["trailing_hex"]) == (0, "00")


@pytest.mark.parametrize("name", ["SPaT_1", "SPaT_2"])
def test_carma_spats_round_trip_from_raw_bytes(name: str) -> None:
    data = captures.carma_hex(name)
    result = _assert_round_trip(b"\x01\x02" + data, data)  # raw bytes, with junk ahead of the frame
    assert (result["offset"], result["header_hex"]) == (2, "0102")
    assert len(result["v1"]) == 1


# --- other messages, input forms, errors -----------------------------------------------------------------------------


def test_other_messages_decode_at_an_explicit_offset_and_keep_their_value_as_hex() -> None:
    rsa = encode_frame({"messageId": 27, "value": Raw(b"\x12\x34\x56")})  # RoadSideAlert: not described
    result = _assert_round_trip(b"\xff" + rsa, rsa, offset=1)
    assert (result["message"], result["message_id"], result["v1_type"], result["v1"]) == ("other", 27, "", [])
    assert result["raw"] == {"messageId": 27, "value": "123456"}
    with pytest.raises(DecodeError, match="no supported MessageFrame"):
        decode_hex(rsa, reference_unix_ms=REFERENCE)


def test_payload_forms() -> None:
    data = captures.carma_hex("SPaT_1")
    assert parse_payload("0x" + data.hex()) == data
    assert parse_payload(data.hex().encode() + b"\r\n") == data  # a hex text file read as bytes
    assert parse_payload(data) == data
    assert parse_payload(b"\x0a\x0b") == b"\x0a\x0b"  # whitespace bytes, but not hex text
    with pytest.raises(DecodeError, match="not a hex payload"):
        parse_payload("00 1g")
    with pytest.raises(DecodeError, match="not a hex payload"):
        parse_payload("001")


def test_nothing_decodable_is_a_decode_error() -> None:
    for payload in ("", "ff" * 20, captures.carma_hex("SPaT_2")[:40].hex()):
        with pytest.raises(DecodeError):
            decode_hex(payload, reference_unix_ms=REFERENCE)


def test_encode_json_rejects_bad_documents_with_encode_error() -> None:
    good = decode_hex(captures.carma_hex("BSM_1"), reference_unix_ms=REFERENCE)["raw"]
    core = good["value"]["coreData"]
    bad: list[Any] = [
        {},
        {"messageId": "20", "value": {}},
        {"messageId": 20, "value": {"coreData": {**core, "speed": "fast"}}},
        {"messageId": 20, "value": {"coreData": {**core, "colour": 1}}},
        {"messageId": 20, "value": {"coreData": {**core, "id": "zz"}}},
        {"messageId": 20, "value": {"coreData": {**core, "brakes": {**core["brakes"], "wheelBrakes": "ff"}}}},
        {"messageId": 20, "value": {"coreData": {**core, "brakes": {**core["brakes"], "wheelBrakes": 3}}}},
        {"messageId": 20, "value": {"coreData": {k: v for k, v in core.items() if k != "lat"}}},
        {"messageId": 19, "value": {"intersections": "x"}},
        {"messageId": 31, "value": 5},
        {"messageId": 20, "value": {**good["value"], "_extensions": {"count": 1}}},
    ]
    for doc in bad:
        with pytest.raises(EncodeError):
            encode_json(doc)


def test_jer_of_bit_strings_and_unknown_extensions() -> None:
    safety = {"events": (0b1000000000001, 13), "lights": (0b100000000, 9)}
    jer = to_jer(VehicleSafetyExtensions, safety)
    # SIZE(13, ...) and SIZE(9, ...) are extensible, so not fixed: the object form, bits left-aligned in hex.
    assert jer == {"events": {"value": "8008", "length": 13}, "lights": {"value": "8000", "length": 9}}
    assert from_jer(VehicleSafetyExtensions, jer, "x") == safety

    frame = decode_frame(captures.read("j2735.MessageFrame.Bsm.uper"))
    value = {**frame["value"], "_extensions": (2, ((1, Raw(b"\x07")),))}
    jer = to_jer(BasicSafetyMessage, value)
    assert jer["_extensions"] == {"count": 2, "additions": [{"index": 1, "hex": "07"}]}
    assert from_jer(BasicSafetyMessage, _json_trip(jer), "BSM") == value


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(BasicSafetyMessage))
def test_jer_round_trips_every_bsm_value(bsm: dict[str, Any]) -> None:
    assert from_jer(BasicSafetyMessage, _json_trip(to_jer(BasicSafetyMessage, bsm)), "BSM") == bsm


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=values(MessageFrame), header=st.binary(max_size=6))
def test_any_frame_round_trips_through_the_field_tools(frame: dict[str, Any], header: bytes) -> None:
    # The strategy pairs each described messageId (MAP, SPaT, BSM) with a value of its type and any other id
    # with raw octets, so every frame it draws is encodable and decodes to itself.
    data = encode_frame(frame)
    _assert_round_trip(header + data, data, offset=len(header))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_random_payloads_raise_only_decode_error(blob: bytes) -> None:
    try:
        result = decode_hex(blob, reference_unix_ms=REFERENCE)
    except DecodeError:
        return
    assert encode_json(_json_trip(result)) == bytes.fromhex(result["frame_hex"])

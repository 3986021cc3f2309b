"""Tests for gateway.adapters.bsm_json: J2735 scaling against the real jpo-ode log, unavailable codes, secMark.

The log (tests/data/gateway/SOURCES.md) holds 222 BSMs twice: as UPER in bsmLogDuringEvent.bin and as ODE JSON
already scaled to SI units. The decoder path decodes the .bin with roadlink.codec.j2735, relays the raw integers
as this format's JSON and compares the adapter's SI values with the ODE's, message by message. The inversion
path needs no decoder: it turns the ODE's SI values back into integers (round(value / LSB)).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.adapters.base import MessageContext
from gateway.adapters.bsm_json import (
    MAX_PAYLOAD_BYTES,
    STANDARD_GRAVITY_MPS2,
    normalize_bsm_json,
    resolve_sec_mark,
)
from gateway.adapters.canonical import as_domain
from gateway.adapters.registry import ADAPTERS
from roadlink.codec.j2735 import MessageFrame
from roadlink.codec.j2735_mapping import bsm_to_vehicle_state
from roadlink.domain.errors import ValidationError
from roadlink.domain.perception import Provenance
from roadlink.domain.spatial import Dimensions, Position, PositionAccuracy
from roadlink.domain.vehicle import TransmissionState, VehicleState
from roadlink.wire.convert import vehicle_state_to_proto

DATA = Path(__file__).parent.parent / "data" / "gateway"
SAMPLE = (DATA / "bsm_json.json").read_bytes()
ODE_JSON = DATA / "bsmLogDuringEvent.json"
ODE_BIN = DATA / "bsmLogDuringEvent.bin"
RECORD_BYTES = 218  # one ODE log record: a 30-octet header, then one 188-octet MessageFrame
FRAME_OFFSET = 30
FRAME_BYTES = 188
LOG_MESSAGES = 222
RECEIVED = 1_525_190_663_694  # 2018-05-01T16:04:23.694Z, when the log's first record was generated
TRANSMISSION_CODES = ["neutral", "park", "forwardGears", "reverseGears", "reserved1", "reserved2", "reserved3"]


def _context(receive_time_unix_ms: int = RECEIVED) -> MessageContext:
    return MessageContext("rsu/rsu-3/bsm/v2x0", "rsu-3", "v2x0", receive_time_unix_ms)


CONTEXT = _context()


def _core(**changes: Any) -> dict[str, Any]:
    core: dict[str, Any] = json.loads(SAMPLE)["coreData"]
    core.update(changes)
    return core


def _payload(core: dict[str, Any]) -> bytes:
    return json.dumps({"coreData": core}).encode()


def _state(payload: bytes, receive_time_unix_ms: int = RECEIVED) -> VehicleState:
    states = normalize_bsm_json(payload, _context(receive_time_unix_ms))
    assert len(states) == 1
    state = as_domain(states[0])
    assert isinstance(state, VehicleState)
    return state


def _error(payload: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        normalize_bsm_json(payload, _context())
    return info.value


# --- the jpo-ode log ------------------------------------------------------------------------------------


def _ode_messages() -> list[dict[str, Any]]:
    """The ODE JSON objects of the log (concatenated, one per line)."""
    text = ODE_JSON.read_text(encoding="utf-8")
    decoder, index, messages = json.JSONDecoder(), 0, []
    while (index := _skip_space(text, index)) < len(text):
        message, index = decoder.raw_decode(text, index)
        messages.append(message)
    return messages


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


ODE = _ode_messages()


def _ode_key(core: dict[str, Any]) -> tuple[str, int, int]:
    return core["id"].upper(), core["msgCnt"], core["secMark"]


def _received_ms(message: dict[str, Any]) -> int:
    stamp = message["metadata"]["recordGeneratedAt"].replace("Z", "+00:00")
    return round(datetime.fromisoformat(stamp).timestamp() * 1000)


ODE_BY_KEY = {_ode_key(m["payload"]["data"]["coreData"]): m for m in ODE}


def _decoded_cores() -> list[dict[str, Any]]:
    """BSMcoreData of every MessageFrame in the .bin, decoded by roadlink.codec.j2735 (raw J2735 integers)."""
    data = ODE_BIN.read_bytes()
    assert len(data) == LOG_MESSAGES * RECORD_BYTES
    cores = []
    for start in range(0, len(data), RECORD_BYTES):
        frame, used = MessageFrame.decode_prefix(data[: start + RECORD_BYTES], start + FRAME_OFFSET)
        assert (frame["messageId"], used) == (20, FRAME_BYTES)
        cores.append(frame["value"]["coreData"])
    return cores


def _relay_json(core: dict[str, Any]) -> bytes:
    """The relay payload an RSU would publish for a decoded BSMcoreData."""
    relayed = {key: value for key, value in core.items() if key != "brakes"}
    relayed["id"] = core["id"].hex().upper()
    relayed["transmission"] = [*TRANSMISSION_CODES, "unavailable"].index(core["transmission"])
    return json.dumps({"coreData": relayed}).encode()


def _assert_matches_ode(state: VehicleState, ode_core: dict[str, Any]) -> None:
    """Every SI value the ODE prints equals the adapter's, to the last bit (both are value / LSB, rounded once)."""
    position, accel = ode_core["position"], ode_core["accelSet"]
    assert state.temporary_id.hex().upper() == ode_core["id"].upper()
    assert state.message_count == ode_core["msgCnt"]
    assert state.time_unix_ms % 60_000 == ode_core["secMark"]
    assert state.position == Position(position["latitude"], position["longitude"], position["elevation"])
    assert (state.speed_mps, state.heading_deg) == (ode_core["speed"], ode_core["heading"])
    assert state.longitudinal_acceleration_mps2 == accel["accelLong"]
    assert state.lateral_acceleration_mps2 == accel["accelLat"]
    assert state.vertical_acceleration_mps2 == accel["accelVert"]
    assert state.yaw_rate_deg_per_s == accel["accelYaw"]
    accuracy = ode_core["accuracy"]
    assert state.accuracy == PositionAccuracy(accuracy["semiMajor"], accuracy["semiMinor"], None)
    assert state.size == Dimensions(ode_core["size"]["length"] / 100, ode_core["size"]["width"] / 100)
    assert state.steering_wheel_angle_deg is None


def test_ode_log_has_222_distinct_messages() -> None:
    assert len(ODE) == LOG_MESSAGES
    assert len(ODE_BY_KEY) == LOG_MESSAGES


def test_decoded_log_relayed_as_json_matches_the_ode_si_values() -> None:
    matched = 0
    for core in _decoded_cores():
        ode = ODE_BY_KEY[_ode_key({**core, "id": core["id"].hex()})]
        received = _received_ms(ode)
        state = _state(_relay_json(core), received)
        _assert_matches_ode(state, ode["payload"]["data"]["coreData"])
        assert abs(state.time_unix_ms - received) < 1_000
        # The ODE JSON says "NEUTRAL" for every message, but the frames encode 7 (unavailable), as the
        # asn1_codec reference decode of the jpo-ode sample BSM also shows: we follow the bits.
        assert core["transmission"] == "unavailable"
        assert state.transmission is TransmissionState.UNSPECIFIED
        matched += 1
    assert matched == LOG_MESSAGES


def test_relay_maps_exactly_as_the_uper_decoder_path() -> None:
    """The adapter builds the v1 message itself; it must equal the codec's domain mapping converted by wire."""
    for core in _decoded_cores():
        received = _received_ms(ODE_BY_KEY[_ode_key({**core, "id": core["id"].hex()})])
        context = _context(received)
        expected = bsm_to_vehicle_state({"coreData": core}, received)
        provenance = Provenance("rsu-3", expected.time_unix_ms, received, sensor_ids=("v2x0",), topic=context.topic)
        [state] = normalize_bsm_json(_relay_json(core), context)
        assert state == vehicle_state_to_proto(dataclasses.replace(expected, provenance=provenance))


def _inverted_core(ode_core: dict[str, Any]) -> dict[str, Any]:
    """J2735 integers from the ODE's SI values: round(value / LSB)."""
    position, accel, accuracy = ode_core["position"], ode_core["accelSet"], ode_core["accuracy"]
    return {
        "msgCnt": ode_core["msgCnt"],
        "id": ode_core["id"],
        "secMark": ode_core["secMark"],
        "lat": round(position["latitude"] * 1e7),
        "long": round(position["longitude"] * 1e7),
        "elev": round(position["elevation"] / 0.1),
        "accuracy": {
            "semiMajor": round(accuracy["semiMajor"] / 0.05),
            "semiMinor": round(accuracy["semiMinor"] / 0.05),
            "orientation": 65535,
        },
        "transmission": TRANSMISSION_CODES.index(ode_core["transmission"].lower()),
        "speed": round(ode_core["speed"] / 0.02),
        "heading": round(ode_core["heading"] / 0.0125),
        "angle": 127,
        "accelSet": {
            "long": round(accel["accelLong"] / 0.01),
            "lat": round(accel["accelLat"] / 0.01),
            "vert": round(accel["accelVert"] / (0.02 * 9.80665)),
            "yaw": round(accel["accelYaw"] / 0.01),
        },
        "size": ode_core["size"],
    }


def test_inverted_ode_integers_reproduce_the_si_values_within_half_an_lsb() -> None:
    for message in ODE:
        ode_core = message["payload"]["data"]["coreData"]
        state = _state(_payload(_inverted_core(ode_core)), _received_ms(message))
        position = ode_core["position"]
        assert state.position.latitude_deg == pytest.approx(position["latitude"], abs=0.5e-7)
        assert state.position.longitude_deg == pytest.approx(position["longitude"], abs=0.5e-7)
        assert state.position.elevation_m == pytest.approx(position["elevation"], abs=0.05)
        assert state.speed_mps == pytest.approx(ode_core["speed"], abs=0.01)
        assert state.heading_deg == pytest.approx(ode_core["heading"], abs=0.00625)
        assert state.longitudinal_acceleration_mps2 == pytest.approx(ode_core["accelSet"]["accelLong"], abs=0.005)
        assert state.transmission is TransmissionState.NEUTRAL
        _assert_matches_ode(state, ode_core)


def test_sample_maps_every_field() -> None:
    state = _state(SAMPLE)
    assert state.temporary_id == bytes.fromhex("31325431")
    assert (state.message_count, state.time_unix_ms) == (95, RECEIVED + 100)
    assert state.position == Position(40.5657318, -105.0318485, 1472.8)
    assert state.accuracy == PositionAccuracy(12.7, 12.4, None)
    assert (state.speed_mps, state.heading_deg, state.steering_wheel_angle_deg) == (0.1, 250.9125, None)
    assert (state.longitudinal_acceleration_mps2, state.lateral_acceleration_mps2) == (0.52, 0.0)
    assert (state.vertical_acceleration_mps2, state.yaw_rate_deg_per_s) == (0.0, 0.0)
    assert state.transmission is TransmissionState.UNSPECIFIED
    assert state.size == Dimensions(5.7, 1.9)
    provenance = state.provenance
    assert provenance is not None
    assert (provenance.source_id, provenance.sensor_ids, provenance.topic) == ("rsu-3", ("v2x0",), "rsu/rsu-3/bsm/v2x0")
    assert provenance.source_time_unix_ms == RECEIVED + 100
    assert provenance.gateway_receive_time_unix_ms == RECEIVED


# --- scaling and unavailable codes ----------------------------------------------------------------------


def test_every_unavailable_code_becomes_none() -> None:
    core = _core(
        secMark=65535,
        elev=-4096,
        speed=8191,
        heading=28800,
        angle=127,
        transmission=7,
        accuracy={"semiMajor": 255, "semiMinor": 20, "orientation": 65535},
        accelSet={"long": 2001, "lat": 2001, "vert": -127, "yaw": 0},
        size={"width": 0, "length": 0},
    )
    state = _state(_payload(core))
    assert state.time_unix_ms == RECEIVED
    assert state.position.elevation_m is None
    assert (state.speed_mps, state.heading_deg, state.steering_wheel_angle_deg) == (None, None, None)
    assert state.longitudinal_acceleration_mps2 is None
    assert state.lateral_acceleration_mps2 is None
    assert state.vertical_acceleration_mps2 is None
    assert (state.accuracy, state.size) == (None, None)
    assert state.transmission is TransmissionState.UNSPECIFIED


@pytest.mark.parametrize(
    ("changes", "attribute", "expected"),
    [
        ({"lat": -900_000_000}, "position", Position(-90.0, -105.0318485, 1472.8)),
        ({"long": 1_800_000_000, "elev": 61439}, "position", Position(40.5657318, 180.0, 6143.9)),
        ({"speed": 8190}, "speed_mps", 163.8),
        ({"heading": 28799}, "heading_deg", 359.9875),
        ({"angle": -126}, "steering_wheel_angle_deg", -189.0),
        ({"angle": 126}, "steering_wheel_angle_deg", 189.0),
        ({"accelSet": {"long": -2000, "lat": 2000, "vert": 0, "yaw": 0}}, "longitudinal_acceleration_mps2", -20.0),
        ({"accelSet": {"long": 0, "lat": -150, "vert": 0, "yaw": 0}}, "lateral_acceleration_mps2", -1.5),
        (
            {"accelSet": {"long": 0, "lat": 0, "vert": 50, "yaw": 0}},
            "vertical_acceleration_mps2",
            STANDARD_GRAVITY_MPS2,
        ),
        ({"accelSet": {"long": 0, "lat": 0, "vert": 0, "yaw": -32767}}, "yaw_rate_deg_per_s", -327.67),
        ({"accuracy": {"semiMajor": 20, "semiMinor": 255, "orientation": 0}}, "accuracy", None),
        (
            {"accuracy": {"semiMajor": 20, "semiMinor": 10, "orientation": 16384}},
            "accuracy",
            PositionAccuracy(1.0, 0.5, 16384 * 360 / 65535),
        ),
        ({"size": {"width": 250, "length": 0}}, "size", None),
        ({"size": {"width": 1023, "length": 4095}}, "size", Dimensions(40.95, 10.23)),
    ],
)
def test_scaling_at_the_range_limits(changes: dict[str, Any], attribute: str, expected: object) -> None:
    assert getattr(_state(_payload(_core(**changes))), attribute) == expected


@pytest.mark.parametrize(
    ("code", "transmission"),
    [
        (0, TransmissionState.NEUTRAL),
        (1, TransmissionState.PARK),
        (2, TransmissionState.FORWARD_GEARS),
        (3, TransmissionState.REVERSE_GEARS),
        (4, TransmissionState.UNSPECIFIED),
        (6, TransmissionState.UNSPECIFIED),
        (7, TransmissionState.UNSPECIFIED),
    ],
)
def test_transmission_codes(code: int, transmission: TransmissionState) -> None:
    assert _state(_payload(_core(transmission=code))).transmission is transmission


@pytest.mark.parametrize(("name", "code"), [("lat", 900_000_001), ("long", 1_800_000_001)])
def test_unavailable_position_is_rejected(name: str, code: int) -> None:
    error = _error(_payload(_core(**{name: code})))
    assert (error.reason, error.field) == ("position_unavailable", f"coreData.{name}")


# --- secMark --------------------------------------------------------------------------------------------

MINUTE = 1_525_190_640_000  # 2018-05-01T16:04:00Z


@pytest.mark.parametrize(
    ("receive_offset_ms", "sec_mark", "expected_offset_ms"),
    [
        (23_694, 23_794, 23_794),
        (23_694, 23_594, 23_594),
        (59_900, 100, 60_100),  # received at :59.9, sent at :00.1 of the next minute (sender clock ahead)
        (200, 59_950, -50),  # received at :00.2, sent at :59.95 of the previous minute
        (59_990, 60_500, 59_999),  # leap second -> the minute's last millisecond
        (10, 60_999, -1),
        (29_999, 59_999, -1),
        (30_000, 0, 0),  # a tie resolves to the past
        (12_345, 65_535, 12_345),  # unavailable -> the receive time
    ],
)
def test_sec_mark_resolves_to_the_minute_closest_to_the_receive_time(
    receive_offset_ms: int, sec_mark: int, expected_offset_ms: int
) -> None:
    assert resolve_sec_mark(sec_mark, MINUTE + receive_offset_ms) == MINUTE + expected_offset_ms
    state = _state(_payload(_core(secMark=sec_mark)), MINUTE + receive_offset_ms)
    assert state.time_unix_ms == MINUTE + expected_offset_ms


@settings(max_examples=200, deadline=None)
@given(st.integers(60_000, 2**43), st.integers(0, 59_999))
def test_sec_mark_keeps_its_millisecond_within_half_a_minute(receive_ms: int, sec_mark: int) -> None:
    resolved = resolve_sec_mark(sec_mark, receive_ms)
    assert resolved % 60_000 == sec_mark
    assert -30_000 <= resolved - receive_ms < 30_000


@pytest.mark.parametrize("sec_mark", [61_000, 65_534])
def test_undefined_sec_marks_are_out_of_range(sec_mark: int) -> None:
    error = _error(_payload(_core(secMark=sec_mark)))
    assert (error.reason, error.field) == ("out_of_range", "coreData.secMark")


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"id": "3132543"}, "wrong_shape", "coreData.id"),
        ({"id": "3132543G"}, "wrong_shape", "coreData.id"),
        ({"id": 31325431}, "wrong_shape", "coreData.id"),
        ({"msgCnt": 128}, "out_of_range", "coreData.msgCnt"),
        ({"lat": 900_000_002}, "out_of_range", "coreData.lat"),
        ({"long": -1_800_000_000}, "out_of_range", "coreData.long"),
        ({"elev": -4097}, "out_of_range", "coreData.elev"),
        ({"speed": 8192}, "out_of_range", "coreData.speed"),
        ({"speed": 5.0}, "wrong_shape", "coreData.speed"),
        ({"heading": 28801}, "out_of_range", "coreData.heading"),
        ({"angle": -127}, "out_of_range", "coreData.angle"),
        ({"transmission": "neutral"}, "wrong_shape", "coreData.transmission"),
        ({"accelSet": {"long": 0, "lat": 0, "vert": 0}}, "wrong_shape", "coreData.accelSet.yaw"),
        ({"size": {"width": 1024, "length": 500}}, "out_of_range", "coreData.size.width"),
    ],
)
def test_bad_core_data_is_rejected_naming_the_field(changes: dict[str, Any], reason: str, field: str) -> None:
    error = _error(_payload(_core(**changes)))
    assert (error.reason, error.field) == (reason, field)


def test_missing_core_data_and_limits() -> None:
    core = _core()
    del core["heading"]
    assert _error(_payload(core)).field == "coreData.heading"
    assert _error(b'{"value": {}}').field == "coreData"
    assert _error(b"{" + b" " * MAX_PAYLOAD_BYTES + b"}").reason == "too_large"
    assert _error(b"\xff").reason == "not_json"


def test_registry_entry_normalizes() -> None:
    assert ADAPTERS["bsm_json"]({})(SAMPLE, _context()) == normalize_bsm_json(SAMPLE, _context())

"""The UPER frames adapter on real payloads of all three families, its options, and a fuzz of its contract.

Real payloads: the RSU-forwarded J2735 BSM (forwarding header + unsecured IEEE 1609.2), a bare J2735 BSM, the
jpo-ode SPaT, the five CSAE vendor payloads, and the ETSI CAM vector. The fuzz feeds random bytes and corrupted
real payloads: the adapter returns domain objects or raises ValidationError with one of its reasons, nothing else.

`SAMPLES`, `CONTEXT`, `OPTIONS` and `REASONS` are what tests/gateway/test_adapter_fuzz.py needs for its
FuzzTarget of "uper_frames".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.adapters.base import MessageContext
from gateway.adapters.registry import ADAPTERS
from gateway.adapters.uper_frames import UNVERIFIED_FLAG, build
from roadlink.codec.framing import VendorFraming, split_vendor_frames
from roadlink.codec.lossless import encode_v1
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.domain.perception import AirMessage, PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.vehicle import VehicleState
from roadlink.wire.convert import vehicle_state_to_proto
from tests.codec.test_csae_golden import payloads as csae_payloads
from tests.codec.test_etsi import cam_vector
from tests.gateway.payload_fuzz import assert_normalizes_or_rejects, corrupted_bytes

J2735 = Path(__file__).resolve().parent.parent / "data" / "j2735"
RECEIVE_MS = 1_668_500_000_000
CONTEXT = MessageContext("rsu/rsu-7/v2x/radio-1", "rsu-7", "radio-1", RECEIVE_MS)
REASONS = frozenset(
    {"too_large", "not_hex", "decode_error", "unsupported_message", "position_unavailable", "out_of_range"}
)
OPTIONS: dict[str, object] = {"family": "csae", "vendor_header": {}}
SAMPLES: tuple[bytes, ...] = tuple(f'"{csae_payloads()[name].hex()}"'.encode() for name in ("BSM", "RSM", "SPAT"))
"""The forwarded CSAE vendor payloads as JSON strings of hex, so that JSON-mutating fuzzers can start from them."""
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _hex_file(name: str) -> bytes:
    return (J2735 / name).read_bytes().strip()


def test_registered_under_its_name() -> None:
    assert ADAPTERS["uper_frames"] is build


def test_forwarded_j2735_bsm_in_hex_with_1609_2_is_stripped_and_flagged() -> None:
    adapter = build({"family": "j2735", "skip_octets": 26})
    [state] = adapter(_hex_file("BsmReceiverTest_ValidBSM.txt"), CONTEXT)
    assert isinstance(state, VehicleState)
    assert abs(state.time_unix_ms - RECEIVE_MS) <= 30_000
    assert state.provenance is not None
    assert state.provenance.sensor_ids == ("radio-1",)
    assert state.provenance.flags == (UNVERIFIED_FLAG,)
    assert (state.provenance.source_id, state.provenance.topic) == ("rsu-7", CONTEXT.topic)
    assert state.provenance.source_sequence == state.message_count
    with pytest.raises(ValidationError) as caught:
        build({"family": "j2735", "skip_octets": 26, "ieee1609dot2": "never"})(
            _hex_file("BsmReceiverTest_ValidBSM.txt"), CONTEXT
        )
    assert caught.value.reason == "decode_error"


def test_bare_binary_j2735_bsm_is_not_flagged() -> None:
    frame = (J2735 / "j2735.MessageFrame.Bsm.uper").read_bytes()
    [state] = build({"family": "j2735"})(frame, CONTEXT)
    assert isinstance(state, VehicleState)
    assert state.temporary_id.hex() == "bea10000"  # the asn1_codec sample BSM
    assert state.provenance is not None
    assert state.provenance.sensor_ids == ("radio-1",)
    assert state.provenance.flags == ()
    assert state.provenance.air_message == AirMessage("j2735", 20, frame)


def test_j2735_spat_gives_signal_timing() -> None:
    signals = build({"family": "j2735", "encoding": "hex"})(_hex_file("SpatReceiverTest_ValidSPAT.txt"), CONTEXT)
    assert signals
    assert all(isinstance(s, SignalPhaseAndTiming) and s.provenance is not None for s in signals)


def test_j2735_psm_and_sdsm_give_perception_frames() -> None:
    psm_payload = _hex_file("PsmReceiverTest_ValidPSM.txt")  # a 3-octet header, the frame, 14 octets after it
    with pytest.raises(ValidationError, match="trailing"):
        build({"family": "j2735", "skip_octets": 3})(psm_payload, CONTEXT)
    [psm] = build({"family": "j2735", "skip_octets": 3, "trailing_octets": "ignore"})(psm_payload, CONTEXT)
    [sdsm] = build({"family": "j2735"})(_hex_file("SdsmReceiverTest_ValidSDSM.txt"), CONTEXT)
    assert isinstance(psm, PerceptionFrame)
    assert psm.provenance.air_message is not None
    assert psm.provenance.air_message.uper == bytes.fromhex(psm_payload.decode())[3:-14]  # the frame alone
    for frame in (psm, sdsm):
        assert isinstance(frame, PerceptionFrame)
        assert frame.objects
        assert frame.provenance.source_id == "rsu-7"


def test_csae_vendor_payloads() -> None:
    adapter = build(OPTIONS)
    payloads = csae_payloads()
    states = adapter(payloads["BSM"], CONTEXT)
    assert [type(s) for s in states] == [VehicleState, VehicleState]
    [frame] = adapter(payloads["RSM"], CONTEXT)
    assert isinstance(frame, PerceptionFrame)
    assert frame.objects[0].object_class == ObjectClass.BICYCLE
    [signal] = adapter(payloads["SPAT"], CONTEXT)
    assert isinstance(signal, SignalPhaseAndTiming)
    assert signal.intersection_id == 9
    for name in ("MAP", "RSI"):
        with pytest.raises(ValidationError) as caught:
            adapter(payloads[name], CONTEXT)
        assert caught.value.reason == "unsupported_message"


def test_samples_as_json_strings_of_hex_are_accepted() -> None:
    adapter = build(OPTIONS)
    assert [len(adapter(sample, CONTEXT)) for sample in SAMPLES] == [2, 1, 1]
    with pytest.raises(ValidationError) as caught:
        build({"family": "csae", "encoding": "hex"})(b'"0014', CONTEXT)
    assert caught.value.reason == "not_hex"


def test_csae_hex_and_signed_envelope() -> None:
    payload = csae_payloads()["RSM"]
    frame = payload[18:]
    signed = b"\x03\x81\x00\x40\x03\x80" + bytes([len(frame)]) + frame + bytes(40)
    [out] = build({"family": "csae", "ieee1609dot2": "always"})(signed.hex().encode(), CONTEXT)
    assert isinstance(out, PerceptionFrame)
    assert out.provenance.flags == (UNVERIFIED_FLAG,)
    assert out.provenance.air_message == AirMessage("csae53", 2, frame)
    [plain] = build({"family": "csae"})(frame, CONTEXT)
    assert isinstance(plain, PerceptionFrame)
    assert plain.objects == out.objects


def test_etsi_cam_binary_and_hex() -> None:
    data, _ = cam_vector()
    adapter = build({"family": "etsi"})
    [binary] = adapter(data, CONTEXT)
    [text] = adapter(data.hex().upper().encode() + b"\n", CONTEXT)
    assert isinstance(binary, VehicleState)
    assert binary == text
    assert binary.vehicle_class == ObjectClass.PASSENGER_CAR


@pytest.mark.parametrize(
    ("options", "payload", "reason"),
    [
        ({"family": "etsi"}, b"\x02\x01" + bytes(20), "decode_error"),
        ({"family": "etsi", "encoding": "hex"}, b"zz", "not_hex"),
        ({"family": "j2735"}, bytes(70_000), "too_large"),
        ({"family": "j2735"}, bytes.fromhex("00140a"), "decode_error"),
        ({"family": "j2735"}, _hex_file("TimReceiverTest_ValidTIM.txt"), "unsupported_message"),
        ({"family": "csae", "vendor_header": {}}, b"u_id_123", "decode_error"),
    ],
)
def test_rejections_have_specific_reasons(options: dict[str, object], payload: bytes, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build(options)(payload, CONTEXT)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"family": "dsrc"},
        {"family": "j2735", "colour": 1},
        {"family": "j2735", "encoding": "base64"},
        {"family": "j2735", "skip_octets": -1},
        {"family": "j2735", "vendor_header": {}},
        {"family": "csae", "vendor_header": {"bogus": 1}},
        {"family": "etsi", "trailing_octets": "keep"},
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        build(options)


ROUTES = (
    ({"family": "csae", "vendor_header": {}}, SAMPLES),
    ({"family": "csae", "vendor_header": {}}, tuple(csae_payloads().values())),
    ({"family": "j2735"}, ((J2735 / "j2735.MessageFrame.Bsm.uper").read_bytes(),)),
    ({"family": "j2735", "skip_octets": 26}, (_hex_file("BsmReceiverTest_ValidBSM.txt"),)),
    ({"family": "etsi", "trailing_octets": "ignore"}, (cam_vector()[0],)),
    ({"family": "j2735", "skip_octets": 3, "trailing_octets": "ignore"}, (_hex_file("PsmReceiverTest_ValidPSM.txt"),)),
    ({"family": "j2735"}, (_hex_file("SdsmReceiverTest_ValidSDSM.txt"),)),
)


@pytest.mark.parametrize(("options", "samples"), ROUTES)
@FUZZ
@given(data=st.data())
def test_corrupted_payloads_never_escape(
    options: dict[str, object], samples: tuple[bytes, ...], data: st.DataObject
) -> None:
    payload = data.draw(corrupted_bytes(samples))
    assert_normalizes_or_rejects(build(options), payload, CONTEXT, REASONS)


@pytest.mark.parametrize(("options", "samples"), ROUTES)
@FUZZ
@given(payload=st.binary(max_size=300))
def test_random_bytes_never_escape(options: dict[str, object], samples: tuple[bytes, ...], payload: bytes) -> None:
    assert_normalizes_or_rejects(build(options), payload, CONTEXT, REASONS)


def test_outputs_encode_back_to_the_frames_they_came_from() -> None:
    """Vendor header stripped, two BSMs in one payload: each state's air_message is its own frame's octets."""
    payload = csae_payloads()["BSM"]
    states = build(OPTIONS)(payload, CONTEXT)
    frames = split_vendor_frames(payload, VendorFraming()).frames
    assert [encode_v1(vehicle_state_to_proto(s)) for s in states if isinstance(s, VehicleState)] == list(frames)


def test_the_canonical_v1_message_carries_the_frame_and_the_flag() -> None:
    from gateway.adapters.canonical import as_canonical

    [state] = build({"family": "j2735", "skip_octets": 26})(_hex_file("BsmReceiverTest_ValidBSM.txt"), CONTEXT)
    field_name, message = as_canonical(state)
    assert field_name == "vehicle_states"
    assert list(message.provenance.flags) == [UNVERIFIED_FLAG]
    assert encode_v1(message) == message.provenance.air_message.uper
    assert message.provenance.air_message.message_id == 20

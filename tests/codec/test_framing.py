"""The framing steps around a MessageFrame: the CSAE vendor header and the IEEE 1609.2 envelope.

Real payloads first (the ODE BSM log and the RSU-forwarded BSM carry unsecured 1609.2 Data), then a signed
envelope built to the standard's layout, then the error cases and property round trips of both steps.
"""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadlink.codec import j2735
from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.framing import (
    UNVERIFIED_1609_2,
    VendorFraming,
    VendorPayload,
    join_vendor_frames,
    looks_like_ieee1609dot2,
    split_vendor_frames,
    strip_ieee1609dot2,
)
from tests.codec import captures

RSU_FORWARD_HEADER = 26
"""BsmReceiverTest_ValidBSM.txt: the RSU's own forwarding header before the 1609.2 Data (frame at byte 30)."""


def _signed(frame: bytes, tail: bytes = b"\x40\x03\x80" + bytes(70)) -> bytes:
    """A signedData envelope around `frame`: sha256, SignedDataPayload{data}, then header/signer/signature."""
    return b"\x03\x81\x00\x40\x03\x80" + _oer_length(len(frame)) + frame + tail


def _oer_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def test_every_ode_log_record_strips_to_its_bsm_and_rebuilds() -> None:
    data = captures.read("bsmLogDuringEvent.bin")
    records = captures.log_records()
    assert len(records) == 222
    for record in records:
        start = record.offset - 4  # 03 80 81 bc: version, unsecuredData, long-form length 188
        payload = data[start : record.offset + len(record.frame)]
        secured = strip_ieee1609dot2(payload)
        assert secured.content == record.frame
        assert not secured.signed
        assert secured.flag == UNVERIFIED_1609_2
        assert secured.prefix + secured.content + secured.suffix == payload
        assert j2735.decode_frame(secured.content)["messageId"] == 20


def test_rsu_forwarded_bsm_strips_after_the_forwarding_header() -> None:
    payload = bytes.fromhex(captures.read("BsmReceiverTest_ValidBSM.txt").decode().strip())
    inner = payload[RSU_FORWARD_HEADER:]
    assert looks_like_ieee1609dot2(inner)
    assert not looks_like_ieee1609dot2(payload)
    secured = strip_ieee1609dot2(inner)
    assert len(secured.prefix) == 4
    assert secured.content[:2] == b"\x00\x14"
    assert j2735.decode_frame(secured.content)["messageId"] == 20


@pytest.mark.parametrize("size", [1, 40, 127, 128, 300])
def test_signed_envelope_keeps_header_signer_and_signature_as_suffix(size: int) -> None:
    frame = bytes(range(size % 256)) * (size // 256) + bytes(range(size % 256))
    frame = frame[:size] or b"\x01"
    payload = _signed(frame)
    secured = strip_ieee1609dot2(payload)
    assert secured.signed
    assert secured.content == frame
    assert secured.suffix == b"\x40\x03\x80" + bytes(70)
    assert secured.prefix + secured.content + secured.suffix == payload


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"\x00\x14\x25", "not an IEEE 1609.2"),
        (b"\x03\x82\x05", "not an IEEE 1609.2"),
        (b"\x03\x80", "not an IEEE 1609.2"),
        (b"\x03\x80\x05\x00\x14", "content of 5 octets, 2 left"),
        (b"\x03\x80\x00\x00", "content of 0 octets"),
        (b"\x03\x80\x02\x00\x14\xff", "1 octets after unsecured data"),
        (b"\x03\x80\x81\x05\x00\x14\x00\x00\x00", "non-canonical long-form length"),
        (b"\x03\x80\x85\x00\x00\x00\x00\x01\x00", "bad long-form length"),
        (b"\x03\x80\x82\x01", "bad long-form length"),
        (b"\x03\x81\x00\x40\x03\x80", "truncated before a length"),
        (b"\x03\x81\x01\x40\x03\x80\x01\x00", "without inline unsecured data"),
        (b"\x03\x81\x00\x20\x03\x80\x01\x00", "without inline unsecured data"),
    ],
)
def test_bad_1609_2_envelopes_are_decode_errors(payload: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        strip_ieee1609dot2(payload)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_1609_2_strip_accepts_or_raises_decode_error_only(data: bytes) -> None:
    try:
        secured = strip_ieee1609dot2(data)
    except DecodeError:
        return
    assert secured.prefix + secured.content + secured.suffix == data


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=400), st.binary(max_size=40))
def test_1609_2_strip_finds_any_frame(frame: bytes, tail: bytes) -> None:
    unsecured = b"\x03\x80" + _oer_length(len(frame)) + frame
    assert strip_ieee1609dot2(unsecured).content == frame
    assert strip_ieee1609dot2(_signed(frame, tail)).content == frame


# --- vendor framing -------------------------------------------------------------------------------------------------


def _vendor(frames: tuple[bytes, ...], counted: bool = False) -> VendorPayload:
    return VendorPayload(b"u_id_123", bytes(range(8)), frames, counted)


def test_big_endian_and_wider_header_settings() -> None:
    framing = VendorFraming(device_id_octets=4, opaque_octets=2, count="never", length_octets=3, byteorder="big")
    payload = b"RSU1" + b"\xaa\xbb" + b"\x00\x00\x03" + b"\x20\x01\x02"
    split = split_vendor_frames(payload, framing)
    assert split.frames == (b"\x20\x01\x02",)
    assert split.device_name == "RSU1"
    assert split.opaque == b"\xaa\xbb"
    assert not split.counted
    assert join_vendor_frames(split, framing) == payload


def test_device_name_falls_back_to_hex_for_binary_ids() -> None:
    payload = VendorPayload(b"\x01\x02\x00\xff\x00\x00\x00\x00", bytes(8), (b"\x10",), False)
    assert payload.device_name == "0102" + "00ff" + "00000000"


def test_auto_count_tells_single_and_batched_payloads_apart() -> None:
    single = join_vendor_frames(_vendor((b"\x10\x20",)))
    assert len(single) == 16 + 2 + 2
    batched = join_vendor_frames(_vendor((b"\x10\x20", b"\x30")))
    assert batched[16] == 2
    assert split_vendor_frames(single).frames == (b"\x10\x20",)
    assert split_vendor_frames(batched).frames == (b"\x10\x20", b"\x30")
    assert split_vendor_frames(batched).counted


@pytest.mark.parametrize(
    ("payload", "framing", "match"),
    [
        (b"u_id_123" + bytes(8), VendorFraming(), "needs more than 16 octets"),
        (b"u_id_123" + bytes(8) + b"\x00\x01\x00\x10", VendorFraming(count="always"), "counts 0 frames"),
        (b"u_id_123" + bytes(8) + b"\x05", VendorFraming(count="never"), "truncated frame length"),
        (b"u_id_123" + bytes(8) + b"\x05\x00\x10", VendorFraming(count="never"), "frame length 5 with 1"),
        (b"u_id_123" + bytes(8) + b"\x00\x00\x10", VendorFraming(count="never"), "frame length 0"),
        (b"u_id_123" + bytes(8) + b"\x02\x01\x00\x10", VendorFraming(count="always"), "do not fill"),
    ],
)
def test_bad_vendor_payloads_are_decode_errors(payload: bytes, framing: VendorFraming, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        split_vendor_frames(payload, framing)


@pytest.mark.parametrize(
    ("payload", "framing", "match"),
    [
        (VendorPayload(b"short", bytes(8), (b"\x10",), False), VendorFraming(), "wrong size"),
        (_vendor(()), VendorFraming(), "0 frames"),
        (_vendor((b"\x10",) * 256), VendorFraming(), "256 frames"),
        (_vendor((b"\x10", b"\x20")), VendorFraming(count="never"), "needs a count octet"),
        (_vendor((b"",)), VendorFraming(), "frame of 0 octets"),
        (_vendor((bytes(256),)), VendorFraming(length_octets=1), "frame of 256 octets"),
    ],
)
def test_unjoinable_vendor_payloads_are_encode_errors(
    payload: VendorPayload, framing: VendorFraming, match: str
) -> None:
    with pytest.raises(EncodeError, match=match):
        join_vendor_frames(payload, framing)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5),
    st.sampled_from(["auto", "always"]),
    st.sampled_from(["little", "big"]),
)
def test_vendor_frames_round_trip(
    frames: list[bytes], count: Literal["auto", "always"], byteorder: Literal["little", "big"]
) -> None:
    framing = VendorFraming(count=count, byteorder=byteorder)
    payload = join_vendor_frames(_vendor(tuple(frames)), framing)
    split = split_vendor_frames(payload, framing)
    assert split.frames == tuple(frames)
    assert join_vendor_frames(split, framing) == payload


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_vendor_split_accepts_or_raises_decode_error_only(data: bytes) -> None:
    try:
        split = split_vendor_frames(data)
    except DecodeError:
        return
    assert join_vendor_frames(split) == data

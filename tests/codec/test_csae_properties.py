"""Property tests for the CSAE 53 description: value-space round trips, and damaged real frames.

Every day-1 message is generated from its own description (tests/codec/strategies.py), encoded, decoded and
re-encoded. The six real frames are then flipped and cut: decoding must succeed canonically or raise DecodeError,
nothing else (the module timeout catches a hang).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadlink.codec import csae
from roadlink.codec.errors import DecodeError
from roadlink.codec.uper import AsnType, Raw
from tests.codec.strategies import values
from tests.codec.test_csae_golden import frames

pytestmark = pytest.mark.timeout(90)

FAST = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

NESTED = settings(FAST, max_examples=40)
"""Deeply nested messages (MAP: nodes > links > lanes > points) take ~0.2 s an example to generate."""

MESSAGES: dict[str, AsnType] = {
    "BSM": csae.BasicSafetyMessage,
    "RSM": csae.RoadsideSafetyMessage,
    "RSI": csae.RoadSideInformation,
    "SPAT": csae.SPAT,
    "MAP": csae.MapData,
}


def _roundtrip(t: AsnType, value: Any) -> None:
    encoded = t.encode(value)
    assert t.decode(encoded) == value
    assert t.encode(t.decode(encoded)) == encoded


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_day_1_message_round_trips(name: str) -> None:
    t = MESSAGES[name]

    @NESTED
    @given(values(t))
    def check(value: Any) -> None:
        _roundtrip(t, value)

    check()


@NESTED
@given(values(csae.MessageFrame))
def test_message_frame_round_trips(frame: Any) -> None:
    _roundtrip(csae.MessageFrame, frame)


def _decodes_or_fails_cleanly(data: bytes) -> None:
    try:
        frame, used = csae.decode_frame_prefix(data)
    except DecodeError:
        return
    assert csae.encode_frame(frame) == data[:used]


@FAST
@given(st.sampled_from(frames()), st.data())
def test_flipped_real_frames_decode_canonically_or_fail(named: tuple[str, bytes], data: st.DataObject) -> None:
    frame = bytearray(named[1])
    for _ in range(data.draw(st.integers(1, 4))):
        bit = data.draw(st.integers(0, 8 * len(frame) - 1))
        frame[bit // 8] ^= 0x80 >> (bit % 8)
    _decodes_or_fails_cleanly(bytes(frame))


@pytest.mark.parametrize(("name", "data"), frames())
def test_every_truncation_of_a_real_frame_is_a_decode_error(name: str, data: bytes) -> None:
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            csae.decode_frame(data[:end])


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_decode_canonically_or_fail(data: bytes) -> None:
    _decodes_or_fails_cleanly(data)


def test_day_2_frame_is_kept_raw_and_re_encodes() -> None:
    frame = (3, Raw(b"\x12\x34"))
    data = csae.encode_frame(frame)
    assert csae.decode_frame(data) == frame

"""Property tests: random values round-trip, and damaged real frames fail only with DecodeError.

For damaged input the contract is: decode succeeds or raises DecodeError, nothing else, and quickly. When a
damaged frame does decode, re-encoding the result must give back exactly the octets it was decoded from: the
decoder accepts only canonical encodings, so there is no second way to write the same value.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadlink.codec import DecodeError
from roadlink.codec.j2735 import BSMcoreData, MessageFrame, VehicleSafetyExtensions
from roadlink.codec.j2735_motion import PathHistoryPoint
from roadlink.codec.uper import AsnType
from tests.codec import captures
from tests.codec.strategies import values

pytestmark = pytest.mark.timeout(60)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def real_frames() -> tuple[bytes, ...]:
    """One frame of every shape: the stream's two sizes, the single BSM, a log BSM (with Part II id 2), CARMA."""
    stream = captures.read("j2735.MessageFrame.128.bsms.uper")
    frames = {stream[:177], stream[177 : 177 + 73]}
    frames |= {captures.read("j2735.MessageFrame.Bsm.uper"), captures.log_records()[0].frame}
    frames |= {captures.carma_hex("BSM_1"), captures.carma_hex("BSM_2")}
    return tuple(sorted(frames))


def _roundtrip(t: AsnType, value: Any) -> None:
    encoded = t.encode(value)
    assert t.decode(encoded) == value
    assert t.encode(t.decode(encoded)) == encoded


def _decodes_or_fails_cleanly(data: bytes) -> None:
    """Decode one frame from the start of `data`; it must either fail with DecodeError or be canonical."""
    started = time.perf_counter()
    try:
        frame, used = MessageFrame.decode_prefix(data)
    except DecodeError:
        pass
    else:
        assert MessageFrame.encode(frame) == data[:used]
    assert time.perf_counter() - started < 1.0


# --- round trips over the description's value space -----------------------------------------------------------------


@FAST
@given(values(BSMcoreData))
def test_core_data_round_trips(core: dict[str, Any]) -> None:
    _roundtrip(BSMcoreData, core)


@FAST
@given(values(PathHistoryPoint))
def test_path_history_point_round_trips(point: dict[str, Any]) -> None:
    _roundtrip(PathHistoryPoint, point)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(VehicleSafetyExtensions))
def test_vehicle_safety_extensions_round_trip(extensions: dict[str, Any]) -> None:
    _roundtrip(VehicleSafetyExtensions, extensions)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values(MessageFrame))
def test_whole_frames_round_trip(frame: dict[str, Any]) -> None:
    _roundtrip(MessageFrame, frame)


# --- damaged real frames ---------------------------------------------------------------------------------------------


@FAST
@given(st.data())
def test_bit_flips_decode_or_raise_decode_error(data: st.DataObject) -> None:
    frame = bytearray(data.draw(st.sampled_from(real_frames())))
    for bit in data.draw(st.lists(st.integers(0, len(frame) * 8 - 1), min_size=1, max_size=4)):
        frame[bit // 8] ^= 0x80 >> (bit % 8)
    _decodes_or_fails_cleanly(bytes(frame))


@FAST
@given(st.data())
def test_spliced_frames_decode_or_raise_decode_error(data: st.DataObject) -> None:
    frame = data.draw(st.sampled_from(real_frames()))
    start = data.draw(st.integers(0, len(frame)))
    end = data.draw(st.integers(start, len(frame)))
    junk = data.draw(st.binary(max_size=8))
    _decodes_or_fails_cleanly(frame[:start] + junk + frame[end:])


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_decode_error(blob: bytes) -> None:
    _decodes_or_fails_cleanly(blob)


@FAST
@given(st.binary(min_size=2, max_size=200))
def test_random_bsm_bodies_decode_or_raise_decode_error(body: bytes) -> None:
    """Random content behind a valid BSM header, so the fuzzing reaches deep into the BSM description."""
    header = bytes([0x00, 0x14]) + (bytes([len(body)]) if len(body) < 128 else bytes([0x80, len(body)]))
    _decodes_or_fails_cleanly(header + body)


def test_every_truncation_of_real_frames_raises_decode_error() -> None:
    for frame in real_frames():
        for length in range(len(frame)):
            with pytest.raises(DecodeError):
                MessageFrame.decode(frame[:length])
            with pytest.raises(DecodeError):
                MessageFrame.decode_prefix(frame[:length])

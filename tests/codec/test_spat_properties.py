"""SPaT property tests: domain values round-trip through the frame; damaged real frames fail only with DecodeError.

For damaged input the contract is the BSM one: decoding succeeds or raises DecodeError, nothing else, quickly; and
a damaged frame that does decode re-encodes to exactly the octets it was decoded from (the decoder verifies it).
"""

from __future__ import annotations

import time
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadlink.codec import DecodeError
from roadlink.codec.j2735_spat import (
    decode_spat,
    decode_spat_prefix,
    encode_spat_frame,
    signals_to_spat,
    spat_to_signals,
)
from roadlink.domain.errors import ValidationError
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from tests.codec import captures

pytestmark = pytest.mark.timeout(120)

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_YEAR_MS = 365 * 86_400_000
_HALF_HOUR_TENTHS = 17_999
"""An event time within this many tenths of a second of the message time has one TimeMark reading."""


@cache
def real_frames() -> tuple[bytes, ...]:
    ode = (captures.DATA / "SpatReceiverTest_ValidSPAT.txt").read_text().strip()
    return (captures.carma_hex("SPaT_1"), captures.carma_hex("SPaT_2"), bytes.fromhex(ode))


# --- domain -> frame -> domain ---------------------------------------------------------------------------------------


@st.composite
def _event(draw: st.DrawFn, message_time: int) -> MovementEvent:
    base = message_time - message_time % 100

    def instant() -> st.SearchStrategy[int | None]:
        return st.none() | st.integers(-_HALF_HOUR_TENTHS, _HALF_HOUR_TENTHS).map(lambda k: base + 100 * k)

    return MovementEvent(
        phase=draw(st.sampled_from(MovementPhase)),
        start_time_unix_ms=draw(instant()),
        min_end_time_unix_ms=draw(instant()),
        max_end_time_unix_ms=draw(instant()),
        likely_end_time_unix_ms=draw(instant()),
        confidence=draw(st.none() | st.integers(0, 15)),
        next_time_unix_ms=draw(instant()),
    )


@st.composite
def _signal(draw: st.DrawFn, base_time: int) -> SignalPhaseAndTiming:
    message_time = base_time + draw(st.integers(-3_600_000, 3_600_000))
    movements = draw(
        st.lists(
            st.builds(
                MovementState,
                signal_group=st.integers(0, 255),
                events=st.lists(_event(message_time), min_size=1, max_size=3).map(tuple),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return SignalPhaseAndTiming(
        intersection_id=draw(st.integers(0, 65535)),
        time_unix_ms=message_time,
        movements=tuple(movements),
        region=draw(st.none() | st.integers(0, 65535)),
        revision=draw(st.integers(0, 127)),
        status_flags=draw(st.integers(0, 65535)),
        name=draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=63)),
    )


_SIGNALS = st.integers(946_684_800_000, 4_102_444_800_000).flatmap(  # 2000..2100
    lambda base: st.lists(_signal(base), min_size=1, max_size=3)
)


@FAST
@given(signals=_SIGNALS, skew=st.integers(-_YEAR_MS // 3, _YEAR_MS // 3))
def test_domain_values_round_trip_through_the_frame(signals: list[SignalPhaseAndTiming], skew: int) -> None:
    """Any v1 SPaT whose event times lie within 30 min of its time survives encode -> decode exactly.

    Each intersection carries its own moy + timeStamp (year implicit), so the reference clock may be months off.
    """
    data = encode_spat_frame({"messageId": 19, "value": signals_to_spat(signals)})
    decoded = decode_spat(data, signals[0].time_unix_ms + skew)

    assert decoded.signals == tuple(signals)
    assert decoded.encode() == data


@FAST
@given(reference=st.integers(0, 4_102_444_800_000))
def test_real_frames_map_with_any_reference_clock(reference: int) -> None:
    for data in real_frames():
        decoded = decode_spat(data, reference)
        for signal in decoded.signals:
            for movement in signal.movements:
                for event in movement.events:
                    for instant in (event.min_end_time_unix_ms, event.max_end_time_unix_ms):
                        assert instant is None or abs(instant - signal.time_unix_ms) <= 1_800_000
        assert spat_to_signals(decoded.frame["value"], reference) == decoded.signals


# --- damaged frames --------------------------------------------------------------------------------------------------


def _decodes_or_fails_cleanly(data: bytes) -> None:
    started = time.perf_counter()
    try:
        frame, used = decode_spat_prefix(data)
    except DecodeError:
        pass
    else:
        assert encode_spat_frame(frame) == data[:used]
        try:
            decode_spat(data[:used], 1_700_000_000_000)
        except ValidationError as failure:  # a reserved time code maps to an out_of_range error, never a crash
            assert failure.reason == "out_of_range"  # noqa: PT017 - decode may succeed or fail here; raises() cannot say that
    assert time.perf_counter() - started < 1.0


@FAST
@given(frame=st.sampled_from(real_frames()), data=st.data())
def test_bit_flipped_frames_fail_only_with_decode_error(frame: bytes, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.integers(0, len(frame) * 8 - 1), min_size=1, max_size=4))
    damaged = bytearray(frame)
    for bit in flips:
        damaged[bit // 8] ^= 0x80 >> (bit % 8)
    _decodes_or_fails_cleanly(bytes(damaged))


@FAST
@given(frame=st.sampled_from(real_frames()), data=st.data())
def test_truncated_and_extended_frames_fail_only_with_decode_error(frame: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(frame)))
    tail = data.draw(st.binary(max_size=8))
    _decodes_or_fails_cleanly(frame[:cut] + tail)


@FAST
@given(frame=st.sampled_from(real_frames()), data=st.data())
def test_overwritten_octets_fail_only_with_decode_error(frame: bytes, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(frame) - 1))
    patch = data.draw(st.binary(min_size=1, max_size=6))
    _decodes_or_fails_cleanly(frame[:start] + patch + frame[start + len(patch) :])


def test_every_truncation_of_every_real_frame_is_a_decode_error() -> None:
    for frame in real_frames():
        for cut in range(len(frame)):
            with pytest.raises(DecodeError):
                decode_spat_prefix(frame[:cut])

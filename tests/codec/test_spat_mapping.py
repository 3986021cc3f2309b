"""SPaT time resolution, the domain -> SPAT direction, and the error contract of the SPaT codec."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from roadlink.codec import DecodeError, EncodeError, Raw, encode_frame
from roadlink.codec.field_tools import from_jer, to_jer
from roadlink.codec.j2735_intersection import SPAT
from roadlink.codec.j2735_spat import (
    MINUTE_OF_THE_YEAR_UNAVAILABLE,
    TIME_MARK_UNAVAILABLE,
    TIME_MARK_UNKNOWN_2016,
    decode_spat,
    decode_spat_frame,
    decode_spat_value,
    encode_spat_frame,
    encode_spat_value,
    frame_to_signals,
    resolve_message_time,
    resolve_time_mark,
    signals_to_spat,
    spat_to_signals,
    time_mark_of,
)
from roadlink.domain.errors import ValidationError
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from tests.codec import captures


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def _intersection(**timing: int) -> dict[str, Any]:
    event: dict[str, Any] = {"eventState": "protected-Movement-Allowed"}
    if timing:
        event["timing"] = timing
    return {
        "id": {"id": 7},
        "revision": 3,
        "status": (0, 16),
        "states": [{"signalGroup": 2, "state-time-speed": [event]}],
    }


# --- TimeMark --------------------------------------------------------------------------------------------------------


def test_time_mark_resolves_within_the_hour_of_the_reference() -> None:
    assert resolve_time_mark(12_345, _ms(2024, 6, 1, 10, 15)) == _ms(2024, 6, 1, 10, 20, 34) + 500


def test_time_mark_crosses_the_hour_forward_and_back() -> None:
    assert resolve_time_mark(5, _ms(2024, 6, 1, 10, 59, 50)) == _ms(2024, 6, 1, 11, 0, 0) + 500
    assert resolve_time_mark(35_990, _ms(2024, 6, 1, 11, 0, 5)) == _ms(2024, 6, 1, 10, 59, 59)


def test_time_mark_leap_second_is_the_last_millisecond_of_the_hour() -> None:
    for leap in (36_002, 36_009):
        assert resolve_time_mark(leap, _ms(2024, 6, 1, 10, 59, 30)) == _ms(2024, 6, 1, 11) - 1


def test_time_mark_unavailable_and_the_2016_codes_are_none() -> None:
    # 36111: unavailable (2020+). 36000 / 36001: "over an hour away" / "unknown" in 2016, leap tenths later.
    for code in (TIME_MARK_UNAVAILABLE, TIME_MARK_UNKNOWN_2016, 36_000):
        assert resolve_time_mark(code, 0) is None


def test_j2735_2020_time_marks_decode_although_iso_19091_bounds_them_at_36001() -> None:
    data = encode_spat_frame({"value": {"intersections": [_intersection(minEndTime=36_111, maxEndTime=36_005)]}})
    (signal,) = decode_spat(data, _ms(2024, 6, 1, 10, 59, 30)).signals
    (event,) = signal.movements[0].events
    assert (event.min_end_time_unix_ms, event.max_end_time_unix_ms) == (None, _ms(2024, 6, 1, 11) - 1)
    with pytest.raises(EncodeError, match=r"outside 0\.\.36111"):
        encode_spat_frame({"value": {"intersections": [_intersection(minEndTime=36_112)]}})


@pytest.mark.parametrize("value", [36_010, 36_110, 36_112, -1])
def test_reserved_time_marks_are_out_of_range(value: int) -> None:
    with pytest.raises(ValidationError) as failure:
        resolve_time_mark(value, 0)
    assert failure.value.reason == "out_of_range"


def test_time_mark_of_rounds_down_to_the_tenth() -> None:
    assert time_mark_of(_ms(2024, 6, 1, 10, 20, 34) + 599) == 12_345


# --- MinuteOfTheYear + DSecond ---------------------------------------------------------------------------------------


def test_message_time_is_moy_plus_dsecond() -> None:
    # moy 349345 = 2023-08-31T14:25Z; DSecond 477 ms.
    assert resolve_message_time(349_345, 477, _ms(2023, 9, 1)) == _ms(2023, 8, 31, 14, 25) + 477


def test_message_time_takes_the_year_closest_to_the_reference() -> None:
    # 2024 is a leap year: its last minute is 527039.
    assert resolve_message_time(527_039, 59_000, _ms(2025, 1, 1, 0, 0, 10)) == _ms(2024, 12, 31, 23, 59, 59)
    assert resolve_message_time(0, 1_000, _ms(2024, 12, 31, 23, 59, 50)) == _ms(2025, 1, 1, 0, 0, 1)


def test_message_time_without_dsecond_is_the_instant_of_the_minute_closest_to_the_reference() -> None:
    minute = _ms(2023, 8, 31, 14, 25)
    assert resolve_message_time(349_345, None, minute + 12_345) == minute + 12_345
    assert resolve_message_time(349_345, 65_535, minute - 5_000) == minute
    assert resolve_message_time(349_345, None, minute + 90_000) == minute + 59_999


def test_message_time_without_moy_resolves_the_dsecond_in_the_closest_minute() -> None:
    reference = _ms(2024, 12, 10, 17, 34, 40) + 359
    expected = _ms(2024, 12, 10, 17, 34, 35) + 176
    assert resolve_message_time(None, 35_176, reference) == expected
    assert resolve_message_time(MINUTE_OF_THE_YEAR_UNAVAILABLE, 35_176, reference) == expected
    assert resolve_message_time(None, None, reference) == reference


def test_message_time_leap_second_is_the_last_millisecond_of_the_minute() -> None:
    assert resolve_message_time(349_345, 60_500, _ms(2023, 9, 1)) == _ms(2023, 8, 31, 14, 25, 59) + 999


@pytest.mark.parametrize(("moy", "dsecond"), [(100, 61_000), (100, 65_534), (527_041, 0), (-1, 0)])
def test_reserved_moy_and_dsecond_are_out_of_range(moy: int, dsecond: int) -> None:
    with pytest.raises(ValidationError) as failure:
        resolve_message_time(moy, dsecond, 0)
    assert failure.value.reason == "out_of_range"


def test_spat_level_minute_applies_when_the_intersection_has_none() -> None:
    spat = {"timeStamp": 349_345, "intersections": [{**_intersection(), "timeStamp": 477}]}
    (signal,) = spat_to_signals(spat, _ms(2023, 9, 1))
    assert signal.time_unix_ms == _ms(2023, 8, 31, 14, 25) + 477


def test_reserved_time_mark_in_a_frame_decodes_but_does_not_map() -> None:
    data = encode_spat_frame({"value": {"intersections": [_intersection(minEndTime=36_050)]}})
    frame = decode_spat_frame(data)
    with pytest.raises(ValidationError) as failure:
        frame_to_signals(frame, 0)
    assert failure.value.reason == "out_of_range"


# --- domain -> SPAT --------------------------------------------------------------------------------------------------


def test_signals_to_spat_round_trips_through_the_frame() -> None:
    time = _ms(2024, 3, 1, 8, 59, 58) + 123
    signal = SignalPhaseAndTiming(
        intersection_id=4242,
        time_unix_ms=time,
        region=3,
        revision=9,
        status_flags=0x8001,
        name="Main & 5th",
        movements=(
            MovementState(
                1,
                (
                    MovementEvent(
                        MovementPhase.PROTECTED_MOVEMENT_ALLOWED,
                        start_time_unix_ms=time - 20_023,
                        min_end_time_unix_ms=time + 5_000,
                        likely_end_time_unix_ms=time + 7_000,
                        confidence=12,
                    ),
                    MovementEvent(MovementPhase.PROTECTED_CLEARANCE, max_end_time_unix_ms=time + 11_000),
                    MovementEvent(MovementPhase.STOP_AND_REMAIN),
                ),
            ),
        ),
    )
    value = signals_to_spat([signal])
    (state,) = value["intersections"]
    first, second, third = state["states"][0]["state-time-speed"]
    assert (state["moy"], state["timeStamp"], state["id"]) == (86_939, 58_123, {"region": 3, "id": 4242})
    assert first["timing"]["startTime"] == time_mark_of(time - 20_023)
    assert second["timing"]["minEndTime"] == TIME_MARK_UNAVAILABLE
    assert "timing" not in third

    decoded = decode_spat(encode_spat_frame({"messageId": 19, "value": value}), time + 3_600_000)
    (back,) = decoded.signals
    start = time - 20_023
    assert back.movements[0].events[0].start_time_unix_ms == start - start % 100
    tenth = time - time % 100  # TimeMarks carry tenths of a second
    events = (
        MovementEvent(
            MovementPhase.PROTECTED_MOVEMENT_ALLOWED,
            start_time_unix_ms=start - start % 100,
            min_end_time_unix_ms=tenth + 5_000,
            likely_end_time_unix_ms=tenth + 7_000,
            confidence=12,
        ),
        MovementEvent(MovementPhase.PROTECTED_CLEARANCE, max_end_time_unix_ms=tenth + 11_000),
        MovementEvent(MovementPhase.STOP_AND_REMAIN),
    )
    assert back == replace(signal, movements=(MovementState(1, events),))


def test_signals_to_spat_refuses_times_a_time_mark_cannot_place() -> None:
    time = _ms(2024, 3, 1, 8)
    event = MovementEvent(MovementPhase.DARK, min_end_time_unix_ms=time + 30 * 60_000)
    with pytest.raises(EncodeError, match="30 min"):
        signals_to_spat([SignalPhaseAndTiming(1, time, (MovementState(1, (event,)),))])
    with pytest.raises(EncodeError, match="at least one"):
        signals_to_spat([])


def test_a_spat_without_movements_does_not_encode() -> None:
    value = signals_to_spat([SignalPhaseAndTiming(1, _ms(2024, 3, 1), ())])
    with pytest.raises(EncodeError):
        encode_spat_value(value)


# --- errors ----------------------------------------------------------------------------------------------------------


def test_a_bsm_frame_is_not_a_spat() -> None:
    with pytest.raises(DecodeError, match="not a SPaT"):
        decode_spat_frame(captures.carma_hex("BSM_1"))


def test_trailing_octets_inside_the_open_type_are_refused() -> None:
    content = encode_spat_value({"intersections": [_intersection()]})
    data = encode_frame({"messageId": 19, "value": Raw(content + b"\0")})
    with pytest.raises(DecodeError, match="open type holds"):
        decode_spat_frame(data)
    with pytest.raises(DecodeError, match="trailing octets"):
        decode_spat_value(content + b"\0")


def test_non_zero_padding_is_not_the_canonical_encoding_and_is_refused() -> None:
    # SPaT_2's last octet holds 7 padding bits; a lax decoder would ignore them and re-encode other octets.
    data = captures.carma_hex("SPaT_2")
    padded = data[:-1] + bytes([data[-1] | 1])
    with pytest.raises(DecodeError, match="padding") as failure:
        decode_spat_frame(padded)
    assert failure.value.path == "MessageFrame.value"
    with pytest.raises(DecodeError, match="padding"):
        decode_spat_value(padded[3:])


def test_wrong_message_and_bad_values_raise_our_errors() -> None:
    with pytest.raises(ValidationError) as failure:
        frame_to_signals({"messageId": 20, "value": {}}, 0)
    assert failure.value.reason == "wrong_message"
    with pytest.raises(EncodeError, match="not a SPaT"):
        encode_spat_frame({"messageId": 20, "value": {"intersections": [_intersection()]}})
    with pytest.raises(EncodeError):
        encode_spat_frame({"messageId": 19, "value": {"intersections": "none"}})
    with pytest.raises(EncodeError, match="missing"):
        encode_spat_frame({"messageId": 19})
    with pytest.raises(EncodeError, match="expected an array"):
        from_jer(SPAT, {"intersections": 5}, "SPAT")


def test_jer_round_trip_keeps_asn1_component_order() -> None:
    frame = decode_spat_frame(captures.carma_hex("SPaT_2"))
    jer = to_jer(SPAT, frame["value"])
    (state,) = jer["intersections"]
    assert list(state) == ["name", "id", "revision", "status", "moy", "timeStamp", "states"]
    assert state["status"] == "0080"  # a 16-bit BIT STRING in JER: hex
    assert from_jer(SPAT, jer, "SPAT") == frame["value"]

"""SAE J2735 SPaT (MessageFrame messageId 19): decode, encode, and mapping to `SignalPhaseAndTiming`.

The SPAT type is described for our UPER engine in `j2735_intersection` (it is the ISO TS 19091 SPAT, with the
J2735 TimeMark range 0..36111). A frame is ``{"messageId": 19, "value": <SPAT dict>}``, exactly as `decode_frame`
gives it; values follow the engine's conventions (a SEQUENCE is a dict of the components present, a BIT STRING is
(bits, length), an ENUMERATED is its name, a CHOICE is (name, value)).

Round trip: the engine accepts only canonical encodings, so every frame it returns re-encodes byte for byte, and
the decoded value is what to keep for re-encoding: the v1 mapping leaves out what v1 cannot represent (speed
advice, maneuver assist, enabled lanes, movement names, regional extensions, the SPAT-level name).

Time, per the field facts (STANDARDS.md 1.1):

    message time  moy (MinuteOfTheYear, 527040 unavailable) of the IntersectionState, else the SPAT timeStamp
                  (also MinuteOfTheYear), plus the IntersectionState timeStamp (DSecond, ms of the minute;
                  65535 unavailable; 60000..60999 leap -> the minute's last ms). The year is the one that puts
                  the time closest to the reference clock. Without a DSecond the instant of that minute closest
                  to the reference is used; without a moy the DSecond resolves like a BSM secMark (closest
                  minute); with neither the message time is the reference.
    TimeMark      0.1 s within the UTC hour, resolved to the instant closest to the message time (so across the
                  hour boundary in either direction, +-30 min). The top codes depend on the J2735 edition, which
                  the frame does not say: 2016 (and ISO TS 19091) has 0..36001 with 36000 "more than an hour
                  away" and 36001 "unknown"; 2020 and later have 0..36111 with 36000..36009 the tenths of a leap
                  second and 36111 "unavailable". So 36000 and 36001 -> None (reading a 2016 "unknown" as a time
                  would invent one; a leap second has not occurred since 2016), 36002..36009 (leap) -> the hour's
                  last ms, 36111 -> None, and 36010..36110 are out of range (ValidationError "out_of_range").
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from roadlink.codec.errors import DecodeError, EncodeError
from roadlink.codec.j2735 import MessageFrame
from roadlink.codec.j2735_intersection import SPAT, SPAT_MESSAGE_ID
from roadlink.codec.j2735_mapping import SEC_MARK_UNAVAILABLE, resolve_sec_mark
from roadlink.domain.errors import ValidationError
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming

__all__ = [
    "MINUTE_OF_THE_YEAR_UNAVAILABLE",
    "SPAT_MESSAGE_ID",
    "TIME_MARK_UNAVAILABLE",
    "TIME_MARK_UNKNOWN_2016",
    "DecodedSpat",
    "decode_spat",
    "decode_spat_frame",
    "decode_spat_prefix",
    "decode_spat_value",
    "encode_spat_frame",
    "encode_spat_value",
    "frame_to_signals",
    "resolve_message_time",
    "resolve_time_mark",
    "signals_to_spat",
    "spat_to_signals",
    "time_mark_of",
]

TIME_MARK_UNAVAILABLE: Final = 36111
"""J2735-2020 and later: TimeMark unavailable (out of range for 2016-edition decoders)."""
TIME_MARK_UNKNOWN_2016: Final = 36001
"""J2735-2016 and ISO TS 19091: TimeMark unknown (a leap-second tenth in later editions)."""
MINUTE_OF_THE_YEAR_UNAVAILABLE: Final = 527040

_HOUR_MS: Final = 3_600_000
_MINUTE_MS: Final = 60_000
_LAST_LEAP_MS: Final = 60_999
_TIME_MARK_LAST: Final = 35_999
_TIME_MARK_2016_CODES: Final = (36_000, 36_001)
_TIME_MARK_LAST_LEAP: Final = 36_009
_TIMING: Final = (
    ("startTime", "start_time_unix_ms"),
    ("minEndTime", "min_end_time_unix_ms"),
    ("maxEndTime", "max_end_time_unix_ms"),
    ("likelyTime", "likely_end_time_unix_ms"),
    ("nextTime", "next_time_unix_ms"),
)
_PHASE_NAMES: Final = (
    "unavailable",
    "dark",
    "stop-Then-Proceed",
    "stop-And-Remain",
    "pre-Movement",
    "permissive-Movement-Allowed",
    "protected-Movement-Allowed",
    "permissive-clearance",
    "protected-clearance",
    "caution-Conflicting-Traffic",
)
"""MovementPhaseState names in code order: the code is MovementPhase's value."""
_PHASES: Final = {name: MovementPhase(code) for code, name in enumerate(_PHASE_NAMES)}

# --- the SPAT value (open-type content) ------------------------------------------------------------------------------


def decode_spat_value(content: bytes) -> dict[str, Any]:
    """Decode a SPAT value that fills `content` (a complete UPER encoding, as in the frame's open type).

    Raises:
        DecodeError: the octets are not a valid (canonical) SPAT encoding, or leave octets over.
    """
    value: dict[str, Any] = SPAT.decode(bytes(content))
    return value


def encode_spat_value(value: Mapping[str, Any]) -> bytes:
    """Encode a SPAT value (as `decode_spat_value` returns it) to its UPER octets.

    Raises:
        EncodeError: the value does not fit the SPAT type.
    """
    return SPAT.encode(dict(value))


# --- the J2735 frame -------------------------------------------------------------------------------------------------


def decode_spat_prefix(data: bytes, offset: int = 0) -> tuple[dict[str, Any], int]:
    """Decode the SPaT MessageFrame starting at octet `offset`: ({"messageId": 19, "value": SPAT}, octets used).

    Raises:
        DecodeError: not a valid MessageFrame, or not a SPaT (messageId != 19).
    """
    frame, used = MessageFrame.decode_prefix(data, offset)
    if frame["messageId"] != SPAT_MESSAGE_ID:
        raise DecodeError(f"messageId {frame['messageId']} is not a SPaT ({SPAT_MESSAGE_ID})", path="MessageFrame")
    return frame, used


def decode_spat_frame(data: bytes) -> dict[str, Any]:
    """Decode one SPaT MessageFrame that fills `data` exactly (see `decode_spat_prefix`)."""
    frame, used = decode_spat_prefix(data)
    if used != len(data):
        raise DecodeError(f"{len(data) - used} trailing octets", bit_offset=used * 8, path="MessageFrame")
    return frame


def encode_spat_frame(frame: Mapping[str, Any]) -> bytes:
    """Encode a SPaT MessageFrame (as `decode_spat_frame` returns it; messageId defaults to 19).

    Raises:
        EncodeError: a messageId other than 19, or a value that does not fit.
    """
    message_id = frame.get("messageId", SPAT_MESSAGE_ID)
    if message_id != SPAT_MESSAGE_ID:
        raise EncodeError(f"messageId {message_id!r} is not a SPaT ({SPAT_MESSAGE_ID})", path="MessageFrame")
    return MessageFrame.encode({**frame, "messageId": SPAT_MESSAGE_ID})


@dataclass(frozen=True, slots=True)
class DecodedSpat:
    """A decoded SPaT frame and its v1 mapping: one SignalPhaseAndTiming per IntersectionState, in order.

    `frame` holds everything that was sent; `encode()` gives back the original octets.
    """

    frame: dict[str, Any]
    signals: tuple[SignalPhaseAndTiming, ...]

    def encode(self) -> bytes:
        """The frame's UPER octets."""
        return encode_spat_frame(self.frame)


def decode_spat(data: bytes, reference_unix_ms: int) -> DecodedSpat:
    """Decode a SPaT MessageFrame that fills `data` and map it (`decode_spat_frame` + `spat_to_signals`).

    Raises:
        DecodeError: as `decode_spat_frame`.
        ValidationError: reason "out_of_range" for a reserved DSecond or TimeMark.
    """
    frame = decode_spat_frame(data)
    return DecodedSpat(frame, spat_to_signals(frame["value"], reference_unix_ms))


# --- time ------------------------------------------------------------------------------------------------------------


def resolve_time_mark(time_mark: int, reference_unix_ms: int) -> int | None:
    """Unix ms of a TimeMark: the instant closest to `reference_unix_ms` at that tenth of a second of the hour.

    None for 36111 (unavailable) and for 36000 / 36001 (see the module docstring); 36002..36009 (leap second)
    give the hour's last millisecond.

    Raises:
        ValidationError: reason "out_of_range" for 36010..36110 (and anything outside 0..36111).
    """
    if time_mark == TIME_MARK_UNAVAILABLE or time_mark in _TIME_MARK_2016_CODES:
        return None
    if not 0 <= time_mark <= _TIME_MARK_LAST_LEAP:
        raise ValidationError("out_of_range", f"TimeMark {time_mark} is neither 0..36009 nor 36111", field="TimeMark")
    offset = time_mark * 100 if time_mark <= _TIME_MARK_LAST else _HOUR_MS - 1
    half = _HOUR_MS // 2
    return reference_unix_ms + (offset - reference_unix_ms % _HOUR_MS + half) % _HOUR_MS - half


def time_mark_of(unix_ms: int) -> int:
    """The TimeMark of an instant: its tenth of a second within the UTC hour (rounded down)."""
    return (unix_ms % _HOUR_MS) // 100


def _year_start_ms(year: int) -> int:
    return calendar.timegm((year, 1, 1, 0, 0, 0)) * 1000


def resolve_message_time(moy: int | None, dsecond: int | None, reference_unix_ms: int) -> int:
    """Unix ms of MinuteOfTheYear + DSecond (either may be None or its unavailable code); see the module docstring.

    Raises:
        ValidationError: reason "out_of_range" for a DSecond in 61000..65534 or a moy outside 0..527040.
    """
    if dsecond == SEC_MARK_UNAVAILABLE:
        dsecond = None
    if moy is None or moy == MINUTE_OF_THE_YEAR_UNAVAILABLE:
        return reference_unix_ms if dsecond is None else resolve_sec_mark(dsecond, reference_unix_ms)
    if not 0 <= moy < MINUTE_OF_THE_YEAR_UNAVAILABLE:
        raise ValidationError("out_of_range", f"moy {moy} is neither 0..527039 nor 527040", field="moy")
    within: int | None = None
    if dsecond is not None:
        if not 0 <= dsecond <= _LAST_LEAP_MS:
            raise ValidationError("out_of_range", f"DSecond {dsecond} is neither 0..60999 nor 65535", field="timeStamp")
        within = min(dsecond, _MINUTE_MS - 1)  # a leap second -> the minute's last ms, as for a BSM secMark
    year = time.gmtime(reference_unix_ms // 1000).tm_year
    best: int | None = None
    for candidate in (year - 1, year, year + 1):
        minute = _year_start_ms(candidate) + moy * _MINUTE_MS
        instant = minute + (within if within is not None else min(max(reference_unix_ms - minute, 0), _MINUTE_MS - 1))
        if best is None or abs(instant - reference_unix_ms) < abs(best - reference_unix_ms):
            best = instant
    assert best is not None
    return best


def _moy_and_dsecond(unix_ms: int) -> tuple[int, int]:
    year_start = _year_start_ms(time.gmtime(unix_ms // 1000).tm_year)
    minutes, ms = divmod(unix_ms - year_start, _MINUTE_MS)
    return minutes, ms


# --- mapping ---------------------------------------------------------------------------------------------------------


def frame_to_signals(frame: Mapping[str, Any], reference_unix_ms: int) -> tuple[SignalPhaseAndTiming, ...]:
    """A decoded MessageFrame holding a SPaT -> one SignalPhaseAndTiming per intersection.

    Raises:
        ValidationError: reason "wrong_message" when the frame is not a decoded SPaT, else as `spat_to_signals`.
    """
    if frame.get("messageId") != SPAT_MESSAGE_ID or not isinstance(frame.get("value"), Mapping):
        raise ValidationError("wrong_message", f"messageId {frame.get('messageId')!r} is not a SPaT", field="messageId")
    return spat_to_signals(frame["value"], reference_unix_ms)


def spat_to_signals(spat: Mapping[str, Any], reference_unix_ms: int) -> tuple[SignalPhaseAndTiming, ...]:
    """A decoded SPAT value -> one SignalPhaseAndTiming per IntersectionState, with absolute times.

    Raises:
        ValidationError: reason "out_of_range" for a reserved DSecond, MinuteOfTheYear or TimeMark.
    """
    spat_moy = spat.get("timeStamp")
    return tuple(_intersection(state, spat_moy, reference_unix_ms) for state in spat["intersections"])


def _intersection(state: Mapping[str, Any], spat_moy: int | None, reference_unix_ms: int) -> SignalPhaseAndTiming:
    moy = state.get("moy", spat_moy)
    message_time = resolve_message_time(moy, state.get("timeStamp"), reference_unix_ms)
    reference_id = state["id"]
    status_bits, _ = state["status"]
    return SignalPhaseAndTiming(
        intersection_id=reference_id["id"],
        time_unix_ms=message_time,
        movements=tuple(
            MovementState(movement["signalGroup"], tuple(_event(e, message_time) for e in movement["state-time-speed"]))
            for movement in state["states"]
        ),
        region=reference_id.get("region"),
        revision=state["revision"],
        status_flags=status_bits,
        name=state.get("name", ""),
    )


def _event(event: Mapping[str, Any], message_time: int) -> MovementEvent:
    phase = _PHASES.get(event["eventState"])
    if phase is None:
        raise ValidationError("out_of_range", f"eventState {event['eventState']!r}", field="eventState")
    timing = event.get("timing")
    if timing is None:
        return MovementEvent(phase)
    times = {name: resolve_time_mark(timing[key], message_time) if key in timing else None for key, name in _TIMING}
    return MovementEvent(phase, confidence=timing.get("confidence"), **times)


def signals_to_spat(
    signals: Iterable[SignalPhaseAndTiming], *, unknown_time_mark: int = TIME_MARK_UNAVAILABLE
) -> dict[str, Any]:
    """SignalPhaseAndTiming (one per intersection) -> a SPAT value to encode (the inverse of `spat_to_signals`).

    Each intersection carries moy + timeStamp from `time_unix_ms`; event times become TimeMarks (rounded down to
    0.1 s), a missing minEndTime becomes `unknown_time_mark` (36111, J2735-2020+; pass TIME_MARK_UNKNOWN_2016 for
    receivers of the 2016 edition, which refuse 36111), and an event with no timing at all has none. An empty name
    and an absent region are left out; provenance is not sent.

    Raises:
        EncodeError: an event time 30 minutes or more from the intersection's time_unix_ms (a TimeMark could not
            say which hour it is in), or no intersections.
    """
    intersections = [_intersection_value(spat, unknown_time_mark) for spat in signals]
    if not intersections:
        raise EncodeError("a SPAT needs at least one intersection", path="SPAT.intersections")
    return {"intersections": intersections}


def _intersection_value(spat: SignalPhaseAndTiming, unknown_time_mark: int) -> dict[str, Any]:
    moy, dsecond = _moy_and_dsecond(spat.time_unix_ms)
    reference_id: dict[str, Any] = {"id": spat.intersection_id}
    if spat.region is not None:
        reference_id = {"region": spat.region, **reference_id}
    state: dict[str, Any] = {}
    if spat.name:
        state["name"] = spat.name
    state |= {
        "id": reference_id,
        "revision": spat.revision,
        "status": (spat.status_flags, 16),
        "moy": moy,
        "timeStamp": dsecond,
        "states": [
            {
                "signalGroup": movement.signal_group,
                "state-time-speed": [
                    _event_value(event, spat.time_unix_ms, unknown_time_mark) for event in movement.events
                ],
            }
            for movement in spat.movements
        ],
    }
    return state


def _event_value(event: MovementEvent, message_time: int, unknown_time_mark: int) -> dict[str, Any]:
    value: dict[str, Any] = {"eventState": _PHASE_NAMES[event.phase]}
    timing: dict[str, Any] = {}
    for key, name in _TIMING:
        instant: int | None = getattr(event, name)
        if instant is None:
            continue
        mark = time_mark_of(instant)
        if resolve_time_mark(mark, message_time) != instant - instant % 100:
            raise EncodeError(f"{name} {instant} is 30 min or more from the message time {message_time}", path=key)
        timing[key] = mark
    if event.confidence is not None:
        timing["confidence"] = event.confidence
    if timing:
        timing.setdefault("minEndTime", unknown_time_mark)
        value["timing"] = {
            key: timing[key]
            for key in ("startTime", "minEndTime", "maxEndTime", "likelyTime", "confidence", "nextTime")
            if key in timing
        }
    return value

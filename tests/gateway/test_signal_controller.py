"""Tests for gateway.adapters.signal_controller: countdown and TimeMark resolution, light mapping, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.adapters.base import MessageContext
from gateway.adapters.canonical import as_domain
from gateway.adapters.registry import ADAPTERS
from gateway.adapters.signal_controller import (
    CSAE_LIGHT_NAMES,
    CSAE_LIGHTS,
    J2735_PHASE_NAMES,
    MAX_PAYLOAD_BYTES,
    normalize_signal_controller,
    resolve_countdown,
    resolve_time_mark,
)
from roadlink.domain.errors import ValidationError
from roadlink.domain.signal import MovementEvent, MovementPhase, SignalPhaseAndTiming

DATA = Path(__file__).parent.parent / "data" / "gateway"
CSAE_SAMPLE = (DATA / "signal_controller_csae.json").read_bytes()
J2735_SAMPLE = (DATA / "signal_controller_j2735.json").read_bytes()
CONTEXT = MessageContext("rsu/rsu-7/spat/tsc0", "rsu-7", "tsc0", receive_time_unix_ms=1_714_579_212_345)
HOUR_16 = 1_714_579_200_000  # 2024-05-01T16:00:00Z
MINUTE_MS = 60_000
HOUR_MS = 3_600_000


def _state(**fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"light": 3}
    state.update(fields)
    return state


def _payload(states: list[dict[str, Any]], **changes: Any) -> bytes:
    message: dict[str, Any] = {
        "intersection_id": 12,
        "timestamp_ms": HOUR_16 + 12_300,
        "convention": "csae",
        "phases": [{"signal_group": 1, "states": states}],
    }
    message.update(changes)
    return json.dumps(message).encode()


def _spat(payload: bytes) -> SignalPhaseAndTiming:
    items = normalize_signal_controller(payload, CONTEXT)
    assert len(items) == 1
    spat = as_domain(items[0])
    assert isinstance(spat, SignalPhaseAndTiming)
    return spat


def _event(state: dict[str, Any], **changes: Any) -> MovementEvent:
    return _spat(_payload([state], **changes)).movements[0].events[0]


def _error(payload: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        normalize_signal_controller(payload, CONTEXT)
    return info.value


# --- countdown ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (1, 100), (124, 12_400), (36_000, HOUR_MS), (36_001, None), (None, None)],
)
def test_countdown_is_tenths_of_a_second_after_the_message(value: int | None, expected: int | None) -> None:
    now = HOUR_16 + 12_300
    assert resolve_countdown(value, now) == (None if expected is None else now + expected)


@pytest.mark.parametrize("value", [-1, 36_002, 36_111])
def test_countdown_outside_its_range_is_an_error(value: int) -> None:
    with pytest.raises(ValueError, match="countdown"):
        resolve_countdown(value, HOUR_16)


# --- TimeMark -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_offset_ms", "time_mark", "expected_offset_ms"),
    [
        (600_000, 6_000, 600_000),  # 16:10:00.0, same instant
        (600_000, 6_123, 612_300),  # 12.3 s later
        (600_000, 5_900, 590_000),  # 10 s earlier
        (3_590_000, 100, HOUR_MS + 10_000),  # 16:59:50 -> 17:00:10: wraps into the next hour
        (5_000, 35_950, -5_000),  # 16:00:05 -> 15:59:55: wraps into the previous hour
        (1_000, 35_999, -100),
        (3_599_900, 0, HOUR_MS),
        (3_599_500, 36_005, HOUR_MS),  # leap second -> end of the hour
        (200, 36_000, 0),  # leap second of the previous hour, seen just after it
        (1_799_999, 35_999, 3_599_900),  # 16:29:59.999: 16:59:59.9 is 0.2 s closer than 15:59:59.9
        (1_800_000, 0, 0),  # a tie resolves to the past
    ],
)
def test_time_mark_resolves_to_the_closest_instant(
    message_offset_ms: int, time_mark: int, expected_offset_ms: int
) -> None:
    assert resolve_time_mark(time_mark, HOUR_16 + message_offset_ms) == HOUR_16 + expected_offset_ms


def test_time_mark_unavailable_is_none() -> None:
    assert resolve_time_mark(36_111, HOUR_16) is None
    assert resolve_time_mark(None, HOUR_16) is None


@pytest.mark.parametrize("value", [-1, 36_010, 36_110, 36_112])
def test_invalid_time_marks_are_errors(value: int) -> None:
    with pytest.raises(ValueError, match="TimeMark"):
        resolve_time_mark(value, HOUR_16)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**43), st.integers(0, 35_999))
def test_time_mark_is_within_half_an_hour_and_keeps_its_tenth(message_ms: int, time_mark: int) -> None:
    resolved = resolve_time_mark(time_mark, message_ms)
    assert resolved is not None
    assert resolved % HOUR_MS == time_mark * 100
    assert -HOUR_MS // 2 <= resolved - message_ms < HOUR_MS // 2


# --- whole messages -------------------------------------------------------------------------------------


def test_csae_sample_resolves_countdowns_from_the_message_time() -> None:
    spat = _spat(CSAE_SAMPLE)
    now = 1_714_579_212_300
    assert (spat.intersection_id, spat.region, spat.revision, spat.time_unix_ms) == (1203, 31, 4, now)
    assert spat.name == "Century Ave / Pudong S Rd"
    group_1, group_2 = spat.movements
    assert group_1.signal_group == 1
    assert group_1.events == (
        MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, now, now + 8_000, now + 30_000, now + 12_400, 12),
        MovementEvent(MovementPhase.PROTECTED_CLEARANCE, now + 12_400, likely_end_time_unix_ms=now + 15_400),
        MovementEvent(
            MovementPhase.PROTECTED_CLEARANCE,
            now + 15_400,
            likely_end_time_unix_ms=now + 18_400,
            next_time_unix_ms=now + 120_400,
        ),
    )
    assert group_2.events[1] == MovementEvent(MovementPhase.PROTECTED_MOVEMENT_ALLOWED, now + 18_400)


def test_j2735_sample_resolves_time_marks_across_the_hour() -> None:
    spat = _spat(J2735_SAMPLE)
    now = 1_714_582_710_000  # 16:58:30.0
    assert spat.time_unix_ms == now
    group_2, group_4 = spat.movements
    assert group_2.events[0] == MovementEvent(
        MovementPhase.PROTECTED_MOVEMENT_ALLOWED,
        min_end_time_unix_ms=now + 15_000,
        max_end_time_unix_ms=now + 60_000,
        likely_end_time_unix_ms=now + 30_000,
        confidence=10,
    )
    assert group_2.events[1].phase is MovementPhase.PROTECTED_CLEARANCE
    assert group_4.events[0] == MovementEvent(
        MovementPhase.STOP_AND_REMAIN, likely_end_time_unix_ms=HOUR_16 + HOUR_MS + 2_000
    )


def test_provenance_names_source_sensor_topic_and_times() -> None:
    provenance = _spat(CSAE_SAMPLE).provenance
    assert provenance is not None
    assert (provenance.source_id, provenance.sensor_ids, provenance.topic) == ("rsu-7", ("tsc0",), CONTEXT.topic)
    assert provenance.source_time_unix_ms == 1_714_579_212_300
    assert provenance.gateway_receive_time_unix_ms == CONTEXT.receive_time_unix_ms


def test_explicit_timing_overrides_the_convention_default() -> None:
    now = HOUR_16 + 12_300
    event = _event(_state(likely_end=150), timing="time_mark")
    assert event.likely_end_time_unix_ms == HOUR_16 + 15_000
    event = _event(_state(likely_end=150), convention="j2735", timing="countdown")
    assert event.likely_end_time_unix_ms == now + 15_000


def test_unsent_times_are_none() -> None:
    assert _event(_state()) == MovementEvent(MovementPhase.STOP_AND_REMAIN)


# --- light states ---------------------------------------------------------------------------------------

CSAE_EXPECTED = {
    0: MovementPhase.UNAVAILABLE,
    1: MovementPhase.DARK,
    2: MovementPhase.STOP_THEN_PROCEED,
    3: MovementPhase.STOP_AND_REMAIN,
    4: MovementPhase.PROTECTED_CLEARANCE,
    5: MovementPhase.PERMISSIVE_MOVEMENT_ALLOWED,
    6: MovementPhase.PROTECTED_MOVEMENT_ALLOWED,
    7: MovementPhase.PROTECTED_CLEARANCE,
    8: MovementPhase.CAUTION_CONFLICTING_TRAFFIC,
}


@pytest.mark.parametrize(("code", "phase"), sorted(CSAE_EXPECTED.items()))
def test_csae_light_codes_map_as_documented(code: int, phase: MovementPhase) -> None:
    assert CSAE_LIGHTS[code] is phase
    assert _event(_state(light=code)).phase is phase


@pytest.mark.parametrize(("name", "code"), sorted(CSAE_LIGHT_NAMES.items()))
def test_csae_light_names_map_like_their_codes(name: str, code: int) -> None:
    assert _event(_state(light=name.upper())).phase is CSAE_EXPECTED[code]


@pytest.mark.parametrize("phase", list(MovementPhase))
def test_j2735_codes_equal_movement_phases(phase: MovementPhase) -> None:
    assert _event(_state(light=int(phase)), convention="j2735").phase is phase


@pytest.mark.parametrize(
    ("name", "phase"),
    [("stop-And-Remain", MovementPhase.STOP_AND_REMAIN), ("caution-Conflicting-Traffic", MovementPhase(9))],
)
def test_j2735_names_as_in_the_asn1(name: str, phase: MovementPhase) -> None:
    assert set(J2735_PHASE_NAMES.values()) == {int(p) for p in MovementPhase}
    assert _event(_state(light=name), convention="j2735").phase is phase


@pytest.mark.parametrize(
    ("light", "convention", "reason"),
    [
        (9, "csae", "out_of_range"),
        (10, "j2735", "out_of_range"),
        (-1, "csae", "out_of_range"),
        ("red", "j2735", "out_of_range"),
        ("purple", "csae", "out_of_range"),
        ("x" * 65, "csae", "out_of_range"),
        (True, "csae", "wrong_shape"),
        (3.0, "csae", "wrong_shape"),
        (None, "csae", "wrong_shape"),
    ],
)
def test_bad_lights_are_rejected_naming_the_field(light: object, convention: str, reason: str) -> None:
    error = _error(_payload([_state(likely_end=10), _state(light=light)], convention=convention))
    assert (error.reason, error.field) == (reason, "phases.0.states.1.light")


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "changes", "reason", "field"),
    [
        (_state(likely_end=36_002), {}, "out_of_range", "phases.0.states.0.likely_end"),
        (_state(min_end=36_050), {"convention": "j2735"}, "out_of_range", "phases.0.states.0.min_end"),
        (_state(start=36_112), {}, "out_of_range", "phases.0.states.0.start"),
        (_state(start=-1), {}, "out_of_range", "phases.0.states.0.start"),
        (_state(confidence=16), {}, "out_of_range", "phases.0.states.0.confidence"),
        (_state(next_start="10"), {}, "wrong_shape", "phases.0.states.0.next_start"),
        (_state(), {"convention": "etsi"}, "wrong_shape", "convention"),
        (_state(), {"timing": "relative"}, "wrong_shape", "timing"),
        (_state(), {"intersection_id": 65_536}, "out_of_range", "intersection_id"),
        (_state(), {"name": "n" * 64}, "out_of_range", "name"),
        (_state(), {"phases": []}, "out_of_range", "phases"),
    ],
)
def test_bad_messages_are_rejected_naming_the_field(
    state: dict[str, Any], changes: dict[str, Any], reason: str, field: str
) -> None:
    error = _error(_payload([state], **changes))
    assert (error.reason, error.field) == (reason, field)


def test_too_many_states_and_payload_limits() -> None:
    assert _error(_payload([_state()] * 17)).reason == "out_of_range"
    assert _error(b"{" + b" " * MAX_PAYLOAD_BYTES + b"}").reason == "too_large"
    assert _error(b"nope").reason == "not_json"


def test_registry_entry_normalizes() -> None:
    assert ADAPTERS["signal_controller"]({})(CSAE_SAMPLE, CONTEXT) == normalize_signal_controller(CSAE_SAMPLE, CONTEXT)

"""Adapter for the "signal controller phase states" format: controller JSON -> SignalPhaseAndTiming.

A signal controller (or the RSU in front of it) publishes the live state of one intersection as one JSON
object (UTF-8, optional BOM) per MQTT message, about 10 per second:

    {"intersection_id": 1203, "timestamp_ms": 1714579212300, "convention": "csae", "phases": [
        {"signal_group": 1, "states": [
            {"light": "protected-green", "start": 0, "likely_end": 124, "min_end": 80, "max_end": 300},
            {"light": 7, "start": 124, "likely_end": 154}]}]}

`SignalControllerMessage`, `SignalPhase` and `PhaseState` describe it field by field. Numbers are strict;
unknown fields are ignored.

`convention` selects what `light` and the times mean:

| convention | `light` (code or name)                                   | times (`timing`, default)            |
|------------|----------------------------------------------------------|--------------------------------------|
| "csae"     | CSAE 53 LightState 0..8 (CSAE_LIGHT_NAMES)               | "countdown" (CSAE TimeCountingDown)   |
| "j2735"    | J2735 MovementPhaseState 0..9 (J2735_PHASE_NAMES)        | "time_mark" (J2735 TimeMark)          |

The adapter returns the v1 `SignalPhaseAndTiming` message, built directly from the validated model.

`timing` may be given explicitly to override the default (a CSAE controller sending UTCTiming says
"time_mark"). Every time is resolved to absolute unix milliseconds:
- "countdown": tenths of a second relative to the message time `timestamp_ms` (0 = now), so absolute =
  timestamp_ms + 100 * value, for 0..36000 (an hour). 36001 (the top of CSAE's TimeMark range) means
  unavailable -> None; larger values are out of range.
- "time_mark": tenths of a second within the UTC hour (0..35999; 36000..36009 = a leap second, which unix
  time cannot represent, so it resolves to the end of the hour; 36111 = unavailable -> None; 36010..36110 are
  invalid). The hour is implicit: the value resolves to the instant closest to `timestamp_ms`, i.e. within
  half an hour either side, across the hour boundary in either direction.

CSAE LightState -> MovementPhase (the codes 2, 4, 7 and 8 differ in meaning from J2735's):

| CSAE | name            | MovementPhase                 | why                                                     |
|------|-----------------|-------------------------------|---------------------------------------------------------|
| 0    | unavailable     | UNAVAILABLE                   |                                                         |
| 1    | dark            | DARK                          |                                                         |
| 2    | flashing-red    | STOP_THEN_PROCEED             | flashing red = stop, then proceed                       |
| 3    | red             | STOP_AND_REMAIN               |                                                         |
| 4    | flashing-green  | PROTECTED_CLEARANCE           | green about to end; still allowed (J2735 "clearance")   |
| 5    | permissive-green| PERMISSIVE_MOVEMENT_ALLOWED   |                                                         |
| 6    | protected-green | PROTECTED_MOVEMENT_ALLOWED    |                                                         |
| 7    | yellow          | PROTECTED_CLEARANCE           | as in proto/v2x/roadside/v1/signal.proto                |
| 8    | flashing-yellow | CAUTION_CONFLICTING_TRAFFIC   | J2735 9, not J2735 8                                    |

J2735 MovementPhaseState codes equal MovementPhase values.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError
from v2x.roadside.v1 import signal_pb2

from gateway.adapters.base import MessageContext
from gateway.adapters.canonical import fill_provenance
from gateway.adapters.json_payload import MAX_UNIX_MS, PAYLOAD_MODEL_CONFIG, parse_json_payload
from roadlink.domain.errors import ValidationError
from roadlink.domain.signal import MovementPhase

__all__ = [
    "COUNTDOWN_UNAVAILABLE",
    "CSAE_LIGHTS",
    "CSAE_LIGHT_NAMES",
    "J2735_PHASE_NAMES",
    "MAX_PAYLOAD_BYTES",
    "TIME_MARK_UNAVAILABLE",
    "PhaseState",
    "SignalControllerMessage",
    "SignalPhase",
    "normalize_signal_controller",
    "resolve_countdown",
    "resolve_time_mark",
]

MAX_PAYLOAD_BYTES: Final = 1 << 20
"""Largest accepted payload, bytes (1 MiB; the largest message, 255 phases x 16 states, is about 620 KiB)."""

COUNTDOWN_UNAVAILABLE: Final = 36001
"""Countdown value meaning "not known", tenths of a second (top of CSAE's TimeMark range)."""

TIME_MARK_UNAVAILABLE: Final = 36111
"""J2735 TimeMark value meaning "unavailable"."""

_TIME_MARK_MAX: Final = 36009
_HOUR_MS: Final = 3_600_000
_TENTH_MS: Final = 100

CSAE_LIGHTS: Final[Mapping[int, MovementPhase]] = types.MappingProxyType(
    {
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
)
"""CSAE LightState code -> MovementPhase (the table in the module docstring)."""

CSAE_LIGHT_NAMES: Final[Mapping[str, int]] = types.MappingProxyType(
    {
        "unavailable": 0,
        "dark": 1,
        "flashing-red": 2,
        "red": 3,
        "flashing-green": 4,
        "permissive-green": 5,
        "protected-green": 6,
        "yellow": 7,
        "flashing-yellow": 8,
    }
)
"""CSAE LightState name (as in the ASN.1, compared in lower case) -> code."""

J2735_PHASE_NAMES: Final[Mapping[str, int]] = types.MappingProxyType(
    {
        "unavailable": 0,
        "dark": 1,
        "stop-then-proceed": 2,
        "stop-and-remain": 3,
        "pre-movement": 4,
        "permissive-movement-allowed": 5,
        "protected-movement-allowed": 6,
        "permissive-clearance": 7,
        "protected-clearance": 8,
        "caution-conflicting-traffic": 9,
    }
)
"""J2735 MovementPhaseState name (as in the ASN.1, compared in lower case) -> code."""

_PHASES: Final[Mapping[str, tuple[Mapping[str, int], Mapping[int, MovementPhase]]]] = types.MappingProxyType(
    {
        "csae": (CSAE_LIGHT_NAMES, CSAE_LIGHTS),
        "j2735": (J2735_PHASE_NAMES, types.MappingProxyType({int(p): p for p in MovementPhase})),
    }
)
_DEFAULT_TIMING: Final[Mapping[str, str]] = types.MappingProxyType({"csae": "countdown", "j2735": "time_mark"})

_PROTO_PHASES: Final[Mapping[str, tuple[Mapping[str, int], Mapping[int, signal_pb2.MovementPhase.ValueType]]]] = (
    types.MappingProxyType(
        {
            convention: (names, {code: signal_pb2.MovementPhase.ValueType(int(p)) for code, p in phases.items()})
            for convention, (names, phases) in _PHASES.items()
        }
    )
)
"""_PHASES with the v1 enum values: convention -> (name -> code, code -> v1 MovementPhase)."""

_TIME_FIELDS: Final = ("start", "min_end", "max_end", "likely_end", "next_start")
_MAX_LIGHT_NAME: Final = 64


def _light_code_or_name(value: object) -> int | str:
    """Accept an integer code or a name, nothing else (no bools, no floats)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("wrong_shape", "light must be an integer code or a name")
    if isinstance(value, str) and len(value) > _MAX_LIGHT_NAME:
        raise PydanticCustomError("out_of_range", "light name must be at most {max} characters", {"max": 64})
    return value


_Light = Annotated[
    int | str,
    PlainValidator(_light_code_or_name),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": _MAX_LIGHT_NAME}]}),
]
_TIME_DESCRIPTION: Final = "tenths of a second: a countdown from timestamp_ms, or a TimeMark (see timing)"


def _time_field(what: str) -> Any:
    """A tenths-of-a-second time field: absent or null = not sent."""
    return Field(default=None, strict=True, ge=0, le=TIME_MARK_UNAVAILABLE, description=f"{what}, {_TIME_DESCRIPTION}.")


class PhaseState(BaseModel):
    """One state of a signal group and its timing. Unknown fields are ignored."""

    model_config = PAYLOAD_MODEL_CONFIG

    light: _Light = Field(
        description="The state: a code or a name (case-insensitive) of the convention's enumeration. csae: "
        "LightState 0 unavailable, 1 dark, 2 flashing-red, 3 red, 4 flashing-green, 5 permissive-green, "
        "6 protected-green, 7 yellow, 8 flashing-yellow. j2735: MovementPhaseState 0 unavailable, 1 dark, "
        "2 stop-Then-Proceed, 3 stop-And-Remain, 4 pre-Movement, 5 permissive-Movement-Allowed, "
        "6 protected-Movement-Allowed, 7 permissive-clearance, 8 protected-clearance, "
        "9 caution-Conflicting-Traffic.",
    )
    start: int | None = _time_field("When this state started or starts")
    min_end: int | None = _time_field("Earliest end of this state")
    max_end: int | None = _time_field("Latest end of this state")
    likely_end: int | None = _time_field("Most likely end of this state")
    confidence: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=15,
        description="Confidence in likely_end, 0..15 (J2735 TimeIntervalConfidence code); absent = not sent.",
    )
    next_start: int | None = _time_field("When this state is next expected to start again")


class SignalPhase(BaseModel):
    """The current and upcoming states of one signal group (J2735 MovementState, CSAE Phase)."""

    model_config = PAYLOAD_MODEL_CONFIG

    signal_group: int = Field(
        strict=True, ge=0, le=255, description="Signal group id (J2735 signalGroup, CSAE PhaseID), 0..255."
    )
    states: tuple[PhaseState, ...] = Field(
        min_length=1, max_length=16, description="The current state first, then upcoming ones; 1..16."
    )


class SignalControllerMessage(BaseModel):
    """The live state of one intersection. Unknown fields are ignored."""

    model_config = PAYLOAD_MODEL_CONFIG

    intersection_id: int = Field(strict=True, ge=0, le=65535, description="Intersection id, 0..65535.")
    region: int | None = Field(
        default=None, strict=True, ge=0, le=65535, description="Road regulator region, 0..65535; absent = none."
    )
    revision: int = Field(default=0, strict=True, ge=0, le=127, description="Revision counter, 0..127.")
    status_flags: int = Field(
        default=0, strict=True, ge=0, le=65535, description="IntersectionStatusObject bits (J2735 / CSAE), 16 bits."
    )
    name: str = Field(default="", strict=True, max_length=63, description="Human-readable intersection name.")
    timestamp_ms: int = Field(strict=True, gt=0, le=MAX_UNIX_MS, description="Time of this state, unix epoch ms (UTC).")
    convention: Literal["csae", "j2735"] = Field(
        description='"csae": light is a CSAE LightState, times default to countdowns; "j2735": light is a J2735 '
        "MovementPhaseState, times default to TimeMarks."
    )
    timing: Literal["countdown", "time_mark"] | None = Field(
        default=None,
        description='"countdown": times are tenths of a second from timestamp_ms (36001 = unavailable); '
        '"time_mark": tenths of a second within the UTC hour (36000..36009 leap second, 36111 = unavailable). '
        "Absent = the convention's default.",
    )
    phases: tuple[SignalPhase, ...] = Field(
        min_length=1, max_length=255, description="One entry per signal group, 1..255."
    )


def resolve_countdown(value: int | None, message_time_unix_ms: int) -> int | None:
    """Absolute unix ms of a countdown in tenths of a second from the message time; None when unavailable.

    Raises:
        ValueError: the value is outside 0..36001.
    """
    if value is None or value == COUNTDOWN_UNAVAILABLE:
        return None
    if not 0 <= value < COUNTDOWN_UNAVAILABLE:
        raise ValueError(f"countdown {value} is outside 0..36000 and not 36001 (unavailable)")
    return message_time_unix_ms + value * _TENTH_MS


def resolve_time_mark(value: int | None, message_time_unix_ms: int) -> int | None:
    """Absolute unix ms of a J2735 TimeMark: the instant closest to the message time; None when unavailable.

    Raises:
        ValueError: the value is outside 0..36009 and not 36111.
    """
    if value is None or value == TIME_MARK_UNAVAILABLE:
        return None
    if not 0 <= value <= _TIME_MARK_MAX:
        raise ValueError(f"TimeMark {value} is outside 0..36009 and not 36111 (unavailable)")
    offset_ms = min(value * _TENTH_MS, _HOUR_MS)  # a leap second resolves to the end of the hour
    delta = (offset_ms - message_time_unix_ms % _HOUR_MS + _HOUR_MS // 2) % _HOUR_MS - _HOUR_MS // 2
    return message_time_unix_ms + delta


def normalize_signal_controller(payload: bytes, context: MessageContext) -> list[signal_pb2.SignalPhaseAndTiming]:
    """The Adapter for this format: one message -> one v1 SignalPhaseAndTiming (see the module docstring).

    The message is built in place from the validated model (no domain objects on the hot path); a time or a
    light out of range is found by the fast path and then located by `_locate_error` for a precise field.

    Raises:
        ValidationError: reason "too_large", "not_json", "wrong_shape" or "out_of_range"; never anything else.
    """
    message = parse_json_payload(SignalControllerMessage, payload, max_bytes=MAX_PAYLOAD_BYTES)
    now = message.timestamp_ms
    spat = signal_pb2.SignalPhaseAndTiming(
        intersection_id=message.intersection_id,
        region=message.region,
        revision=message.revision,
        status_flags=message.status_flags,
        time_unix_ms=now,
        name=message.name,
    )
    fill_provenance(spat.provenance, context, now)
    try:
        _add_movements(spat, message)
    except (ValueError, KeyError) as exc:
        raise _locate_error(message) from exc
    return [spat]


def _add_movements(spat: signal_pb2.SignalPhaseAndTiming, message: SignalControllerMessage) -> None:
    """Append one MovementState per phase; ValueError/KeyError on a time or light outside its range."""
    now = message.timestamp_ms
    timing = message.timing or _DEFAULT_TIMING[message.convention]
    resolve = resolve_countdown if timing == "countdown" else resolve_time_mark
    names, codes = _PROTO_PHASES[message.convention]
    add_movement = spat.movements.add
    for phase in message.phases:
        add_event = add_movement(signal_group=phase.signal_group).events.add
        for state in phase.states:
            light = state.light
            add_event(
                phase=codes[names[light.lower()] if isinstance(light, str) else light],
                start_time_unix_ms=resolve(state.start, now),
                min_end_time_unix_ms=resolve(state.min_end, now),
                max_end_time_unix_ms=resolve(state.max_end, now),
                likely_end_time_unix_ms=resolve(state.likely_end, now),
                confidence=state.confidence,
                next_time_unix_ms=resolve(state.next_start, now),
            )


def _locate_error(message: SignalControllerMessage) -> ValidationError:
    """The ValidationError for the first bad light or time, naming it (phases.<i>.states.<j>.<field>)."""
    timing = message.timing or _DEFAULT_TIMING[message.convention]
    resolve = resolve_countdown if timing == "countdown" else resolve_time_mark
    for index, phase in enumerate(message.phases):
        for number, state in enumerate(phase.states):
            where = f"phases.{index}.states.{number}"
            _phase(message.convention, state.light, f"{where}.light")
            for name in _TIME_FIELDS:
                try:
                    resolve(getattr(state, name), message.timestamp_ms)
                except ValueError as exc:
                    return ValidationError("out_of_range", f"{where}.{name}: {exc}", field=f"{where}.{name}")
    return ValidationError("out_of_range", "phases: a light or time is out of range", field="phases")


def _phase(convention: str, light: int | str, field: str) -> MovementPhase:
    """The MovementPhase of a light code or name in the given convention (ValidationError if unknown)."""
    names, phases = _PHASES[convention]
    code = names.get(light.lower(), -1) if isinstance(light, str) else light
    phase = phases.get(code)
    if phase is None:
        raise ValidationError("out_of_range", f"{field}: {light!r} is not a {convention} light state", field=field)
    return phase

"""Signal phase and timing with absolute times (unix ms), whatever the source's time convention.

J2735 sends TimeMark (0.1 s within the UTC hour) and CSAE sends countdowns (0.1 s relative to now); both
are resolved to absolute unix milliseconds by the adapters and codecs, so consumers never guess.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from roadlink.domain.perception import Provenance

__all__ = ["MovementEvent", "MovementPhase", "MovementState", "SignalPhaseAndTiming"]


class MovementPhase(enum.IntEnum):
    """Signal state; values equal the J2735 MovementPhaseState codes and the v1 proto enum."""

    UNAVAILABLE = 0
    DARK = 1
    STOP_THEN_PROCEED = 2
    STOP_AND_REMAIN = 3
    PRE_MOVEMENT = 4
    PERMISSIVE_MOVEMENT_ALLOWED = 5
    PROTECTED_MOVEMENT_ALLOWED = 6
    PERMISSIVE_CLEARANCE = 7
    PROTECTED_CLEARANCE = 8
    CAUTION_CONFLICTING_TRAFFIC = 9


@dataclass(frozen=True, slots=True)
class MovementEvent:
    """One state of a signal group and its absolute timing (unix ms; None = not sent)."""

    phase: MovementPhase
    start_time_unix_ms: int | None = None
    min_end_time_unix_ms: int | None = None
    max_end_time_unix_ms: int | None = None
    likely_end_time_unix_ms: int | None = None
    confidence: int | None = None
    next_time_unix_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MovementState:
    """The current and upcoming states of one signal group, in time order."""

    signal_group: int
    events: tuple[MovementEvent, ...]


@dataclass(frozen=True, slots=True)
class SignalPhaseAndTiming:
    """Live signal state of one intersection at `time_unix_ms`."""

    intersection_id: int
    time_unix_ms: int
    movements: tuple[MovementState, ...]
    region: int | None = None
    revision: int = 0
    status_flags: int = 0
    name: str = ""
    provenance: Provenance | None = None

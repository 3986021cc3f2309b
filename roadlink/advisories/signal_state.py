"""Signal state of a lane at a time, from SPaT: what the red-light and stalled-vehicle detectors ask.

SPaT messages are indexed by ``(intersection_id, signal_group)`` (the newest message per intersection
wins). The state of a signal group at time ``t`` is its first event (events are in time order) that has
not ended by ``t``; an event ends at its ``likely_end_time_unix_ms``, else ``min_end_time_unix_ms``, else
``max_end_time_unix_ms`` (none of them = open-ended). A group whose events all ended is unknown.
The SPaT ``region`` is ignored: one lookup serves one map, whose intersection ids are unique.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from roadlink.advisories.map_model import Lane
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming

__all__ = ["HOLDING_PHASES", "GroupState", "SignalLookup", "event_end_unix_ms"]

HOLDING_PHASES: frozenset[MovementPhase] = frozenset(
    {MovementPhase.STOP_AND_REMAIN, MovementPhase.STOP_THEN_PROCEED, MovementPhase.PRE_MOVEMENT}
)
"""Phases during which vehicles wait at the stop line (red, flashing red, red-yellow)."""


def event_end_unix_ms(event: MovementEvent) -> int | None:
    """When ``event`` ends: likely, else minimum, else maximum end time (unix ms; None = open-ended)."""
    for end in (event.likely_end_time_unix_ms, event.min_end_time_unix_ms, event.max_end_time_unix_ms):
        if end is not None:
            return end
    return None


@dataclass(frozen=True, slots=True)
class GroupState:
    """A signal group's phase at a time and when that phase ends (unix ms; None = unknown or open-ended)."""

    phase: MovementPhase
    end_unix_ms: int | None


@dataclass(frozen=True, slots=True)
class SignalLookup:
    """The newest SPaT per intersection, indexed by ``(intersection_id, signal_group)``."""

    signals: Sequence[SignalPhaseAndTiming] = ()
    _movements: dict[tuple[int, int], MovementState] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the movements of the newest SPaT of each intersection."""
        newest: dict[int, SignalPhaseAndTiming] = {}
        for spat in self.signals:
            known = newest.get(spat.intersection_id)
            if known is None or spat.time_unix_ms >= known.time_unix_ms:
                newest[spat.intersection_id] = spat
        movements = {(i, m.signal_group): m for i, spat in newest.items() for m in spat.movements}
        object.__setattr__(self, "_movements", movements)

    def group_state(self, intersection_id: int, signal_group: int, time_unix_ms: int) -> GroupState | None:
        """The state of one signal group at ``time_unix_ms``, None when unknown."""
        movement = self._movements.get((intersection_id, signal_group))
        if movement is None:
            return None
        for event in movement.events:
            end = event_end_unix_ms(event)
            if end is None or end > time_unix_ms:
                return GroupState(event.phase, end)
        return None

    def lane_states(self, lane: Lane, time_unix_ms: int) -> list[GroupState | None]:
        """The state of each of ``lane``'s signal groups (empty for an unsignalized lane)."""
        return [self.group_state(lane.intersection_id, group, time_unix_ms) for group in lane.signal_groups]

    def red_end_unix_ms(self, lane: Lane, time_unix_ms: int) -> float | None:
        """When red ends for ``lane``, if every one of its signal groups shows red (STOP_AND_REMAIN) now.

        Returns:
            None when the lane is unsignalized or any group is unknown or not red; otherwise the earliest
            time (unix ms) one of its groups leaves red, ``math.inf`` when no end time is known.
        """
        states = self.lane_states(lane, time_unix_ms)
        if not states or any(s is None or s.phase is not MovementPhase.STOP_AND_REMAIN for s in states):
            return None
        ends = [s.end_unix_ms for s in states if s is not None and s.end_unix_ms is not None]
        return float(min(ends)) if ends else math.inf

    def holds(self, lane: Lane, time_unix_ms: int) -> bool:
        """True when ``lane`` is signalized and a group holds traffic (:data:`HOLDING_PHASES`) or is unknown.

        Unknown counts as holding so a stalled-vehicle detector without SPaT never flags a queue at a
        signalized stop line.
        """
        states = self.lane_states(lane, time_unix_ms)
        return any(s is None or s.phase in HOLDING_PHASES for s in states)

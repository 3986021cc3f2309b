"""Signal lookup: the phase of a signal group at a time, and what a lane's signals say."""

from __future__ import annotations

import math

from roadlink.advisories import SignalLookup
from roadlink.advisories.signal_state import GroupState
from roadlink.domain.signal import MovementEvent, MovementPhase, MovementState, SignalPhaseAndTiming
from tests.advisories.scenes import T0_MS, northbound_lane, spat

RED = MovementPhase.STOP_AND_REMAIN
GREEN = MovementPhase.PROTECTED_MOVEMENT_ALLOWED


def test_group_state_is_the_first_event_not_ended() -> None:
    lookup = SignalLookup([spat(RED, end_unix_ms=T0_MS + 5_000)])

    assert lookup.group_state(7, 2, T0_MS) == GroupState(RED, T0_MS + 5_000)
    assert lookup.group_state(7, 2, T0_MS + 6_000) == GroupState(GREEN, None)
    assert lookup.group_state(7, 3, T0_MS) is None
    assert lookup.group_state(8, 2, T0_MS) is None


def test_newest_spat_of_an_intersection_wins() -> None:
    lookup = SignalLookup([spat(GREEN, time_unix_ms=T0_MS), spat(RED, time_unix_ms=T0_MS - 1_000)])

    assert lookup.group_state(7, 2, T0_MS) == GroupState(GREEN, T0_MS + 20_000)


def test_likely_end_is_preferred_and_all_ended_is_unknown() -> None:
    event = MovementEvent(RED, min_end_time_unix_ms=T0_MS + 1_000, likely_end_time_unix_ms=T0_MS + 3_000)
    lookup = SignalLookup([SignalPhaseAndTiming(7, T0_MS, (MovementState(2, (event,)),))])

    assert lookup.group_state(7, 2, T0_MS + 2_000) == GroupState(RED, T0_MS + 3_000)
    assert lookup.group_state(7, 2, T0_MS + 3_000) is None


def _spat(*phases: tuple[int, MovementEvent]) -> SignalPhaseAndTiming:
    return SignalPhaseAndTiming(7, T0_MS, tuple(MovementState(group, (event,)) for group, event in phases))


def test_red_end_needs_every_group_of_the_lane_red() -> None:
    lane = northbound_lane(signal_groups=(2, 4))
    red_until_9s = MovementEvent(RED, min_end_time_unix_ms=T0_MS + 9_000)
    both_red = SignalLookup([_spat((2, red_until_9s), (4, MovementEvent(RED)))])
    one_green = SignalLookup([_spat((2, red_until_9s), (4, MovementEvent(GREEN)))])
    one_unknown = SignalLookup([_spat((2, red_until_9s))])

    assert both_red.red_end_unix_ms(lane, T0_MS) == T0_MS + 9_000
    assert one_green.red_end_unix_ms(lane, T0_MS) is None
    assert one_unknown.red_end_unix_ms(lane, T0_MS) is None
    assert SignalLookup([spat(RED, end_unix_ms=None)]).red_end_unix_ms(northbound_lane(), T0_MS) == math.inf
    assert SignalLookup().red_end_unix_ms(northbound_lane(), T0_MS) is None


def test_holds_when_a_group_waits_or_is_unknown_but_never_without_signals() -> None:
    assert SignalLookup([spat(RED)]).holds(northbound_lane(), T0_MS)
    assert SignalLookup([spat(MovementPhase.PRE_MOVEMENT)]).holds(northbound_lane(), T0_MS)
    assert not SignalLookup([spat(GREEN)]).holds(northbound_lane(), T0_MS)
    assert SignalLookup().holds(northbound_lane(), T0_MS)
    assert not SignalLookup().holds(northbound_lane(signal_groups=()), T0_MS)

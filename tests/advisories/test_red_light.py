"""Red-light violation risk: cannot stop comfortably before a red stop line and arrives before green."""

from __future__ import annotations

import pytest

from roadlink.advisories import RedLightConfig, detect_red_light_violations
from roadlink.domain.classes import ObjectClass
from roadlink.domain.signal import MovementPhase
from roadlink.domain.situation import Advisory, AdvisoryType, Severity
from tests.advisories.scenes import EAST, SOUTH, T0_MS, northbound_lane, position, road, scene, spat, track

RED = MovementPhase.STOP_AND_REMAIN
HALF_CAR_M = 2.25


def _approach(front_to_stop_m: float, speed_mps: float, *, red_end_ms: int | None = T0_MS + 20_000) -> list[Advisory]:
    car = track(1, 0.0, -front_to_stop_m - HALF_CAR_M, speed_mps=speed_mps)
    return detect_red_light_violations(scene(car), road(), [spat(RED, end_unix_ms=red_end_ms)])


@pytest.mark.parametrize(
    ("front_to_stop_m", "severity"),
    [
        (38.0, None),  # 15^2 / (2 * 38) = 2.96 m/s^2: can stop comfortably
        (37.0, Severity.WARNING),  # 3.04 m/s^2
        (18.9, Severity.WARNING),  # 5.95 m/s^2
        (18.5, Severity.CRITICAL),  # 6.08 m/s^2
    ],
)
def test_severity_follows_the_required_deceleration(front_to_stop_m: float, severity: Severity | None) -> None:
    advisories = _approach(front_to_stop_m, 15.0)

    assert [a.severity for a in advisories] == ([] if severity is None else [severity])


def test_advisory_has_time_to_the_stop_line_and_covers_the_intersection() -> None:
    (advisory,) = _approach(30.0, 15.0)

    assert advisory.type is AdvisoryType.RED_LIGHT_VIOLATION
    assert advisory.advisory_id == "red_light_violation:1"
    assert advisory.track_ids == (1,)
    assert advisory.time_to_event_s == pytest.approx(2.0, abs=0.01)
    assert advisory.zone is not None
    assert advisory.zone.contains(position(0.0, 15.0))
    assert "3.8 m/s^2" in advisory.description


def test_no_risk_when_red_ends_before_arrival() -> None:
    assert _approach(30.0, 15.0, red_end_ms=T0_MS + 1_900) == []
    assert len(_approach(30.0, 15.0, red_end_ms=T0_MS + 2_100)) == 1
    assert len(_approach(30.0, 15.0, red_end_ms=None)) == 1  # end unknown: red stays


def test_no_risk_on_green_without_spat_or_past_the_stop_line() -> None:
    car = track(1, 0.0, -30.0, speed_mps=15.0)
    past = track(2, 0.0, 1.0, speed_mps=15.0)

    green = [spat(MovementPhase.PROTECTED_MOVEMENT_ALLOWED)]
    assert detect_red_light_violations(scene(car), road(), green) == []
    assert detect_red_light_violations(scene(car), road(), []) == []
    assert detect_red_light_violations(scene(past), road(), [spat(RED)]) == []


def test_vehicles_not_heading_for_the_stop_line_are_ignored() -> None:
    leaving = track(1, 0.0, -30.0, heading_deg=SOUTH, speed_mps=15.0)
    crossing = track(2, 0.0, -30.0, heading_deg=EAST, speed_mps=15.0)
    slow = track(3, 0.0, -3.0, speed_mps=1.5)
    walker = track(4, 0.0, -5.0, speed_mps=6.0, object_class=ObjectClass.PEDESTRIAN)

    assert detect_red_light_violations(scene(leaving, crossing, slow, walker), road(), [spat(RED)]) == []


def test_lanes_without_a_stop_line_or_signal_give_nothing_and_decel_is_configurable() -> None:
    car = track(1, 0.0, -30.0, speed_mps=15.0)

    assert detect_red_light_violations(scene(car), road(northbound_lane(stop_line=False)), [spat(RED)]) == []
    assert detect_red_light_violations(scene(car), road(northbound_lane(signal_groups=())), [spat(RED)]) == []
    assert (
        detect_red_light_violations(scene(car), road(), [spat(RED)], RedLightConfig(comfortable_decel_mps2=5.0)) == []
    )

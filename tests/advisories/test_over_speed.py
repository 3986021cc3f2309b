"""Over speed: faster than the lane's limit by a margin."""

from __future__ import annotations

import pytest

from roadlink.advisories import OverSpeedConfig, detect_over_speed
from roadlink.domain.situation import AdvisoryType, Severity
from tests.advisories.scenes import EAST, NORTH, SOUTH, northbound_lane, road, scene, track

LIMIT_MPS = 13.9


@pytest.mark.parametrize(
    ("speed_mps", "severity"),
    [
        (LIMIT_MPS, None),
        (LIMIT_MPS + 1.9, None),
        (LIMIT_MPS + 2.1, Severity.WARNING),
        (LIMIT_MPS + 9.9, Severity.WARNING),
        (LIMIT_MPS + 10.1, Severity.CRITICAL),
    ],
)
def test_severity_follows_the_excess_over_the_limit(speed_mps: float, severity: Severity | None) -> None:
    advisories = detect_over_speed(scene(track(1, 0.0, -100.0, heading_deg=NORTH, speed_mps=speed_mps)), road())

    assert [a.severity for a in advisories] == ([] if severity is None else [severity])


def test_advisory_names_the_vehicle_and_the_limit() -> None:
    (advisory,) = detect_over_speed(scene(track(4, 0.0, -100.0, speed_mps=20.0)), road())

    assert advisory.type is AdvisoryType.OVER_SPEED
    assert advisory.advisory_id == "over_speed:4"
    assert advisory.track_ids == (4,)
    assert advisory.time_to_event_s == 0.0
    assert "13.9" in advisory.description
    assert "20.0" in advisory.description


def test_no_limit_no_lane_or_crossing_the_lane_means_no_advisory() -> None:
    fast = 30.0

    assert (
        detect_over_speed(scene(track(1, 0.0, -100.0, speed_mps=fast)), road(northbound_lane(speed_limit_mps=None)))
        == []
    )
    assert detect_over_speed(scene(track(1, 8.0, -100.0, speed_mps=fast)), road()) == []
    assert detect_over_speed(scene(track(1, 0.0, -100.0, heading_deg=EAST, speed_mps=fast)), road()) == []


def test_direction_along_the_lane_either_way_or_unknown_counts() -> None:
    against = track(1, 0.0, -100.0, heading_deg=SOUTH, speed_mps=30.0)
    unknown = track(2, 0.0, -50.0, heading_deg=None, speed_mps=30.0)

    assert [a.track_ids for a in detect_over_speed(scene(against, unknown), road())] == [(1,), (2,)]


def test_margins_are_configurable() -> None:
    s = scene(track(1, 0.0, -100.0, speed_mps=LIMIT_MPS + 1.0))

    assert len(detect_over_speed(s, road(), OverSpeedConfig(warning_margin_mps=0.5))) == 1

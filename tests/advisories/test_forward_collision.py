"""Forward collision: time-to-collision with the object ahead in the follower's path."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.advisories import ForwardCollisionConfig, Scene, detect_forward_collisions
from roadlink.domain.classes import ObjectClass
from roadlink.domain.situation import AdvisoryType, Severity
from roadlink.domain.spatial import Circle, distance_m
from tests.advisories.scenes import EAST, NORTH, SOUTH, T0_MS, position, scene, track

CAR_M = 4.5  # default car length: centre distance = gap + CAR_M


def _pair(
    gap_m: float, *, lead_speed_mps: float = 5.0, lateral_m: float = 0.0, lead_heading_deg: float = NORTH
) -> Scene:
    follower = track(1, 0.0, 0.0, heading_deg=NORTH, speed_mps=15.0)
    lead = track(2, lateral_m, gap_m + CAR_M, heading_deg=lead_heading_deg, speed_mps=lead_speed_mps)
    return scene(follower, lead)


@pytest.mark.parametrize(
    ("gap_m", "severity"),
    [
        (41.0, None),
        (39.0, Severity.WARNING),
        (21.0, Severity.WARNING),
        (19.0, Severity.CRITICAL),
        (0.0, Severity.CRITICAL),
    ],
)
def test_severity_follows_ttc_thresholds(gap_m: float, severity: Severity | None) -> None:
    advisories = detect_forward_collisions(_pair(gap_m))  # closing at 10 m/s: TTC = gap / 10

    assert [a.severity for a in advisories] == ([] if severity is None else [severity])


def test_advisory_names_follower_then_lead_with_ttc_and_zone() -> None:
    (advisory,) = detect_forward_collisions(_pair(30.0))

    assert advisory.type is AdvisoryType.FORWARD_COLLISION
    assert advisory.advisory_id == "forward_collision:1-2"
    assert advisory.track_ids == (1, 2)
    assert advisory.time_to_event_s == pytest.approx(3.0, abs=0.01)
    assert advisory.time_unix_ms == T0_MS
    assert advisory.valid_until_unix_ms is not None
    assert advisory.valid_until_unix_ms > T0_MS
    assert advisory.zone is not None
    assert advisory.zone.contains(position(0.0, 0.0))
    assert advisory.zone.contains(position(0.0, 34.5))
    assert "TTC" in advisory.description or "time to collision" in advisory.description


def test_id_is_stable_as_the_hazard_evolves() -> None:
    first = detect_forward_collisions(_pair(35.0))
    later = detect_forward_collisions(_pair(15.0))

    assert [a.advisory_id for a in first] == [a.advisory_id for a in later]
    assert first[0].severity is Severity.WARNING
    assert later[0].severity is Severity.CRITICAL


@pytest.mark.parametrize(("lateral_m", "expected"), [(1.7, 1), (1.9, 0), (-1.7, 1)])
def test_lead_must_be_inside_the_corridor(lateral_m: float, expected: int) -> None:
    assert len(detect_forward_collisions(_pair(20.0, lateral_m=lateral_m))) == expected


def test_no_risk_when_lead_is_faster_behind_or_oncoming() -> None:
    assert detect_forward_collisions(_pair(10.0, lead_speed_mps=20.0)) == []
    assert detect_forward_collisions(_pair(-30.0)) == []
    assert detect_forward_collisions(_pair(30.0, lead_heading_deg=SOUTH, lead_speed_mps=10.0)) == []
    assert detect_forward_collisions(_pair(30.0, lead_heading_deg=EAST)) == []


def test_stopped_lead_counts_whatever_its_heading() -> None:
    advisories = detect_forward_collisions(_pair(30.0, lead_heading_deg=EAST, lead_speed_mps=0.0))

    assert [a.time_to_event_s for a in advisories] == [2.0]


def test_heading_tolerance_is_configurable() -> None:
    skewed = _pair(30.0, lead_heading_deg=25.0)

    assert len(detect_forward_collisions(skewed)) == 1
    assert detect_forward_collisions(skewed, ForwardCollisionConfig(heading_tolerance_deg=20.0)) == []


def test_only_the_nearest_lead_matters() -> None:
    follower = track(1, 0.0, 0.0, speed_mps=15.0)
    blocker = track(2, 0.0, 30.0, speed_mps=15.0)  # same speed: no closing
    stopped = track(3, 0.0, 60.0, speed_mps=0.0)

    advisories = detect_forward_collisions(scene(follower, blocker, stopped))

    assert [a.track_ids for a in advisories] == [(2, 3)]


def test_pedestrians_are_not_leads_but_obstacles_are() -> None:
    follower = track(1, 0.0, 0.0, speed_mps=15.0)
    walker = track(2, 0.0, 20.0, object_class=ObjectClass.PEDESTRIAN)
    debris = track(3, 0.0, 20.0, object_class=ObjectClass.OBSTACLE, heading_deg=None, speed_mps=None)

    assert detect_forward_collisions(scene(follower, walker)) == []
    assert [a.track_ids for a in detect_forward_collisions(scene(follower, debris))] == [(1, 3)]


def test_slow_or_headingless_followers_are_skipped() -> None:
    stopped = track(1, 0.0, 0.0, speed_mps=0.5)
    unknown = track(3, 10.0, 0.0, heading_deg=None, speed_mps=15.0)
    obstacle = track(2, 0.0, 5.0, speed_mps=0.0)

    assert detect_forward_collisions(scene(stopped, unknown, obstacle, track(4, 10.0, 10.0))) == []


def test_many_platoons_find_exactly_the_closing_pairs_in_any_order() -> None:
    tracks = []
    for lane in range(40):  # 40 parallel northbound lanes 5 m apart, 25 cars each at 30 m spacing, same speed
        tracks += [track(1000 * lane + k, 5.0 * lane, 30.0 * k, speed_mps=12.0) for k in range(25)]
    tracks += [track(7, 5.0 * 3, 30.0 * 25 + 20.0, speed_mps=0.0), track(8, 5.0 * 30, -25.0, speed_mps=25.0)]

    advisories = detect_forward_collisions(scene(*tracks))
    order = np.random.default_rng(1).permutation(len(tracks))
    shuffled = detect_forward_collisions(scene(*(tracks[i] for i in order)))

    assert sorted(a.track_ids for a in advisories) == [(8, 30000), (3024, 7)]
    assert sorted(a.advisory_id for a in shuffled) == sorted(a.advisory_id for a in advisories)


def test_zone_radius_covers_the_involved_tracks() -> None:
    (advisory,) = detect_forward_collisions(_pair(25.0))

    assert isinstance(advisory.zone, Circle)
    assert advisory.zone.radius_m >= distance_m(position(0.0, 0.0), position(0.0, 29.5)) / 2

"""Intersection conflict: crossing paths that reach the crossing point within a window of each other."""

from __future__ import annotations

import math

import pytest

from roadlink.advisories import IntersectionConflictConfig, Scene, detect_intersection_conflicts
from roadlink.domain.classes import ObjectClass
from roadlink.domain.situation import AdvisoryType, Severity
from tests.advisories.scenes import EAST, NORTH, SOUTH, position, scene, track

SPEED_MPS = 15.0


def _crossing(t_east_s: float, t_north_s: float, *, east_id: int = 1, north_id: int = 2) -> Scene:
    """An eastbound and a northbound car reaching (0, 0) after the given times at 15 m/s."""
    eastbound = track(east_id, -SPEED_MPS * t_east_s, 0.0, heading_deg=EAST, speed_mps=SPEED_MPS)
    northbound = track(north_id, 0.0, -SPEED_MPS * t_north_s, heading_deg=NORTH, speed_mps=SPEED_MPS)
    return scene(eastbound, northbound)


@pytest.mark.parametrize(
    ("t_east_s", "t_north_s", "severity"),
    [
        (4.0, 3.0, Severity.WARNING),
        (2.0, 2.5, Severity.CRITICAL),
        (2.9, 2.0, Severity.CRITICAL),
        (3.2, 2.5, Severity.WARNING),  # both within the window, but one after the critical horizon
        (4.0, 2.1, Severity.WARNING),
        (4.0, 1.9, None),  # 2.1 s apart
        (6.2, 5.5, None),  # beyond the horizon
        (5.8, 5.5, Severity.WARNING),
    ],
)
def test_severity_follows_arrival_times(t_east_s: float, t_north_s: float, severity: Severity | None) -> None:
    advisories = detect_intersection_conflicts(_crossing(t_east_s, t_north_s))

    assert [a.severity for a in advisories] == ([] if severity is None else [severity])


def test_advisory_names_both_in_id_order_with_first_arrival() -> None:
    (advisory,) = detect_intersection_conflicts(_crossing(4.0, 3.0, east_id=9, north_id=3))

    assert advisory.type is AdvisoryType.INTERSECTION_CONFLICT
    assert advisory.advisory_id == "intersection_conflict:3-9"
    assert advisory.track_ids == (3, 9)
    assert advisory.time_to_event_s == pytest.approx(3.0, abs=0.01)
    assert advisory.zone is not None
    assert advisory.zone.contains(position(0.0, 0.0))
    assert "crossing" in advisory.description.lower()


def test_id_is_stable_across_calls() -> None:
    first = detect_intersection_conflicts(_crossing(4.0, 3.5))
    later = detect_intersection_conflicts(_crossing(2.0, 1.5))

    assert [a.advisory_id for a in first] == [a.advisory_id for a in later] == ["intersection_conflict:1-2"]


def test_paths_that_crossed_already_are_no_conflict() -> None:
    eastbound = track(1, -30.0, 0.0, heading_deg=EAST, speed_mps=SPEED_MPS)
    leaving = track(2, 0.0, 10.0, heading_deg=NORTH, speed_mps=SPEED_MPS)

    assert detect_intersection_conflicts(scene(eastbound, leaving)) == []


@pytest.mark.parametrize(("heading_deg", "expected"), [(30.0, 0), (46.0, 1), (134.0, 1), (150.0, 0)])
def test_only_crossing_angles_count(heading_deg: float, expected: int) -> None:
    northbound = track(1, 0.0, -30.0, heading_deg=NORTH, speed_mps=SPEED_MPS)
    angle = math.radians(heading_deg)
    other = track(2, -30.0 * math.sin(angle), -30.0 * math.cos(angle), heading_deg=heading_deg, speed_mps=SPEED_MPS)

    assert len(detect_intersection_conflicts(scene(northbound, other))) == expected


def test_head_on_and_parallel_traffic_is_not_a_crossing() -> None:
    northbound = track(1, 0.0, -30.0, heading_deg=NORTH, speed_mps=SPEED_MPS)
    southbound = track(2, 0.0, 30.0, heading_deg=SOUTH, speed_mps=SPEED_MPS)

    assert detect_intersection_conflicts(scene(northbound, southbound)) == []


def test_stopped_vehicles_and_pedestrians_are_ignored() -> None:
    eastbound = track(1, -30.0, 0.0, heading_deg=EAST, speed_mps=SPEED_MPS)
    stopped = track(2, 0.0, -3.0, heading_deg=NORTH, speed_mps=0.5)
    walker = track(3, 0.0, -3.0, heading_deg=NORTH, speed_mps=1.5, object_class=ObjectClass.PEDESTRIAN)

    assert detect_intersection_conflicts(scene(eastbound, stopped, walker)) == []


def test_thresholds_are_configurable() -> None:
    tight = IntersectionConflictConfig(arrival_window_s=0.5)

    assert detect_intersection_conflicts(_crossing(4.0, 3.0), tight) == []

"""VRU in path: a pedestrian or cyclist in a vehicle's predicted corridor within the horizon."""

from __future__ import annotations

import pytest

from roadlink.advisories import VruInPathConfig, detect_vrus_in_path
from roadlink.domain.classes import ObjectClass
from roadlink.domain.situation import AdvisoryType, Severity, Track
from tests.advisories.scenes import EAST, NORTH, WEST, pedestrian, position, scene, track


def _car(speed_mps: float = 10.0) -> Track:
    return track(1, 0.0, 0.0, heading_deg=NORTH, speed_mps=speed_mps)


@pytest.mark.parametrize(
    ("north_m", "severity"),
    [
        (20.0, Severity.CRITICAL),
        (22.3, Severity.CRITICAL),
        (22.7, Severity.WARNING),
        (30.0, Severity.WARNING),
        (52.3, Severity.WARNING),
        (52.7, None),
    ],
)
def test_severity_follows_time_to_reach(north_m: float, severity: Severity | None) -> None:
    # Gap = north - (4.5 + 0.5) / 2 at 10 m/s: 22.3 m -> 1.98 s, 22.7 m -> 2.02 s, 52.7 m -> 5.02 s.
    advisories = detect_vrus_in_path(scene(_car(), pedestrian(2, 0.0, north_m)))

    assert [a.severity for a in advisories] == ([] if severity is None else [severity])


def test_advisory_names_vehicle_then_vru() -> None:
    (advisory,) = detect_vrus_in_path(scene(_car(), pedestrian(2, 0.0, 30.0)))

    assert advisory.type is AdvisoryType.VULNERABLE_ROAD_USER
    assert advisory.advisory_id == "vulnerable_road_user:1-2"
    assert advisory.track_ids == (1, 2)
    assert advisory.time_to_event_s == pytest.approx(2.75, abs=0.01)
    assert advisory.zone is not None
    assert advisory.zone.contains(position(0.0, 30.0))
    assert "pedestrian" in advisory.description


@pytest.mark.parametrize(("east_m", "expected"), [(2.1, 1), (-2.1, 1), (2.2, 0)])
def test_corridor_half_width_is_half_both_widths_plus_margin(east_m: float, expected: int) -> None:
    # (1.8 + 0.5) / 2 + 1.0 = 2.15 m
    assert len(detect_vrus_in_path(scene(_car(), pedestrian(2, east_m, 30.0)))) == expected


def test_someone_stepping_into_the_road_is_caught_and_someone_leaving_is_not() -> None:
    stepping_in = pedestrian(2, 5.0, 25.0, heading_deg=WEST, speed_mps=1.5)
    walking_away = pedestrian(3, 5.0, 25.0, heading_deg=EAST, speed_mps=1.5)

    advisories = detect_vrus_in_path(scene(_car(), stepping_in, walking_away))

    assert [a.track_ids for a in advisories] == [(1, 2)]


def test_cyclists_count_and_cars_do_not() -> None:
    cyclist = pedestrian(2, 0.0, 30.0, object_class=ObjectClass.BICYCLE, speed_mps=3.0)
    car = track(3, 0.0, 30.0)

    advisories = detect_vrus_in_path(scene(_car(), cyclist, car))

    assert [a.track_ids for a in advisories] == [(1, 2)]
    assert "bicycle" in advisories[0].description


def test_no_advisory_for_vrus_behind_or_vehicles_standing_still() -> None:
    assert detect_vrus_in_path(scene(_car(), pedestrian(2, 0.0, -10.0))) == []
    assert detect_vrus_in_path(scene(_car(0.0), pedestrian(2, 0.0, 5.0))) == []


def test_cyclist_riding_ahead_as_fast_is_not_reached() -> None:
    cyclist = pedestrian(2, 0.0, 20.0, object_class=ObjectClass.BICYCLE, speed_mps=10.0)

    assert detect_vrus_in_path(scene(_car(), cyclist)) == []


def test_id_is_stable_and_horizon_configurable() -> None:
    near = detect_vrus_in_path(scene(_car(), pedestrian(2, 0.0, 15.0)))
    far = detect_vrus_in_path(scene(_car(), pedestrian(2, 0.0, 40.0)))

    assert [a.advisory_id for a in near] == [a.advisory_id for a in far]
    assert detect_vrus_in_path(scene(_car(), pedestrian(2, 0.0, 40.0)), VruInPathConfig(horizon_s=3.0)) == []

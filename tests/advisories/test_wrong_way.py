"""Wrong way: heading against a one-way lane's direction of travel."""

from __future__ import annotations

import pytest

from roadlink.advisories import LaneUse, WrongWayConfig, detect_wrong_way
from roadlink.domain.classes import ObjectClass
from roadlink.domain.situation import AdvisoryType, Severity
from tests.advisories.scenes import NORTH, SOUTH, northbound_lane, position, road, scene, track


@pytest.mark.parametrize(
    ("heading_deg", "speed_mps", "severity"),
    [
        (SOUTH, 10.0, Severity.CRITICAL),
        (SOUTH, 8.0, Severity.CRITICAL),
        (SOUTH, 7.9, Severity.WARNING),
        (SOUTH, 2.0, Severity.WARNING),
        (SOUTH, 1.9, None),
        (121.0, 10.0, Severity.CRITICAL),
        (239.0, 10.0, Severity.CRITICAL),
        (119.0, 10.0, None),
        (NORTH, 10.0, None),
    ],
)
def test_heading_against_the_lane_above_min_speed(
    heading_deg: float, speed_mps: float, severity: Severity | None
) -> None:
    s = scene(track(1, 0.5, -100.0, heading_deg=heading_deg, speed_mps=speed_mps))

    advisories = detect_wrong_way(s, road())

    assert [a.severity for a in advisories] == ([] if severity is None else [severity])


def test_advisory_without_oncoming_traffic_is_present_now() -> None:
    (advisory,) = detect_wrong_way(scene(track(1, 0.0, -100.0, heading_deg=SOUTH, speed_mps=10.0)), road())

    assert advisory.type is AdvisoryType.WRONG_WAY
    assert advisory.advisory_id == "wrong_way:1"
    assert advisory.track_ids == (1,)
    assert advisory.time_to_event_s == 0.0
    assert advisory.zone is not None
    assert advisory.zone.contains(position(0.0, -150.0))
    assert "lane 1" in advisory.description


def test_nearest_oncoming_vehicle_sets_time_to_event_but_not_the_id() -> None:
    wrong = track(1, 0.0, -100.0, heading_deg=SOUTH, speed_mps=10.0)
    oncoming = track(3, 0.0, -150.0, heading_deg=NORTH, speed_mps=10.0)
    farther = track(4, 0.0, -190.0, heading_deg=NORTH, speed_mps=10.0)
    behind = track(5, 0.0, -60.0, heading_deg=NORTH, speed_mps=10.0)

    (advisory,) = detect_wrong_way(scene(wrong, oncoming, farther, behind), road())

    assert advisory.advisory_id == "wrong_way:1"
    assert advisory.track_ids == (1, 3)
    assert advisory.time_to_event_s == pytest.approx((50.0 - 4.5) / 20.0, abs=0.01)


def test_bidirectional_lanes_and_off_lane_vehicles_are_never_wrong_way() -> None:
    two_way = road(northbound_lane(use=LaneUse.BIDIRECTIONAL))
    off_lane = track(2, 5.0, -100.0, heading_deg=SOUTH, speed_mps=10.0)

    assert detect_wrong_way(scene(track(1, 0.0, -100.0, heading_deg=SOUTH, speed_mps=10.0)), two_way) == []
    assert detect_wrong_way(scene(off_lane), road()) == []


def test_heading_unknown_or_not_a_vehicle_is_skipped() -> None:
    unknown = track(1, 0.0, -100.0, heading_deg=None, speed_mps=10.0)
    cyclist = track(2, 0.0, -120.0, heading_deg=SOUTH, speed_mps=5.0, object_class=ObjectClass.BICYCLE)

    assert detect_wrong_way(scene(unknown, cyclist), road()) == []


def test_egress_lane_direction_is_node_order_and_thresholds_are_configurable() -> None:
    egress = road(northbound_lane(use=LaneUse.EGRESS, start_north_m=10.0, end_north_m=200.0, stop_line=False))
    wrong = scene(track(1, 0.0, 100.0, heading_deg=SOUTH, speed_mps=4.0))

    assert len(detect_wrong_way(wrong, egress)) == 1
    assert detect_wrong_way(wrong, egress, WrongWayConfig(min_speed_mps=5.0)) == []

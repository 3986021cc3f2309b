"""Lane matching: nearest centre line within half the lane width."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.advisories import Lane, LaneKind, match_lanes
from roadlink.domain.geodesy import LocalOrigin
from tests.advisories.scenes import ORIGIN, northbound_lane, road, scene, track


def test_tracks_within_half_width_match_with_along_and_stop_distance() -> None:
    road_map = road(northbound_lane(1), northbound_lane(2, east_m=3.5))
    s = scene(track(1, 0.5, -50.0), track(2, 2.0, -10.0), track(3, 10.0, -10.0), track(4, 0.0, -210.0))

    match = match_lanes(s, road_map)

    assert match.lane.tolist() == [0, 1, -1, -1]
    assert match.offset_m[:2] == pytest.approx([0.5, 1.5], abs=1e-6)
    assert match.along_m[:2] == pytest.approx([150.0, 190.0], abs=1e-6)
    assert match.to_stop_line_m[:2] == pytest.approx([50.0, 10.0], abs=1e-6)
    assert match.lane_heading_deg[:2] == pytest.approx([0.0, 0.0])
    assert np.isnan(match.along_m[2])
    assert not match.matched[2]


def test_only_requested_rows_and_kinds_are_matched() -> None:
    sidewalk = Lane(7, 9, ((5.0, -100.0), (5.0, 0.0)), kind=LaneKind.SIDEWALK)
    road_map = road(northbound_lane(1), sidewalk)
    s = scene(track(1, 0.0, -50.0), track(2, 5.0, -50.0))

    assert match_lanes(s, road_map).lane.tolist() == [0, -1]
    assert match_lanes(s, road_map, kinds=frozenset({LaneKind.SIDEWALK})).lane.tolist() == [-1, 1]
    assert match_lanes(s, road_map, np.array([False, True])).lane.tolist() == [-1, -1]


def test_scene_in_another_frame_is_matched_in_the_map_frame() -> None:
    elsewhere = LocalOrigin(*ORIGIN.to_geodetic(500.0, 500.0, 0.0)[:2])
    s = scene(track(1, 0.0, -50.0)).in_frame(elsewhere)

    assert match_lanes(s, road()).lane.tolist() == [0]


def test_many_tracks_on_many_lanes() -> None:
    lanes = [northbound_lane(k, east_m=4.0 * k, start_north_m=-1000.0) for k in range(50)]
    rng = np.random.default_rng(5)
    east = rng.integers(0, 50, 2000) * 4.0 + rng.uniform(-1.7, 1.7, 2000)
    north = rng.uniform(-990.0, -10.0, 2000)
    s = scene(*(track(k, float(e), float(n)) for k, (e, n) in enumerate(zip(east, north, strict=True))))

    match = match_lanes(s, road(*lanes))

    assert match.lane.tolist() == np.rint(east / 4.0).astype(int).tolist()

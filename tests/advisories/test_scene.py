"""Scene: tracks as ENU arrays at one time, sanitized."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.advisories import Scene
from roadlink.advisories.scene import heading_difference_deg, unit_vectors
from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Dimensions, Position
from tests.advisories.scenes import EAST, ORIGIN, T0_MS, position, scene, track


def test_positions_come_back_in_metres_of_the_origin() -> None:
    s = scene(track(1, 10.0, -20.0), track(2, -300.0, 450.0))

    np.testing.assert_allclose(s.position_m, [[10.0, -20.0], [-300.0, 450.0]], atol=1e-6)
    assert [t.track_id for t in s.tracks] == [1, 2]


def test_velocity_follows_heading_clockwise_from_north() -> None:
    s = scene(track(1, 0.0, 0.0, heading_deg=EAST, speed_mps=10.0))

    np.testing.assert_allclose(s.velocity_mps, [[10.0, 0.0]], atol=1e-9)
    assert s.heading_deg[0] == pytest.approx(90.0)


def test_tracks_are_moved_to_the_scene_time_within_the_extrapolation_bound() -> None:
    late = track(1, 0.0, 0.0, heading_deg=EAST, speed_mps=10.0, time_unix_ms=T0_MS - 500)
    stale = track(2, 0.0, 50.0, heading_deg=EAST, speed_mps=10.0, time_unix_ms=T0_MS - 10_000)

    s = scene(late, stale)

    np.testing.assert_allclose(s.position_m, [[5.0, 0.0], [10.0, 50.0]], atol=1e-6)


def test_unknown_or_implausible_kinematics_count_as_unknown() -> None:
    s = scene(
        track(1, 0.0, 0.0, heading_deg=None, speed_mps=None),
        track(2, 0.0, 0.0, heading_deg=float("nan"), speed_mps=-3.0),
        track(3, 0.0, 0.0, heading_deg=-90.0, speed_mps=1e9),
    )

    assert list(s.heading_known) == [False, False, True]
    assert list(s.speed_mps) == [0.0, 0.0, 0.0]
    assert s.heading_deg[2] == pytest.approx(270.0)


def test_sizes_default_by_class_and_are_clipped() -> None:
    s = scene(
        track(1, 0.0, 0.0, object_class=ObjectClass.BUS),
        track(2, 0.0, 0.0, size=Dimensions(500.0, 0.0)),
    )

    assert list(s.length_m) == [12.0, 30.0]
    assert list(s.width_m) == [2.5, 1.8]


def test_invalid_and_far_away_positions_are_left_out() -> None:
    bad = Track(9, ObjectClass.PASSENGER_CAR, Position(123.0, 0.0), T0_MS, T0_MS)
    far = Track(8, ObjectClass.PASSENGER_CAR, Position(-48.0, -170.0), T0_MS, T0_MS)
    antipode = Track(7, ObjectClass.PASSENGER_CAR, Position(-ORIGIN.latitude_deg, ORIGIN.longitude_deg - 180.0), 0, 0)

    s = scene(bad, track(1, 0.0, 0.0), far, antipode)

    assert [t.track_id for t in s.tracks] == [1]


def test_default_origin_is_the_first_usable_track_and_empty_input_is_fine() -> None:
    s = Scene.from_tracks([track(1, 100.0, 0.0)], T0_MS)
    empty = Scene.from_tracks([], T0_MS)

    np.testing.assert_allclose(s.position_m, [[0.0, 0.0]], atol=1e-6)
    assert len(empty) == 0
    assert empty.position_m.shape == (0, 2)


def test_in_frame_reexpresses_positions() -> None:
    other = LocalOrigin(*ORIGIN.to_geodetic(100.0, 0.0, 0.0)[:2])
    s = scene(track(1, 100.0, 20.0, heading_deg=EAST, speed_mps=5.0))

    moved = s.in_frame(other)

    np.testing.assert_allclose(moved.position_m, [[0.0, 20.0]], atol=1e-3)
    np.testing.assert_allclose(moved.velocity_mps, s.velocity_mps)
    assert s.in_frame(ORIGIN) is s


def test_positions_convert_points_back_to_wgs84() -> None:
    s = scene(track(1, 0.0, 0.0))

    (back,) = s.positions(np.array([[30.0, 40.0]]))

    expected = position(30.0, 40.0)
    assert back.latitude_deg == pytest.approx(expected.latitude_deg, abs=1e-9)
    assert back.longitude_deg == pytest.approx(expected.longitude_deg, abs=1e-9)


def test_heading_difference_wraps_around_north() -> None:
    np.testing.assert_allclose(
        heading_difference_deg(np.array([350.0, 10.0, 0.0]), np.array([10.0, 190.0, 90.0])), [20.0, 180.0, 90.0]
    )
    np.testing.assert_allclose(unit_vectors(np.array([0.0, 90.0])), [[0.0, 1.0], [1.0, 0.0]], atol=1e-12)

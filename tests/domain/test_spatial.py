"""Tests for roadlink.domain.spatial: great-circle distance and area containment."""

from __future__ import annotations

import math

import pytest

from roadlink.domain.spatial import BoundingBox, Circle, Covariance2D, Position, distance_m

ONE_DEGREE_OF_LATITUDE_M = 111_200.0
"""About 111.2 km on any meridian (2 pi R / 360 with R = 6371 km)."""


def test_one_degree_of_latitude() -> None:
    distance = distance_m(Position(45.0, 7.0), Position(46.0, 7.0))

    assert distance == pytest.approx(ONE_DEGREE_OF_LATITUDE_M, rel=0.005)


def test_one_degree_of_longitude_shrinks_with_the_cosine_of_latitude() -> None:
    distance = distance_m(Position(60.0, 10.0), Position(60.0, 11.0))

    assert distance == pytest.approx(ONE_DEGREE_OF_LATITUDE_M * math.cos(math.radians(60.0)), rel=0.005)


def test_distance_is_symmetric_zero_for_same_point_and_ignores_elevation() -> None:
    a, b = Position(39.07, 115.93, 10.0), Position(39.08, 115.95, 500.0)

    assert distance_m(a, a) == 0.0
    assert distance_m(a, b) == distance_m(b, a)
    assert distance_m(a, b) == distance_m(Position(39.07, 115.93), Position(39.08, 115.95))


def test_antipodal_points_are_half_a_circumference_apart() -> None:
    distance = distance_m(Position(0.0, 0.0), Position(0.0, 180.0))

    assert distance == pytest.approx(math.pi * 6_371_008.8, rel=1e-9)


def test_circle_contains_its_center_and_its_edge() -> None:
    center = Position(39.07, 115.93)
    edge = Position(39.08, 115.93)
    radius_m = distance_m(center, edge)
    circle = Circle(center, radius_m)

    assert circle.contains(center)
    assert circle.contains(edge)
    assert not Circle(center, math.nextafter(radius_m, 0.0)).contains(edge)
    assert not circle.contains(Position(39.0801, 115.93))


BOX = BoundingBox(39.0, 115.9, 39.1, 116.0)


@pytest.mark.parametrize(
    "position",
    [
        Position(39.0, 115.9),
        Position(39.1, 116.0),
        Position(39.0, 116.0),
        Position(39.1, 115.9),
        Position(39.05, 115.9),
        Position(39.05, 115.95, -20.0),
    ],
    ids=["min_corner", "max_corner", "se_corner", "nw_corner", "west_edge", "inside"],
)
def test_box_contains_its_inside_and_edges(position: Position) -> None:
    assert BOX.contains(position)


@pytest.mark.parametrize(
    "position",
    [
        Position(math.nextafter(39.0, 0.0), 115.95),
        Position(math.nextafter(39.1, 90.0), 115.95),
        Position(39.05, math.nextafter(115.9, 0.0)),
        Position(39.05, math.nextafter(116.0, 180.0)),
    ],
    ids=["south", "north", "west", "east"],
)
def test_box_excludes_points_just_outside(position: Position) -> None:
    assert not BOX.contains(position)


def test_isotropic_covariance() -> None:
    assert Covariance2D.isotropic(2.0) == Covariance2D(4.0, 0.0, 4.0)

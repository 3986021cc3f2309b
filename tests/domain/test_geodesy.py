"""Tests for roadlink.domain.geodesy (WGS84 <-> ECEF <-> local ENU)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadlink.domain.geodesy import (
    WGS84_A,
    WGS84_B,
    WGS84_E2,
    FloatArray,
    LocalOrigin,
    ecef_to_enu,
    ecef_to_geodetic,
    enu_to_ecef,
    enu_velocity_to_heading_speed,
    geodetic_to_ecef,
    heading_speed_to_enu_velocity,
)

MM = 1e-3

# EPSG Guidance Note 7-2 worked examples (WGS 84).
# Method 9602 (geographic <-> geocentric): 53°48'33.820"N, 2°07'46.380"E, h = 73.000 m.
EPSG_LAT = 53 + 48 / 60 + 33.820 / 3600
EPSG_LON = 2 + 7 / 60 + 46.380 / 3600
EPSG_H = 73.0
EPSG_XYZ = (3771793.968, 140253.342, 5124304.349)
# Methods 9836/9837 (geocentric/geographic <-> topocentric): origin 55°N, 5°E, 200 m.
EPSG_TOPO_ORIGIN = LocalOrigin(55.0, 5.0, 200.0)
EPSG_TOPO_ORIGIN_XYZ = (3652755.3058, 319574.6799, 5201547.3536)
EPSG_TOPO_ENU = (-189013.869, -128642.040, -4220.171)

BEIJING = LocalOrigin(39.9042, 116.4074, 50.0)
XIONGAN = LocalOrigin(39.0740, 115.9325, 10.0)
SANTIAGO = LocalOrigin(-33.4489, -70.6693, 570.0)
ANTIMERIDIAN = LocalOrigin(-16.5, 179.99, 5.0)  # points on both sides of +-180


def _ecef_distance(
    a: tuple[FloatArray, FloatArray, FloatArray],
    b: tuple[FloatArray, FloatArray, FloatArray],
) -> FloatArray:
    return np.asarray(np.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2))


def _wrapped_deg_diff(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.asarray(np.abs((a - b + 180.0) % 360.0 - 180.0))


def _meridian_radius(latitude_deg: float) -> float:
    sin_lat = math.sin(math.radians(latitude_deg))
    return WGS84_A * (1 - WGS84_E2) / math.pow(1 - WGS84_E2 * sin_lat**2, 1.5)


# --- constants and published reference values -------------------------------


def test_derived_constants() -> None:
    assert math.isclose(WGS84_B, 6356752.314245, rel_tol=0.0, abs_tol=1e-6)
    assert math.isclose(WGS84_E2, 0.00669437999014, rel_tol=0.0, abs_tol=1e-14)


def test_equator_prime_meridian() -> None:
    assert geodetic_to_ecef(0.0, 0.0, 0.0) == pytest.approx((WGS84_A, 0.0, 0.0), abs=1e-9)
    assert ecef_to_geodetic(WGS84_A, 0.0, 0.0) == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)


def test_equator_ninety_east() -> None:
    assert geodetic_to_ecef(0.0, 90.0, 0.0) == pytest.approx((0.0, WGS84_A, 0.0), abs=1e-6)


def test_north_and_south_pole() -> None:
    assert geodetic_to_ecef(90.0, 0.0, 0.0) == pytest.approx((0.0, 0.0, 6356752.314245), abs=1e-6)
    assert geodetic_to_ecef(-90.0, 0.0, 0.0) == pytest.approx((0.0, 0.0, -6356752.314245), abs=1e-6)
    lat, lon, height = ecef_to_geodetic(0.0, 0.0, 6356752.314245 + 100.0)
    assert (lat, lon, height) == pytest.approx((90.0, 0.0, 100.0), abs=1e-6)


def test_epsg_geographic_to_geocentric() -> None:
    assert geodetic_to_ecef(EPSG_LAT, EPSG_LON, EPSG_H) == pytest.approx(EPSG_XYZ, abs=MM)


def test_epsg_geocentric_to_geographic() -> None:
    lat, lon, height = ecef_to_geodetic(*EPSG_XYZ)
    # Published XYZ is rounded to 1 mm, i.e. ~1e-8 degrees.
    assert lat == pytest.approx(EPSG_LAT, abs=2e-8)
    assert lon == pytest.approx(EPSG_LON, abs=2e-8)
    assert height == pytest.approx(EPSG_H, abs=MM)


def test_epsg_topocentric_origin_ecef() -> None:
    assert EPSG_TOPO_ORIGIN.ecef_m == pytest.approx(EPSG_TOPO_ORIGIN_XYZ, abs=MM)


def test_epsg_geographic_to_topocentric() -> None:
    enu = EPSG_TOPO_ORIGIN.to_enu(EPSG_LAT, EPSG_LON, EPSG_H)
    assert enu == pytest.approx(EPSG_TOPO_ENU, abs=MM)


def test_epsg_geocentric_to_topocentric_and_back() -> None:
    assert ecef_to_enu(*EPSG_XYZ, EPSG_TOPO_ORIGIN) == pytest.approx(EPSG_TOPO_ENU, abs=MM)
    assert enu_to_ecef(*EPSG_TOPO_ENU, EPSG_TOPO_ORIGIN) == pytest.approx(EPSG_XYZ, abs=MM)


# --- geodetic <-> ECEF round trip -------------------------------------------


def test_geodetic_ecef_round_trip_grid() -> None:
    lats = np.concatenate(
        [
            np.linspace(-90.0, 90.0, 181),
            [-89.9999999, -89.9999, -89.99, 89.99, 89.9999, 89.9999999],
        ]
    )
    lons = np.linspace(-180.0, 180.0, 73)
    heights = np.array([-400.0, -10.0, 0.0, 0.5, 100.0, 1500.0, 5000.0, 9000.0])
    lat, lon, height = (np.asarray(g, dtype=np.float64).ravel() for g in np.meshgrid(lats, lons, heights))

    lat2, lon2, height2 = ecef_to_geodetic(*geodetic_to_ecef(lat, lon, height))

    assert np.max(np.abs(lat2 - lat)) < 1e-9
    assert np.max(np.abs(height2 - height)) < 1e-4
    off_pole = np.abs(lat) < 90.0
    assert np.max(_wrapped_deg_diff(lon2[off_pole], lon[off_pole])) < 1e-9


def test_scalar_in_float_out_and_array_in_array_out() -> None:
    x, y, z = geodetic_to_ecef(10, 20, 30)
    assert all(type(v) is float for v in (x, y, z))
    lats = np.array([10.0, 20.0, 30.0])
    xs, ys, zs = geodetic_to_ecef(lats, 20.0, 0.0)  # mixed scalar/array broadcasts
    assert all(isinstance(v, np.ndarray) and v.shape == (3,) for v in (xs, ys, zs))
    assert xs.dtype == np.float64
    assert ecef_to_geodetic(xs, ys, zs)[0] == pytest.approx(lats, abs=1e-12)


# --- local ENU ---------------------------------------------------------------


def _points_around(origin: LocalOrigin, count: int, seed: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Geodetic points up to ~20 km away in all directions, heights -100..500 m."""
    rng = np.random.default_rng(seed)
    bearing = rng.uniform(0.0, 2.0 * np.pi, count)
    distance = 20_000.0 * np.sqrt(rng.uniform(0.0, 1.0, count))
    distance[:8] = 20_000.0  # always include the rim
    radius = 6_371_000.0
    lat = origin.latitude_deg + np.degrees(distance * np.cos(bearing) / radius)
    dlon = np.degrees(distance * np.sin(bearing) / (radius * np.cos(np.radians(origin.latitude_deg))))
    lon = (origin.longitude_deg + dlon + 180.0) % 360.0 - 180.0
    height = rng.uniform(-100.0, 500.0, count)
    return lat, lon, height


@pytest.mark.parametrize(
    "origin",
    [BEIJING, XIONGAN, SANTIAGO, ANTIMERIDIAN],
    ids=["beijing", "xiongan", "santiago", "antimeridian"],
)
def test_enu_round_trip_vectorized(origin: LocalOrigin) -> None:
    lat, lon, height = _points_around(origin, 5000, seed=7)

    east, north, up = origin.to_enu(lat, lon, height)
    lat2, lon2, height2 = origin.to_geodetic(east, north, up)

    assert east.shape == north.shape == up.shape == lat2.shape == (5000,)
    assert np.max(np.hypot(east, north)) < 20_500.0
    error_m = _ecef_distance(geodetic_to_ecef(lat, lon, height), geodetic_to_ecef(lat2, lon2, height2))
    assert np.max(error_m) < MM


@pytest.mark.parametrize("origin", [BEIJING, XIONGAN, SANTIAGO, ANTIMERIDIAN])
def test_origin_maps_to_zero(origin: LocalOrigin) -> None:
    enu = origin.to_enu(origin.latitude_deg, origin.longitude_deg, origin.height_m)
    assert enu == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)


@pytest.mark.parametrize("origin", [BEIJING, XIONGAN, SANTIAGO])
def test_point_due_north_along_meridian(origin: LocalOrigin) -> None:
    dlat = math.degrees(1000.0 / _meridian_radius(origin.latitude_deg))
    east, north, up = origin.to_enu(origin.latitude_deg + dlat, origin.longitude_deg, origin.height_m)
    assert east == pytest.approx(0.0, abs=1e-6)
    assert north == pytest.approx(1000.0, abs=1.0)
    assert -0.2 < up < 0.0  # the ellipsoid curves away below the tangent plane


def test_point_straight_up() -> None:
    enu = BEIJING.to_enu(BEIJING.latitude_deg, BEIJING.longitude_deg, 150.0)
    assert enu == pytest.approx((0.0, 0.0, 100.0), abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    origin_lat=st.floats(-90.0, 90.0),
    origin_lon=st.floats(-180.0, 180.0),
    origin_h=st.floats(-100.0, 1000.0),
    east=st.floats(-20_000.0, 20_000.0),
    north=st.floats(-20_000.0, 20_000.0),
    up=st.floats(-100.0, 500.0),
)
def test_enu_round_trip_property(
    origin_lat: float,
    origin_lon: float,
    origin_h: float,
    east: float,
    north: float,
    up: float,
) -> None:
    origin = LocalOrigin(origin_lat, origin_lon, origin_h)
    enu = origin.to_enu(*origin.to_geodetic(east, north, up))
    assert enu == pytest.approx((east, north, up), abs=1e-4)


def test_local_origin_is_immutable_hashable_and_orthonormal() -> None:
    origin = LocalOrigin(39, 116)  # ints are normalized to floats
    assert origin == LocalOrigin(39.0, 116.0, 0.0)
    assert type(origin.latitude_deg) is float
    assert len({origin, LocalOrigin(39.0, 116.0)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        origin.latitude_deg = 40.0  # type: ignore[misc]
    assert origin.rotation @ origin.rotation.T == pytest.approx(np.eye(3), abs=1e-15)
    with pytest.raises(ValueError, match="read-only"):
        origin.rotation[0, 0] = 1.0


# --- heading / velocity ------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "expected"),
    [(0.0, (0.0, 12.0)), (90.0, (12.0, 0.0)), (180.0, (0.0, -12.0)), (270.0, (-12.0, 0.0))],
)
def test_heading_speed_to_enu_velocity_cardinal(heading: float, expected: tuple[float, float]) -> None:
    assert heading_speed_to_enu_velocity(heading, 12.0) == pytest.approx(expected, abs=1e-12)


def test_heading_velocity_round_trip_arrays() -> None:
    rng = np.random.default_rng(3)
    heading = rng.uniform(0.0, 360.0, 10_000)
    speed = rng.uniform(0.1, 60.0, 10_000)

    v_east, v_north = heading_speed_to_enu_velocity(heading, speed)
    heading2, speed2 = enu_velocity_to_heading_speed(v_east, v_north)

    assert v_east.shape == v_north.shape == (10_000,)
    assert np.all((heading2 >= 0.0) & (heading2 < 360.0))
    assert np.max(_wrapped_deg_diff(heading2, heading)) < 1e-9
    assert np.max(np.abs(speed2 - speed)) < 1e-9


def test_heading_is_normalized_to_0_360() -> None:
    assert enu_velocity_to_heading_speed(-5.0, 0.0) == pytest.approx((270.0, 5.0))
    assert enu_velocity_to_heading_speed(0.0, 0.0) == (0.0, 0.0)
    heading, _ = enu_velocity_to_heading_speed(-1e-300, 1.0)  # atan2 -> -0.0-ish
    assert 0.0 <= heading < 360.0
    assert enu_velocity_to_heading_speed(*heading_speed_to_enu_velocity(-90.0, 3.0)) == pytest.approx((270.0, 3.0))


# --- validation --------------------------------------------------------------


@pytest.mark.parametrize("latitude", [91.0, -90.0001, math.nan, math.inf])
def test_invalid_origin_latitude_raises(latitude: float) -> None:
    with pytest.raises(ValueError, match="latitude_deg"):
        LocalOrigin(latitude, 116.0)


@pytest.mark.parametrize("longitude", [180.5, -181.0, math.nan])
def test_invalid_origin_longitude_raises(longitude: float) -> None:
    with pytest.raises(ValueError, match="longitude_deg"):
        LocalOrigin(39.0, longitude)


def test_invalid_origin_height_raises() -> None:
    with pytest.raises(ValueError, match="height_m"):
        LocalOrigin(39.0, 116.0, math.nan)


def test_invalid_array_inputs_raise() -> None:
    with pytest.raises(ValueError, match="latitude_deg"):
        geodetic_to_ecef(np.array([10.0, math.nan, 91.0]), 0.0, 0.0)
    with pytest.raises(ValueError, match="latitude_deg"):
        BEIJING.to_enu(np.array([39.9, 91.0]), 116.4, 0.0)
    with pytest.raises(ValueError, match="x_m"):
        ecef_to_geodetic(np.array([math.nan]), 0.0, 0.0)
    with pytest.raises(ValueError, match="speed_mps"):
        heading_speed_to_enu_velocity(0.0, -1.0)


def test_non_scalar_origin_raises() -> None:
    with pytest.raises(ValueError, match="scalar"):
        LocalOrigin(np.array([39.0, 40.0]), 116.0)  # type: ignore[arg-type]

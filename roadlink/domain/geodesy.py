"""WGS84 geodesy for normalizing sensor positions to a local tangent plane.

Roadside units, vehicles and cameras report positions as WGS84 latitude,
longitude and ellipsoidal height.  Fusion (association, tracking, Kalman
filtering) needs a Euclidean frame measured in metres, so every position is
converted to a local East-North-Up (ENU) tangent plane anchored at a
:class:`LocalOrigin` (typically the intersection or RSU site), fused there, and
converted back to WGS84 for publication.  The conversion goes through
Earth-Centred Earth-Fixed (ECEF) coordinates, so it is exact (to floating point
rounding) rather than a flat-Earth approximation.

Every conversion accepts Python/numpy scalars, for which it returns ``float``,
or numpy arrays of any common (broadcastable) shape, typically ``(N,)``, for
which it returns ``float64`` arrays of the broadcast shape.  All work is
vectorized; there are no Python loops over points.

Angles are in degrees, distances in metres, speeds in metres per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeAlias, overload

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "WGS84_A",
    "WGS84_B",
    "WGS84_E2",
    "WGS84_EP2",
    "WGS84_F",
    "Coordinate",
    "FloatArray",
    "LocalOrigin",
    "ecef_to_enu",
    "ecef_to_geodetic",
    "enu_to_ecef",
    "enu_velocity_to_heading_speed",
    "geodetic_to_ecef",
    "heading_speed_to_enu_velocity",
]

FloatArray: TypeAlias = NDArray[np.float64]
"""A float64 array of coordinates, typically of shape ``(N,)``."""

Coordinate: TypeAlias = float | FloatArray
"""A scalar coordinate or an array of coordinates."""

WGS84_A: float = 6378137.0
"""WGS84 semi-major axis (equatorial radius) in metres."""

WGS84_F: float = 1.0 / 298.257223563
"""WGS84 flattening (dimensionless)."""

WGS84_B: float = WGS84_A * (1.0 - WGS84_F)
"""WGS84 semi-minor axis (polar radius) in metres, about 6356752.314245."""

WGS84_E2: float = WGS84_F * (2.0 - WGS84_F)
"""WGS84 first eccentricity squared, (a^2 - b^2) / a^2."""

WGS84_EP2: float = WGS84_E2 / (1.0 - WGS84_E2)
"""WGS84 second eccentricity squared, (a^2 - b^2) / b^2."""

_BOWRING_ITERATIONS = 2
_FULL_TURN_DEG = 360.0


def _check(name: str, values: FloatArray, low: float = -math.inf, high: float = math.inf) -> None:
    """Raise ``ValueError`` unless every value is finite and within [low, high]."""
    bad = ~(np.isfinite(values) & (values >= low) & (values <= high))
    if np.any(bad):
        first = float(np.extract(bad, values)[0])
        bounds = "" if math.isinf(low) and math.isinf(high) else f" and within [{low:g}, {high:g}]"
        raise ValueError(
            f"{name} must be finite{bounds}; got {first!r} ({int(np.count_nonzero(bad))} invalid value(s))"
        )


def _broadcast(*values: Coordinate) -> tuple[list[FloatArray], bool]:
    """Broadcast inputs to float64 arrays; also report whether they were all scalars."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))
    return [np.asarray(a, dtype=np.float64) for a in arrays], arrays[0].ndim == 0


def _pack2(scalar: bool, a: FloatArray, b: FloatArray) -> tuple[Coordinate, Coordinate]:
    """Return plain floats for scalar input, arrays otherwise."""
    return (float(a), float(b)) if scalar else (a, b)


def _pack3(scalar: bool, a: FloatArray, b: FloatArray, c: FloatArray) -> tuple[Coordinate, Coordinate, Coordinate]:
    """Return plain floats for scalar input, arrays otherwise."""
    return (float(a), float(b), float(c)) if scalar else (a, b, c)


def _check_geodetic(latitude: FloatArray, longitude: FloatArray, height: FloatArray) -> None:
    """Validate geodetic coordinates (degrees, degrees, metres)."""
    _check("latitude_deg", latitude, -90.0, 90.0)
    _check("longitude_deg", longitude, -180.0, 180.0)
    _check("height_m", height)


# The scalar overloads deliberately overlap the general ones: a call whose
# arguments are all scalars returns floats, anything involving an array
# returns arrays.  mypy cannot express "at least one array", hence the ignores.


@overload
def geodetic_to_ecef(  # type: ignore[overload-overlap]
    latitude_deg: float, longitude_deg: float, height_m: float
) -> tuple[float, float, float]: ...
@overload
def geodetic_to_ecef(
    latitude_deg: Coordinate, longitude_deg: Coordinate, height_m: Coordinate
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
def geodetic_to_ecef(
    latitude_deg: Coordinate, longitude_deg: Coordinate, height_m: Coordinate
) -> tuple[Coordinate, Coordinate, Coordinate]:
    """Convert WGS84 geodetic coordinates to ECEF.

    Args:
        latitude_deg: Geodetic latitude in degrees, [-90, 90]; scalar or shape (N,).
        longitude_deg: Longitude in degrees, [-180, 180]; scalar or shape (N,).
        height_m: Ellipsoidal height in metres; scalar or shape (N,).

    Returns:
        ``(x_m, y_m, z_m)`` ECEF coordinates in metres, floats or arrays of the
        broadcast shape.

    Raises:
        ValueError: If any input is non-finite or out of range.
    """
    (lat_deg, lon_deg, h), scalar = _broadcast(latitude_deg, longitude_deg, height_m)
    _check_geodetic(lat_deg, lon_deg, h)
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    prime_vertical = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    radial = (prime_vertical + h) * cos_lat
    x = radial * np.cos(lon)
    y = radial * np.sin(lon)
    z = (prime_vertical * (1.0 - WGS84_E2) + h) * sin_lat
    return _pack3(scalar, x, y, z)


@overload
def ecef_to_geodetic(  # type: ignore[overload-overlap]
    x_m: float, y_m: float, z_m: float
) -> tuple[float, float, float]: ...
@overload
def ecef_to_geodetic(
    x_m: Coordinate, y_m: Coordinate, z_m: Coordinate
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
def ecef_to_geodetic(x_m: Coordinate, y_m: Coordinate, z_m: Coordinate) -> tuple[Coordinate, Coordinate, Coordinate]:
    """Convert ECEF coordinates to WGS84 geodetic coordinates.

    Uses Bowring's method (parametric latitude) with two iterations, which is
    accurate to well below 1e-9 degrees and 0.1 mm for any terrestrial,
    airborne or low-orbit position.  It is not meant for points deep inside the
    Earth (within ~43 km of the geocentre), where geodetic latitude is
    ill-defined.  At the poles the longitude is returned as 0.

    Args:
        x_m, y_m, z_m: ECEF coordinates in metres; scalars or shape (N,).

    Returns:
        ``(latitude_deg, longitude_deg, height_m)``; latitude in [-90, 90],
        longitude in [-180, 180], ellipsoidal height in metres.

    Raises:
        ValueError: If any input is non-finite.
    """
    (x, y, z), scalar = _broadcast(x_m, y_m, z_m)
    for name, values in (("x_m", x), ("y_m", y), ("z_m", z)):
        _check(name, values)
    p = np.hypot(x, y)
    beta = np.arctan2(z, (1.0 - WGS84_F) * p)
    for _ in range(_BOWRING_ITERATIONS):
        lat = np.arctan2(
            z + WGS84_EP2 * WGS84_B * np.sin(beta) ** 3,
            p - WGS84_E2 * WGS84_A * np.cos(beta) ** 3,
        )
        beta = np.arctan2((1.0 - WGS84_F) * np.sin(lat), np.cos(lat))
    sin_lat = np.sin(lat)
    h = p * np.cos(lat) + z * sin_lat - WGS84_A * np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    return _pack3(scalar, np.degrees(lat), np.degrees(np.arctan2(y, x)), h)


def _enu_rotation(latitude_deg: float, longitude_deg: float) -> FloatArray:
    """Return the read-only 3x3 matrix rotating ECEF offsets into ENU at a site."""
    lat, lon = math.radians(latitude_deg), math.radians(longitude_deg)
    sin_lat, cos_lat = math.sin(lat), math.cos(lat)
    sin_lon, cos_lon = math.sin(lon), math.cos(lon)
    rotation = np.array(
        [
            [-sin_lon, cos_lon, 0.0],
            [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat],
            [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat],
        ],
        dtype=np.float64,
    )
    rotation.setflags(write=False)
    return rotation


def _scalar_float(name: str, value: float) -> float:
    """Coerce a scalar origin parameter to ``float`` or raise ``ValueError``."""
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar; got shape {np.shape(value)}")
    return float(value)


@dataclass(frozen=True, slots=True)
class LocalOrigin:
    """Anchor of a local East-North-Up tangent plane on the WGS84 ellipsoid.

    The ECEF position (``ecef_m``, metres) and the 3x3 ECEF->ENU rotation
    matrix (``rotation``, read-only; its transpose maps ENU->ECEF) are
    precomputed once at construction.  Instances are immutable and hashable;
    equality compares the three geodetic parameters.

    Raises:
        ValueError: If latitude is outside [-90, 90], longitude outside
            [-180, 180], or any parameter is not a finite scalar.
    """

    latitude_deg: float
    longitude_deg: float
    height_m: float = 0.0
    ecef_m: tuple[float, float, float] = field(init=False, repr=False, compare=False)
    rotation: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate and normalize the parameters, then precompute the frame."""
        lat = _scalar_float("latitude_deg", self.latitude_deg)
        lon = _scalar_float("longitude_deg", self.longitude_deg)
        height = _scalar_float("height_m", self.height_m)
        _check_geodetic(*(np.asarray(v, dtype=np.float64) for v in (lat, lon, height)))
        object.__setattr__(self, "latitude_deg", lat)
        object.__setattr__(self, "longitude_deg", lon)
        object.__setattr__(self, "height_m", height)
        object.__setattr__(self, "ecef_m", geodetic_to_ecef(lat, lon, height))
        object.__setattr__(self, "rotation", _enu_rotation(lat, lon))

    @overload
    def to_enu(  # type: ignore[overload-overlap]
        self, latitude_deg: float, longitude_deg: float, height_m: float
    ) -> tuple[float, float, float]: ...
    @overload
    def to_enu(
        self, latitude_deg: Coordinate, longitude_deg: Coordinate, height_m: Coordinate
    ) -> tuple[FloatArray, FloatArray, FloatArray]: ...
    def to_enu(
        self, latitude_deg: Coordinate, longitude_deg: Coordinate, height_m: Coordinate
    ) -> tuple[Coordinate, Coordinate, Coordinate]:
        """Convert WGS84 geodetic coordinates to this origin's ENU frame.

        Args:
            latitude_deg, longitude_deg: Degrees; scalars or shape (N,).
            height_m: Ellipsoidal height in metres; scalar or shape (N,).

        Returns:
            ``(east_m, north_m, up_m)`` in metres relative to the origin.
        """
        return ecef_to_enu(*geodetic_to_ecef(latitude_deg, longitude_deg, height_m), self)

    @overload
    def to_geodetic(  # type: ignore[overload-overlap]
        self, east_m: float, north_m: float, up_m: float
    ) -> tuple[float, float, float]: ...
    @overload
    def to_geodetic(
        self, east_m: Coordinate, north_m: Coordinate, up_m: Coordinate
    ) -> tuple[FloatArray, FloatArray, FloatArray]: ...
    def to_geodetic(
        self, east_m: Coordinate, north_m: Coordinate, up_m: Coordinate
    ) -> tuple[Coordinate, Coordinate, Coordinate]:
        """Convert ENU coordinates in this origin's frame back to WGS84.

        Args:
            east_m, north_m, up_m: Metres relative to the origin; scalars or shape (N,).

        Returns:
            ``(latitude_deg, longitude_deg, height_m)``.
        """
        return ecef_to_geodetic(*enu_to_ecef(east_m, north_m, up_m, self))


@overload
def ecef_to_enu(  # type: ignore[overload-overlap]
    x_m: float, y_m: float, z_m: float, origin: LocalOrigin
) -> tuple[float, float, float]: ...
@overload
def ecef_to_enu(
    x_m: Coordinate, y_m: Coordinate, z_m: Coordinate, origin: LocalOrigin
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
def ecef_to_enu(
    x_m: Coordinate, y_m: Coordinate, z_m: Coordinate, origin: LocalOrigin
) -> tuple[Coordinate, Coordinate, Coordinate]:
    """Convert ECEF coordinates to the ENU frame of ``origin``.

    Args:
        x_m, y_m, z_m: ECEF coordinates in metres; scalars or shape (N,).
        origin: Tangent-plane anchor.

    Returns:
        ``(east_m, north_m, up_m)`` in metres relative to the origin.

    Raises:
        ValueError: If any input is non-finite.
    """
    (x, y, z), scalar = _broadcast(x_m, y_m, z_m)
    for name, values in (("x_m", x), ("y_m", y), ("z_m", z)):
        _check(name, values)
    ox, oy, oz = origin.ecef_m
    offsets = np.stack([x - ox, y - oy, z - oz])
    east, north, up = np.einsum("ij,j...->i...", origin.rotation, offsets)
    return _pack3(scalar, east, north, up)


@overload
def enu_to_ecef(  # type: ignore[overload-overlap]
    east_m: float, north_m: float, up_m: float, origin: LocalOrigin
) -> tuple[float, float, float]: ...
@overload
def enu_to_ecef(
    east_m: Coordinate, north_m: Coordinate, up_m: Coordinate, origin: LocalOrigin
) -> tuple[FloatArray, FloatArray, FloatArray]: ...
def enu_to_ecef(
    east_m: Coordinate, north_m: Coordinate, up_m: Coordinate, origin: LocalOrigin
) -> tuple[Coordinate, Coordinate, Coordinate]:
    """Convert ENU coordinates in the frame of ``origin`` to ECEF.

    Args:
        east_m, north_m, up_m: Metres relative to the origin; scalars or shape (N,).
        origin: Tangent-plane anchor.

    Returns:
        ``(x_m, y_m, z_m)`` ECEF coordinates in metres.

    Raises:
        ValueError: If any input is non-finite.
    """
    (east, north, up), scalar = _broadcast(east_m, north_m, up_m)
    for name, values in (("east_m", east), ("north_m", north), ("up_m", up)):
        _check(name, values)
    offsets = np.einsum("ji,j...->i...", origin.rotation, np.stack([east, north, up]))
    ox, oy, oz = origin.ecef_m
    return _pack3(scalar, offsets[0] + ox, offsets[1] + oy, offsets[2] + oz)


@overload
def heading_speed_to_enu_velocity(  # type: ignore[overload-overlap]
    heading_deg: float, speed_mps: float
) -> tuple[float, float]: ...
@overload
def heading_speed_to_enu_velocity(heading_deg: Coordinate, speed_mps: Coordinate) -> tuple[FloatArray, FloatArray]: ...
def heading_speed_to_enu_velocity(heading_deg: Coordinate, speed_mps: Coordinate) -> tuple[Coordinate, Coordinate]:
    """Convert a heading and ground speed to a horizontal ENU velocity.

    Args:
        heading_deg: Degrees clockwise from true north (0 = north, 90 = east);
            any finite value, scalar or shape (N,).
        speed_mps: Non-negative ground speed in m/s; scalar or shape (N,).

    Returns:
        ``(v_east_mps, v_north_mps)`` in m/s.

    Raises:
        ValueError: If heading is non-finite or speed is negative/non-finite.
    """
    (heading, speed), scalar = _broadcast(heading_deg, speed_mps)
    _check("heading_deg", heading)
    _check("speed_mps", speed, 0.0)
    angle = np.radians(heading)
    return _pack2(scalar, speed * np.sin(angle), speed * np.cos(angle))


@overload
def enu_velocity_to_heading_speed(  # type: ignore[overload-overlap]
    v_east_mps: float, v_north_mps: float
) -> tuple[float, float]: ...
@overload
def enu_velocity_to_heading_speed(v_east_mps: Coordinate, v_north_mps: Coordinate) -> tuple[FloatArray, FloatArray]: ...
def enu_velocity_to_heading_speed(v_east_mps: Coordinate, v_north_mps: Coordinate) -> tuple[Coordinate, Coordinate]:
    """Convert a horizontal ENU velocity to heading and ground speed.

    Args:
        v_east_mps, v_north_mps: Velocity components in m/s; scalars or shape (N,).

    Returns:
        ``(heading_deg, speed_mps)``: heading in [0, 360) degrees clockwise from
        true north (0 for a stationary object) and speed in m/s.

    Raises:
        ValueError: If any input is non-finite.
    """
    (v_east, v_north), scalar = _broadcast(v_east_mps, v_north_mps)
    _check("v_east_mps", v_east)
    _check("v_north_mps", v_north)
    heading = np.mod(np.degrees(np.arctan2(v_east, v_north)), _FULL_TURN_DEG)
    # np.mod of a tiny negative angle rounds up to exactly 360.0; fold it to 0.
    heading = np.where(heading >= _FULL_TURN_DEG, 0.0, heading)
    return _pack2(scalar, heading, np.hypot(v_east, v_north))

"""The tile grid and the static tile ownership."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.domain.geodesy import LocalOrigin
from roadlink.fusion.tiling import StaticTileOwnership, TileGrid, pack_tiles

ANCHOR = LocalOrigin(48.137, 11.575)


def test_tiles_are_floor_divisions_of_enu_metres() -> None:
    grid = TileGrid(ANCHOR, 100.0)
    east = np.array([0.0, 99.9, 100.0, -0.1, -100.0, -100.1])
    north = np.array([0.0, 0.0, 250.0, -0.1, 0.0, 0.0])
    assert grid.tiles_of_enu(east, north).tolist() == [[0, 0], [0, 0], [1, 2], [-1, -1], [-1, 0], [-2, 0]]


def test_wgs84_positions_land_in_the_tile_of_their_enu_point() -> None:
    grid = TileGrid(ANCHOR, 100.0)
    lat, lon, _ = ANCHOR.to_geodetic(np.array([50.0, -150.0]), np.array([-20.0, 310.0]), np.zeros(2))
    assert grid.tiles_of(lat, lon).tolist() == [[0, -1], [-2, 3]]
    centre = grid.centre_of((-2, 3))
    assert grid.tile_of(centre) == (-2, 3)
    east, north, _ = ANCHOR.to_enu(centre.latitude_deg, centre.longitude_deg, 0.0)
    assert (round(east, 3), round(north, 3)) == (-150.0, 350.0)


def test_a_tile_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TileGrid(ANCHOR, 0.0)


def test_packed_keys_are_distinct_for_negative_and_positive_tiles() -> None:
    keys = np.array([[0, 0], [0, -1], [-1, 0], [-1, -1], [1, 1], [70_000, -70_000]])
    assert len(set(pack_tiles(keys).tolist())) == len(keys)


def test_static_ownership_answers_per_tile_and_vectorized() -> None:
    ownership = StaticTileOwnership.from_ranges({"west": ((-3, -1), (-1, 1)), "east": ((0, -1), (2, 1))})
    assert ownership.nodes() == ("east", "west")
    assert ownership.owner_of((-1, 0)) == "west"
    assert ownership.owner_of((2, -1)) == "east"
    assert ownership.owner_of((3, 0)) is None
    tiles = np.array([[-1, 0], [0, 0], [3, 0], [-3, 1]])
    assert ownership.owned_by("west", tiles).tolist() == [True, False, False, True]
    assert ownership.owned_by("east", tiles).tolist() == [False, True, False, False]
    assert ownership.owned_by("nobody", tiles).tolist() == [False] * 4


def test_a_tile_cannot_have_two_owners() -> None:
    with pytest.raises(ValueError, match="assigned to both"):
        StaticTileOwnership({"a": [(0, 0), (0, 1)], "b": [(0, 1)]})

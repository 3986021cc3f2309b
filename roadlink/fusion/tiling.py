"""Tiles of a city and who owns them: the grid fusion nodes split the map by.

Grid choice: fixed-size square tiles in the local ENU frame (:class:`~roadlink.domain.geodesy.LocalOrigin`)
of one city-wide anchor. Tile ``(column, row)`` covers ``column * size_m <= east_m < (column + 1) *
size_m`` and the same for ``row`` and ``north_m``, so a tile border is a straight line in metres, a track
is in exactly one tile, and finding the tiles of N positions is two floor divisions. Over a city (tens of
kilometres) the tangent plane distorts distances by far less than a tile border's usefulness needs;
a continent-wide deployment would use one grid per region. Every node of a city must use the same anchor
and size (they come from settings), otherwise their borders disagree.

Ownership is behind :class:`TileOwnership`, so the distributed runtime can later assign tiles
dynamically; :class:`StaticTileOwnership` is the fixed assignment read from settings. A tile owned by no
node is nobody's: its tracks are published by no one.

Tile keys are ``(column, row)`` int tuples; arrays of them are ``(N, 2) int64``. For vectorized set
tests each key is packed into one int64 (:func:`pack_tiles`).

Only numpy and :mod:`roadlink.domain` are imported: no gRPC, MQTT or generated code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import numpy as np

from roadlink.domain.geodesy import FloatArray, LocalOrigin
from roadlink.domain.spatial import Position
from roadlink.fusion.state import BoolArray, IntArray

__all__ = [
    "StaticTileOwnership",
    "TileGrid",
    "TileKey",
    "TileOwnership",
    "pack_tiles",
]

TileKey: TypeAlias = tuple[int, int]
"""``(column, row)``: the tile east ``column`` and north ``row`` tile sizes from the grid's anchor."""

_ROW_BITS = 32
_ROW_MASK = (1 << _ROW_BITS) - 1


def pack_tiles(tiles: IntArray) -> IntArray:
    """``(N,) int64`` codes of ``(N, 2)`` tile keys (column in the high 32 bits, row in the low 32 bits)."""
    keys = np.asarray(tiles, dtype=np.int64).reshape(-1, 2)
    return np.asarray((keys[:, 0] << _ROW_BITS) | (keys[:, 1] & _ROW_MASK), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class TileGrid:
    """Square tiles of ``size_m`` metres in the ENU frame of ``anchor`` (module docstring).

    Raises:
        ValueError: A tile size that is not positive and finite.
    """

    anchor: LocalOrigin
    size_m: float = 1_000.0

    def __post_init__(self) -> None:
        """Validate the tile size."""
        if not (math.isfinite(self.size_m) and self.size_m > 0):
            raise ValueError(f"tile size must be positive, got {self.size_m}")

    def tiles_of_enu(self, east_m: FloatArray, north_m: FloatArray) -> IntArray:
        """``(N, 2)`` tile keys of ``(N,)`` east and north metres in the anchor's frame."""
        east = np.floor(np.asarray(east_m, dtype=np.float64) / self.size_m)
        north = np.floor(np.asarray(north_m, dtype=np.float64) / self.size_m)
        return np.stack([east, north], axis=-1).astype(np.int64).reshape(-1, 2)

    def enu_of(self, latitude_deg: FloatArray, longitude_deg: FloatArray) -> FloatArray:
        """``(N, 2)`` east/north metres of WGS84 degrees ``(N,)`` in the anchor's frame (height 0)."""
        latitude = np.asarray(latitude_deg, dtype=np.float64).reshape(-1)
        east, north, _ = self.anchor.to_enu(
            latitude, np.asarray(longitude_deg, dtype=np.float64), np.zeros_like(latitude)
        )
        return np.stack([east, north], axis=-1).reshape(-1, 2)

    def tiles_of(self, latitude_deg: FloatArray, longitude_deg: FloatArray) -> IntArray:
        """``(N, 2)`` tile keys of WGS84 positions given as ``(N,)`` degrees."""
        enu = self.enu_of(latitude_deg, longitude_deg)
        return self.tiles_of_enu(enu[:, 0], enu[:, 1])

    def tile_of(self, position: Position) -> TileKey:
        """The tile of one position."""
        column, row = self.tiles_of(np.array([position.latitude_deg]), np.array([position.longitude_deg]))[0]
        return int(column), int(row)

    def centre_of(self, tile: TileKey) -> Position:
        """The WGS84 centre of a tile."""
        east, north = (tile[0] + 0.5) * self.size_m, (tile[1] + 0.5) * self.size_m
        latitude, longitude, _ = self.anchor.to_geodetic(east, north, 0.0)
        return Position(float(latitude), float(longitude))


class TileOwnership(Protocol):
    """Which node owns which tile (static from settings now; dynamic in a distributed runtime)."""

    def nodes(self) -> tuple[str, ...]:
        """Every node id that owns tiles, sorted."""
        ...

    def owner_of(self, tile: TileKey) -> str | None:
        """The node owning ``tile``, None when nobody does."""
        ...

    def owned_by(self, node_id: str, tiles: IntArray) -> BoolArray:
        """``(N,)`` True where the ``(N, 2)`` tile key belongs to ``node_id``."""
        ...


class StaticTileOwnership:
    """A fixed assignment of tiles to nodes.

    Raises:
        ValueError: A tile assigned to two nodes.
    """

    def __init__(self, assignment: Mapping[str, Iterable[TileKey]]) -> None:
        owners: dict[TileKey, str] = {}
        for node_id, tiles in assignment.items():
            for column, row in tiles:
                tile = (int(column), int(row))
                if owners.setdefault(tile, node_id) != node_id:
                    raise ValueError(f"tile {tile} is assigned to both {owners[tile]} and {node_id}")
        self._owners = owners
        self._nodes = tuple(sorted(assignment))
        self._codes = {
            node: np.sort(pack_tiles(np.array([t for t, n in owners.items() if n == node], dtype=np.int64)))
            for node in self._nodes
        }

    @classmethod
    def from_ranges(cls, ranges: Mapping[str, tuple[TileKey, TileKey]]) -> StaticTileOwnership:
        """Each node owns the rectangle of tiles from its first to its last key, both included."""
        return cls({node: _rectangle(*corners) for node, corners in ranges.items()})

    def nodes(self) -> tuple[str, ...]:
        """Every node id of the assignment, sorted."""
        return self._nodes

    def owner_of(self, tile: TileKey) -> str | None:
        """The node owning ``tile``, None when nobody does."""
        return self._owners.get((int(tile[0]), int(tile[1])))

    def owned_by(self, node_id: str, tiles: IntArray) -> BoolArray:
        """``(N,)`` True where the ``(N, 2)`` tile key belongs to ``node_id`` (one sorted search)."""
        codes = self._codes.get(node_id)
        if codes is None or not len(codes):
            return np.zeros(len(np.asarray(tiles).reshape(-1, 2)), dtype=bool)
        return np.asarray(np.isin(pack_tiles(tiles), codes, assume_unique=False), dtype=bool)


def _rectangle(first: TileKey, last: TileKey) -> list[TileKey]:
    columns = range(min(first[0], last[0]), max(first[0], last[0]) + 1)
    rows = range(min(first[1], last[1]), max(first[1], last[1]) + 1)
    return [(column, row) for column in columns for row in rows]

"""Track state layout and the struct-of-arrays track table.

Every track lives in the local East-North-Up (ENU) frame of one tile (a :class:`roadlink.domain.geodesy.
LocalOrigin`). Its state is ``x = [east_m, north_m, v_east_mps, v_north_mps]``, shape ``(4,)``, with a
covariance of shape ``(4, 4)`` in the matching units (m^2, m^2/s, (m/s)^2). Batches are ``(N, 4)`` and
``(N, 4, 4)``.

:class:`TrackTable` keeps one numpy column per attribute, grown by doubling its capacity, so that the
tracker never creates a Python object per track on its hot path. Columns are views of the first ``len``
rows of the buffers: write into them with indexing (``table.states[rows] = ...``); appending or removing
rows invalidates earlier views.

Vehicle temporary ids (4 bytes for J2735, 8 for CSAE) are stored as :data:`VEHICLE_ID_DTYPE` (``S9``): a
length byte followed by the id. numpy strips trailing NUL bytes of ``S`` values on read, but the length
prefix keeps every id distinct, so equality, sorting and :func:`decode_vehicle_id` are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Generic, TypeAlias, TypeVar, overload

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "NO_VEHICLE_ID",
    "POSITION",
    "STATE_DIM",
    "VEHICLE_ID_DTYPE",
    "VELOCITY",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "TrackTable",
    "decode_vehicle_id",
    "encode_vehicle_ids",
]

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]

STATE_DIM: Final = 4
"""Length of the state vector ``[east_m, north_m, v_east_mps, v_north_mps]``."""
POSITION: Final = slice(0, 2)
"""Position part of the state (metres east, north)."""
VELOCITY: Final = slice(2, 4)
"""Velocity part of the state (m/s east, north)."""

VEHICLE_ID_DTYPE: Final = np.dtype("S9")
"""Encoded vehicle temporary id: a length byte (0-8) then the id bytes."""
NO_VEHICLE_ID: Final = b""
"""The encoded (and decoded) value of "no vehicle id"."""
_MAX_VEHICLE_ID_BYTES = 8

ScalarT = TypeVar("ScalarT", bound=np.generic)


def encode_vehicle_ids(ids: Sequence[bytes]) -> NDArray[np.bytes_]:
    """Encode vehicle temporary ids (0 to 8 bytes each; empty = none) as a ``(M,)`` :data:`VEHICLE_ID_DTYPE` array.

    Raises:
        ValueError: If an id is longer than 8 bytes.
    """
    encoded = []
    for vehicle_id in ids:
        if len(vehicle_id) > _MAX_VEHICLE_ID_BYTES:
            raise ValueError(f"vehicle ids have at most 8 bytes, got {len(vehicle_id)}")
        encoded.append(bytes([len(vehicle_id)]) + vehicle_id if vehicle_id else NO_VEHICLE_ID)
    return np.array(encoded, dtype=VEHICLE_ID_DTYPE).reshape(len(encoded))


def decode_vehicle_id(encoded: bytes) -> bytes:
    """Invert :func:`encode_vehicle_ids` for one value (as read from an array, trailing NULs stripped)."""
    if not encoded:
        return NO_VEHICLE_ID
    return encoded[1:].ljust(encoded[0], b"\0")


class _Column(Generic[ScalarT]):
    """A :class:`TrackTable` column: a view of the first ``len(table)`` rows of one buffer."""

    def __init__(self, dtype: DTypeLike, shape: tuple[int, ...] = (), fill: Any = 0) -> None:
        self.dtype = np.dtype(dtype)
        self.shape = shape
        self.fill = fill
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, table: None, owner: type | None = None) -> _Column[ScalarT]: ...
    @overload
    def __get__(self, table: TrackTable, owner: type | None = None) -> NDArray[ScalarT]: ...
    def __get__(self, table: TrackTable | None, owner: type | None = None) -> NDArray[ScalarT] | _Column[ScalarT]:
        if table is None:
            return self
        view: NDArray[ScalarT] = table._buffers[self.name][: table._size]
        return view


class TrackTable:
    """All tracks of one tile as a struct of arrays (N rows; shapes below are per table).

    Columns (views; see the module docstring):
        ids: ``(N,) uint64`` global track ids, unique and never reused by a tracker.
        states: ``(N, 4) float64`` ``[east_m, north_m, v_east_mps, v_north_mps]`` at ``times_ms``.
        covs: ``(N, 4, 4) float64`` state covariances (m^2, m^2/s, (m/s)^2).
        object_class: ``(N,) int16`` :class:`roadlink.domain.classes.ObjectClass` values.
        class_confidence: ``(N,) float64`` in [0, 1].
        times_ms: ``(N,) int64`` unix ms of the state (the last update, or the prediction time in a snapshot).
        first_seen_ms / last_update_ms: ``(N,) int64`` unix ms of the first and the latest detection.
        hits: ``(N,) int32`` detections fused so far; misses: consecutive steps without one.
        age_steps: ``(N,) int32`` tracker steps survived; hit_history: ``(N,) uint32`` bit k set = hit k steps ago.
        confirmed: ``(N,) bool`` passed the initiator (M-of-N) test.
        source_mask / source_mask_prev: ``(N,) uint64`` bit s set = tracker source s updated the track in this
            step / in the previous step (bit 63 also stands for every source beyond the 63rd).
        sources_seen: ``(N,) uint64`` the same bits for every source that ever updated the track.
        vehicle_ids: ``(N,) S9`` encoded vehicle temporary id, empty when no self-report was associated.
        self_report_ms: ``(N,) int64`` unix ms of the latest vehicle self-report (-1 = none).
        last_step / last_scan: ``(N,) int64`` tracker step and scan counters of the latest update.
        existence_probability: ``(N,) float64`` in [0, 1], the latest existence probability a source reported
            for the track (its own tracker's confidence that the object is real); NaN = never reported.
    """

    ids: _Column[np.uint64] = _Column(np.uint64)
    states: _Column[np.float64] = _Column(np.float64, (4,))
    covs: _Column[np.float64] = _Column(np.float64, (4, 4))
    object_class: _Column[np.int16] = _Column(np.int16)
    class_confidence: _Column[np.float64] = _Column(np.float64)
    times_ms: _Column[np.int64] = _Column(np.int64)
    first_seen_ms: _Column[np.int64] = _Column(np.int64)
    last_update_ms: _Column[np.int64] = _Column(np.int64)
    hits: _Column[np.int32] = _Column(np.int32)
    misses: _Column[np.int32] = _Column(np.int32)
    age_steps: _Column[np.int32] = _Column(np.int32)
    hit_history: _Column[np.uint32] = _Column(np.uint32)
    confirmed: _Column[np.bool_] = _Column(np.bool_, fill=False)
    source_mask: _Column[np.uint64] = _Column(np.uint64)
    source_mask_prev: _Column[np.uint64] = _Column(np.uint64)
    sources_seen: _Column[np.uint64] = _Column(np.uint64)
    vehicle_ids: _Column[np.bytes_] = _Column(VEHICLE_ID_DTYPE, fill=NO_VEHICLE_ID)
    self_report_ms: _Column[np.int64] = _Column(np.int64, fill=-1)
    last_step: _Column[np.int64] = _Column(np.int64, fill=-1)
    last_scan: _Column[np.int64] = _Column(np.int64, fill=-1)
    existence_probability: _Column[np.float64] = _Column(np.float64, fill=np.nan)

    __slots__ = ("_buffers", "_size")

    def __init__(self, capacity: int = 64) -> None:
        """Create an empty table with room for ``capacity`` rows before the first reallocation."""
        self._size = 0
        self._buffers: dict[str, NDArray[Any]] = {
            column.name: self._new_buffer(column, max(1, capacity)) for column in self.columns()
        }

    @classmethod
    def columns(cls) -> tuple[_Column[Any], ...]:
        """The column descriptors, in declaration order."""
        return tuple(value for value in vars(cls).values() if isinstance(value, _Column))

    @staticmethod
    def _new_buffer(column: _Column[Any], capacity: int) -> NDArray[Any]:
        return np.full((capacity, *column.shape), column.fill, dtype=column.dtype)

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"TrackTable(len={self._size}, confirmed={int(np.count_nonzero(self.confirmed))})"

    @property
    def capacity(self) -> int:
        """Rows allocated; appending beyond it doubles the buffers."""
        return len(self._buffers["ids"])

    def append(self, count: int, **values: NDArray[Any]) -> slice:
        """Add ``count`` rows and return their slice; columns not given take their fill values.

        Args:
            count: Number of new rows.
            **values: Column name -> array of shape ``(count, *column shape)`` (broadcastable).

        Raises:
            KeyError: For an unknown column name.
        """
        unknown = set(values) - set(self._buffers)
        if unknown:
            raise KeyError(f"unknown TrackTable columns: {sorted(unknown)}")
        self._reserve(self._size + count)
        rows = slice(self._size, self._size + count)
        for column in self.columns():
            buffer = self._buffers[column.name]
            buffer[rows] = values.get(column.name, column.fill)
        self._size += count
        return rows

    def _reserve(self, size: int) -> None:
        if size <= self.capacity:
            return
        capacity = max(size, 2 * self.capacity)
        for column in self.columns():
            grown = self._new_buffer(column, capacity)
            grown[: self._size] = self._buffers[column.name][: self._size]
            self._buffers[column.name] = grown

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Remove in place every row whose ``mask`` entry is False, preserving order. ``mask`` has shape ``(N,)``."""
        kept = int(np.count_nonzero(mask))
        for buffer in self._buffers.values():
            buffer[:kept] = buffer[: self._size][mask]
        self._size = kept

    def take(self, rows: NDArray[np.int64] | NDArray[np.bool_] | slice) -> TrackTable:
        """Return a new compact table holding ``rows`` (indices, boolean mask or slice), copied.

        The selected rows become the new table's buffers (one copy per column; a snapshot of a few dozen
        tracks is taken every step, so building empty buffers first and then filling them would double it).
        """
        copy = isinstance(rows, slice)
        table = TrackTable.__new__(TrackTable)
        table._buffers = {
            name: (buffer[: self._size][rows].copy() if copy else buffer[: self._size][rows])
            for name, buffer in self._buffers.items()
        }
        table._size = len(table._buffers["ids"])
        if not table._size:
            table._buffers = {name: buffer[:0] for name, buffer in TrackTable()._buffers.items()}
        return table

    def copy(self) -> TrackTable:
        """A compact deep copy."""
        return self.take(slice(None))

    def row_of(self, track_ids: NDArray[np.uint64]) -> IntArray:
        """Row index of each id in ``track_ids`` ``(K,)``, -1 for ids not in the table (0 is never an id)."""
        ids = self.ids
        if not len(ids):
            return np.full(len(track_ids), -1, dtype=np.int64)
        ordered = bool(np.all(ids[1:] > ids[:-1]))  # trackers append increasing ids and removal keeps order
        order = np.arange(len(ids)) if ordered else np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        position = np.minimum(np.searchsorted(sorted_ids, track_ids), len(ids) - 1)
        found = sorted_ids[position] == track_ids
        return np.where(found, order[position], -1).astype(np.int64)

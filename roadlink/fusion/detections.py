"""The tracker's input: a batch of detections as a struct of arrays, and the kind of source each came from.

All positions and velocities are in the tile's local ENU frame (see :mod:`roadlink.fusion.state`); times
are unix ms on the receiver's clock (source clock offsets already applied, see
:mod:`roadlink.fusion.convert`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from roadlink.fusion.state import VEHICLE_ID_DTYPE, BoolArray, FloatArray, IntArray, encode_vehicle_ids

__all__ = ["Detections", "SourceKind", "source_codes"]


class SourceKind(enum.IntEnum):
    """How a detection must be fused."""

    RSU_OBJECT_LIST = 1
    """An RSU's already-tracked object estimate, correlated over time: fused by covariance intersection."""
    VEHICLE_SELF_REPORT = 2
    """A connected vehicle's own state (its navigation filter's output): accurate, identity-bearing, fused by CI."""
    RAW_DETECTION = 3
    """An independent single-scan sensor detection: a Kalman update."""


def _column(values: ArrayLike, count: int, dtype: type | np.dtype[np.generic], name: str) -> NDArray[np.generic]:
    array = np.broadcast_to(np.asarray(values, dtype=dtype), (count,)).copy()
    if array.shape != (count,):
        raise ValueError(f"{name} must have shape ({count},)")
    return array


@dataclass(frozen=True, slots=True)
class Detections:
    """M detections from any mix of sources.

    Attributes:
        positions_m: ``(M, 2)`` east, north in metres.
        velocities_mps: ``(M, 2)`` east, north in m/s; zeros where ``has_velocity`` is False.
        has_velocity: ``(M,)`` whether the source measured the velocity.
        covariances: ``(M, 4, 4)`` covariance of ``[position, velocity]`` (m^2, m^2/s, (m/s)^2); only the
            position block is used where ``has_velocity`` is False.
        object_class: ``(M,) int16`` :class:`roadlink.domain.classes.ObjectClass` values.
        class_confidence: ``(M,)`` in [0, 1].
        source_ids: ``(M,)`` unicode source ids (RSU or sensor id; the vehicle id hex for self-reports).
        kinds: ``(M,) uint8`` :class:`SourceKind` values.
        vehicle_ids: ``(M,)`` encoded vehicle temporary ids (:func:`roadlink.fusion.state.encode_vehicle_ids`),
            empty unless the detection is a vehicle self-report.
        object_ids: ``(M,) int64`` the source's own object id, -1 if none.
        times_ms: ``(M,) int64`` unix ms when the object was at the position (receiver clock).
        existence_probability: ``(M,)`` in [0, 1], the source tracker's probability that the object exists
            (SDSM / CPM ``objectConfidence``); NaN where the source does not report it.
    """

    positions_m: FloatArray
    velocities_mps: FloatArray
    has_velocity: BoolArray
    covariances: FloatArray
    object_class: NDArray[np.int16]
    class_confidence: FloatArray
    source_ids: NDArray[np.str_]
    kinds: NDArray[np.uint8]
    vehicle_ids: NDArray[np.bytes_]
    object_ids: IntArray
    times_ms: IntArray
    existence_probability: FloatArray

    @classmethod
    def create(
        cls,
        *,
        positions_m: ArrayLike,
        covariances: ArrayLike,
        times_ms: ArrayLike,
        source_ids: ArrayLike,
        kinds: ArrayLike,
        velocities_mps: ArrayLike | None = None,
        has_velocity: ArrayLike | None = None,
        object_class: ArrayLike = 0,
        class_confidence: ArrayLike = 0.5,
        vehicle_ids: Sequence[bytes] | None = None,
        object_ids: ArrayLike = -1,
        existence_probability: ArrayLike = np.nan,
    ) -> Detections:
        """Validate and normalize a batch; scalars broadcast to every detection.

        Args:
            positions_m: ``(M, 2)`` metres.
            covariances: ``(M, 2, 2)`` position covariance (m^2) or ``(M, 4, 4)`` full covariance.
            times_ms: ``(M,)`` unix ms.
            source_ids: ``(M,)`` strings.
            kinds: ``(M,)`` :class:`SourceKind` values.
            velocities_mps: ``(M, 2)`` m/s, or None when no detection has a velocity.
            has_velocity: ``(M,)``; defaults to True where ``velocities_mps`` is given and finite.
            object_class, class_confidence, object_ids: ``(M,)`` or scalars.
            vehicle_ids: Raw temporary ids (bytes, empty = none), one per detection.
            existence_probability: ``(M,)`` or a scalar in [0, 1]; NaN = not reported.

        Raises:
            ValueError: On inconsistent shapes, non-finite positions or an existence probability outside [0, 1].
        """
        positions = np.asarray(positions_m, dtype=np.float64).reshape(-1, 2)
        count = len(positions)
        if not np.all(np.isfinite(positions)):
            raise ValueError("positions_m must be finite")
        velocities = np.zeros((count, 2)) if velocities_mps is None else np.asarray(velocities_mps, dtype=np.float64)
        velocities = velocities.reshape(count, 2).copy()
        if has_velocity is None:
            measured = np.isfinite(velocities).all(axis=1) & (velocities_mps is not None)
        else:
            measured = _column(has_velocity, count, np.bool_, "has_velocity").astype(np.bool_)
        velocities[~measured] = 0.0
        return cls(
            positions_m=positions.copy(),
            velocities_mps=velocities,
            has_velocity=np.asarray(measured, dtype=np.bool_),
            covariances=_full_covariances(covariances, count),
            object_class=_column(object_class, count, np.int16, "object_class").astype(np.int16),
            class_confidence=_column(class_confidence, count, np.float64, "class_confidence").astype(np.float64),
            source_ids=np.asarray(_column(source_ids, count, np.str_, "source_ids"), dtype=np.str_),
            kinds=_column(kinds, count, np.uint8, "kinds").astype(np.uint8),
            vehicle_ids=encode_vehicle_ids(vehicle_ids) if vehicle_ids is not None else _no_vehicle_ids(count),
            object_ids=_column(object_ids, count, np.int64, "object_ids").astype(np.int64),
            times_ms=_column(times_ms, count, np.int64, "times_ms").astype(np.int64),
            existence_probability=_existence(existence_probability, count),
        )

    @classmethod
    def empty(cls) -> Detections:
        """A batch of zero detections."""
        return cls.create(
            positions_m=np.zeros((0, 2)),
            covariances=np.zeros((0, 2, 2)),
            times_ms=np.zeros(0, np.int64),
            source_ids=np.zeros(0, np.str_),
            kinds=np.zeros(0, np.uint8),
        )

    def __len__(self) -> int:
        return len(self.times_ms)

    def take(self, rows: IntArray | BoolArray | slice) -> Detections:
        """The detections at ``rows`` (indices, boolean mask or slice), copied."""
        return Detections(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})

    @classmethod
    def concatenate(cls, batches: Sequence[Detections]) -> Detections:
        """One batch holding every detection of ``batches``, in order."""
        batches = [batch for batch in batches if len(batch)]
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        return Detections(
            **{name: np.concatenate([getattr(b, name) for b in batches]) for name in cls.__dataclass_fields__}
        )


def source_codes(source_ids: NDArray[np.str_]) -> tuple[NDArray[np.str_], IntArray]:
    """``np.unique(source_ids, return_inverse=True)`` for ``(M,)`` ids that come in runs (a frame per source).

    Sorting thousands of strings costs about a millisecond; the runs are found by one elementwise comparison
    and only their first ids are sorted. Returns the sorted distinct ids and the ``(M,)`` index of each.
    """
    if not len(source_ids):
        return np.asarray(source_ids), np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.flatnonzero(source_ids[1:] != source_ids[:-1]) + 1])
    names, head_codes = np.unique(source_ids[starts], return_inverse=True)
    lengths = np.diff(np.append(starts, len(source_ids)))
    return names, np.repeat(np.asarray(head_codes, dtype=np.int64), lengths)


def _existence(values: ArrayLike, count: int) -> FloatArray:
    """``(M,)`` existence probabilities, NaN where absent; finite values must lie in [0, 1]."""
    existence = _column(values, count, np.float64, "existence_probability").astype(np.float64)
    if np.any((existence < 0.0) | (existence > 1.0)):
        raise ValueError("existence_probability must lie in [0, 1]")
    return existence


def _no_vehicle_ids(count: int) -> NDArray[np.bytes_]:
    return np.zeros(count, dtype=VEHICLE_ID_DTYPE)


def _full_covariances(covariances: ArrayLike, count: int) -> FloatArray:
    """Embed ``(M, 2, 2)`` position covariances into ``(M, 4, 4)`` (velocity block zero) or copy ``(M, 4, 4)``."""
    cov = np.asarray(covariances, dtype=np.float64)
    if cov.shape == (count, 4, 4):
        return cov.copy()
    if cov.shape == (count, 2, 2):
        full = np.zeros((count, 4, 4))
        full[:, :2, :2] = cov
        return full
    raise ValueError(f"covariances must have shape ({count}, 2, 2) or ({count}, 4, 4), got {cov.shape}")

"""Time ordering: a reorder window for late and out-of-sequence detections, and the split into scans.

:class:`ReorderBuffer` holds detections until the tracker's clock has passed their time by ``window_ms``,
then releases them sorted by time. Whatever arrives out of order but within the window is therefore
processed exactly as if it had arrived in order. The watermark (``now - window_ms`` at the latest release)
only moves forward; a detection at or before it arrives too late to be ordered and is dropped and
counted. With steps every ``T`` ms, lateness up to ``window_ms`` is always accepted, and up to
``window_ms + T`` depending on the phase. The buffer is bounded: beyond ``max_buffered`` detections, new
ones are dropped and counted (the oldest are the ones about to be used).

:func:`split_scans` cuts a released batch into scans, the unit of association: a set of detections in
which one object appears at most once. An RSU frame or a sensor frame (one source, one time) is a scan.
Vehicle self-reports come one per vehicle and message, at scattered times; they are grouped per time
bucket, the k-th report of each vehicle within the bucket going to the k-th scan.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from roadlink.fusion.detections import Detections, SourceKind, source_codes
from roadlink.fusion.state import IntArray

__all__ = ["ReorderBuffer", "split_scans"]


class ReorderBuffer:
    """The reorder window (module docstring). Not thread-safe; owned by one tracker."""

    def __init__(self, window_ms: int, max_buffered: int = 1_000_000) -> None:
        """Create an empty buffer.

        Args:
            window_ms: How long (ms) a detection is held for stragglers; 0 processes at once.
            max_buffered: Bound on held detections; overflowing new detections are dropped.
        """
        if window_ms < 0 or max_buffered < 1:
            raise ValueError("window_ms must be >= 0 and max_buffered >= 1")
        self.window_ms = window_ms
        self.max_buffered = max_buffered
        self.watermark_ms: int | None = None
        self.dropped_late = 0
        self.dropped_overflow = 0
        self._batches: list[Detections] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def push(self, detections: Detections) -> None:
        """Hold ``detections``, except those too late or beyond the bound (dropped and counted)."""
        if self.watermark_ms is not None:
            late = detections.times_ms <= self.watermark_ms
            self.dropped_late += int(np.count_nonzero(late))
            if late.any():
                detections = detections.take(~late)
        room = self.max_buffered - self._count
        if len(detections) > room:
            self.dropped_overflow += len(detections) - room
            detections = detections.take(slice(0, room))
        if len(detections):
            self._batches.append(detections)
            self._count += len(detections)

    def release(self, now_ms: int) -> Detections:
        """Remove and return every detection at or before ``now_ms - window_ms``, sorted by (time, source id).

        The sort is stable, so detections of one frame keep their order; the result depends only on what
        was pushed, not on the order of the pushes.
        """
        return self.release_coded(now_ms)[0]

    def release_coded(self, now_ms: int) -> tuple[Detections, NDArray[np.str_], IntArray]:
        """:meth:`release`, with the released detections' :func:`.detections.source_codes` (sorted distinct
        source ids, ``(M,)`` index of each), which the sort finds anyway."""
        cutoff = now_ms - self.window_ms
        self.watermark_ms = cutoff if self.watermark_ms is None else max(self.watermark_ms, cutoff)
        held = Detections.concatenate(self._batches)
        due = held.times_ms <= self.watermark_ms
        rest = held.take(~due) if not due.all() else Detections.empty()
        self._batches = [rest] if len(rest) else []
        self._count = len(rest)
        rows = np.flatnonzero(due)
        if not len(rows):
            return Detections.empty(), np.zeros(0, np.str_), np.zeros(0, np.int64)
        names, source_rank = source_codes(held.source_ids[rows])
        order = np.lexsort((source_rank, held.times_ms[rows]))
        return held.take(rows[order]), names, np.asarray(source_rank[order], dtype=np.int64)


def split_scans(
    detections: Detections, self_report_bucket_ms: int = 100, source_rank: IntArray | None = None
) -> list[IntArray]:
    """Cut a time-sorted batch into scans (module docstring), returned in processing order.

    ``source_rank`` (``(M,)``, optional) is ``source_codes(detections.source_ids)[1]`` if the caller has it.

    Returns:
        Index arrays into ``detections``, one per scan, ordered by scan time (for vehicle buckets, the
        bucket start), then RSU and sensor frames before vehicle reports, then source id.
    """
    if not len(detections):
        return []
    times = detections.times_ms
    vehicle = detections.kinds == SourceKind.VEHICLE_SELF_REPORT
    bucket = times // max(self_report_bucket_ms, 1)
    if source_rank is None:
        _, source_rank = source_codes(detections.source_ids)
    scan_time = np.where(vehicle, bucket * max(self_report_bucket_ms, 1), times)
    key_source = np.where(vehicle, 0, source_rank)
    key_rank = np.zeros(len(detections), dtype=np.int64)
    reports = np.flatnonzero(vehicle)
    if len(reports):
        key_rank[reports] = _rank_within(detections.vehicle_ids[reports], bucket[reports])
    order = np.lexsort((key_rank, key_source, vehicle, scan_time))
    keys = np.stack([scan_time, vehicle.astype(np.int64), key_source, key_rank])[:, order]
    bounds = np.flatnonzero(np.any(keys[:, 1:] != keys[:, :-1], axis=0)) + 1
    return [np.asarray(part, dtype=np.int64) for part in np.split(order, bounds)]


def _rank_within(vehicle_ids: np.ndarray[tuple[int], np.dtype[np.bytes_]], bucket: IntArray) -> IntArray:
    """For each row, how many earlier rows (in the given order) share its vehicle id and bucket."""
    _, id_rank = np.unique(vehicle_ids, return_inverse=True)
    order = np.lexsort((np.arange(len(bucket)), bucket, id_rank))
    group_key = np.stack([id_rank[order], bucket[order]])
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = np.any(group_key[:, 1:] != group_key[:, :-1], axis=0)
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - group_start
    return rank

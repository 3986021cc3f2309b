"""The multi-source tracker: the roles of this package composed into a push-style loop.

``step(time_unix_ms, detections)`` pushes a batch of detections (any sources, any times) and advances the
tracker's clock. Detections wait in the reorder window (:mod:`.ordering`), then what a step releases is cut
into scans (source frames and self-report buckets), which are associated with the global tracks of the
tile in one pass (a track takes at most one detection of each scan) and fused per track in time order:

- gating (:mod:`.gating`) with every track predicted to each detection's own time, then GNN
  (:mod:`.association`) on the gated pairs;
- RSU object lists and vehicle self-reports by covariance intersection (:mod:`.t2t`), raw detections by
  Kalman update (:mod:`.updater`). Both are outputs of a filter (the RSU's tracker, the car's GNSS/INS
  navigation filter) whose errors are correlated over time (a GNSS fix carries a slowly varying bias that
  its reported accuracy covers): fused as independent measurements, ten reports a second would shrink a
  connected car's track far below that bias, and a precise RSU seeing the car would then fail the gate and
  start a duplicate track;
- a vehicle self-report goes first to the track already carrying its vehicle id; otherwise it is gated
  like any detection against the tracks without a (fresh) vehicle id, and the id is attached to the
  track it joins, so a connected vehicle that RSUs also see is one track carrying its id;
- an RSU object whose RSU track was fused into a global track before is tried against that track first,
  with a wider gate (:class:`.t2t.TrackLinks`);
- unassigned detections start tentative tracks (:mod:`.initiator`).

After the scans, the step closes: M-of-N confirmation (:mod:`.initiator`), held back while a track lies in
the learned coverage (:mod:`.coverage`) of a source that has not reported it (one RSU's clutter) or while
the only source of a track reports a low existence probability for it, deletion
(:mod:`.deleter`, checked at every step, also when nothing was released), duplicate merging (:mod:`.merger`).
Association is always against the tile's global tracks in the shared ENU frame, so an object driving
from one RSU's coverage into another's keeps its track id.

The returned snapshot holds the confirmed tracks predicted to ``time_unix_ms``; :attr:`Tracker.tracks`
is the live table (tentative tracks included, each at its own time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roadlink.fusion.association import gnn_assign
from roadlink.fusion.coverage import LearnedCoverage
from roadlink.fusion.deleter import MissOrCovarianceDeleter
from roadlink.fusion.detections import Detections, SourceKind
from roadlink.fusion.gating import MahalanobisGate
from roadlink.fusion.initiator import MOfNInitiator
from roadlink.fusion.matrices import FloatArray
from roadlink.fusion.merger import DuplicateMerger
from roadlink.fusion.ordering import ReorderBuffer, split_scans
from roadlink.fusion.predictor import KalmanPredictor, interval_s
from roadlink.fusion.state import NO_VEHICLE_ID, BoolArray, IntArray, TrackTable
from roadlink.fusion.t2t import CovarianceIntersectionFuser, TrackLinks
from roadlink.fusion.updater import KalmanUpdater

__all__ = ["Tracker", "TrackerConfig", "TrackerStats"]

_MAX_SOURCE_BIT = 63
_BITS = np.left_shift(np.uint64(1), np.arange(_MAX_SOURCE_BIT + 1, dtype=np.uint64))
_CLASS_CONFIDENCE_DECAY = 0.95
_ESTIMATE_KINDS = np.array([int(SourceKind.RSU_OBJECT_LIST), int(SourceKind.VEHICLE_SELF_REPORT)], dtype=np.uint8)
"""Source kinds whose detections are filtered estimates, fused by covariance intersection (module docstring)."""


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """The tracker's components and settings.

    Attributes:
        window_ms: Reorder window (ms) for late and out-of-sequence detections.
        self_report_bucket_ms: Time bucket (ms) grouping vehicle self-reports into scans.
        vehicle_id_timeout_ms: A track's vehicle id is "fresh" for this long (ms) after its latest self-report;
            a report with another id may only join a track whose id is stale.
        max_buffered: Bound of the reorder buffer (detections).
        link_memory_ms: How long (ms) a source object id stays linked to the global track it was fused into.
        output_tentative: Include tentative tracks in snapshots.
        coverage_margin_m: Depth (m) inside a source's learned coverage (:mod:`.coverage`) from which a new
            track waits for that source to report it too before it is confirmed; None disables the check.
        coverage_refresh_ms: How often (ms) the learned coverages are recomputed.
        coverage_memory_ms: How long (ms) a reported position shapes its source's learned coverage.
    """

    window_ms: int = 150
    self_report_bucket_ms: int = 100
    vehicle_id_timeout_ms: int = 2000
    max_buffered: int = 1_000_000
    link_memory_ms: int = 3000
    output_tentative: bool = False
    coverage_margin_m: float | None = 5.0
    coverage_refresh_ms: int = 1000
    coverage_memory_ms: int = 60_000
    predictor: KalmanPredictor = field(default_factory=KalmanPredictor)
    gate: MahalanobisGate = field(default_factory=MahalanobisGate)
    updater: KalmanUpdater = field(default_factory=KalmanUpdater)
    fuser: CovarianceIntersectionFuser = field(default_factory=CovarianceIntersectionFuser)
    initiator: MOfNInitiator = field(default_factory=MOfNInitiator)
    deleter: MissOrCovarianceDeleter = field(default_factory=MissOrCovarianceDeleter)
    merger: DuplicateMerger | None = field(default_factory=DuplicateMerger)


@dataclass(slots=True)
class TrackerStats:
    """Counters since the tracker was created."""

    steps: int = 0
    scans: int = 0
    detections_received: int = 0
    detections_fused: int = 0
    dropped_late: int = 0
    dropped_overflow: int = 0
    tracks_created: int = 0
    tracks_deleted: int = 0
    tracks_merged: int = 0


class Tracker:
    """Fuses detections of one tile into global tracks (module docstring). Not thread-safe."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        """Create a tracker with no tracks."""
        self.config = config or TrackerConfig()
        self.stats = TrackerStats()
        self._table = TrackTable()
        self._buffer = ReorderBuffer(self.config.window_ms, self.config.max_buffered)
        self._sources: dict[str, int] = {}
        self._links = TrackLinks(self.config.link_memory_ms)
        margin = self.config.coverage_margin_m
        self._coverage = (
            None
            if margin is None
            else LearnedCoverage(self.config.coverage_refresh_ms, margin, self.config.coverage_memory_ms)
        )
        self._next_id = 1
        self._step = 0
        self._scan = 0

    @property
    def tracks(self) -> TrackTable:
        """The live track table (do not modify)."""
        return self._table

    @property
    def source_names(self) -> tuple[str, ...]:
        """Source ids by bit of ``TrackTable.source_mask`` (bit 63 also stands for all later sources)."""
        return tuple(self._sources)

    def step(self, time_unix_ms: int, detections: Detections | None = None) -> TrackTable:
        """Push ``detections``, process what the reorder window releases, and return a snapshot.

        Args:
            time_unix_ms: The tracker's clock (receiver time, unix ms); should not go backwards.
            detections: New detections, or None to only advance the clock.

        Returns:
            A new table of the confirmed tracks predicted to ``time_unix_ms``.
        """
        if detections is not None:
            self.stats.detections_received += len(detections)
            self._buffer.push(detections)
        released, source_names, source_rank = self._buffer.release_coded(time_unix_ms)
        self.stats.dropped_late, self.stats.dropped_overflow = self._buffer.dropped_late, self._buffer.dropped_overflow
        if len(released):
            self._step += 1
            self.stats.steps += 1
            self._table.source_mask_prev[:] = self._table.source_mask
            self._table.source_mask[:] = 0
            sources, source_rank = self._source_indices(released, source_names, source_rank)
            frames = split_scans(released, self.config.self_report_bucket_ms, source_rank)
            self._process_frames(released, sources, frames)
            self._links.forget_before(int(released.times_ms.max()))
            if self._coverage is not None:
                self._coverage.observe(sources, released.positions_m, int(released.times_ms.max()))
            self.config.initiator.record_step(self._table, self._table.last_step == self._step, self._awaiting())
        self._delete(time_unix_ms)
        if len(released) and self.config.merger is not None:
            processed_ms = int(released.times_ms.max())
            self.stats.tracks_merged += self.config.merger.merge(self._table, self.config.predictor, processed_ms)
        return self.snapshot(time_unix_ms)

    def snapshot(self, time_unix_ms: int) -> TrackTable:
        """Confirmed (or, if configured, all) tracks predicted to ``time_unix_ms``, as a new table."""
        rows = slice(None) if self.config.output_tentative else self._table.confirmed
        snap = self._table.take(rows)
        states, covs = self.config.predictor.predict(
            snap.states, snap.covs, interval_s(time_unix_ms, snap.times_ms), snap.object_class.astype(np.int64)
        )
        snap.states[:], snap.covs[:], snap.times_ms[:] = states, covs, time_unix_ms
        return snap

    def _process_frames(self, released: Detections, sources: IntArray, frames: list[IntArray]) -> None:
        """Associate all source frames of one step with the tracks in one pass and fuse them in rounds.

        ``frames`` (index arrays into ``released``, from :func:`.ordering.split_scans`) are the step's RSU and
        sensor frames and its self-report scans. The association cascade (vehicle ids, then source-track
        links in the wide link gate, then grid gating and GNN for what is left) runs once over all of them, a
        track taking at most one detection of each frame, so its fixed numpy overhead is paid once per step
        rather than once per frame. In steady traffic nearly every detection is paired by id or link, so the
        spatial stage runs for the few new objects. Each track then fuses its detections in time order: round
        ``k`` fuses every track's ``k``-th detection of the step (one prediction and one fusion call per
        round; a track is seen by a few sources, so a step has about as many rounds as the most-observed
        object has sources).
        Detections left unassigned (new objects, clutter) are processed frame by frame against the tracks
        started earlier in this step, so an object two RSUs see for the first time starts one track.
        """
        lengths = [len(rows) for rows in frames]
        batch = released.take(np.concatenate(frames))
        batch_sources = sources[np.concatenate(frames)]
        frame = np.repeat(np.arange(len(frames), dtype=np.int64), lengths)
        scan_numbers = self._scan + 1 + frame
        self._scan += len(frames)
        self.stats.scans += len(frames)
        bits = _source_bits(batch_sources)
        link_keys = TrackLinks.keys(batch_sources, batch.object_ids)
        every = np.arange(len(self._table), dtype=np.int64)
        psd = self.config.predictor.psd(self._table.states, self._table.object_class.astype(np.int64))
        context = _Frames(frame, len(frames))
        forced_tracks, forced_detections = self._identity_pairs(batch)
        free = _complement(len(batch), forced_detections)
        linked_tracks, linked_detections = self._linked_pairs(batch, free, link_keys[free], every, psd, context)
        paired_tracks = np.concatenate([forced_tracks, linked_tracks])
        paired_detections = np.concatenate([forced_detections, linked_detections])
        context.taken = context.keys(paired_tracks, paired_detections)
        rest = _complement(len(batch), paired_detections)
        gated_tracks, gated_detections = self._gated_pairs(batch, rest, every, psd, context)
        tracks = np.concatenate([paired_tracks, gated_tracks])
        detections = np.concatenate([paired_detections, gated_detections])
        self._fuse_in_rounds(batch, tracks, detections, bits, psd, scan_numbers)
        self._links.record(*self._latest_links(link_keys[detections], tracks, batch.times_ms[detections]))
        unassigned = _complement(len(batch), detections)
        if len(unassigned):
            self._start_tracks(batch, unassigned, frame, bits, link_keys, scan_numbers)

    def _fuse_in_rounds(
        self,
        batch: Detections,
        tracks: IntArray,
        detections: IntArray,
        bits: np.ndarray,
        psd: FloatArray,
        scan_numbers: IntArray,
    ) -> None:
        """Fuse pairs ``(E,)`` (table rows, rows of ``batch``) where a track may appear several times.

        Round ``k`` predicts and fuses each track's ``k``-th pair in detection (time) order, so a track takes
        its estimates one after the other; the per-track bookkeeping (hits, sources, ids, scan counters) is
        written once for all rounds. ``psd`` (per table row, from the states at the start of the step)
        serves every round: a track's heading and speed barely change within one 100 ms step.
        ``scan_numbers`` (per row of ``batch``) is the scan counter recorded as ``last_scan``.
        """
        if not len(tracks):
            return
        order = np.lexsort((detections, tracks))
        tracks, detections = tracks[order], detections[order]
        first = np.ones(len(tracks), dtype=bool)
        first[1:] = tracks[1:] != tracks[:-1]
        starts = np.flatnonzero(first)
        rank = np.arange(len(tracks)) - np.repeat(starts, np.diff(np.append(starts, len(tracks))))
        measured = np.concatenate([batch.positions_m[detections], batch.velocities_mps[detections]], axis=1)
        estimate = np.isin(batch.kinds[detections], _ESTIMATE_KINDS)
        rounds = int(rank.max()) + 1
        for k in range(rounds):
            chosen = np.flatnonzero(rank == k) if rounds > 1 else np.arange(len(tracks))
            round_tracks, round_detections = tracks[chosen], detections[chosen]
            self._fuse_states(
                batch, round_tracks, round_detections, measured[chosen], estimate[chosen], psd[round_tracks]
            )
            self._update_class(batch, round_tracks, round_detections)
        self._record_pairs(batch, tracks, detections, starts, bits, scan_numbers)

    def _fuse_states(
        self,
        batch: Detections,
        tracks: IntArray,
        detections: IntArray,
        measured: FloatArray,
        estimate: BoolArray,
        psd: FloatArray,
    ) -> None:
        """Predict the tracks ``(E,)`` (each once; PSDs ``psd`` ``(E, 2, 2)``) to their detections' times and
        fuse each pair by source kind: ``estimate`` pairs by covariance intersection, raw detections by Kalman
        update. ``measured`` ``(E, 4)`` holds the detections' positions and velocities."""
        table, times = self._table, batch.times_ms[detections]
        states, covs = self.config.predictor.predict(
            table.states[tracks],
            table.covs[tracks],
            interval_s(times, table.times_ms[tracks]),
            table.object_class[tracks].astype(np.int64),
            psd,
        )
        noise, has_velocity = batch.covariances[detections], batch.has_velocity[detections]
        if estimate.all():  # the common case: RSU object lists and self-reports only
            states, covs = self.config.fuser.fuse(states, covs, measured, noise, has_velocity)
            table.states[tracks], table.covs[tracks], table.times_ms[tracks] = states, covs, times
            return
        groups = (estimate, ~estimate & has_velocity, ~estimate & ~has_velocity)
        for kind, mask in enumerate(groups):
            if not mask.any():
                continue
            whole = bool(mask.all())
            rows = slice(None) if whole else np.flatnonzero(mask)
            x, p, z, r = states[rows], covs[rows], measured[rows], noise[rows]
            if kind == 0:
                result = self.config.fuser.fuse(x, p, z, r, has_velocity[rows])
            elif kind == 1:
                result = self.config.updater.update_state(x, p, z, r)
            else:
                result = self.config.updater.update_position(x, p, z[:, :2], r[:, :2, :2])
            if whole:
                states, covs = result
            else:
                states[rows], covs[rows] = result
        table.states[tracks], table.covs[tracks], table.times_ms[tracks] = states, covs, times

    def _record_pairs(
        self,
        batch: Detections,
        tracks: IntArray,
        detections: IntArray,
        starts: IntArray,
        bits: np.ndarray,
        scan_numbers: IntArray,
    ) -> None:
        """Per-track bookkeeping of fused pairs ``(E,)`` sorted by track then detection (each track's run
        begins at ``starts``): hit count, latest update time, step and scan, source bits, the latest reported
        existence probability and vehicle id."""
        table = self._table
        owners = tracks[starts]
        last = np.append(starts[1:], len(tracks)) - 1
        times = batch.times_ms[detections]
        table.last_update_ms[owners] = np.maximum(table.last_update_ms[owners], np.maximum.reduceat(times, starts))
        table.hits[owners] += np.diff(np.append(starts, len(tracks))).astype(np.int32)
        table.last_step[owners] = self._step
        table.last_scan[owners] = scan_numbers[detections[last]]
        seen = np.bitwise_or.reduceat(bits[detections], starts)
        table.source_mask[owners] |= seen
        table.sources_seen[owners] |= seen
        reported = self._latest_where(tracks, np.isfinite(batch.existence_probability[detections]))
        table.existence_probability[tracks[reported]] = batch.existence_probability[detections[reported]]
        if (batch.kinds == SourceKind.VEHICLE_SELF_REPORT).any():
            reports = self._latest_where(tracks, batch.vehicle_ids[detections] != NO_VEHICLE_ID)
            table.vehicle_ids[tracks[reports]] = batch.vehicle_ids[detections[reports]]
            table.self_report_ms[tracks[reports]] = batch.times_ms[detections[reports]]
        self.stats.detections_fused += len(tracks)

    @staticmethod
    def _latest_where(tracks: IntArray, mask: BoolArray) -> IntArray:
        """Indices of each track's last pair where ``mask`` holds (pairs ``(E,)`` sorted by track)."""
        rows = np.flatnonzero(mask)
        return rows[np.append(tracks[rows][1:] != tracks[rows][:-1], True)] if len(rows) else rows

    def _latest_links(
        self, keys: IntArray, track_rows: IntArray, times_ms: IntArray
    ) -> tuple[IntArray, np.ndarray[tuple[int], np.dtype[np.uint64]], IntArray]:
        """Links to record for pairs of several frames: per link key, the latest pair's global track id."""
        order = np.lexsort((times_ms, keys))[::-1]
        _, first = np.unique(keys[order], return_index=True)
        chosen = order[first]
        return keys[chosen], self._table.ids[track_rows[chosen]], times_ms[chosen]

    def _start_tracks(
        self,
        batch: Detections,
        rows: IntArray,
        frame: IntArray,
        bits: np.ndarray,
        link_keys: IntArray,
        scan_numbers: IntArray,
    ) -> None:
        """Frame by frame: fuse the unassigned ``rows`` into tracks started earlier in this pass, start tracks
        for the rest (each frame's detections may join each such track once)."""
        first_new = len(self._table)
        for f in np.unique(frame[rows]).tolist():
            mine = rows[frame[rows] == f]
            started = np.arange(first_new, len(self._table), dtype=np.int64)
            tracks, detections = np.zeros(0, np.int64), np.zeros(0, np.int64)
            if len(started):
                psd = self.config.predictor.psd(
                    self._table.states[started], self._table.object_class[started].astype(np.int64)
                )
                full_psd = np.zeros((len(self._table), *psd.shape[1:]), dtype=psd.dtype)
                full_psd[started] = psd
                tracks, detections = self._gated_pairs(batch, mine, started, full_psd)
                self._fuse_in_rounds(batch, tracks, detections, bits, full_psd, scan_numbers)
            fresh = _complement(len(batch), np.concatenate([detections, _complement(len(batch), mine)]))
            if len(fresh):
                self._initiate(batch, fresh, bits, int(scan_numbers[fresh[0]]))
            track_rows = np.concatenate([tracks, self._table_rows_of_new(len(fresh))])
            fused = np.concatenate([detections, fresh])
            self._links.record(link_keys[fused], self._table.ids[track_rows], batch.times_ms[fused])

    def _gated_pairs(
        self,
        scan: Detections,
        rows: IntArray,
        candidates: IntArray,
        psd: FloatArray,
        frames: _Frames | None = None,
    ) -> tuple[IntArray, IntArray]:
        """GNN pairs (track rows, scan rows) of the detections ``rows`` with the tracks ``candidates``.

        With ``frames``, ``scan`` holds several source frames: a track may take one detection per frame, and
        not one of a frame that already took it (``frames.taken``).
        """
        if not len(rows) or not len(candidates):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        part = scan.take(rows) if len(rows) < len(scan) else scan
        gated = self.config.gate.hypothesise(self._table, part, self.config.predictor, candidates, table_psd=psd)
        track_rows, detection_rows, distance2 = gated.track_rows, gated.detection_rows, gated.distance2
        if (part.vehicle_ids != NO_VEHICLE_ID).any():
            allowed = self._may_carry(track_rows, part, detection_rows)
            track_rows, detection_rows, distance2 = track_rows[allowed], detection_rows[allowed], distance2[allowed]
        labels = track_rows
        if frames is not None:
            labels = frames.keys(track_rows, rows[detection_rows])
            free = ~np.isin(labels, frames.taken)
            track_rows, detection_rows, distance2, labels = (
                track_rows[free],
                detection_rows[free],
                distance2[free],
                labels[free],
            )
        chosen = gnn_assign(labels, detection_rows, distance2, self.config.gate.threshold)
        return track_rows[chosen], rows[detection_rows[chosen]]

    def _may_carry(self, tracks: IntArray, detections: Detections, rows: IntArray) -> BoolArray:
        """``(E,)`` whether each track may take detection ``rows`` as far as vehicle ids go: a self-report only
        joins a track without a vehicle id, with its own id, or whose id is stale (older than the timeout)."""
        table = self._table
        vehicle_id, carried = detections.vehicle_ids[rows], table.vehicle_ids[tracks]
        stale = table.self_report_ms[tracks] < detections.times_ms[rows] - self.config.vehicle_id_timeout_ms
        return np.asarray((vehicle_id == NO_VEHICLE_ID) | (carried == NO_VEHICLE_ID) | (carried == vehicle_id) | stale)

    def _awaiting(self) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
        """``(N,)`` tentative tracks in the coverage of a source that has not reported them, young enough to wait."""
        table = self._table
        awaiting = np.zeros(len(table), dtype=bool)
        young = ~table.confirmed & (table.age_steps < self.config.initiator.corroboration_steps)
        if self._coverage is None or not young.any():
            return awaiting
        rows = np.flatnonzero(young)
        missing = self._coverage.covering(table.states[rows, :2]) & ~table.sources_seen[rows]
        awaiting[rows] = missing != 0
        return awaiting

    def _table_rows_of_new(self, count: int) -> IntArray:
        """Rows of the ``count`` most recently appended tracks."""
        return np.arange(len(self._table) - count, len(self._table), dtype=np.int64)

    def _linked_pairs(
        self,
        scan: Detections,
        rows: IntArray,
        keys: IntArray,
        candidates: IntArray,
        psd: FloatArray,
        frames: _Frames | None = None,
    ) -> tuple[IntArray, IntArray]:
        """GNN pairs (track rows, scan rows) of the detections ``rows`` (link keys ``keys``) with the global
        track their source track was last fused into, among ``candidates``, in the wider link gate (with
        ``frames``: one detection per track and frame, as in :meth:`_gated_pairs`)."""
        track_rows = self._table.row_of(self._links.lookup(keys))
        allowed = np.zeros(len(self._table) + 1, dtype=bool)
        allowed[candidates] = True
        linked = np.flatnonzero((track_rows >= 0) & allowed[track_rows])
        if not len(linked):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        hypotheses = self.config.gate.gate_linked(
            self._table, scan, self.config.predictor, track_rows[linked], rows[linked], table_psd=psd
        )  # scored on the rows of ``scan`` in place: no copy of the detections
        detection_rows = hypotheses.detection_rows
        labels = hypotheses.track_rows if frames is None else frames.keys(hypotheses.track_rows, detection_rows)
        chosen = gnn_assign(labels, hypotheses.detection_rows, hypotheses.distance2, self.config.gate.threshold)
        return hypotheses.track_rows[chosen], detection_rows[chosen]

    def _identity_pairs(self, scan: Detections) -> tuple[IntArray, IntArray]:
        """(track row, detection) pairs of self-reports whose vehicle id a track already carries."""
        empty = np.zeros(0, np.int64)
        reporting = np.flatnonzero(scan.vehicle_ids != NO_VEHICLE_ID)
        carriers = np.flatnonzero(self._table.vehicle_ids != NO_VEHICLE_ID)
        if not len(reporting) or not len(carriers):
            return empty, empty
        carried = self._table.vehicle_ids[carriers]
        order = np.argsort(carried)
        position = np.minimum(np.searchsorted(carried[order], scan.vehicle_ids[reporting]), len(carriers) - 1)
        found = carried[order][position] == scan.vehicle_ids[reporting]
        return carriers[order][position[found]], reporting[found]

    def _update_class(self, scan: Detections, tracks: IntArray, detections: IntArray) -> None:
        """Keep the class of the most confident recent detection (confidence decays 5% per update).

        Self-reports are authoritative for the class they state; detections of class 0 (unspecified) are ignored.
        """
        table = self._table
        det_class, det_conf = scan.object_class[detections], scan.class_confidence[detections]
        conf = table.class_confidence[tracks] * _CLASS_CONFIDENCE_DECAY
        same = det_class == table.object_class[tracks]
        stated = det_class != 0
        self_report = stated & (scan.kinds[detections] == SourceKind.VEHICLE_SELF_REPORT)
        switch = stated & ~same & ((det_conf > conf) | (table.object_class[tracks] == 0) | self_report)
        table.object_class[tracks] = np.where(switch, det_class, table.object_class[tracks])
        table.class_confidence[tracks] = np.where(switch, det_conf, np.where(same, np.maximum(conf, det_conf), conf))

    def _initiate(self, scan: Detections, rows: IntArray, bits: np.ndarray, scan_number: int | None = None) -> None:
        number = self._scan if scan_number is None else scan_number
        new = self.config.initiator.initiate(self._table, scan, rows, self._next_id, self._step, number)
        self._next_id += len(rows)
        self._table.source_mask[new] = bits[rows]
        self._table.sources_seen[new] = bits[rows]
        self._table.vehicle_ids[new] = scan.vehicle_ids[rows]
        self._table.existence_probability[new] = scan.existence_probability[rows]
        reports = scan.vehicle_ids[rows] != NO_VEHICLE_ID
        self._table.self_report_ms[new] = np.where(reports, scan.times_ms[rows], -1)
        self.stats.tracks_created += len(rows)

    def _delete(self, now_ms: int) -> None:
        """Remove failed tentative tracks and those the deleter rejects at ``now_ms``."""
        table, config = self._table, self.config
        if not len(table):
            return
        psd = config.predictor.psd(table.states, table.object_class.astype(np.int64))
        _, position_covs = config.predictor.predict_position(
            table.states, table.covs, interval_s(now_ms, table.times_ms), psd
        )
        doomed = config.deleter.to_delete(table, position_covs, now_ms) | config.initiator.failed(table)
        if doomed.any():
            self.stats.tracks_deleted += int(np.count_nonzero(doomed))
            table.keep(~doomed)

    def _source_indices(
        self, detections: Detections, names: NDArray[np.str_], inverse: IntArray
    ) -> tuple[IntArray, IntArray]:
        """``(M,)`` tracker index of each detection's source (-1 for self-reports, identified by vehicle id), and
        ``(M,)`` the rank of its source id among the batch's distinct ids, given the batch's
        :func:`.detections.source_codes` ``names`` and ``inverse`` (returned as that rank)."""
        indices = np.full(len(names), -1, dtype=np.int64)
        is_report = np.zeros(len(names), dtype=bool)
        is_report[inverse[detections.kinds == SourceKind.VEHICLE_SELF_REPORT]] = True
        for k in np.flatnonzero(~is_report).tolist():
            indices[k] = self._sources.setdefault(str(names[k]), len(self._sources))
        return np.asarray(indices[inverse], dtype=np.int64), inverse


def _complement(count: int, taken: IntArray) -> IntArray:
    """The indices below ``count`` not in ``taken``, ascending."""
    free = np.ones(count, dtype=bool)
    free[taken] = False
    return np.flatnonzero(free)


def _source_bits(sources: IntArray) -> np.ndarray[tuple[int], np.dtype[np.uint64]]:
    """``(M,) uint64`` mask bit of each source index (bit 63 for every index from 63 on; 0 for -1)."""
    return np.where(sources >= 0, _BITS[np.clip(sources, 0, _MAX_SOURCE_BIT)], np.uint64(0))


class _Frames:
    """Several source frames associated in one pass (:meth:`Tracker._process_frames`).

    Attributes:
        frame: ``(M,)`` frame index (0..F-1) of each detection of the pass.
        count: F.
        taken: Keys (:meth:`keys`) of the (track, frame) pairs already assigned.
    """

    def __init__(self, frame: IntArray, count: int) -> None:
        self.frame = frame
        self.count = count
        self.taken: IntArray = np.zeros(0, np.int64)

    def keys(self, track_rows: IntArray, detection_rows: IntArray) -> IntArray:
        """``(E,)`` one label per (track, frame of the detection) pair."""
        return np.asarray(track_rows * self.count + self.frame[detection_rows], dtype=np.int64)

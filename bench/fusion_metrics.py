"""Multi-object tracking metrics against ground truth, per frame and accumulated over a run.

Positions are ``(n, 2)`` metres in one ENU frame; truth and estimate ids are integers, stable over a run.

- :func:`gospa`: generalized OSPA with ``alpha = 2`` (Rahmathullah, Garcia-Fernandez, Svensson 2017): the
  optimal assignment of estimates to truths under the cut-off ``c``; every assigned pair closer than ``c``
  costs ``d^p``, every missed truth and false estimate ``c^p / 2``. Its terms split into localisation,
  missed and false.
- :func:`ospa`: OSPA (Schuhmacher, Vo, Vo 2008): the same assignment normalized by the larger cardinality,
  with ``c^p`` per cardinality difference.
- :class:`MotAccumulator`: CLEAR MOT (Bernardin and Stiefelhagen 2008) with a distance threshold:
  correspondences of the previous match are kept while within the threshold, the rest are matched by
  minimum total distance (:func:`scipy.optimize.linear_sum_assignment`); an ID switch is a truth matched to
  an estimate id other than its last matched one. ``MOTA = 1 - (FN + FP + IDSW) / GT``.
- :class:`IdentityAccumulator`: IDF1 (Ristani et al. 2016): truth trajectories and estimate trajectories
  are matched one to one so as to maximize the frames in which a matched pair is within the threshold
  (IDTP); ``IDF1 = 2 IDTP / (GT detections + estimate detections)``.
- Duplicates (:meth:`Evaluator.add`): an estimate left unmatched by the MOT matching that lies within
  ``duplicate_m`` of a matched truth in an overlap zone (covered by two or more RSUs) is a duplicate track;
  the rate is duplicates per truth object-frame in overlap zones.

"Don't care" border: the caller passes the estimates inside the evaluation region dilated by a margin,
and a mask of those strictly inside it. A dilated-only estimate counts when it is matched to a truth
(an object just inside the border estimated just outside it) and is ignored otherwise, so that neither
the truth nor the estimate side is punished for the other being cut at the border.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

__all__ = [
    "Evaluator",
    "FrameMatch",
    "Gospa",
    "IdentityAccumulator",
    "MotAccumulator",
    "distances",
    "gospa",
    "ospa",
    "self_check",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_INFEASIBLE = 1e9


def distances(truth_m: FloatArray, estimates_m: FloatArray) -> FloatArray:
    """Euclidean distances ``(n, m)`` between truth ``(n, 2)`` and estimate ``(m, 2)`` positions (m)."""
    delta = truth_m[:, None, :] - estimates_m[None, :, :]
    return np.asarray(np.hypot(delta[..., 0], delta[..., 1]))


@dataclass(frozen=True, slots=True)
class Gospa:
    """One frame's GOSPA (``alpha = 2``) and its terms.

    Attributes:
        value: GOSPA in metres.
        localisation: Sum of ``d^p`` over assigned pairs (m^p).
        missed: Truths not assigned within ``c``.
        false: Estimates not assigned within ``c``.
        assigned: Pairs assigned within ``c``.
    """

    value: float
    localisation: float
    missed: int
    false: int
    assigned: int


def _assign(cost: FloatArray) -> tuple[IntArray, IntArray]:
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows, cols = linear_sum_assignment(cost)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def gospa(
    truth_m: FloatArray, estimates_m: FloatArray, c: float = 10.0, p: float = 2.0, counted: BoolArray | None = None
) -> Gospa:
    """GOSPA with ``alpha = 2`` between truth ``(n, 2)`` and estimates ``(m, 2)``.

    Args:
        c: Cut-off distance (m).
        p: Order.
        counted: ``(m,)`` estimates that count as false when unassigned (default: all); see the module
            docstring on the "don't care" border. Dropping unassigned estimates keeps the assignment optimal.
    """
    n, m = len(truth_m), len(estimates_m)
    counted = np.ones(m, dtype=bool) if counted is None else counted
    d = distances(truth_m, estimates_m)
    rows, cols = _assign(np.minimum(d, c) ** p)
    within = d[rows, cols] < c
    rows, cols = rows[within], cols[within]
    localisation = float(np.sum(d[rows, cols] ** p))
    unassigned = np.ones(m, dtype=bool)
    unassigned[cols] = False
    false = int(np.count_nonzero(unassigned & counted))
    missed = n - len(rows)
    value = (localisation + c**p / 2.0 * (missed + false)) ** (1.0 / p)
    return Gospa(float(value), localisation, missed, false, len(rows))


def ospa(truth_m: FloatArray, estimates_m: FloatArray, c: float = 10.0, p: float = 2.0) -> float:
    """OSPA (m) between truth ``(n, 2)`` and estimates ``(m, 2)``; 0 when both are empty, ``c`` when one is."""
    n, m = len(truth_m), len(estimates_m)
    if n == 0 and m == 0:
        return 0.0
    if n == 0 or m == 0:
        return c
    d = np.minimum(distances(truth_m, estimates_m), c) ** p
    rows, cols = _assign(d)
    return float(((float(d[rows, cols].sum()) + c**p * abs(m - n)) / max(n, m)) ** (1.0 / p))


@dataclass(frozen=True, slots=True)
class FrameMatch:
    """The MOT matching of one frame: ``truth_rows[k]`` is matched to ``estimate_rows[k]``."""

    truth_rows: IntArray
    estimate_rows: IntArray


@dataclass(slots=True)
class MotAccumulator:
    """CLEAR MOT counts over a run (module docstring), with a match threshold in metres."""

    threshold_m: float = 2.0
    ground_truth: int = 0
    matches: int = 0
    false_negatives: int = 0
    false_positives: int = 0
    id_switches: int = 0
    distance_sum_m: float = 0.0
    _last: dict[int, int] = field(default_factory=dict)

    def update(
        self, truth_ids: IntArray, d: FloatArray, estimate_ids: IntArray, counted: BoolArray | None = None
    ) -> FrameMatch:
        """Match one frame, given truth ids ``(n,)``, distances ``(n, m)`` and estimate ids ``(m,)``.

        Args:
            counted: ``(m,)`` estimates that count as false positives when unmatched (default: all).
        """
        n, m = d.shape
        counted = np.ones(m, dtype=bool) if counted is None else counted
        kept_t, kept_e = self._kept(truth_ids, d, estimate_ids)
        free_t = np.setdiff1d(np.arange(n), kept_t)
        free_e = np.setdiff1d(np.arange(m), kept_e)
        sub = d[np.ix_(free_t, free_e)]
        rows, cols = _assign(np.where(sub <= self.threshold_m, sub, _INFEASIBLE))
        ok = sub[rows, cols] <= self.threshold_m if len(rows) else np.zeros(0, dtype=bool)
        truth_rows = np.concatenate([kept_t, free_t[rows[ok]]]).astype(np.int64)
        estimate_rows = np.concatenate([kept_e, free_e[cols[ok]]]).astype(np.int64)
        for t, e in zip(truth_ids[truth_rows].tolist(), estimate_ids[estimate_rows].tolist(), strict=True):
            previous = self._last.get(t)
            if previous is not None and previous != e:
                self.id_switches += 1
            self._last[t] = e
        unmatched = np.ones(m, dtype=bool)
        unmatched[estimate_rows] = False
        self.ground_truth += n
        self.matches += len(truth_rows)
        self.false_negatives += n - len(truth_rows)
        self.false_positives += int(np.count_nonzero(unmatched & counted))
        self.distance_sum_m += float(d[truth_rows, estimate_rows].sum())
        return FrameMatch(truth_rows, estimate_rows)

    def _kept(self, truth_ids: IntArray, d: FloatArray, estimate_ids: IntArray) -> tuple[IntArray, IntArray]:
        """Rows of last frames' correspondences still present and within the threshold."""
        if not self._last or not len(estimate_ids):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        row_of = {int(e): j for j, e in enumerate(estimate_ids.tolist())}
        kept_t, kept_e = [], []
        for i, t in enumerate(truth_ids.tolist()):
            j = row_of.get(self._last.get(t, -1), -1)
            if j >= 0 and d[i, j] <= self.threshold_m:
                kept_t.append(i)
                kept_e.append(j)
        return np.asarray(kept_t, dtype=np.int64), np.asarray(kept_e, dtype=np.int64)

    @property
    def mota(self) -> float:
        """``1 - (FN + FP + IDSW) / GT`` (1 when there was no truth)."""
        errors = self.false_negatives + self.false_positives + self.id_switches
        return 1.0 - errors / self.ground_truth if self.ground_truth else 1.0

    @property
    def motp_m(self) -> float:
        """Mean distance of matched pairs (m)."""
        return self.distance_sum_m / self.matches if self.matches else 0.0


@dataclass(slots=True)
class IdentityAccumulator:
    """IDF1 over a run (module docstring): co-occurrence counts of (truth id, estimate id) within the threshold."""

    threshold_m: float = 2.0
    truth_detections: int = 0
    estimate_detections: int = 0
    _pairs: dict[tuple[int, int], int] = field(default_factory=dict)

    def update(self, truth_ids: IntArray, d: FloatArray, estimate_ids: IntArray, counted: BoolArray) -> None:
        """Add one frame: distances ``(n, m)``; ``counted`` ``(m,)`` estimates count as estimate detections."""
        self.truth_detections += len(truth_ids)
        self.estimate_detections += int(np.count_nonzero(counted))
        i, j = np.nonzero(d <= self.threshold_m)
        for key in zip(truth_ids[i].tolist(), estimate_ids[j].tolist(), strict=True):
            self._pairs[key] = self._pairs.get(key, 0) + 1

    @property
    def idtp(self) -> int:
        """Identity true positives of the best one-to-one trajectory matching."""
        if not self._pairs:
            return 0
        keys = np.array(list(self._pairs), dtype=np.int64)
        truth, t_index = np.unique(keys[:, 0], return_inverse=True)
        estimates, e_index = np.unique(keys[:, 1], return_inverse=True)
        counts = np.zeros((len(truth), len(estimates)))
        counts[t_index, e_index] = list(self._pairs.values())
        rows, cols = linear_sum_assignment(counts, maximize=True)
        return int(counts[rows, cols].sum())

    @property
    def idf1(self) -> float:
        """``2 IDTP / (GT detections + estimate detections)``."""
        total = self.truth_detections + self.estimate_detections
        return 2.0 * self.idtp / total if total else 1.0


@dataclass(slots=True)
class Evaluator:
    """Every metric of one tracker output over one evaluation region, accumulated frame by frame.

    Attributes:
        c_m, p: GOSPA and OSPA cut-off (m) and order.
        threshold_m: Match threshold of MOT and IDF1 (m).
        duplicate_m: Radius (m) around a matched truth in which an unmatched estimate is a duplicate.
    """

    c_m: float = 10.0
    p: float = 2.0
    threshold_m: float = 2.0
    duplicate_m: float = 4.0
    frames: int = 0
    gospa_sum: float = 0.0
    gospa_localisation_sum: float = 0.0
    gospa_missed: int = 0
    gospa_false: int = 0
    gospa_assigned: int = 0
    ospa_sum: float = 0.0
    overlap_truths: int = 0
    duplicates: int = 0
    mot: MotAccumulator = field(init=False)
    identity: IdentityAccumulator = field(init=False)

    def __post_init__(self) -> None:
        self.mot = MotAccumulator(self.threshold_m)
        self.identity = IdentityAccumulator(self.threshold_m)

    def add(
        self,
        truth_ids: IntArray,
        truth_m: FloatArray,
        truth_in_overlap: BoolArray,
        estimate_ids: IntArray,
        estimates_m: FloatArray,
        strict: BoolArray,
    ) -> None:
        """Add one frame: the truths inside the region, and the estimates inside its dilation.

        Args:
            truth_ids, truth_m: ``(n,)`` ids and ``(n, 2)`` positions of the truths in the region.
            truth_in_overlap: ``(n,)`` truths in an overlap zone of two or more RSUs.
            estimate_ids, estimates_m: ``(m,)`` ids and ``(m, 2)`` positions of the estimates in the dilated region.
            strict: ``(m,)`` estimates strictly inside the region.
        """
        d = distances(truth_m, estimates_m)
        match = self.mot.update(truth_ids, d, estimate_ids, strict)
        matched_estimate = np.zeros(len(estimate_ids), dtype=bool)
        matched_estimate[match.estimate_rows] = True
        self.identity.update(truth_ids, d, estimate_ids, strict | matched_estimate)
        g = gospa(truth_m, estimates_m, self.c_m, self.p, counted=strict)
        self.frames += 1
        self.gospa_sum += g.value
        self.gospa_localisation_sum += g.localisation
        self.gospa_missed += g.missed
        self.gospa_false += g.false
        self.gospa_assigned += g.assigned
        self.ospa_sum += ospa(truth_m, estimates_m[strict | matched_estimate], self.c_m, self.p)
        self.overlap_truths += int(np.count_nonzero(truth_in_overlap))
        self.duplicates += _duplicates(d, match, truth_in_overlap, strict, self.duplicate_m)

    def summary(self) -> dict[str, float | int]:
        """Mean GOSPA and OSPA per frame, their terms, MOTA, MOTP, IDF1, ID switches, duplicate rate."""
        frames = max(self.frames, 1)
        assigned = max(self.gospa_assigned, 1)
        return {
            "frames": self.frames,
            "gospa": self.gospa_sum / frames,
            "gospa_loc_rms_m": (self.gospa_localisation_sum / assigned) ** (1.0 / self.p),
            "gospa_missed_per_frame": self.gospa_missed / frames,
            "gospa_false_per_frame": self.gospa_false / frames,
            "ospa": self.ospa_sum / frames,
            "truth_per_frame": self.mot.ground_truth / frames,
            "recall": self.mot.matches / self.mot.ground_truth if self.mot.ground_truth else 1.0,
            "precision": self.mot.matches / max(self.mot.matches + self.mot.false_positives, 1),
            "mota": self.mot.mota,
            "motp_m": self.mot.motp_m,
            "fn": self.mot.false_negatives,
            "fp": self.mot.false_positives,
            "id_switches": self.mot.id_switches,
            "idf1": self.identity.idf1,
            "overlap_truths": self.overlap_truths,
            "duplicates": self.duplicates,
            "duplicate_rate": self.duplicates / self.overlap_truths if self.overlap_truths else 0.0,
        }


def _duplicates(d: FloatArray, match: FrameMatch, in_overlap: BoolArray, strict: BoolArray, radius_m: float) -> int:
    """Unmatched estimates within ``radius_m`` of a matched truth in an overlap zone."""
    n, m = d.shape
    if not n or not m:
        return 0
    anchor = np.zeros(n, dtype=bool)
    anchor[match.truth_rows] = True
    anchor &= in_overlap
    unmatched = strict.copy()
    unmatched[match.estimate_rows] = False
    if not anchor.any() or not unmatched.any():
        return 0
    near = d[np.ix_(anchor, unmatched)] <= radius_m
    return int(np.count_nonzero(near.any(axis=0)))


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"fusion metrics self-check failed: {what}")


def self_check() -> None:
    """Hand-computed cases of every metric; raises AssertionError when one is off (run by the bench first)."""
    origin, none = np.zeros((1, 2)), np.zeros((0, 2))
    _expect(math.isclose(gospa(origin, np.array([[3.0, 4.0]])).value, 5.0), "GOSPA of one pair 5 m apart")
    _expect(math.isclose(gospa(origin, none).value, math.sqrt(50.0)), "GOSPA of one missed truth")
    far = gospa(origin, np.array([[20.0, 0.0]]))
    _expect((far.missed, far.false, far.value) == (1, 1, 10.0), "GOSPA of a pair beyond c")
    ignored = gospa(origin, np.array([[20.0, 0.0]]), counted=np.array([False]))
    _expect(math.isclose(ignored.value, math.sqrt(50.0)), "GOSPA with a don't-care estimate")
    two = np.array([[0.0, 0.0], [10.0, 10.0]])
    _expect(math.isclose(ospa(two, np.array([[0.0, 1.0]])), math.sqrt(50.5)), "OSPA with a cardinality error")
    _expect((ospa(none, none), ospa(origin, none)) == (0.0, 10.0), "OSPA of empty sets")
    evaluator = Evaluator()
    one, overlap = np.array([1]), np.array([True])
    evaluator.add(one, origin, overlap, np.array([7]), np.array([[0.5, 0.0]]), np.array([True]))
    evaluator.add(one, origin, overlap, np.array([7, 8]), np.array([[3.0, 0.0], [0.1, 0.0]]), np.array([True, True]))
    mot = evaluator.mot
    counts = (mot.matches, mot.false_positives, mot.false_negatives, mot.id_switches)
    _expect(counts == (2, 1, 0, 1), "CLEAR MOT counts of an ID switch")
    _expect(math.isclose(mot.mota, 0.0), "MOTA of an ID switch and a false positive")
    _expect(math.isclose(evaluator.identity.idf1, 0.4), "IDF1 of two half trajectories")
    _expect((evaluator.duplicates, evaluator.overlap_truths) == (1, 2), "one duplicate in the overlap")

"""Accuracy and speed of `roadlink.fusion.Tracker`, with each single RSU and Stone Soup's GNN tracker as baselines.

Run: `python -m bench.fusion [--quick|--full] [--seed N] [--builtin]` (quick is the default: about 2 minutes on 2 shared
cores; full observes 120 s of traffic instead of 30 s and times more frames).

Accuracy, on the scene of :mod:`bench.fusion_scene` (SUMO traffic on a signalized grid, four overlapping RSUs
sending object lists, connected cars sending their own state; see that module for every parameter):

- the receiver clock steps every 100 ms; each step pushes what arrived since the previous one. The fused
  output is ``Tracker(TrackerConfig())`` (library defaults) with its reorder window of ``window_ms``.
- every system is evaluated at ``t_eval = now - window_ms``, the time up to which the tracker has
  processed everything (so no system is charged for the window): the fused snapshot predicted to
  ``t_eval``; each RSU's latest object list received by ``now`` and measured by ``t_eval``, extrapolated
  with its own velocities (its objects as tracks, its local ids as track ids); Stone Soup's confirmed
  tracks predicted to ``t_eval``. ``fused live`` is the tracker's own snapshot at ``now`` against the
  truth at ``now`` (what a subscriber sees). Two sensitivity rows: ``fused, no RSU clutter`` (the same
  traffic with the RSUs' ghosts switched off) and ``fused, existence ignored`` (the same scene fused
  without the RSUs' reported existence probabilities, M-of-N confirmation alone).
- Stone Soup 1.9 (`stonesoup`): the standard GNN composition on the very detections the tracker received,
  released by the same reorder buffer and cut into the same scans (:func:`roadlink.fusion.split_scans`):
  nearly constant velocity (q = 3 m^2/s^3 per axis, roadlink's default for objects of unknown class), a
  LinearGaussian model per detection with the detection's own covariance (position and velocity, as the
  sources report both), KalmanPredictor and KalmanUpdater, DistanceHypothesiser with the Mahalanobis
  measure gated at the chi-square 0.999 quantile, GNNWith2DAssignment, MultiMeasurementInitiator (2 points)
  and UpdateTimeStepsDeleter after the number of scans of 0.5 s (roadlink deletes after 3 to 10 steps of
  100 ms without an update, by each track's own detection rate). It treats RSU estimates as independent
  measurements, as a standard tracker does.
- regions: `zone` is the union of the RSUs' fields of view; each RSU is also compared with the fused and
  Stone Soup outputs on its own field of view only (so a single RSU is not charged for what it cannot see).
  Estimates up to 5 m outside a region count only if matched ("don't care" border, see
  :mod:`bench.fusion_metrics`). The first 2 s of observation are not scored.
- metrics (:mod:`bench.fusion_metrics`): GOSPA (alpha 2) and OSPA with c = 10 m and p = 2, mean per frame;
  MOTA, MOTP, ID switches and IDF1 with a 2 m match threshold; duplicates: unmatched tracks within 4 m of a
  matched object in an overlap zone (covered by two or more RSUs), per object-frame in overlap zones.

Throughput, on synthetic tiles (uniformly spread objects at 1,250 per km^2, 85 % vehicles on axis-aligned
headings at 0-15 m/s, 15 % pedestrians), every object reported by 4 RSUs every 100 ms (phases 0/25/50/75
ms, AR(1) errors of 0.3-1.0 m), so a 100 ms frame of N objects carries 4 N measurements: detections are
built up front (conversion not timed) and pushed with one `Tracker.step` per 100 ms. `meas/s/core` is
measurements released and fused per CPU second of the process (`time.process_time`, so BLAS threads would be
charged); frame p50/p99 is the wall time of `step` after 10 warm-up frames. Stone Soup gets the same 200-object
frames (its Detection objects built outside the timing) after warm-up frames that let it start its tracks.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import importlib.metadata
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench.fusion_metrics import Evaluator, distances, self_check
from bench.fusion_scene import STEP_MS, Scenario, SceneConfig, build_scenario, covered_count
from bench.report import Figure, format_table, headline_line
from roadlink.domain.classes import ObjectClass
from roadlink.fusion import (
    Detections,
    ReorderBuffer,
    SourceKind,
    Tracker,
    TrackerConfig,
    decode_vehicle_id,
    split_scans,
)
from roadlink.fusion.gating import chi2_threshold

__all__ = ["main"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_SKIP_MS = 2000
_MARGIN_M = 5.0
_SS_Q = 3.0
_SS_DELETE_S = 0.5
_DENSITY_PER_M2 = 1250e-6
_SYNTH_WARMUP_FRAMES = 10
_T0_MS = 1_700_000_000_000


@dataclass(frozen=True, slots=True)
class Profile:
    """How much to run: observed scene seconds, timed frames per tile size, Stone Soup's synthetic frames."""

    scene_s: float
    frames: dict[int, int]
    stonesoup_warmup_frames: int
    stonesoup_frames: int


QUICK = Profile(30.0, {200: 60, 1000: 30, 5000: 15}, 1, 1)
FULL = Profile(120.0, {200: 200, 1000: 100, 5000: 40}, 2, 3)


@dataclass(frozen=True, slots=True)
class Estimates:
    """One system's output at one evaluation time: ids ``(n,)``, ENU positions ``(n, 2)``, and the vehicle
    temporary id each track carries (b"" for none; roadlink only)."""

    ids: IntArray
    positions_m: FloatArray
    vehicle_ids: tuple[bytes, ...] = ()

    @staticmethod
    def empty() -> Estimates:
        return Estimates(np.zeros(0, np.int64), np.zeros((0, 2)))


@dataclass(slots=True)
class Run:
    """A system's outputs per step, and the CPU time and measurements of its processing."""

    outputs: list[Estimates] = field(default_factory=list)
    live: list[Estimates] = field(default_factory=list)
    cpu_s: float = 0.0
    measurements: int = 0
    notes: dict[str, Figure] = field(default_factory=dict)

    @property
    def meas_per_s(self) -> float:
        return self.measurements / self.cpu_s if self.cpu_s else 0.0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---- replay ------------------------------------------------------------------------------------------


def step_inputs(scenario: Scenario, window_ms: int) -> list[tuple[int, Detections]]:
    """Per receiver step (every 100 ms): ``(now, detections received since the previous step)``."""
    start, end = scenario.observe_start_ms, scenario.observe_end_ms + window_ms + 2 * STEP_MS
    buckets: dict[int, list[Detections]] = {}
    for arrival in scenario.arrivals:
        step = -(-(arrival.receive_ms - start) // STEP_MS)
        for k in np.unique(step).tolist():
            rows = np.flatnonzero(step == k)
            batch = arrival.detections if len(rows) == len(step) else arrival.detections.take(rows)
            buckets.setdefault(int(k), []).append(batch)
    steps = range(1, (end - start) // STEP_MS + 1)
    return [(start + k * STEP_MS, Detections.concatenate(buckets.get(k, []))) for k in steps]


def run_roadlink(inputs: Sequence[tuple[int, Detections]], config: TrackerConfig) -> Run:
    """Step the tracker through the scene; outputs at ``now - window_ms`` and live snapshots at ``now``."""
    tracker = Tracker(config)
    run = Run()
    for now, detections in inputs:
        started = time.process_time()
        live = tracker.step(now, detections)
        run.cpu_s += time.process_time() - started
        run.live.append(Estimates(live.ids.astype(np.int64), live.states[:, :2].copy()))
        snapshot = tracker.snapshot(now - config.window_ms)
        vehicle_ids = tuple(decode_vehicle_id(bytes(v)) for v in snapshot.vehicle_ids)
        run.outputs.append(Estimates(snapshot.ids.astype(np.int64), snapshot.states[:, :2].copy(), vehicle_ids))
    stats = tracker.stats
    run.measurements = stats.detections_received - stats.dropped_late - stats.dropped_overflow
    run.notes = {
        "dropped_late": stats.dropped_late,
        "tracks_created": stats.tracks_created,
        "tracks_merged": stats.tracks_merged,
    }
    return run


def single_rsu_outputs(scenario: Scenario, name: str, steps: Sequence[int], window_ms: int) -> list[Estimates]:
    """An RSU's objects as tracks: its latest list received by ``now`` and measured by ``now - window``."""
    frames = sorted(
        (int(a.detections.times_ms[0]), int(a.receive_ms[0]), a.detections)
        for a in scenario.arrivals
        if a.source == name
    )  # fmt: skip
    outputs, latest, cursor, pending = [], None, 0, []
    for now in steps:
        t_eval = now - window_ms
        while cursor < len(frames) and frames[cursor][0] <= t_eval:
            pending.append(frames[cursor])
            cursor += 1
        usable = [f for f in pending if f[1] <= now]
        if usable:
            latest = usable[-1]
            pending = [f for f in pending if f[0] > latest[0]]
        if latest is None:
            outputs.append(Estimates.empty())
            continue
        frame_ms, _, detections = latest
        dt_s = (t_eval - frame_ms) / 1000.0
        positions = detections.positions_m + detections.velocities_mps * dt_s
        outputs.append(Estimates(detections.object_ids.copy(), positions))
    return outputs


# ---- Stone Soup ---------------------------------------------------------------------------------------


def stonesoup_version() -> str | None:
    """The installed stonesoup version, or None."""
    try:
        return importlib.metadata.version("stonesoup")
    except importlib.metadata.PackageNotFoundError:
        return None


class _ScanFeed:
    """The Stone Soup tracker's detector: yields the scan set by :meth:`put` (one per ``next`` of the tracker)."""

    def __init__(self) -> None:
        self.scan: tuple[datetime.datetime, set[Any]] | None = None

    def put(self, timestamp: datetime.datetime, detections: set[Any]) -> None:
        self.scan = (timestamp, detections)

    def __iter__(self) -> Iterator[tuple[datetime.datetime, set[Any]]]:
        return self

    def __next__(self) -> tuple[datetime.datetime, set[Any]]:
        if self.scan is None:
            raise StopIteration
        scan, self.scan = self.scan, None
        return scan


_STONESOUP = {
    "CombinedLinearGaussianTransitionModel": "stonesoup.models.transition.linear",
    "ConstantVelocity": "stonesoup.models.transition.linear",
    "Detection": "stonesoup.types.detection",
    "DistanceHypothesiser": "stonesoup.hypothesiser.distance",
    "GNNWith2DAssignment": "stonesoup.dataassociator.neighbour",
    "GaussianState": "stonesoup.types.state",
    "KalmanPredictor": "stonesoup.predictor.kalman",
    "KalmanUpdater": "stonesoup.updater.kalman",
    "LinearGaussian": "stonesoup.models.measurement.linear",
    "Mahalanobis": "stonesoup.measures",
    "MultiMeasurementInitiator": "stonesoup.initiator.simple",
    "MultiTargetTracker": "stonesoup.tracker.simple",
    "UpdateTimeStepsDeleter": "stonesoup.deleter.time",
}


def _stonesoup_classes() -> dict[str, Any]:
    """The Stone Soup classes used here, by name. Imported dynamically: Stone Soup ships no type information
    and is an optional, bench-only dependency (so they are ``Any`` to mypy, installed or not)."""
    return {name: getattr(importlib.import_module(module), name) for name, module in _STONESOUP.items()}


class StoneSoupGnn:
    """Stone Soup's standard GNN multi-target tracker (module docstring), fed scan by scan."""

    def __init__(self, delete_after_scans: int) -> None:
        ss = _stonesoup_classes()
        self._detection, self._linear_gaussian = ss["Detection"], ss["LinearGaussian"]
        axes = [ss["ConstantVelocity"](_SS_Q), ss["ConstantVelocity"](_SS_Q)]
        transition = ss["CombinedLinearGaussianTransitionModel"](axes)
        default_model = ss["LinearGaussian"](4, (0, 2), np.eye(2))
        predictor, updater = ss["KalmanPredictor"](transition), ss["KalmanUpdater"](default_model)
        gate = math.sqrt(chi2_threshold(0.999, dof=4))
        deleter = ss["UpdateTimeStepsDeleter"](delete_after_scans)

        def associator() -> Any:
            hypothesiser = ss["DistanceHypothesiser"](predictor, updater, ss["Mahalanobis"](), missed_distance=gate)
            return ss["GNNWith2DAssignment"](hypothesiser)

        initiator = ss["MultiMeasurementInitiator"](
            prior_state=ss["GaussianState"](np.zeros((4, 1)), np.diag([4.0, 100.0, 4.0, 100.0])),
            measurement_model=default_model,
            deleter=deleter,
            data_associator=associator(),
            updater=updater,
            min_points=2,
        )
        self._feed = _ScanFeed()
        self.tracker = ss["MultiTargetTracker"](
            initiator=initiator, deleter=deleter, detector=self._feed, data_associator=associator(), updater=updater
        )
        self._iterator = iter(self.tracker)
        self._track_ids: dict[str, int] = {}
        self._base = datetime.datetime(2023, 11, 14, tzinfo=datetime.UTC)

    def timestamp(self, time_ms: int) -> datetime.datetime:
        return self._base + datetime.timedelta(milliseconds=time_ms - _T0_MS)

    def detections(self, scan: Detections) -> set[Any]:
        """Stone Soup detections of a scan: ``[east, north, v_east, v_north]`` with the scan's covariances."""
        out = set()
        for k in range(len(scan)):
            if scan.has_velocity[k]:
                vector = np.concatenate([scan.positions_m[k], scan.velocities_mps[k]])[:, None]
                model = self._linear_gaussian(4, (0, 2, 1, 3), scan.covariances[k])
            else:
                vector = scan.positions_m[k][:, None]
                model = self._linear_gaussian(4, (0, 2), scan.covariances[k, :2, :2])
            out.add(self._detection(vector, timestamp=self.timestamp(int(scan.times_ms[k])), measurement_model=model))
        return out

    def process(self, timestamp: datetime.datetime, detections: set[Any]) -> None:
        """One scan through the tracker."""
        self._feed.put(timestamp, detections)
        next(self._iterator)

    def estimates(self, time_ms: int) -> Estimates:
        """Confirmed tracks predicted (constant velocity) to ``time_ms``."""
        tracks = list(self.tracker.tracks)
        if not tracks:
            return Estimates.empty()
        at = self.timestamp(time_ms)
        ids = np.array([self._track_ids.setdefault(t.id, len(self._track_ids)) for t in tracks], dtype=np.int64)
        vectors = np.array([np.asarray(t.state.state_vector, dtype=np.float64).ravel() for t in tracks])
        dt_s = np.array([(at - t.state.timestamp).total_seconds() for t in tracks])
        positions = vectors[:, [0, 2]] + vectors[:, [1, 3]] * dt_s[:, None]
        return Estimates(ids, positions)


def released_scans(inputs: Sequence[tuple[int, Detections]], window_ms: int) -> list[list[Detections]]:
    """Per step, the scans the tracker's reorder buffer releases (the same buffer and split as the tracker)."""
    buffer = ReorderBuffer(window_ms, TrackerConfig().max_buffered)
    config = TrackerConfig()
    out = []
    for now, detections in inputs:
        buffer.push(detections)
        released = buffer.release(now)
        out.append([released.take(rows) for rows in split_scans(released, config.self_report_bucket_ms)])
    return out


def run_stonesoup(
    inputs: Sequence[tuple[int, Detections]], window_ms: int, scene_s: float, deadline_s: float
) -> Run | str:
    """Stone Soup over the scene (outputs at ``now - window_ms``), or the reason it could not run."""
    if stonesoup_version() is None:
        return "stonesoup is not installed (pip install stonesoup)"
    scans = released_scans(inputs, window_ms)
    total_scans = sum(len(step) for step in scans)
    delete_after = max(3, round(total_scans / scene_s * _SS_DELETE_S))
    gnn = StoneSoupGnn(delete_after)
    run = Run(notes={"delete_after_scans": delete_after})
    started = time.perf_counter()
    for (now, _), step_scans in zip(inputs, scans, strict=True):
        for scan in step_scans:
            detections = gnn.detections(scan)
            timestamp = gnn.timestamp(int(scan.times_ms.max()))
            cpu = time.process_time()
            gnn.process(timestamp, detections)
            run.cpu_s += time.process_time() - cpu
            run.measurements += len(scan)
        run.outputs.append(gnn.estimates(now - window_ms))
        if time.perf_counter() - started > deadline_s:
            return f"stopped after {deadline_s:.0f} s at {len(run.outputs)} of {len(inputs)} steps"
    return run


# ---- evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """One row of the accuracy table: a system's outputs scored on a region ("zone" or an RSU name)."""

    label: str
    region: str
    outputs: list[Estimates]
    live: bool = False


def _in_region(scenario: Scenario, region: str, positions: FloatArray, margin_m: float) -> NDArray[np.bool_]:
    if region == "zone":
        return covered_count(scenario.sensors, positions, margin_m) >= 1
    sensor = next(s for s in scenario.sensors if s.name == region)
    return sensor.covers(positions, margin_m)


def evaluate(scenario: Scenario, steps: Sequence[int], plans: Sequence[Plan], window_ms: int) -> dict[str, Evaluator]:
    """Score every plan at every step after the first 2 s of observation."""
    evaluators = {f"{p.label}@{p.region}": Evaluator() for p in plans}
    for k, now in enumerate(steps):
        t_eval = now - window_ms
        if t_eval < scenario.observe_start_ms + _SKIP_MS or t_eval > scenario.observe_end_ms:
            continue
        truth_now = scenario.truth.at(now) if now <= scenario.observe_end_ms else None
        truth_eval = scenario.truth.at(t_eval)
        for plan in plans:
            truth = truth_now if plan.live else truth_eval
            if truth is None:
                continue
            ids, positions, _ = truth
            inside = _in_region(scenario, plan.region, positions, 0.0)
            overlap = covered_count(scenario.sensors, positions[inside]) >= 2
            estimates = plan.outputs[k]
            loose = _in_region(scenario, plan.region, estimates.positions_m, _MARGIN_M)
            strict = _in_region(scenario, plan.region, estimates.positions_m[loose], 0.0)
            evaluators[f"{plan.label}@{plan.region}"].add(
                ids[inside], positions[inside], overlap, estimates.ids[loose], estimates.positions_m[loose], strict
            )
    return evaluators


@dataclass(slots=True)
class Splits:
    """Objects in the zone tracked more than once: an object is split in a frame when two or more estimates
    within 4 m have it as their nearest true object. For connected cars, also how often an estimate within
    2 m carries the car's own temporary id."""

    connected_frames: int = 0
    connected_split: int = 0
    connected_id_carried: int = 0
    other_frames: int = 0
    other_split: int = 0

    def figures(self) -> dict[str, float]:
        return {
            "connected_split_rate": self.connected_split / max(self.connected_frames, 1),
            "connected_id_rate": self.connected_id_carried / max(self.connected_frames, 1),
            "other_split_rate": self.other_split / max(self.other_frames, 1),
        }


def splits(scenario: Scenario, steps: Sequence[int], outputs: Sequence[Estimates], window_ms: int) -> Splits:
    """Count split objects and carried vehicle ids (see :class:`Splits`) over the scored frames."""
    out = Splits()
    connected = scenario.connected_ids
    for now, estimates in zip(steps, outputs, strict=True):
        t_eval = now - window_ms
        if t_eval < scenario.observe_start_ms + _SKIP_MS or t_eval > scenario.observe_end_ms:
            continue
        ids, positions, _ = scenario.truth.at(t_eval)
        if not len(ids) or not len(estimates.ids):
            continue
        d = distances(positions, estimates.positions_m)
        nearest = d.argmin(axis=0)
        claimed = np.bincount(nearest[d.min(axis=0) <= 4.0], minlength=len(ids))
        zone = covered_count(scenario.sensors, positions) >= 1
        is_connected = np.isin(ids, list(connected))
        out.connected_frames += int(np.count_nonzero(zone & is_connected))
        out.connected_split += int(np.count_nonzero(zone & is_connected & (claimed >= 2)))
        out.other_frames += int(np.count_nonzero(zone & ~is_connected))
        out.other_split += int(np.count_nonzero(zone & ~is_connected & (claimed >= 2)))
        if estimates.vehicle_ids:
            for i in np.flatnonzero(zone & is_connected).tolist():
                close = np.flatnonzero(d[i] <= 2.0).tolist()
                own = connected[int(ids[i])]
                out.connected_id_carried += any(estimates.vehicle_ids[j] == own for j in close)
    return out


def clutter_free_run(scene_config: SceneConfig, config: TrackerConfig) -> dict[str, Evaluator]:
    """Sensitivity: the same traffic with the RSUs' false tracks switched off, fused, scored on the zone."""
    sensors = tuple(dataclasses.replace(s, clutter_per_frame=0.0) for s in scene_config.sensors)
    scenario = build_scenario(dataclasses.replace(scene_config, sensors=sensors))
    inputs = step_inputs(scenario, config.window_ms)
    fused = run_roadlink(inputs, config)
    steps = [now for now, _ in inputs]
    return evaluate(scenario, steps, [Plan("fused, no RSU clutter", "zone", fused.outputs)], config.window_ms)


def existence_ignored_run(
    scenario: Scenario, inputs: Sequence[tuple[int, Detections]], config: TrackerConfig
) -> dict[str, Evaluator]:
    """Sensitivity: the same scene fused without the RSUs' existence probabilities (M-of-N alone), on the zone."""
    initiator = dataclasses.replace(config.initiator, min_single_source_existence=None)
    fused = run_roadlink(inputs, dataclasses.replace(config, initiator=initiator))
    steps = [now for now, _ in inputs]
    return evaluate(scenario, steps, [Plan("fused, existence ignored", "zone", fused.outputs)], config.window_ms)


# ---- throughput ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Synthetic:
    """Frames of a synthetic tile: per frame, its 4 sensors' detections (pushed at ``now``)."""

    objects: int
    frames: list[tuple[int, Detections]]


def synthetic_tile(objects: int, frames: int, seed: int) -> Synthetic:
    """``frames`` 100 ms frames of ``objects`` objects, each reported by 4 RSUs (module docstring)."""
    rng = np.random.default_rng(seed)
    side_m = math.sqrt(objects / _DENSITY_PER_M2)
    start = rng.uniform(0.0, side_m, (objects, 2))
    vru = rng.random(objects) < 0.15
    axis = np.array([(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)])[rng.integers(0, 4, objects)]
    angle = rng.uniform(0.0, 2 * math.pi, objects)
    velocity = np.where(
        vru[:, None],
        rng.uniform(0.5, 1.8, objects)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1),
        rng.uniform(0.0, 15.0, objects)[:, None] * axis,
    )
    classes = np.where(vru, int(ObjectClass.PEDESTRIAN), int(ObjectClass.PASSENGER_CAR)).astype(np.int16)
    stds = [(0.3, 0.4), (0.6, 0.2), (1.0, 0.8), (0.4, 0.4)]
    drivers = rng.normal(size=(4, objects, 4))
    out = []
    for frame in range(frames):
        batches = []
        for s, (p_std, v_std) in enumerate(stds):
            t = _T0_MS + frame * STEP_MS + 25 * s
            drivers[s] = 0.8 * drivers[s] + 0.6 * rng.normal(size=(objects, 4))
            truth = start + velocity * (t - _T0_MS) / 1000.0
            cov = np.diag([p_std**2, p_std**2, v_std**2, v_std**2])
            batches.append(
                Detections.create(
                    positions_m=truth + p_std * drivers[s, :, :2],
                    velocities_mps=velocity + v_std * drivers[s, :, 2:],
                    covariances=np.broadcast_to(cov, (objects, 4, 4)),
                    times_ms=t,
                    source_ids=f"rsu-{s}",
                    kinds=SourceKind.RSU_OBJECT_LIST,
                    object_class=classes,
                    class_confidence=0.8,
                    object_ids=np.arange(objects),
                )
            )
        out.append((_T0_MS + (frame + 1) * STEP_MS, Detections.concatenate(batches)))
    return Synthetic(objects, out)


@dataclass(frozen=True, slots=True)
class Throughput:
    """One tile size: measurements per CPU second, frame wall times (ms), and tracks at the end."""

    objects: int
    frames: int
    meas_per_frame: float
    meas_per_s: float
    wall_meas_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    tracks: int


def measure_roadlink(tile: Synthetic, timed_frames: int) -> Throughput:
    """Warm up on the first frames, then time ``timed_frames`` steps."""
    config = TrackerConfig()
    tracker = Tracker(config)
    walls, cpu, measured = [], 0.0, 0
    all_times = np.concatenate([d.times_ms for _, d in tile.frames])
    for index, (now, detections) in enumerate(tile.frames):
        started, started_cpu = time.perf_counter(), time.process_time()
        tracker.step(now, detections)
        wall, spent = time.perf_counter() - started, time.process_time() - started_cpu
        if index >= _SYNTH_WARMUP_FRAMES:
            walls.append(wall)
            cpu += spent
            released = (all_times > now - STEP_MS - config.window_ms) & (all_times <= now - config.window_ms)
            measured += int(np.count_nonzero(released))
    ms = np.array(walls) * 1000.0
    return Throughput(
        tile.objects,
        len(walls),
        measured / max(len(walls), 1),
        measured / cpu if cpu else 0.0,
        measured / (ms.sum() / 1000.0) if len(ms) else 0.0,
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 99)),
        float(ms.max()),
        int(np.count_nonzero(tracker.tracks.confirmed)),
    )


def measure_stonesoup(tile: Synthetic, warmup_frames: int, timed_frames: int) -> tuple[float, int, float] | str:
    """Stone Soup's measurements per CPU second on the first frames of ``tile``: (rate, measurements, seconds)."""
    if stonesoup_version() is None:
        return "stonesoup is not installed"
    window_ms = TrackerConfig().window_ms
    frames = tile.frames[: warmup_frames + timed_frames + 2]
    scans = released_scans(frames, window_ms)
    gnn = StoneSoupGnn(delete_after_scans=4 * 5)
    first_timed = frames[warmup_frames][0]
    cpu, measured = 0.0, 0
    for (now, _), step_scans in zip(frames, scans, strict=True):
        for scan in step_scans:
            detections, timestamp = gnn.detections(scan), gnn.timestamp(int(scan.times_ms.max()))
            started = time.process_time()
            gnn.process(timestamp, detections)
            if now > first_timed:
                cpu += time.process_time() - started
                measured += len(scan)
    return (measured / cpu if cpu else 0.0), measured, cpu


# ---- report -------------------------------------------------------------------------------------------


def accuracy_table(evaluators: dict[str, Evaluator]) -> str:
    rows: list[list[object]] = [
        ["system@region", "frames", "truth/fr", "GOSPA", "loc RMS", "miss/fr", "false/fr", "OSPA", "recall", "prec",
         "MOTA", "MOTP", "IDF1", "IDSW", "FN", "FP", "dup rate"]
    ]  # fmt: skip
    for name, evaluator in evaluators.items():
        s = evaluator.summary()
        rows.append(
            [name, s["frames"], s["truth_per_frame"], s["gospa"], s["gospa_loc_rms_m"], s["gospa_missed_per_frame"],
             s["gospa_false_per_frame"], s["ospa"], s["recall"], s["precision"], s["mota"], s["motp_m"], s["idf1"],
             s["id_switches"], s["fn"], s["fp"], s["duplicate_rate"]]
        )  # fmt: skip
    return format_table(rows)


def throughput_table(results: Sequence[Throughput], stonesoup: tuple[float, int, float] | str) -> str:
    rows: list[list[object]] = [
        ["tracker", "objects", "meas/frame", "frames", "meas/s/core", "meas/s wall", "p50 ms", "p99 ms", "max ms",
         "tracks"]
    ]  # fmt: skip
    for r in results:
        rows.append(
            ["roadlink", r.objects, r.meas_per_frame, r.frames, r.meas_per_s, r.wall_meas_per_s, r.p50_ms, r.p99_ms,
             r.max_ms, r.tracks]
        )  # fmt: skip
    if isinstance(stonesoup, tuple):
        rate, measured, _ = stonesoup
        rows.append(["stonesoup", 200, 800, round(measured / 800), rate, None, None, None, None, None])
    return format_table(rows)


@dataclass(slots=True)
class Results:
    """Everything one run measured."""

    scenario: Scenario
    fused: Run
    stonesoup: Run | str
    evaluators: dict[str, Evaluator]
    splits: dict[str, Splits]
    throughput: list[Throughput] = field(default_factory=list)
    stonesoup_rate: tuple[float, int, float] | str = "not measured"

    def summary(self, key: str) -> dict[str, float | int] | None:
        return self.evaluators[key].summary() if key in self.evaluators else None


def _rounded(summary: dict[str, float | int] | None, key: str, digits: int) -> float | None:
    return None if summary is None else round(float(summary[key]), digits)


def accuracy_figures(results: Results) -> dict[str, Figure]:
    """The accuracy part of the headline: zone figures of roadlink and Stone Soup, the best single RSU."""
    zone, ss = results.summary("fused@zone"), results.summary("stonesoup@zone")
    singles = {s.name: results.evaluators[f"{s.name}@{s.name}"].summary() for s in results.scenario.sensors}
    fused_in = {name: results.evaluators[f"fused@{name}"].summary() for name in singles}
    best = min(singles, key=lambda name: float(singles[name]["gospa"]))
    clean = results.summary("fused, no RSU clutter@zone")
    figures: dict[str, Figure] = {
        "scenario_source": results.scenario.source,
        "gospa_fused": _rounded(zone, "gospa", 3),
        "gospa_best_single": _rounded(singles[best], "gospa", 3),
        "gospa_best_single_rsu": best,
        "gospa_fused_in_best_single_fov": _rounded(fused_in[best], "gospa", 3),
        "fused_beats_every_single": all(float(fused_in[n]["gospa"]) < float(singles[n]["gospa"]) for n in singles),
        "gospa_stonesoup": _rounded(ss, "gospa", 3),
        "ospa_fused": _rounded(zone, "ospa", 3),
        "ospa_stonesoup": _rounded(ss, "ospa", 3),
        "mota": _rounded(zone, "mota", 4),
        "idf1": _rounded(zone, "idf1", 4),
        "id_switches": None if zone is None else int(zone["id_switches"]),
        "duplicate_rate": _rounded(zone, "duplicate_rate", 4),
        "mota_stonesoup": _rounded(ss, "mota", 4),
        "idf1_stonesoup": _rounded(ss, "idf1", 4),
        "id_switches_stonesoup": None if ss is None else int(ss["id_switches"]),
        "duplicate_rate_stonesoup": _rounded(ss, "duplicate_rate", 4),
        "gospa_fused_live": _rounded(results.summary("fused live@zone"), "gospa", 3),
        "gospa_fused_no_clutter": _rounded(clean, "gospa", 3),
        "mota_no_clutter": _rounded(clean, "mota", 4),
        "mota_existence_ignored": _rounded(results.summary("fused, existence ignored@zone"), "mota", 4),
    }
    for name, counts in results.splits.items():
        prefix = "" if name == "fused" else f"{name}_"
        figures |= {f"{prefix}{key}": round(value, 4) for key, value in counts.figures().items()}
    figures.pop("stonesoup_connected_id_rate", None)
    return figures


def speed_figures(results: Results) -> dict[str, Figure]:
    """The throughput part of the headline, and the speedups over Stone Soup."""
    by_size = {t.objects: t for t in results.throughput}
    figures: dict[str, Figure] = {}
    for size, t in by_size.items():
        figures |= {
            f"meas_per_s_{size}": round(t.meas_per_s),
            f"frame_ms_{size}": round(t.p50_ms, 2),
            f"frame_ms_{size}_p99": round(t.p99_ms, 2),
        }
    ss_rate = results.stonesoup_rate[0] if isinstance(results.stonesoup_rate, tuple) else None
    rate_200 = by_size[200].meas_per_s if 200 in by_size else None
    ss_scene = results.stonesoup.meas_per_s if isinstance(results.stonesoup, Run) else None
    figures |= {
        "stonesoup_meas_per_s_200": None if ss_rate is None else round(ss_rate, 1),
        "speedup_vs_stonesoup": round(rate_200 / ss_rate, 1) if ss_rate and rate_200 else None,
        "scene_meas_per_s_fused": round(results.fused.meas_per_s),
        "scene_meas_per_s_stonesoup": None if ss_scene is None else round(ss_scene, 1),
        "speedup_vs_stonesoup_scene": round(results.fused.meas_per_s / ss_scene, 1) if ss_scene else None,
        "stonesoup_note": results.stonesoup if isinstance(results.stonesoup, str) else None,
        "scene_s": results.scenario.config.duration_s,
        "seed": results.scenario.config.seed,
    }
    return figures


def targets(figures: dict[str, Figure]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) rows of issue 5's targets."""

    def num(key: str) -> float | None:
        value = figures.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def check(value: float | None, ok: Callable[[float], bool]) -> bool | None:
        return None if value is None else ok(value)

    ss, fused = num("gospa_stonesoup"), num("gospa_fused")
    return [
        ("fused GOSPA < each single RSU (own FOV)", f"{figures['fused_beats_every_single']}",
         bool(figures["fused_beats_every_single"])),
        ("fused GOSPA <= Stone Soup (zone)", f"{fused} vs {ss}",
         None if ss is None or fused is None else fused <= ss),
        ("duplicates in overlaps < 1 %", f"{figures['duplicate_rate']}",
         check(num("duplicate_rate"), lambda v: v < 0.01)),
        ("MOTA >= 0.98", f"{figures['mota']}", check(num("mota"), lambda v: v >= 0.98)),
        (">= 100k meas/s/core at 200", f"{figures.get('meas_per_s_200')}",
         check(num("meas_per_s_200"), lambda v: v >= 100_000)),
        ("5,000 objects x 4 sensors frame < 50 ms (p50)", f"{figures.get('frame_ms_5000')}",
         check(num("frame_ms_5000"), lambda v: v < 50.0)),
        ("5,000 objects x 4 sensors frame < 50 ms (p99)", f"{figures.get('frame_ms_5000_p99')}",
         check(num("frame_ms_5000_p99"), lambda v: v < 50.0)),
        (">= 100x Stone Soup throughput (200 objects)", f"{figures.get('speedup_vs_stonesoup')}",
         check(num("speedup_vs_stonesoup"), lambda v: v >= 100.0)),
        (">= 100x Stone Soup throughput (SUMO scene)", f"{figures.get('speedup_vs_stonesoup_scene')}",
         check(num("speedup_vs_stonesoup_scene"), lambda v: v >= 100.0)),
    ]  # fmt: skip


# ---- main ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> tuple[Profile, int, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench.fusion", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the default: 30 s of traffic, about 2 minutes")
    size.add_argument("--full", action="store_true", help="120 s of traffic and more timed frames, about 9 minutes")
    parser.add_argument("--seed", type=int, default=1, help="scene seed (SUMO demand, sensor noise)")
    parser.add_argument("--builtin", action="store_true", help="use the built-in generator even if SUMO is here")
    args = parser.parse_args(argv)
    return (FULL if args.full else QUICK), args.seed, args.builtin


def score(scenario: Scenario, scene_config: SceneConfig, config: TrackerConfig, profile: Profile) -> Results:
    """Run roadlink and Stone Soup over the scene and score them with every single RSU."""
    inputs = step_inputs(scenario, config.window_ms)
    steps = [now for now, _ in inputs]
    _log(f"scene: {len(scenario.truth.names)} objects, {scenario.convert_objects:,} detections, {len(steps)} steps")
    fused = run_roadlink(inputs, config)
    _log(f"roadlink: {fused.cpu_s:.2f} s CPU for {fused.measurements:,} measurements")
    stonesoup = run_stonesoup(inputs, config.window_ms, profile.scene_s, deadline_s=40.0 * profile.scene_s)
    _log(f"stonesoup: {stonesoup.cpu_s:.1f} s CPU" if isinstance(stonesoup, Run) else f"stonesoup: {stonesoup}")
    plans = [Plan("fused", "zone", fused.outputs), Plan("fused live", "zone", fused.live, live=True)]
    if isinstance(stonesoup, Run):
        plans.append(Plan("stonesoup", "zone", stonesoup.outputs))
    for sensor in scenario.sensors:
        plans.append(Plan(sensor.name, sensor.name, single_rsu_outputs(scenario, sensor.name, steps, config.window_ms)))
        plans.append(Plan("fused", sensor.name, fused.outputs))
        if isinstance(stonesoup, Run):
            plans.append(Plan("stonesoup", sensor.name, stonesoup.outputs))
    evaluators = evaluate(scenario, steps, plans, config.window_ms)
    evaluators |= clutter_free_run(scene_config, config)
    evaluators |= existence_ignored_run(scenario, inputs, config)
    split_counts = {"fused": splits(scenario, steps, fused.outputs, config.window_ms)}
    if isinstance(stonesoup, Run):
        split_counts["stonesoup"] = splits(scenario, steps, stonesoup.outputs, config.window_ms)
    return Results(scenario, fused, stonesoup, evaluators, split_counts)


def main(argv: Sequence[str] | None = None) -> int:
    profile, seed, builtin = parse_args(argv)
    self_check()
    started = time.perf_counter()
    config = TrackerConfig()
    scene_config = SceneConfig(seed=seed, duration_s=profile.scene_s, use_sumo=not builtin)
    results = score(build_scenario(scene_config, log=_log), scene_config, config, profile)
    _log("accuracy scored; throughput ...")
    for size, frames in profile.frames.items():
        results.throughput.append(measure_roadlink(synthetic_tile(size, frames + _SYNTH_WARMUP_FRAMES, seed), frames))
        _log(f"roadlink {size} objects: {results.throughput[-1].meas_per_s:,.0f} meas/s/core")
    ss_tile = synthetic_tile(200, profile.stonesoup_warmup_frames + profile.stonesoup_frames + 2, seed)
    results.stonesoup_rate = measure_stonesoup(ss_tile, profile.stonesoup_warmup_frames, profile.stonesoup_frames)
    figures = accuracy_figures(results) | speed_figures(results)
    print_report(results, figures, time.perf_counter() - started)
    print(headline_line(figures))
    return 0


def print_report(results: Results, figures: dict[str, Figure], seconds: float) -> None:
    """Everything but the headline line: the scene, the accuracy table, throughput, the targets."""
    scenario, fused, stonesoup = results.scenario, results.fused, results.stonesoup
    print(f"bench.fusion: {seconds:.0f} s in all; scenario source: {scenario.source} ({scenario.source_note})")
    print(f"versions: stonesoup {stonesoup_version()}, numpy {np.__version__}")
    zone = results.evaluators["fused@zone"].summary()
    print(
        f"scene: {scenario.config.duration_s:.0f} s observed, {len(scenario.truth.names)} objects simulated, "
        f"{zone['truth_per_frame']:.1f} in the RSU zone per frame, {len(scenario.connected_ids)} connected; "
        f"{scenario.convert_objects:,} detections (domain frames -> roadlink.fusion.convert); "
        f"roadlink dropped late {fused.notes['dropped_late']}, tracks created {fused.notes['tracks_created']}, "
        f"merged {fused.notes['tracks_merged']}"
    )
    if isinstance(stonesoup, Run):
        print(
            f"scene throughput: roadlink {fused.meas_per_s:,.0f} meas/s/core, Stone Soup {stonesoup.meas_per_s:,.0f} "
            f"(deletes after {stonesoup.notes['delete_after_scans']} scans)"
        )
    else:
        print(f"Stone Soup: {stonesoup}")
    for name, counts in results.splits.items():
        rates = counts.figures()
        print(
            f"split objects ({name}): connected cars {rates['connected_split_rate']:.3f} of "
            f"{counts.connected_frames} object-frames, other objects {rates['other_split_rate']:.3f} of "
            f"{counts.other_frames}" + (f"; own id carried {rates['connected_id_rate']:.3f}" if name == "fused" else "")
        )
    print()
    print(accuracy_table(results.evaluators))
    print()
    print(throughput_table(results.throughput, results.stonesoup_rate))
    print()
    rows: list[list[object]] = [["target (issue 5)", "measured", "met"]]
    rows += [[name, value, "-" if met is None else ("yes" if met else "NO")] for name, value, met in targets(figures)]
    print(format_table(rows))


if __name__ == "__main__":
    sys.exit(main())

"""A small seeded synthetic scene with ground truth, for the fusion scenario tests.

Objects move on straight lines in a tile's ENU frame. Two RSUs with overlapping circular coverage
report object lists every 100 ms (at different phases) whose errors are AR(1)-correlated over time, as a
tracker's output is; one connected vehicle reports its own state every 100 ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from roadlink.domain.classes import ObjectClass
from roadlink.fusion import Detections, SourceKind, Tracker, TrackTable
from roadlink.fusion.state import FloatArray, IntArray


@dataclass(frozen=True)
class Rsu:
    """An RSU at ``centre_m`` seeing everything within ``radius_m``, with AR(1) errors."""

    name: str
    centre_m: tuple[float, float]
    radius_m: float
    position_std_m: float
    velocity_std_mps: float
    phase_ms: int
    correlation: float = 0.7
    detection_probability: float = 0.97


@dataclass(frozen=True)
class Batch:
    """Detections as sent at ``time_ms`` by one source."""

    time_ms: int
    source: str
    detections: Detections


@dataclass
class Scene:
    """Truth: object ``k`` is at ``start_m[k] + velocity_mps[k] * (t - t0) / 1000``."""

    start_m: FloatArray
    velocity_mps: FloatArray
    classes: IntArray
    t0_ms: int
    rsus: tuple[Rsu, ...]
    connected: int
    vehicle_id: bytes
    batches: list[Batch] = field(default_factory=list)

    def truth(self, time_ms: int | IntArray) -> FloatArray:
        """Positions ``(K, 2)`` at ``time_ms``, or ``(N, K, 2)`` for times ``(N,)``."""
        dt = (np.asarray(time_ms, dtype=np.float64) - self.t0_ms) / 1000.0
        return np.asarray(self.start_m + self.velocity_mps * np.asarray(dt)[..., None, None])

    def visible(self, rsu: Rsu, time_ms: int) -> np.ndarray:
        """Which objects ``rsu`` covers at ``time_ms``."""
        offset = self.truth(time_ms) - np.asarray(rsu.centre_m)
        return np.asarray(np.hypot(offset[:, 0], offset[:, 1]) <= rsu.radius_m)


RSU_A = Rsu("rsu-a", (0.0, 0.0), 110.0, 0.6, 0.4, phase_ms=0)
RSU_B = Rsu("rsu-b", (150.0, 0.0), 110.0, 0.8, 0.5, phase_ms=50)
T0_MS = 1_700_000_000_000
VEHICLE_ID = bytes.fromhex("c0ffee00")


def make_scene(seed: int = 7, duration_ms: int = 12_000, rsus: tuple[Rsu, ...] = (RSU_A, RSU_B)) -> Scene:
    """Six objects: five vehicles in four lanes (one westbound, one of them connected) and a pedestrian.

    Object 0 drives from RSU A's exclusive coverage (east < 40 m) through the overlap into B's exclusive
    coverage (east > 110 m); object 3 does the opposite.
    """
    start = np.array([[-60.0, -5.0], [-20.0, -1.5], [10.0, 1.5], [190.0, 5.0], [40.0, -1.5], [60.0, 9.0]])
    velocity = np.array([[16.0, 0.0], [11.0, 0.0], [9.0, 0.2], [-14.0, 0.0], [10.0, 0.0], [0.3, 1.2]])
    classes = np.array([2, 2, 5, 2, 2, 8], dtype=np.int64)
    scene = Scene(start, velocity, classes, T0_MS, rsus, connected=1, vehicle_id=VEHICLE_ID)
    rng = np.random.default_rng(seed)
    for rsu in rsus:
        scene.batches += _rsu_batches(scene, rsu, rng, duration_ms)
    scene.batches += _vehicle_batches(scene, rng, duration_ms)
    scene.batches.sort(key=lambda b: (b.time_ms, b.source))
    return scene


def _rsu_batches(scene: Scene, rsu: Rsu, rng: np.random.Generator, duration_ms: int) -> list[Batch]:
    n = len(scene.start_m)
    error = rng.normal(size=(n, 4)) * np.array([rsu.position_std_m] * 2 + [rsu.velocity_std_mps] * 2)
    cov = np.diag([rsu.position_std_m**2] * 2 + [rsu.velocity_std_mps**2] * 2)
    innovation_scale = np.sqrt(1.0 - rsu.correlation**2)
    batches = []
    for t in range(scene.t0_ms + rsu.phase_ms, scene.t0_ms + duration_ms, 100):
        fresh = rng.normal(size=(n, 4)) * np.array([rsu.position_std_m] * 2 + [rsu.velocity_std_mps] * 2)
        error = rsu.correlation * error + innovation_scale * fresh
        seen = np.flatnonzero(scene.visible(rsu, t) & (rng.random(n) < rsu.detection_probability))
        if not len(seen):
            continue
        batches.append(
            Batch(
                t,
                rsu.name,
                Detections.create(
                    positions_m=scene.truth(t)[seen] + error[seen, :2],
                    velocities_mps=scene.velocity_mps[seen] + error[seen, 2:],
                    covariances=np.broadcast_to(cov, (len(seen), 4, 4)),
                    times_ms=t,
                    source_ids=rsu.name,
                    kinds=SourceKind.RSU_OBJECT_LIST,
                    object_class=scene.classes[seen],
                    class_confidence=0.8,
                    object_ids=seen,
                ),
            )
        )
    return batches


def _vehicle_batches(scene: Scene, rng: np.random.Generator, duration_ms: int) -> list[Batch]:
    k = scene.connected
    batches = []
    for t in range(scene.t0_ms + 37, scene.t0_ms + duration_ms, 100):
        position = scene.truth(t)[k] + rng.normal(size=2) * 0.3
        velocity = scene.velocity_mps[k] + rng.normal(size=2) * 0.1
        detections = Detections.create(
            positions_m=position[None],
            velocities_mps=velocity[None],
            covariances=np.diag([0.09, 0.09, 0.01, 0.01])[None],
            times_ms=t,
            source_ids=scene.vehicle_id.hex(),
            kinds=SourceKind.VEHICLE_SELF_REPORT,
            object_class=int(ObjectClass.PASSENGER_CAR),
            class_confidence=1.0,
            vehicle_ids=[scene.vehicle_id],
        )
        batches.append(Batch(t, scene.vehicle_id.hex(), detections))
    return batches


@dataclass
class Run:
    """What a tracker produced over a scene: the snapshot after each step, and the tracker."""

    tracker: Tracker
    step_times_ms: list[int]
    snapshots: list[TrackTable]


def run_scene(
    scene: Scene,
    tracker: Tracker,
    arrival_delay_ms: dict[int, int] | None = None,
    step_ms: int = 100,
    extra_ms: int = 500,
) -> Run:
    """Step ``tracker`` every ``step_ms`` and deliver each batch at its time plus its delay.

    Args:
        arrival_delay_ms: Delay (ms) by batch index into ``scene.batches``; 0 for unlisted batches.
    """
    delays = arrival_delay_ms or {}
    arrivals = sorted(((b.time_ms + delays.get(i, 0), i) for i, b in enumerate(scene.batches)), key=lambda item: item)
    run = Run(tracker, [], [])
    end = scene.batches[-1].time_ms + extra_ms
    cursor = 0
    for now in range(scene.t0_ms, end + step_ms, step_ms):
        due = []
        while cursor < len(arrivals) and arrivals[cursor][0] <= now:
            due.append(scene.batches[arrivals[cursor][1]].detections)
            cursor += 1
        run.snapshots.append(tracker.step(now, Detections.concatenate(due)))
        run.step_times_ms.append(now)
    return run


def nearest_truth(scene: Scene, table: TrackTable) -> tuple[IntArray, FloatArray]:
    """For each track, the nearest true object at the track's own time and the distance (m)."""
    truth = scene.truth(table.times_ms)
    distance = np.hypot(*(truth - table.states[:, None, :2]).transpose(2, 0, 1))
    nearest = np.argmin(distance, axis=1)
    return nearest, distance[np.arange(len(table)), nearest]


def match_truth(scene: Scene, table: TrackTable, max_distance_m: float) -> tuple[IntArray, FloatArray]:
    """Optimal one-to-one matching of tracks to true objects (at each track's time) within ``max_distance_m``.

    Returns:
        Per track, the matched object (-1 for none: a duplicate or a ghost) and the distance (m, inf if none).
    """
    truth = scene.truth(table.times_ms)
    distance = np.hypot(*(truth - table.states[:, None, :2]).transpose(2, 0, 1)).reshape(len(table), -1)
    rows, cols = linear_sum_assignment(np.where(distance <= max_distance_m, distance, 1e6))
    matched = np.full(len(table), -1, dtype=np.int64)
    within = distance[rows, cols] <= max_distance_m
    matched[rows[within]] = cols[within]
    return matched, np.where(matched >= 0, distance[np.arange(len(table)), np.maximum(matched, 0)], np.inf)

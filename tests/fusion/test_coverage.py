"""Learned source coverage and the corroboration it demands from new tracks in overlaps."""

from __future__ import annotations

import numpy as np

from roadlink.fusion import Detections, SourceKind, Tracker, TrackerConfig
from roadlink.fusion.coverage import LearnedCoverage

T0 = 2_000_000


def _octagon(centre: tuple[float, float], radius: float) -> np.ndarray:
    angles = np.radians(np.arange(0, 360, 45))
    return np.asarray(centre) + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_coverage_is_the_hull_of_reported_positions_shrunk_by_the_margin() -> None:
    coverage = LearnedCoverage(refresh_ms=0, margin_m=5.0)
    points = _octagon((0.0, 0.0), 60.0)
    coverage.observe(np.zeros(len(points), np.int64), points, T0)
    coverage.observe(np.array([-1, -1, -1]), np.array([[500.0, 0.0], [0.0, 500.0], [500.0, 500.0]]), T0)
    queries = np.array([[0.0, 0.0], [50.0, 0.0], [58.0, 0.0], [80.0, 0.0], [400.0, 100.0]])
    assert coverage.covering(queries).tolist() == [1, 1, 0, 0, 0]  # 58 m: inside, but within the margin


def test_collinear_reports_cover_nothing_until_the_hull_has_area() -> None:
    coverage = LearnedCoverage(refresh_ms=0, margin_m=1.0)
    line = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]])
    coverage.observe(np.full(3, 2), line, T0)
    assert coverage.covering(np.array([[10.0, 0.0]])).tolist() == [0]
    coverage.observe(np.full(1, 2), np.array([[10.0, 20.0]]), T0 + 100)
    assert coverage.covering(np.array([[10.0, 5.0]])).tolist() == [4]
    assert len(coverage.vertices(2)) == 3


def _rsu(time_ms: int, source: str, positions: np.ndarray, first_id: int) -> Detections:
    n = len(positions)
    return Detections.create(
        positions_m=positions,
        velocities_mps=np.zeros((n, 2)),
        covariances=np.broadcast_to(np.diag([0.09, 0.09, 0.04, 0.04]), (n, 4, 4)),
        times_ms=time_ms,
        source_ids=source,
        kinds=SourceKind.RSU_OBJECT_LIST,
        object_class=2,
        object_ids=np.arange(first_id, first_id + n),
    )


def test_a_ghost_in_the_overlap_waits_for_the_other_rsu() -> None:
    # RSU A sees a disc around (0, 0), RSU B one around (20, 0) (their hulls come from objects on the rims).
    # B reports a ghost at (10, 5), deep inside A's coverage, that A never reports: it stays tentative.
    # An object at (10, -5) that both report is confirmed at once, and B's ghost at (75, 0), outside A's
    # coverage, is confirmed as any track of B alone would be.
    tracker = Tracker(TrackerConfig(window_ms=0, coverage_refresh_ms=0))
    real, ghost, lonely = np.array([[10.0, -5.0]]), np.array([[10.0, 5.0]]), np.array([[75.0, 0.0]])
    for k in range(12):
        now = T0 + 100 * k
        a = [_octagon((0.0, 0.0), 60.0)] + ([real] if k >= 2 else [])
        b = [_octagon((20.0, 0.0), 60.0)] + ([real, ghost, lonely] if k >= 2 else [])
        detections = Detections.concatenate(
            [_rsu(now, "rsu-a", np.concatenate(a), 0), _rsu(now, "rsu-b", np.concatenate(b), 0)]
        )
        snapshot = tracker.step(now, detections)
        if k == 3:
            assert any(np.allclose(p, real[0], atol=0.5) for p in snapshot.states[:, :2])
    positions = snapshot.states[:, :2]
    assert any(np.allclose(p, real[0], atol=0.5) for p in positions)
    assert any(np.allclose(p, lonely[0], atol=0.5) for p in positions)
    assert not any(np.allclose(p, ghost[0], atol=2.0) for p in positions)
    held = tracker.tracks.states[~tracker.tracks.confirmed, :2]
    assert any(np.allclose(p, ghost[0], atol=0.5) for p in held)


def test_a_dense_batch_is_reduced_to_its_directional_extremes() -> None:
    rng = np.random.default_rng(3)
    angles, radii = rng.uniform(0, 2 * np.pi, 20_000), 80.0 * np.sqrt(rng.random(20_000))
    disc = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    coverage = LearnedCoverage(refresh_ms=0, margin_m=0.0)
    coverage.observe(np.zeros(len(disc), np.int64), disc, T0)
    assert len(coverage.vertices(0)) <= 16
    assert coverage.covering(np.array([[74.0, 0.0], [0.0, -74.0], [-52.0, 52.0], [85.0, 0.0]])).tolist() == [1, 1, 1, 0]


def test_an_outlier_stops_shaping_the_coverage_after_the_memory() -> None:
    coverage = LearnedCoverage(refresh_ms=1000, margin_m=1.0, memory_ms=10_000)
    disc = _octagon((0.0, 0.0), 50.0)
    coverage.observe(np.zeros(1, np.int64), np.array([[900.0, 0.0]]), T0)  # one wild report
    for k in range(1, 13):
        coverage.observe(np.zeros(len(disc), np.int64), disc, T0 + 1000 * k)
        covered = coverage.covering(np.array([[400.0, 0.0], [0.0, 0.0]])).tolist()
        assert covered == ([1, 1] if k <= 10 else [0, 1])


def test_small_batches_between_refreshes_give_the_hull_of_their_union() -> None:
    # Small batches wait until the refresh and are split by source together: the hulls are those of one
    # batch holding them all, for every source.
    rng = np.random.default_rng(9)
    batches = [rng.uniform(-50, 50, (6, 2)) for _ in range(11)]
    sources = [np.array([0, 0, 1, 1, 1, -1]) for _ in range(11)]
    stepped, whole = LearnedCoverage(refresh_ms=1000), LearnedCoverage(refresh_ms=1000)
    for k, (points, reporting) in enumerate(zip(batches, sources, strict=True)):
        stepped.observe(reporting, points, 100 * k)
    whole.observe(sources[0], batches[0], 0)
    whole.observe(np.concatenate(sources[1:]), np.concatenate(batches[1:]), 1000)
    for source in (0, 1):
        assert len(stepped.vertices(source)) >= 3
        assert {tuple(v) for v in stepped.vertices(source)} == {tuple(v) for v in whole.vertices(source)}

"""Scenario tests on a small seeded synthetic scene (see ``synthetic.py``): two overlapping RSUs, one
connected vehicle, objects crossing from one RSU's coverage into the other's."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.fusion import Tracker, TrackerConfig, decode_vehicle_id
from tests.fusion.synthetic import RSU_A, RSU_B, VEHICLE_ID, Rsu, Run, Scene, make_scene, match_truth, run_scene

WINDOW_MS = 150
WARM_UP_MS = 1000
MATCH_M = 3.0


@pytest.fixture(scope="module")
def scene() -> Scene:
    return make_scene(seed=7)


@pytest.fixture(scope="module")
def in_order(scene: Scene) -> Run:
    return run_scene(scene, Tracker(TrackerConfig(window_ms=WINDOW_MS)))


def _settled(scene: Scene, run: Run) -> list[tuple[int, int]]:
    """(step index, time) of the steps after the warm-up."""
    return [(k, t) for k, t in enumerate(run.step_times_ms) if t - scene.t0_ms >= WARM_UP_MS]


def _covered(scene: Scene, time_ms: int) -> np.ndarray:
    return np.asarray(scene.visible(RSU_A, time_ms) | scene.visible(RSU_B, time_ms))


def test_one_track_per_true_object(scene: Scene, in_order: Run) -> None:
    for k, now in _settled(scene, in_order):
        matched, _ = match_truth(scene, in_order.snapshots[k], MATCH_M)
        assert (matched >= 0).all(), f"duplicate or ghost track at {now}"
        covered = np.flatnonzero(_covered(scene, now) & _covered(scene, now - 500))
        assert set(covered.tolist()) <= set(matched.tolist()), f"missed object at {now}"
    assert in_order.tracker.stats.tracks_created <= len(scene.start_m) + 2


def test_no_duplicates_in_the_overlap(scene: Scene, in_order: Run) -> None:
    seen_in_overlap = 0
    for k, now in _settled(scene, in_order):
        snapshot = in_order.snapshots[k]
        matched, _ = match_truth(scene, snapshot, MATCH_M)
        overlap = scene.visible(RSU_A, now) & scene.visible(RSU_B, now)
        near_overlap_objects = [row for row in range(len(snapshot)) if matched[row] < 0 or overlap[matched[row]]]
        assert len(near_overlap_objects) == int(np.count_nonzero(overlap)), f"at {now}"
        seen_in_overlap += len(near_overlap_objects)
    assert seen_in_overlap > 100


def test_connected_vehicle_track_carries_its_id(scene: Scene, in_order: Run) -> None:
    for k, _ in _settled(scene, in_order):
        snapshot = in_order.snapshots[k]
        matched, _ = match_truth(scene, snapshot, MATCH_M)
        ids = [decode_vehicle_id(bytes(v)) for v in snapshot.vehicle_ids]
        assert [m for m, v in zip(matched.tolist(), ids, strict=True) if v] == [scene.connected]
        assert ids[int(np.flatnonzero(matched == scene.connected)[0])] == VEHICLE_ID


@pytest.mark.parametrize("obj", [0, 3])
def test_track_id_is_kept_from_one_rsu_to_the_other(scene: Scene, in_order: Run, obj: int) -> None:
    ids_by_coverage: dict[str, set[int]] = {"a-only": set(), "both": set(), "b-only": set()}
    for k, now in _settled(scene, in_order):
        a, b = scene.visible(RSU_A, now)[obj], scene.visible(RSU_B, now)[obj]
        snapshot = in_order.snapshots[k]
        matched, _ = match_truth(scene, snapshot, MATCH_M)
        track_ids = snapshot.ids[matched == obj].tolist()
        if a or b:
            assert len(track_ids) == 1
            ids_by_coverage["both" if a and b else "a-only" if a else "b-only"].update(track_ids)
    assert all(len(ids) == 1 for ids in ids_by_coverage.values()), ids_by_coverage
    assert ids_by_coverage["a-only"] == ids_by_coverage["both"] == ids_by_coverage["b-only"]


def test_out_of_order_within_the_window_matches_in_order(scene: Scene, in_order: Run) -> None:
    rng = np.random.default_rng(3)
    delays = {i: int(rng.integers(0, WINDOW_MS + 1)) for i in range(len(scene.batches))}
    arrival = [b.time_ms + delays[i] for i, b in enumerate(scene.batches)]
    assert any(arrival[i] > arrival[j] for i in range(len(arrival)) for j in range(i + 1, len(arrival)))
    shuffled = run_scene(scene, Tracker(TrackerConfig(window_ms=WINDOW_MS)), arrival_delay_ms=delays)
    assert shuffled.tracker.stats.dropped_late == 0
    for expected, got in zip(in_order.snapshots, shuffled.snapshots, strict=True):
        assert got.ids.tolist() == expected.ids.tolist()
        np.testing.assert_array_equal(got.states, expected.states)
        np.testing.assert_array_equal(got.covs, expected.covs)


def test_frames_later_than_the_window_are_dropped_and_counted(scene: Scene) -> None:
    late = {i: WINDOW_MS + 250 for i, b in enumerate(scene.batches) if b.source == "rsu-b" and i % 5 == 0}
    expected = sum(len(scene.batches[i].detections) for i in late)
    run = run_scene(scene, Tracker(TrackerConfig(window_ms=WINDOW_MS)), arrival_delay_ms=late)
    assert run.tracker.stats.dropped_late == expected > 0
    assert run.tracker.stats.detections_received == sum(len(b.detections) for b in scene.batches)


def _raw_rmse(scene: Scene, source: str) -> float:
    errors = []
    for batch in scene.batches:
        if batch.source == source and batch.time_ms - scene.t0_ms >= WARM_UP_MS:
            truth = scene.truth(batch.time_ms)[batch.detections.object_ids]
            errors.append(np.hypot(*(batch.detections.positions_m - truth).T))
    return float(np.sqrt(np.mean(np.square(np.concatenate(errors)))))


def _fused_rmse(scene: Scene, run: Run, source_visible: np.ndarray) -> float:
    errors = []
    for k, _ in _settled(scene, run):
        matched, distance = match_truth(scene, run.snapshots[k], MATCH_M)
        errors.append(distance[(matched >= 0) & source_visible[k][np.maximum(matched, 0)]])
    return float(np.sqrt(np.mean(np.square(np.concatenate(errors)))))


@pytest.mark.parametrize("rsu", [RSU_A, RSU_B], ids=lambda r: r.name)
def test_fused_positions_beat_each_single_rsu(scene: Scene, in_order: Run, rsu: Rsu) -> None:
    # On the objects and times the RSU covers: fused tracks (predicted to each step time) against the RSU's
    # own reports of them.
    visible = np.array([scene.visible(rsu, t) for t in in_order.step_times_ms])
    fused = _fused_rmse(scene, in_order, visible)
    single = _raw_rmse(scene, rsu.name)
    assert fused < 0.97 * single, (fused, single)

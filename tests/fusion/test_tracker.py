"""The tracker loop on small hand-made inputs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from roadlink.fusion import (
    Detections,
    MissOrCovarianceDeleter,
    SourceKind,
    Tracker,
    TrackerConfig,
    TrackTable,
    decode_vehicle_id,
)
from roadlink.fusion.gating import Hypotheses, MahalanobisGate
from roadlink.fusion.t2t import CovarianceIntersectionFuser

T0 = 1_000_000
VEHICLE = b"\x11\x22\x33\x44"


def _rsu(time_ms: int, positions: list[tuple[float, float]], source: str = "rsu-a", std: float = 0.5) -> Detections:
    n = len(positions)
    return Detections.create(
        positions_m=positions,
        velocities_mps=np.tile([10.0, 0.0], (n, 1)),
        covariances=np.broadcast_to(np.diag([std**2, std**2, 0.25, 0.25]), (n, 4, 4)),
        times_ms=time_ms,
        source_ids=source,
        kinds=SourceKind.RSU_OBJECT_LIST,
        object_class=2,
    )


def _raw(time_ms: int, positions: list[tuple[float, float]]) -> Detections:
    return Detections.create(
        positions_m=positions,
        covariances=np.broadcast_to(np.eye(2) * 0.5, (len(positions), 2, 2)),
        times_ms=time_ms,
        source_ids="radar",
        kinds=SourceKind.RAW_DETECTION,
    )


def _report(
    time_ms: int, position: tuple[float, float], vehicle_id: bytes = VEHICLE, position_var: float = 0.09
) -> Detections:
    return Detections.create(
        positions_m=[position],
        velocities_mps=[[10.0, 0.0]],
        covariances=np.diag([position_var, position_var, 0.01, 0.01])[None],
        times_ms=time_ms,
        source_ids=vehicle_id.hex(),
        kinds=SourceKind.VEHICLE_SELF_REPORT,
        object_class=2,
        class_confidence=1.0,
        vehicle_ids=[vehicle_id],
    )


def _x(time_ms: int) -> float:
    return 10.0 * (time_ms - T0) / 1000.0


def test_raw_detections_confirm_then_coast_and_delete() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0, deleter=MissOrCovarianceDeleter(max_coast_ms=500)))
    sizes = []
    for k in range(12):
        now = T0 + 100 * k
        detections = _raw(now, [(_x(now), 0.0)]) if k < 5 else None
        sizes.append(len(tracker.step(now, detections)))
    # Tentative at the first step, confirmed from the second (2 of 3); with no detection at all after
    # T0 + 400, the track coasts until its last update is more than 500 ms old.
    assert sizes == [0] + [1] * 9 + [0, 0]
    assert tracker.stats.tracks_created == 1
    assert tracker.stats.tracks_deleted == 1


def test_track_missed_by_a_working_source_is_deleted_after_k_misses() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0))
    alive = []
    for k in range(16):
        now = T0 + 100 * k
        positions = [(_x(now), 0.0), (_x(now), 20.0)] if k < 8 else [(_x(now), 0.0)]
        alive.append(len(tracker.step(now, _raw(now, positions))))
    # Hit 8 times in 8 steps (estimated rate 0.9): deleted at the 3rd miss (0.1^3 <= 0.002).
    assert alive == [0] + [2] * 9 + [1] * 6


def test_a_rarely_detected_object_coasts_longer_than_a_reliably_detected_one() -> None:
    # Both objects are seen for 3 s; A in every step, B (a pedestrian a radar sees every other frame) in
    # every second step. Then neither is seen: A goes at its 3rd miss, B only at its 9th (0.5^9 <= 0.002).
    tracker = Tracker(TrackerConfig(window_ms=0))
    alive = []
    for k in range(45):
        now = T0 + 100 * k
        positions = [(_x(now), 0.0)] + ([(0.0, 30.0)] if k < 30 and k % 2 == 0 else [])
        snapshot = tracker.step(now, _raw(now, positions))
        alive.append(any(abs(p[1] - 30.0) < 1.0 for p in snapshot.states[:, :2]))
    assert alive[29:37] == [True] * 8  # last seen at step 28; misses 1..8 at steps 29..36
    assert not any(alive[37:])


def test_snapshot_is_predicted_to_the_step_time() -> None:
    tracker = Tracker(TrackerConfig(window_ms=100))
    for k in range(10):
        now = T0 + 100 * k
        snapshot = tracker.step(now, _rsu(now, [(_x(now), 0.0)]))
    assert snapshot.times_ms.tolist() == [now]
    assert tracker.tracks.times_ms.tolist() == [now - 100]
    assert abs(snapshot.states[0, 0] - _x(now)) < 0.5


def test_clutter_does_not_confirm() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0))
    rng = np.random.default_rng(1)
    for k in range(10):
        now = T0 + 100 * k
        snapshot = tracker.step(now, _raw(now, [tuple(p) for p in rng.uniform(-500, 500, (5, 2))]))
    assert len(snapshot) == 0
    assert tracker.stats.tracks_created == 50


def test_self_report_joins_the_rsu_track_and_attaches_its_id() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0))
    for k in range(5):
        now = T0 + 100 * k
        tracker.step(now, _rsu(now, [(_x(now) + 0.3, 0.2), (_x(now), 7.0)]))
    ids_before = sorted(tracker.tracks.ids.tolist())
    for k in range(5, 10):
        now = T0 + 100 * k
        both = Detections.concatenate(
            [_rsu(now, [(_x(now) + 0.3, 0.2), (_x(now), 7.0)]), _report(now + 20, (_x(now + 20), 0.0))]
        )
        snapshot = tracker.step(now + 20, both)
    assert sorted(snapshot.ids.tolist()) == ids_before
    with_id = [decode_vehicle_id(bytes(v)) for v in snapshot.vehicle_ids]
    assert sorted(with_id) == [b"", VEHICLE]
    carrier = snapshot.states[[v == VEHICLE for v in with_id]][0]
    assert abs(carrier[1]) < 1.0


def test_self_report_first_then_rsu_gives_one_track() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0))
    for k in range(8):
        now = T0 + 100 * k
        detections = [_report(now, (_x(now), 0.0))]
        if k >= 3:
            detections.append(_rsu(now + 30, [(_x(now + 30) - 0.4, 0.3)]))
        snapshot = tracker.step(now + 30, Detections.concatenate(detections))
    assert len(snapshot) == 1
    assert decode_vehicle_id(bytes(snapshot.vehicle_ids[0])) == VEHICLE
    assert tracker.source_names == ("rsu-a",)
    assert int(snapshot.source_mask[0]) == 1


def test_a_fresh_vehicle_id_is_not_taken_by_another_vehicle() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0))
    other = b"\x55\x66\x77\x88"
    for k in range(6):
        now = T0 + 100 * k
        reports = [_report(now, (_x(now), 0.0)), _report(now, (_x(now) + 0.5, 0.3), other)]
        snapshot = tracker.step(now, Detections.concatenate(reports))
    assert len(snapshot) == 2
    assert sorted(decode_vehicle_id(bytes(v)) for v in snapshot.vehicle_ids) == sorted([VEHICLE, other])


def test_close_objects_in_one_scan_stay_apart() -> None:
    tracker = Tracker(TrackerConfig(window_ms=0))
    for k in range(10):
        now = T0 + 100 * k
        snapshot = tracker.step(now, _rsu(now, [(_x(now), 0.0), (_x(now), 1.2)], std=0.5))
    assert len(snapshot) == 2
    assert tracker.stats.tracks_merged == 0


def test_late_detections_are_counted() -> None:
    tracker = Tracker(TrackerConfig(window_ms=100))
    tracker.step(T0 + 1000, _rsu(T0 + 1000, [(0.0, 0.0)]))  # held: watermark T0 + 900
    tracker.step(T0 + 1100, _rsu(T0 + 950, [(0.0, 0.0), (5.0, 5.0)]))  # 150 ms late, still after the watermark
    assert tracker.stats.dropped_late == 0
    assert tracker.stats.detections_fused + tracker.stats.tracks_created == 3  # all released at watermark 1000
    tracker.step(T0 + 1200, _rsu(T0 + 990, [(0.0, 0.0)]))  # older than what was processed: dropped
    assert tracker.stats.dropped_late == 1
    assert tracker.stats.detections_received == 4


def test_biased_self_reports_do_not_split_the_car_from_its_rsu_track() -> None:
    # A GNSS fix is the output of the car's own navigation filter: its error is a slowly varying bias
    # (here a constant 1.2 m), which the reported 0.7 m accuracy covers. Fused as independent Kalman
    # measurements, 20 reports would shrink the track to a few cm and a precise lidar seeing the car 1.2 m
    # away would start a second track; fused by covariance intersection, the track stays honest and joins.
    tracker = Tracker(TrackerConfig(window_ms=0))
    for k in range(40):
        now = T0 + 100 * k
        detections = [_report(now, (_x(now) + 1.2, 0.0), position_var=0.49)]
        if k >= 20:
            detections.append(_rsu(now + 30, [(_x(now + 30), 0.0)], std=0.15))
        snapshot = tracker.step(now + 30, Detections.concatenate(detections))
    assert len(snapshot) == 1
    assert decode_vehicle_id(bytes(snapshot.vehicle_ids[0])) == VEHICLE
    assert int(snapshot.source_mask[0]) == 1
    assert abs(snapshot.states[0, 0] - _x(T0 + 3930)) < 1.2  # pulled towards the precise lidar


@dataclass(frozen=True, slots=True)
class _CountingGate(MahalanobisGate):
    """The normal gate, recording how many detections reach the spatial stage per call."""

    spatial_calls: list[int] = field(default_factory=list)

    def hypothesise(self, table: TrackTable, detections: Detections, *args: Any, **kwargs: Any) -> Hypotheses:
        self.spatial_calls.append(len(detections))
        return MahalanobisGate.hypothesise(self, table, detections, *args, **kwargs)


def test_linked_rsu_objects_skip_the_spatial_stage() -> None:
    # Once an RSU track is fused into a global track, its next estimates go to that track through the link
    # (wide gate), and the grid gating and assignment only see what is left: here, at step 4, a new object
    # (RSU id 3) against the one track not taken (RSU id 2, missed in that frame).
    gate = _CountingGate()
    tracker = Tracker(TrackerConfig(window_ms=0, gate=gate))
    for k in range(6):
        now = T0 + 100 * k
        ids = [0, 1, 3] if k == 4 else [0, 1, 2, 3] if k == 5 else [0, 1, 2]
        positions = [(_x(now), 3.0 * i if i < 3 else 40.0) for i in ids]
        detections = _rsu(now, positions, std=0.3)
        snapshot = tracker.step(now, _with_object_ids(detections, ids))
    assert gate.spatial_calls == [1]
    assert len(snapshot) == 4
    assert tracker.stats.tracks_created == 4


def _with_object_ids(detections: Detections, ids: list[int]) -> Detections:
    return dataclasses.replace(detections, object_ids=np.asarray(ids, dtype=np.int64))


def test_self_reports_of_one_step_form_one_scan() -> None:
    # Cars report at their own phases; a scan holds at most one report per car, so the reports of a 100 ms
    # step form one scan (each still predicted to its own time) rather than one per 20 ms.
    tracker = Tracker(TrackerConfig(window_ms=0))
    cars = [bytes([k]) * 4 for k in range(1, 4)]
    reports = [
        _report(T0 + offset, (10.0 * k, 5.0), car)
        for k, (offset, car) in enumerate(zip((5, 37, 81), cars, strict=True))
    ]
    tracker.step(T0 + 100, Detections.concatenate([_rsu(T0, [(0.0, 0.0)]), *reports]))
    assert tracker.stats.scans == 2
    assert tracker.stats.tracks_created == 4


@dataclass(frozen=True, slots=True)
class _CountingFuser(CovarianceIntersectionFuser):
    """The normal fuser, recording how many pairs each call fuses."""

    calls: list[int] = field(default_factory=list)

    def fuse(self, states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        self.calls.append(len(states))
        return CovarianceIntersectionFuser.fuse(self, states, *args, **kwargs)


def _frames(now: int, ids_by_rsu: dict[str, list[int]]) -> Detections:
    """One frame per RSU (phases 0/25/50 ms before ``now``) of objects ``i`` at ``(x(t), 3 i)``."""
    frames = []
    for phase, (source, ids) in enumerate(ids_by_rsu.items()):
        t = now - 25 * phase
        frames.append(_with_object_ids(_rsu(t, [(_x(t), 3.0 * i) for i in ids], source=source, std=0.3), ids))
    return Detections.concatenate(frames)


def test_frames_of_one_step_fuse_in_one_call_per_round() -> None:
    # Three RSUs each see their own objects: the step's frames are associated in one pass and fused in one
    # covariance-intersection call (each track has one estimate), not one call per frame.
    fuser = _CountingFuser()
    tracker = Tracker(TrackerConfig(window_ms=0, fuser=fuser))
    ids = {"rsu-a": [0, 1], "rsu-b": [2, 3], "rsu-c": [4, 5]}
    for k in range(4):
        tracker.step(T0 + 100 * k, _frames(T0 + 100 * k, ids))
    assert fuser.calls == [6, 6, 6]
    assert tracker.stats.tracks_created == 6
    assert tracker.stats.scans == 12


def test_a_track_seen_by_several_frames_fuses_them_in_time_order() -> None:
    # Two RSUs see the same two objects: each track takes one estimate per frame, in two rounds; an object
    # both see for the first time in one step starts one track, not two.
    fuser = _CountingFuser()
    tracker = Tracker(TrackerConfig(window_ms=0, fuser=fuser))
    ids = {"rsu-a": [0, 1], "rsu-b": [0, 1]}
    for k in range(5):
        snapshot = tracker.step(T0 + 100 * k, _frames(T0 + 100 * k, ids))
    assert tracker.stats.tracks_created == 2
    assert all(n == 2 for n in fuser.calls)
    assert len(fuser.calls) == 1 + 2 * 4
    assert len(snapshot) == 2
    assert np.all(tracker.tracks.times_ms == T0 + 400)
    assert np.all(np.abs(snapshot.states[:, 0] - _x(T0 + 400)) < 0.5)


def test_self_reports_and_rsu_frames_of_one_step_share_the_fusion_call() -> None:
    # A connected car reports itself while an RSU reports two other objects: one association pass and one
    # covariance-intersection call per step for both kinds; the car keeps its id on its own track.
    fuser = _CountingFuser()
    tracker = Tracker(TrackerConfig(window_ms=0, fuser=fuser))
    for k in range(4):
        now = T0 + 100 * k
        report = _report(now - 40, (_x(now - 40), 30.0))
        tracker.step(now, Detections.concatenate([_frames(now, {"rsu-a": [0, 1]}), report]))
    assert fuser.calls == [3, 3, 3]
    assert tracker.stats.tracks_created == 3
    carried = [decode_vehicle_id(bytes(v)) for v in tracker.tracks.vehicle_ids]
    assert carried.count(VEHICLE) == 1


def test_pairs_of_several_rounds_are_all_counted_on_their_track() -> None:
    # Two RSUs see the same object in every step: its track counts both estimates of a step as hits, carries
    # both source bits, and its last scan is that of the later frame.
    tracker = Tracker(TrackerConfig(window_ms=0))
    for k in range(3):
        tracker.step(T0 + 100 * k, _frames(T0 + 100 * k, {"rsu-a": [0], "rsu-b": [0]}))
    table = tracker.tracks
    assert len(table) == 1
    assert int(table.hits[0]) == 6
    assert int(table.source_mask[0]) == 0b11 == int(table.sources_seen[0])
    assert int(table.last_scan[0]) == tracker.stats.scans
    assert int(table.last_update_ms[0]) == T0 + 200

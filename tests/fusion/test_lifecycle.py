"""Track initiation (M-of-N), deletion and duplicate merging."""

from __future__ import annotations

import numpy as np
import pytest

from roadlink.fusion import (
    Detections,
    DuplicateMerger,
    KalmanPredictor,
    MissOrCovarianceDeleter,
    MOfNInitiator,
    SourceKind,
    TrackTable,
    encode_vehicle_ids,
)


def _detections(kinds: list[SourceKind], with_velocity: bool = False) -> Detections:
    n = len(kinds)
    return Detections.create(
        positions_m=np.arange(2 * n, dtype=np.float64).reshape(n, 2),
        velocities_mps=np.ones((n, 2)) if with_velocity else None,
        covariances=np.broadcast_to(np.diag([0.25, 0.25, 0.04, 0.04]), (n, 4, 4)),
        times_ms=1000,
        source_ids="s",
        kinds=np.array(kinds),
    )


def _run(initiator: MOfNInitiator, table: TrackTable, hits: list[bool]) -> list[tuple[bool, bool]]:
    """Per step: (confirmed, failed) of the single track after recording ``hits``."""
    out = []
    for hit in hits:
        initiator.record_step(table, np.array([hit]))
        out.append((bool(table.confirmed[0]), bool(initiator.failed(table)[0])))
    return out


def test_m_of_n_confirms_after_m_hits_within_n_steps() -> None:
    initiator = MOfNInitiator(m=2, n=3)
    table = TrackTable()
    initiator.initiate(table, _detections([SourceKind.RAW_DETECTION]), np.array([0]), 1, step=1, scan=1)
    assert not table.confirmed[0]
    # Creation step is a hit; one more hit in the next two steps confirms.
    assert _run(initiator, table, [True, False, True]) == [(False, False), (False, False), (True, False)]
    assert _run(initiator, table, [False] * 5) == [(True, False)] * 5  # confirmed tracks never "fail"


def test_m_of_n_fails_without_enough_hits() -> None:
    initiator = MOfNInitiator(m=3, n=4)
    table = TrackTable()
    initiator.initiate(table, _detections([SourceKind.RSU_OBJECT_LIST]), np.array([0]), 1, step=1, scan=1)
    assert _run(initiator, table, [True, False, True, False]) == [(False, False)] * 3 + [(False, True)]


def test_self_reports_confirm_at_once_and_velocity_prior() -> None:
    initiator = MOfNInitiator(initial_velocity_std_mps=7.0)
    table = TrackTable()
    detections = _detections([SourceKind.VEHICLE_SELF_REPORT, SourceKind.RAW_DETECTION])
    rows = initiator.initiate(table, detections, np.array([0, 1]), 40, step=1, scan=1)
    assert table.ids[rows].tolist() == [40, 41]
    assert table.confirmed.tolist() == [True, False]
    np.testing.assert_allclose(table.covs[1, 2:, 2:], np.eye(2) * 49.0)
    assert table.states[1, 2:].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="m <= n"):
        MOfNInitiator(m=4, n=3)


def test_deleter_on_misses_and_covariance() -> None:
    table = TrackTable()
    table.append(
        4,
        ids=np.arange(1, 5, dtype=np.uint64),
        misses=np.array([5, 4, 0, 0], np.int32),
        last_update_ms=np.array([900, 900, 900, 399]),
    )
    position_covs = np.broadcast_to(np.eye(2), (4, 2, 2)).copy()
    position_covs[2] = np.diag([1.0, 30.0])
    deleter = MissOrCovarianceDeleter(max_misses=5, max_position_std_m=5.0, max_coast_ms=500)
    assert deleter.to_delete(table, position_covs, now_ms=900).tolist() == [True, False, True, True]


def _pair_table(
    second_offset_m: float, same_scan: bool = False, vehicle_ids: tuple[bytes, bytes] = (b"", b"")
) -> TrackTable:
    table = TrackTable()
    table.append(
        2,
        ids=np.array([7, 3], dtype=np.uint64),
        states=np.array([[10.0, 0.0, 5.0, 0.0], [10.0 + second_offset_m, 0.0, 5.0, 0.0]]),
        covs=np.broadcast_to(np.diag([0.5, 0.5, 0.5, 0.5]), (2, 4, 4)),
        times_ms=np.array([1000, 1000]),
        first_seen_ms=np.array([500, 800]),
        last_scan=np.array([4, 4 if same_scan else 5]),
        vehicle_ids=encode_vehicle_ids(list(vehicle_ids)),
        confirmed=np.array([False, True]),
        hits=np.array([2, 3], np.int32),
    )
    return table


def test_merger_merges_duplicates_into_the_older_track() -> None:
    table = _pair_table(0.3, vehicle_ids=(b"", b"\x01\x02\x03\x04"))
    merged = DuplicateMerger().merge(table, KalmanPredictor(), 1000)
    assert merged == 1
    assert len(table) == 1
    # The track carrying the vehicle id survives even though it is younger; it keeps the older first-seen time.
    assert table.ids.tolist() == [3]
    assert table.first_seen_ms.tolist() == [500]
    assert table.confirmed.tolist() == [True]
    assert table.hits.tolist() == [5]
    assert 10.0 <= table.states[0, 0] <= 10.3


def test_merger_keeps_distinct_tracks() -> None:
    predictor = KalmanPredictor()
    for table in (
        _pair_table(4.0),  # too far
        _pair_table(0.3, same_scan=True),  # one scan saw both
        _pair_table(0.3, vehicle_ids=(b"\x01\x01\x01\x01", b"\x02\x02\x02\x02")),
    ):
        assert DuplicateMerger().merge(table, predictor, 1000) == 0
        assert len(table) == 2
    table = _pair_table(0.3)
    assert DuplicateMerger().merge(table, predictor, 1000) == 1
    assert table.ids.tolist() == [7]


def test_single_source_track_waits_for_its_reported_existence() -> None:
    """One source, low reported existence: held tentative until it rises; absent or a second source: M-of-N."""
    initiator = MOfNInitiator(m=2, n=3, min_single_source_existence=0.9)
    table = TrackTable()
    detections = _detections([SourceKind.RSU_OBJECT_LIST] * 3)
    initiator.initiate(table, detections, np.array([0, 1, 2]), 1, step=1, scan=1)
    table.sources_seen[:] = np.array([1, 1, 3], np.uint64)  # track 2 also seen by a second source
    table.existence_probability[:] = [0.4, np.nan, 0.4]
    for _ in range(4):
        initiator.record_step(table, np.ones(3, dtype=bool))
    assert table.confirmed.tolist() == [False, True, True]
    assert not initiator.failed(table)[0]  # held, not failed: it is still being hit
    table.existence_probability[0] = 0.95
    initiator.record_step(table, np.ones(3, dtype=bool))
    assert table.confirmed.tolist() == [True, True, True]
    disabled = MOfNInitiator(m=2, n=3, min_single_source_existence=None)
    assert not disabled.doubted(table).any()


def test_single_source_doubt_ends_after_the_wait() -> None:
    """A source that never grows confident in a track it keeps reporting is overruled after the wait."""
    initiator = MOfNInitiator(m=2, n=3, min_single_source_existence=0.9, existence_wait_steps=5)
    table = TrackTable()
    initiator.initiate(table, _detections([SourceKind.RSU_OBJECT_LIST]), np.array([0]), 1, step=1, scan=1)
    table.sources_seen[:] = 1
    table.existence_probability[:] = 0.5
    confirmed = []
    for _ in range(6):
        initiator.record_step(table, np.ones(1, dtype=bool))
        confirmed.append(bool(table.confirmed[0]))
    assert confirmed == [False, False, False, False, True, True]


def test_tracker_confirms_single_rsu_tracks_by_reported_existence() -> None:
    """Through the tracker: a lone RSU track reported at 0.3 stays unconfirmed, at 0.97 or unreported it confirms."""
    from roadlink.fusion import Tracker, TrackerConfig

    tracker = Tracker(TrackerConfig(window_ms=0, coverage_margin_m=None))
    positions = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
    for k in range(6):
        snapshot = tracker.step(
            1000 + 100 * k,
            Detections.create(
                positions_m=positions,
                velocities_mps=np.zeros((3, 2)),
                covariances=np.broadcast_to(np.diag([0.25, 0.25, 0.04, 0.04]), (3, 4, 4)),
                times_ms=1000 + 100 * k,
                source_ids="rsu-1",
                kinds=SourceKind.RSU_OBJECT_LIST,
                object_ids=np.array([1, 2, 3]),
                existence_probability=np.array([0.3, 0.97, np.nan]),
            ),
        )
    np.testing.assert_allclose(np.sort(snapshot.states[:, 0]), [100.0, 200.0], atol=1e-6)
    assert len(tracker.tracks) == 3
    with pytest.raises(ValueError, match="existence_probability"):
        Detections.create(
            positions_m=np.zeros((1, 2)),
            covariances=np.eye(2)[None],
            times_ms=0,
            source_ids="s",
            kinds=1,
            existence_probability=1.5,
        )

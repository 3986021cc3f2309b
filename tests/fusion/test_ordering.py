"""Reorder window and the split into scans."""

from __future__ import annotations

import numpy as np

from roadlink.fusion import Detections, ReorderBuffer, SourceKind, split_scans
from roadlink.fusion.detections import source_codes


def _batch(
    times: list[int],
    source: str | list[str] = "rsu",
    kind: SourceKind = SourceKind.RSU_OBJECT_LIST,
    vehicle_ids: list[bytes] | None = None,
) -> Detections:
    n = len(times)
    return Detections.create(
        positions_m=np.zeros((n, 2)),
        covariances=np.broadcast_to(np.eye(2), (n, 2, 2)),
        times_ms=times,
        source_ids=source,
        kinds=int(kind),
        vehicle_ids=vehicle_ids,
        object_ids=np.arange(n),
    )


def test_release_sorts_by_time_and_holds_the_window() -> None:
    buffer = ReorderBuffer(window_ms=100)
    buffer.push(_batch([250, 120], "b"))
    buffer.push(_batch([100, 120], "a"))
    released = buffer.release(now_ms=230)
    assert released.times_ms.tolist() == [100, 120, 120]
    assert released.source_ids.tolist() == ["a", "a", "b"]
    assert len(buffer) == 1
    assert buffer.release(now_ms=350).times_ms.tolist() == [250]


def test_release_coded_returns_the_source_codes_of_what_it_releases() -> None:
    buffer = ReorderBuffer(window_ms=100)
    buffer.push(_batch([250, 120, 110], ["b", "b", "c"]))
    buffer.push(_batch([100, 120], "a"))
    released, names, codes = buffer.release_coded(now_ms=230)
    expected_names, expected_codes = source_codes(released.source_ids)
    assert released.source_ids.tolist() == ["a", "c", "a", "b"]
    assert names.tolist() == expected_names.tolist() == ["a", "b", "c"]
    assert codes.tolist() == expected_codes.tolist() == [0, 2, 0, 1]
    empty, no_names, no_codes = buffer.release_coded(now_ms=240)
    assert len(empty) == len(no_names) == len(no_codes) == 0


def test_late_detections_are_dropped_and_counted() -> None:
    buffer = ReorderBuffer(window_ms=100)
    buffer.push(_batch([100]))
    buffer.release(now_ms=300)  # watermark 200
    buffer.push(_batch([150, 200, 201]))
    assert buffer.dropped_late == 2
    assert buffer.release(now_ms=400).times_ms.tolist() == [201]


def test_overflow_drops_new_detections() -> None:
    buffer = ReorderBuffer(window_ms=0, max_buffered=3)
    buffer.push(_batch([1, 2]))
    buffer.push(_batch([3, 4]))
    assert buffer.dropped_overflow == 1
    assert len(buffer.release(now_ms=10)) == 3


def test_order_of_pushes_does_not_matter() -> None:
    batches = [_batch([100, 100], "a"), _batch([100], "b"), _batch([140, 140], "a"), _batch([90], "c")]
    results = []
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        buffer = ReorderBuffer(window_ms=50)
        for k in order:
            buffer.push(batches[k])
        released = buffer.release(now_ms=500)
        results.append((released.times_ms.tolist(), released.source_ids.tolist(), released.object_ids.tolist()))
    assert results[0] == results[1] == results[2]


def test_split_scans_frames_and_vehicle_ranks() -> None:
    frames = Detections.concatenate(
        [
            _batch([100, 100], "a"),
            _batch([100], "b"),
            _batch([200], "a"),
            _batch(
                [105, 110, 112, 131],
                ["v1", "v1", "v2", "v1"],
                SourceKind.VEHICLE_SELF_REPORT,
                [b"\x01\x01\x01\x01", b"\x01\x01\x01\x01", b"\x02\x02\x02\x02", b"\x01\x01\x01\x01"],
            ),
        ]
    )
    scans = [rows.tolist() for rows in split_scans(frames, self_report_bucket_ms=20)]
    # Frames a@100, b@100; bucket [100, 120): v1's first report with v2, then v1's second; bucket [120, 140); a@200.
    assert scans == [[0, 1], [2], [4, 6], [5], [7], [3]]
    assert split_scans(Detections.empty()) == []
    ranked = split_scans(frames, 20, source_codes(frames.source_ids)[1])  # the caller's ranks: same scans
    assert [rows.tolist() for rows in ranked] == scans


def test_source_codes_match_numpy_unique_for_runs_and_scattered_ids() -> None:
    runs = np.array(["rsu-b"] * 3 + ["rsu-a"] * 2 + ["rsu-b"] + ["c"] * 4)
    for ids in (runs, runs[::-1].copy(), np.array(["x"]), np.zeros(0, np.str_)):
        names, codes = source_codes(ids)
        expected_names, expected_codes = np.unique(ids, return_inverse=True)
        assert names.tolist() == expected_names.tolist()
        assert codes.tolist() == expected_codes.tolist()

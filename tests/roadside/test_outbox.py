"""The durable outbox: rows of whole inbound batches, the bulk-only drop policy, and the old layout's conversion."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadside.batch_payload import encode_items, request_bytes
from roadside.outbox import Outbox, OutboxFull, OutboxRow, StoredBatch


def _row(field: str, first: int, items: int, *, safety: bool) -> OutboxRow:
    """`items` distinct messages of `field` (each a statuses/frames/states item with a unique id byte string)."""
    serialized = [_item(field, first + index) for index in range(items)]
    return OutboxRow(field, safety, items, encode_items(field, serialized))


def _item(field: str, index: int) -> bytes:
    batch = rs_pb2.PublishRequest()
    if field == "vehicle_states":
        batch.vehicle_states.add(temporary_id=index.to_bytes(4, "big"))
    else:
        batch.frames.add(source_id=f"s-{index}")
    items = batch.vehicle_states if field == "vehicle_states" else batch.frames
    return items[0].SerializeToString()


def _ids(stored: StoredBatch) -> list[str]:
    """The messages of a stored batch as the cloud parses them: 's-<n>' frames, 'v-<n>' states."""
    batch = rs_pb2.PublishRequest.FromString(request_bytes(rs_pb2.PublishRequest(sequence=1), stored.payloads))
    frames = [frame.source_id for frame in batch.frames]
    states = [f"v-{int.from_bytes(state.temporary_id, 'big')}" for state in batch.vehicle_states]
    return states + frames


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.db", capacity_items=10)


def test_bulk_rows_over_capacity_are_dropped_whole_oldest_first(outbox: Outbox) -> None:
    assert outbox.append([_row("frames", 0, 4, safety=False)]) == 0
    assert outbox.append([_row("frames", 4, 4, safety=False)]) == 0

    dropped = outbox.append([_row("frames", 8, 4, safety=False)])  # 12 > 10: the oldest row (4 frames) goes

    assert dropped == 4
    assert outbox.dropped_by_field == {"frames": 4}
    assert outbox.pending == 8
    assert (outbox.depth["frames"].rows, outbox.depth["frames"].items) == (2, 8)
    stored = outbox.take_batch(100)
    assert stored is not None
    assert _ids(stored) == [f"s-{i}" for i in range(4, 12)]


def test_safety_rows_and_taken_bulk_rows_are_never_dropped(outbox: Outbox) -> None:
    outbox.append([_row("frames", 0, 4, safety=False)])
    taken = outbox.take_batch(100)  # in flight to the cloud now
    outbox.append([_row("frames", 4, 4, safety=False)])

    dropped = outbox.append([_row("vehicle_states", 0, 8, safety=True)])  # 16 > 10

    assert dropped == 4  # only the untaken bulk row
    assert outbox.dropped_by_field == {"frames": 4}
    assert outbox.depth["vehicle_states"].items == 8
    assert taken is not None
    assert outbox.unacknowledged() == [taken]
    assert outbox.pending == 12


def test_safety_beyond_twice_the_capacity_is_refused_and_nothing_changes(outbox: Outbox) -> None:
    outbox.append([_row("vehicle_states", 0, 18, safety=True)])  # over capacity, under the hard limit of 20
    assert outbox.append([_row("frames", 0, 2, safety=False)]) == 2  # bulk arriving over capacity: dropped

    with pytest.raises(OutboxFull):
        outbox.append([_row("vehicle_states", 18, 5, safety=True)])  # 23 > 20

    assert outbox.pending == 18
    assert outbox.depth["vehicle_states"].items == 18
    assert outbox.dropped_by_field == {"frames": 2}
    assert outbox.take_batch(100) is not None
    assert outbox.take_batch(100) is None  # the refused row was rolled back


def test_take_batch_keeps_rows_whole_and_puts_safety_first(outbox: Outbox) -> None:
    outbox.append([_row("frames", 0, 2, safety=False)])
    outbox.append([_row("vehicle_states", 0, 3, safety=True)])
    outbox.append([_row("vehicle_states", 3, 2, safety=True)])

    first = outbox.take_batch(4)  # 3 + 2 > 4: the second state row waits for the next batch
    second = outbox.take_batch(4)

    assert first is not None
    assert second is not None
    assert (first.sequence, first.items, _ids(first)) == (1, 3, ["v-0", "v-1", "v-2"])
    assert (second.sequence, second.items, _ids(second)) == (2, 4, ["v-3", "v-4", "s-0", "s-1"])
    assert outbox.take_batch(4) is None


def test_a_row_larger_than_the_batch_limit_goes_alone(outbox: Outbox) -> None:
    outbox.append([_row("vehicle_states", 0, 6, safety=True), _row("vehicle_states", 6, 1, safety=True)])

    first, second = outbox.take_batch(4), outbox.take_batch(4)

    assert first is not None
    assert second is not None
    assert (first.items, second.items) == (6, 1)


def test_acknowledge_updates_counters_and_numbers_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, capacity_items=100)
    outbox.append([_row("vehicle_states", 0, 3, safety=True)])
    assert outbox.oldest_pending_unix_ms is not None
    stored = outbox.take_batch(10)
    assert stored is not None

    assert outbox.acknowledge(stored.sequence) == 3
    assert (outbox.pending, outbox.depth["vehicle_states"].items) == (0, 0)
    assert outbox.oldest_pending_unix_ms is None
    epoch = outbox.epoch
    outbox.close()

    reopened = Outbox(path, capacity_items=100)
    reopened.append([_row("frames", 0, 1, safety=False)])
    again = reopened.take_batch(10)
    assert again is not None
    assert (reopened.epoch, again.sequence) == (epoch, stored.sequence + 1)  # never reuses an acked number
    reopened.close()


def test_reopen_recounts_depth_and_resends_unacknowledged_batches(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, capacity_items=100)
    outbox.append([_row("vehicle_states", 0, 3, safety=True), _row("frames", 0, 2, safety=False)])
    taken = outbox.take_batch(3)
    outbox.close()

    reopened = Outbox(path, capacity_items=100)

    assert reopened.pending == 5
    assert {field: depth.items for field, depth in reopened.depth.items()} == {"vehicle_states": 3, "frames": 2}
    assert reopened.unacknowledged() == [taken]
    following = reopened.take_batch(10)
    assert following is not None
    assert taken is not None
    assert following.sequence == taken.sequence + 1
    reopened.close()


_OLD_SCHEMA = """
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, field TEXT NOT NULL, safety INTEGER NOT NULL,
    payload BLOB NOT NULL, batch INTEGER
);
CREATE INDEX outbox_take ON outbox (batch, safety DESC, seq);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE accepted (
    sender TEXT NOT NULL, epoch INTEGER NOT NULL, sequence INTEGER NOT NULL, PRIMARY KEY (sender, epoch)
);
"""


def _old_layout_file(path: Path) -> None:
    """An outbox written by the one-row-per-message layout: batch 7 in flight, 3 messages not yet taken."""
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCHEMA)
    rows = [
        ("vehicle_states", 1, _item("vehicle_states", 0), 7),
        ("frames", 0, _item("frames", 0), 7),
        ("vehicle_states", 1, _item("vehicle_states", 1), None),
        ("frames", 0, _item("frames", 1), None),
        ("frames", 0, _item("frames", 2), None),
    ]
    db.executemany("INSERT INTO outbox (field, safety, payload, batch) VALUES (?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("epoch", 1234), ("next_batch", 8)])
    db.execute("INSERT INTO accepted VALUES ('gw-1', 5, 99)")
    db.commit()
    db.close()


def test_old_one_row_per_message_file_is_converted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _old_layout_file(path)

    outbox = Outbox(path, capacity_items=100)

    assert (outbox.epoch, outbox.pending) == (1234, 5)
    assert outbox.accepted_sequences() == {("gw-1", 5): 99}
    in_flight = outbox.unacknowledged()
    assert [(batch.sequence, batch.items, _ids(batch)) for batch in in_flight] == [(7, 2, ["v-0", "s-0"])]
    rest = outbox.take_batch(10)
    assert rest is not None
    assert (rest.sequence, _ids(rest)) == (8, ["v-1", "s-1", "s-2"])
    outbox.close()
    tables = {name for (name,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "outbox" not in tables


def test_acknowledge_and_take_deletes_the_acked_batch_and_takes_the_next(outbox: Outbox) -> None:
    outbox.append([_row("vehicle_states", 0, 2, safety=True)])
    first = outbox.take_batch(10)
    assert first is not None
    outbox.append([_row("vehicle_states", 2, 3, safety=True)])

    removed, second = outbox.acknowledge_and_take(first.sequence, 10)

    assert removed == 2
    assert second is not None
    assert (second.sequence, _ids(second)) == (first.sequence + 1, ["v-2", "v-3", "v-4"])
    assert outbox.unacknowledged() == [second]
    assert (outbox.pending, outbox.depth["vehicle_states"].rows) == (3, 1)
    assert outbox.acknowledge_and_take(second.sequence, 10) == (3, None)
    assert outbox.pending == 0

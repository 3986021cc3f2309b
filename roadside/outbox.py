"""The roadside node's durable outbox: everything bound for the cloud, on disk until the cloud acks it.

SQLite in WAL mode. One row holds one field's messages of one inbound batch, as opaque bytes (a field
payload, see `roadside.batch_payload`), with its message count: a gateway batch of 256 vehicle states is one
insert, not 256. A row belongs to no outbound batch until the uplink takes it; taking a batch persists its
membership and sequence number in the same transaction, so after a crash or restart the unacknowledged
batches are resent with exactly the same content and numbers (the cloud drops the ones it already has).
The sender epoch lives in the file too, so it survives restarts. An acknowledgement deletes every batch up
to it.

Exactly once from the gateway: `append` can record, in the same transaction as the rows, which inbound
batch (sender, epoch, sequence) they came from. A restarted node reloads that ledger and drops the batches
the gateway resends, and since rows and ledger commit together, no crash point lets a batch in twice.
`append_many` commits several inbound batches, rows and ledger entries, in one transaction (group commit).

Bound and overflow policy: at most `capacity_items` messages are kept. When an append goes over it, the
oldest bulk rows not yet in a batch are deleted, whole rows (so whole inbound batches) oldest first, and
their messages counted (`dropped`); safety rows (vehicle states, signal timing) are never dropped. If
safety messages alone fill twice the capacity, `append` raises `OutboxFull` and the caller applies
backpressure.

Threading: every method runs in the caller's thread and blocks on disk; call them from one worker thread
(`roadside.durable_uplink` does). The counters (`pending`, `depth`, `dropped_by_field`,
`oldest_pending_unix_ms`) are plain attributes that another thread may read. `synchronous=NORMAL` survives
a process crash; `durable_sync=True` (synchronous=FULL) also survives power loss, at a cost per commit.

Files written by the earlier one-row-per-message layout (table `outbox`) are converted on open.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from roadside.batch_payload import encode_items

__all__ = ["FieldDepth", "Outbox", "OutboxFull", "OutboxRow", "StoredBatch"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_rows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    field TEXT NOT NULL,
    safety INTEGER NOT NULL,
    items INTEGER NOT NULL,
    payload BLOB NOT NULL,
    queued_unix_ms INTEGER NOT NULL,
    batch INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_rows_take ON outbox_rows (batch, safety DESC, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accepted (
    sender TEXT NOT NULL, epoch INTEGER NOT NULL, sequence INTEGER NOT NULL, PRIMARY KEY (sender, epoch)
);
"""
_INSERT = "INSERT INTO outbox_rows (field, safety, items, payload, queued_unix_ms) VALUES (?, ?, ?, ?, ?)"


class OutboxFull(Exception):  # noqa: N818 - a condition the caller waits out, not a failure
    """Safety messages alone fill the outbox's hard limit (twice its capacity)."""


class OutboxRow(NamedTuple):
    """One field's messages of one inbound batch: `payload` holds `items` messages."""

    field: str
    safety: bool
    items: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A batch as persisted: its sequence number, message count and row payloads in send order."""

    sequence: int
    items: int
    payloads: tuple[bytes, ...]


@dataclass(slots=True)
class FieldDepth:
    """What the outbox holds of one field: rows, messages and payload bytes."""

    rows: int = 0
    items: int = 0
    bytes: int = 0

    def add(self, rows: int, items: int, size: int) -> None:
        self.rows += rows
        self.items += items
        self.bytes += size


class Outbox:
    """A bounded, durable FIFO of message rows with persisted batch assignment."""

    def __init__(self, path: Path, capacity_items: int, *, durable_sync: bool = False) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable_sync else 'NORMAL'}")
        # Debian's SQLite zeroes every deleted row by default (secure_delete=ON): deleting an acknowledged
        # 60 kB row then rewrites its pages. FAST zeroes only what costs no extra I/O (0.38 -> 0.09 ms per
        # acknowledge + take of 256 states); the rows hold nothing the file did not already hold in clear.
        self._db.execute("PRAGMA secure_delete=FAST")
        self._db.executescript(_SCHEMA)
        self._capacity = capacity_items
        with self._transaction():
            _convert_one_row_per_message(self._db)
        self.epoch = self._meta("epoch", default=time.time_ns() // 1_000_000)
        last_taken = self._scalar("SELECT COALESCE(MAX(batch), 0) FROM outbox_rows")
        self._next_batch = max(self._meta("next_batch", default=1), last_taken + 1)
        self.depth: dict[str, FieldDepth] = {}
        for field, rows, items, size in self._db.execute(
            "SELECT field, COUNT(*), SUM(items), SUM(LENGTH(payload)) FROM outbox_rows GROUP BY field"
        ):
            self.depth[field] = FieldDepth(rows, items, size)
        self.pending = sum(depth.items for depth in self.depth.values())
        self.dropped_by_field: dict[str, int] = {}
        self.oldest_pending_unix_ms: int | None = None
        self._update_oldest()

    @property
    def dropped(self) -> int:
        """Messages dropped under the capacity bound since open."""
        return sum(self.dropped_by_field.values())

    def close(self) -> None:
        """Close the database (everything committed is on disk)."""
        self._db.close()

    def append(self, rows: Sequence[OutboxRow], *, accepted: tuple[str, int, int] | None = None) -> int:
        """Store rows in one transaction; returns how many bulk messages were dropped to stay in bounds.

        `accepted` = (sender, epoch, sequence) of the inbound batch the rows came from, recorded atomically.
        """
        return self.append_many([(rows, accepted)])

    def append_many(self, entries: Sequence[tuple[Sequence[OutboxRow], tuple[str, int, int] | None]]) -> int:
        """`append` of several inbound batches in ONE transaction (group commit): all of them or none.

        Each entry is (rows, accepted) as for `append`, in arrival order; a sender's ledger entry ends at its
        last batch's sequence. Returns the bulk messages dropped to stay in bounds; `OutboxFull` if the
        safety messages of all entries together do not fit (nothing is stored then).
        """
        rows = [row for entry_rows, _ in entries for row in entry_rows]
        ledger = [accepted for _, accepted in entries if accepted is not None]
        now_ms = time.time_ns() // 1_000_000
        with self._transaction():
            if ledger:
                self._db.executemany(
                    "INSERT INTO accepted (sender, epoch, sequence) VALUES (?, ?, ?) "
                    "ON CONFLICT (sender, epoch) DO UPDATE SET sequence = excluded.sequence",
                    ledger,
                )
            self._db.executemany(_INSERT, [(r.field, int(r.safety), r.items, r.payload, now_ms) for r in rows])
            dropped = self._enforce_capacity(any(row.safety for row in rows), sum(row.items for row in rows))
        for row in rows:
            self._depth(row.field).add(1, row.items, len(row.payload))
        self.pending += sum(row.items for row in rows)
        if self.oldest_pending_unix_ms is None or dropped:
            self._update_oldest()
        return dropped

    def take_batch(self, max_items: int) -> StoredBatch | None:
        """Assign the next batch number to the oldest unbatched rows (safety first); None if there are none.

        Rows are taken whole while their messages fit in `max_items`; the first row is always taken, so a
        row larger than `max_items` goes out as a batch of its own.
        """
        with self._transaction():
            return self._take(max_items)

    def acknowledge_and_take(self, up_to_sequence: int, max_items: int) -> tuple[int, StoredBatch | None]:
        """`acknowledge` then `take_batch` in one transaction (one commit instead of two per batch sent);
        returns (messages removed, batch taken or None)."""
        with self._transaction():
            removed = self._delete_acknowledged(up_to_sequence)
            stored = self._take(max_items)
        return self._forget(removed), stored

    def _take(self, max_items: int) -> StoredBatch | None:
        seqs: list[int] = []
        payloads: list[bytes] = []
        items = 0
        cursor = self._db.execute(
            "SELECT seq, items, payload FROM outbox_rows WHERE batch IS NULL ORDER BY safety DESC, seq"
        )
        for seq, count, payload in cursor:
            if seqs and items + count > max_items:
                break
            seqs.append(seq)
            payloads.append(payload)
            items += count
        cursor.close()
        if not seqs:
            return None
        sequence = self._next_batch
        self._db.execute(
            f"UPDATE outbox_rows SET batch = ? WHERE seq IN ({','.join('?' * len(seqs))})", (sequence, *seqs)
        )
        self._next_batch += 1
        return StoredBatch(sequence, items, tuple(payloads))

    def accepted_sequences(self) -> dict[tuple[str, int], int]:
        """The inbound-batch ledger: (sender, epoch) -> highest sequence whose rows are stored."""
        rows = self._db.execute("SELECT sender, epoch, sequence FROM accepted").fetchall()
        return {(sender, epoch): sequence for sender, epoch, sequence in rows}

    def unacknowledged(self) -> list[StoredBatch]:
        """Batches taken but not acknowledged, in sequence order (to resend after a reconnect or restart)."""
        rows = self._db.execute(
            "SELECT batch, items, payload FROM outbox_rows WHERE batch IS NOT NULL ORDER BY batch, safety DESC, seq"
        ).fetchall()
        batches: dict[int, tuple[int, list[bytes]]] = {}
        for batch, items, payload in rows:
            count, payloads = batches.setdefault(batch, (0, []))
            payloads.append(payload)
            batches[batch] = (count + items, payloads)
        return [StoredBatch(sequence, count, tuple(payloads)) for sequence, (count, payloads) in batches.items()]

    def acknowledge(self, up_to_sequence: int) -> int:
        """Delete every batch up to `up_to_sequence`; returns how many messages that removed."""
        with self._transaction():
            removed = self._delete_acknowledged(up_to_sequence)
        return self._forget(removed)

    def _delete_acknowledged(self, up_to_sequence: int) -> list[tuple[str, int, int]]:
        """Delete the rows of batches <= `up_to_sequence`; their (field, items, payload bytes)."""
        removed: list[tuple[str, int, int]] = self._db.execute(
            "DELETE FROM outbox_rows WHERE batch <= ? RETURNING field, items, LENGTH(payload)", (up_to_sequence,)
        ).fetchall()
        if removed:  # the numbers in use must survive even when the table becomes empty
            self._set_meta("next_batch", self._next_batch)
        return removed

    def _forget(self, removed: list[tuple[str, int, int]]) -> int:
        """Update the counters for committed deletions; returns the messages removed."""
        for field, items, size in removed:
            self._depth(field).add(-1, -items, -size)
        count = int(sum(items for _, items, _ in removed))
        self.pending -= count
        if removed:
            self._update_oldest()
        return count

    def _enforce_capacity(self, safety_added: bool, items_added: int) -> int:
        excess = self.pending + items_added - self._capacity
        if excess <= 0:
            return 0
        victims: list[tuple[int, str, int, int]] = []
        cursor = self._db.execute(
            "SELECT seq, field, items, LENGTH(payload) FROM outbox_rows WHERE batch IS NULL AND safety = 0 ORDER BY seq"
        )
        for victim in cursor:
            if excess <= 0:
                break
            victims.append(victim)
            excess -= victim[2]
        cursor.close()
        if victims:
            self._db.executemany("DELETE FROM outbox_rows WHERE seq = ?", [(seq,) for seq, _, _, _ in victims])
        dropped = sum(items for _, _, items, _ in victims)
        held = self.pending + items_added - dropped
        if held > 2 * self._capacity and safety_added:
            raise OutboxFull(f"{held} messages held, hard limit {2 * self._capacity}")
        for _, field, items, size in victims:
            self._depth(field).add(-1, -items, -size)
            self.dropped_by_field[field] = self.dropped_by_field.get(field, 0) + items
        self.pending -= dropped
        return dropped

    def _depth(self, field: str) -> FieldDepth:
        depth = self.depth.get(field)
        if depth is None:
            depth = self.depth[field] = FieldDepth()
        return depth

    def _update_oldest(self) -> None:
        row = self._db.execute("SELECT queued_unix_ms FROM outbox_rows ORDER BY seq LIMIT 1").fetchone()
        self.oldest_pending_unix_ms = None if row is None else int(row[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _scalar(self, query: str) -> int:
        return int(self._db.execute(query).fetchone()[0])

    def _meta(self, key: str, *, default: int) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return int(row[0])
        self._set_meta(key, default)
        return default

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _convert_one_row_per_message(db: sqlite3.Connection) -> None:
    """Move the rows of the earlier layout (table `outbox`, one message per row) into `outbox_rows`."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone() is None:
        return
    now_ms = time.time_ns() // 1_000_000
    old = db.execute("SELECT field, safety, payload, batch FROM outbox ORDER BY seq").fetchall()
    db.executemany(
        "INSERT INTO outbox_rows (field, safety, items, payload, queued_unix_ms, batch) VALUES (?, ?, 1, ?, ?, ?)",
        [(field, safety, encode_items(field, [payload]), now_ms, batch) for field, safety, payload, batch in old],
    )
    db.execute("DROP TABLE outbox")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")

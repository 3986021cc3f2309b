"""The roadside node's durable outbox: everything bound for the cloud, on disk until the cloud acks it.

SQLite in WAL mode, one table of serialized messages in arrival order. A message belongs to no batch until
the uplink takes it; taking a batch persists its membership and sequence number in the same transaction,
so after a crash or restart the unacknowledged batches are resent with exactly the same content and
numbers (the cloud drops the ones it already has). The sender epoch lives in the file too, so it survives
restarts. An acknowledgement deletes every batch up to it.

Exactly once from the gateway: `append` can record, in the same transaction as the rows, which inbound
batch (sender, epoch, sequence) they came from. A restarted node reloads that ledger and drops the batches
the gateway resends, and since rows and ledger commit together, no crash point lets a batch in twice.

Bound and overflow policy: at most `capacity_items` messages are kept. When an append goes over it, the
oldest bulk messages not yet in a batch are deleted and counted (`dropped`); safety messages (vehicle
states, signal timing) are never dropped. If safety messages alone fill twice the capacity, `append`
raises `OutboxFull` and the caller applies backpressure.

Threading: every method runs in the caller's thread and blocks on disk; call them from one worker thread
(`roadside.durable_uplink` does). `synchronous=NORMAL` survives a process crash; `durable_sync=True`
(synchronous=FULL) also survives power loss, at a cost per commit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Outbox", "OutboxFull", "StoredBatch"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    field TEXT NOT NULL,
    safety INTEGER NOT NULL,
    payload BLOB NOT NULL,
    batch INTEGER
);
DROP INDEX IF EXISTS outbox_by_batch;
CREATE INDEX IF NOT EXISTS outbox_take ON outbox (batch, safety DESC, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accepted (
    sender TEXT NOT NULL, epoch INTEGER NOT NULL, sequence INTEGER NOT NULL, PRIMARY KEY (sender, epoch)
);
"""


class OutboxFull(Exception):  # noqa: N818 - a condition the caller waits out, not a failure
    """Safety messages alone fill the outbox's hard limit (twice its capacity)."""


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """A batch as persisted: its sequence number and (field, serialized message) rows in send order."""

    sequence: int
    rows: tuple[tuple[str, bytes], ...]


class Outbox:
    """A bounded, durable FIFO of serialized messages with persisted batch assignment."""

    def __init__(self, path: Path, capacity_items: int, *, durable_sync: bool = False) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable_sync else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self._capacity = capacity_items
        self.epoch = self._meta("epoch", default=time.time_ns() // 1_000_000)
        self._next_batch = self._meta("next_batch", default=1)
        self.pending = self._scalar("SELECT COUNT(*) FROM outbox")
        self.dropped = 0

    def close(self) -> None:
        """Close the database (everything committed is on disk)."""
        self._db.close()

    def append(self, rows: Sequence[tuple[str, bool, bytes]], *, accepted: tuple[str, int, int] | None = None) -> int:
        """Store (field, is_safety, payload) rows in one transaction; returns how many bulk rows were dropped.

        `accepted` = (sender, epoch, sequence) of the inbound batch the rows came from, recorded atomically.
        """
        with self._transaction():
            if accepted is not None:
                self._db.execute(
                    "INSERT INTO accepted (sender, epoch, sequence) VALUES (?, ?, ?) "
                    "ON CONFLICT (sender, epoch) DO UPDATE SET sequence = excluded.sequence",
                    accepted,
                )
            self._db.executemany(
                "INSERT INTO outbox (field, safety, payload) VALUES (?, ?, ?)",
                [(field, int(safety), payload) for field, safety, payload in rows],
            )
            self.pending += len(rows)
            dropped = self._enforce_capacity(sum(1 for _, safety, _ in rows if safety))
        self.dropped += dropped
        return dropped

    def take_batch(self, max_items: int) -> StoredBatch | None:
        """Assign the next batch number to up to `max_items` unbatched rows (safety first); None if none."""
        with self._transaction():
            picked = self._db.execute(
                "SELECT seq, field, payload FROM outbox WHERE batch IS NULL ORDER BY safety DESC, seq LIMIT ?",
                (max_items,),
            ).fetchall()
            if not picked:
                return None
            sequence = self._next_batch
            self._db.executemany("UPDATE outbox SET batch = ? WHERE seq = ?", [(sequence, seq) for seq, _, _ in picked])
            self._next_batch += 1
            self._set_meta("next_batch", self._next_batch)
        return StoredBatch(sequence, tuple((field, payload) for _, field, payload in picked))

    def accepted_sequences(self) -> dict[tuple[str, int], int]:
        """The inbound-batch ledger: (sender, epoch) -> highest sequence whose rows are stored."""
        rows = self._db.execute("SELECT sender, epoch, sequence FROM accepted").fetchall()
        return {(sender, epoch): sequence for sender, epoch, sequence in rows}

    def unacknowledged(self) -> list[StoredBatch]:
        """Batches taken but not acknowledged, in sequence order (to resend after a reconnect or restart)."""
        rows = self._db.execute(
            "SELECT batch, field, payload FROM outbox WHERE batch IS NOT NULL ORDER BY batch, safety DESC, seq"
        ).fetchall()
        batches: dict[int, list[tuple[str, bytes]]] = {}
        for batch, field, payload in rows:
            batches.setdefault(batch, []).append((field, payload))
        return [StoredBatch(sequence, tuple(items)) for sequence, items in batches.items()]

    def acknowledge(self, up_to_sequence: int) -> int:
        """Delete every batch up to `up_to_sequence`; returns how many messages that removed."""
        with self._transaction():
            removed = self._db.execute("DELETE FROM outbox WHERE batch <= ?", (up_to_sequence,)).rowcount
        self.pending -= removed
        return int(removed)

    def _enforce_capacity(self, safety_added: int) -> int:
        excess = self.pending - self._capacity
        if excess <= 0:
            return 0
        dropped = self._db.execute(
            "DELETE FROM outbox WHERE seq IN "
            "(SELECT seq FROM outbox WHERE batch IS NULL AND safety = 0 ORDER BY seq LIMIT ?)",
            (excess,),
        ).rowcount
        self.pending -= dropped
        if self.pending > 2 * self._capacity and safety_added:
            raise OutboxFull(f"{self.pending} messages held, hard limit {2 * self._capacity}")
        return int(dropped)

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


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")

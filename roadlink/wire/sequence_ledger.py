"""The highest accepted batch sequence per (sender, epoch), kept on disk so a restarted node still knows.

With it, a node that restarts drops the batches a sender resends because their acknowledgement was lost
in the crash, so what the node processes stays exactly-once across its own restarts. SQLite in WAL mode;
each record is one small upsert, run in a worker thread, never on the event loop. The sink's effect and
the record are not one transaction: a crash between the two can still let one batch through twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["SequenceLedger"]


class SequenceLedger:
    """Durable map (sender_id, sender_epoch) -> highest accepted sequence."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS accepted (sender TEXT NOT NULL, epoch INTEGER NOT NULL, "
            "sequence INTEGER NOT NULL, PRIMARY KEY (sender, epoch))"
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sequence-ledger")

    def load(self) -> dict[tuple[str, int], int]:
        """Everything recorded (call at start-up, before serving)."""
        rows = self._db.execute("SELECT sender, epoch, sequence FROM accepted").fetchall()
        return {(sender, epoch): sequence for sender, epoch, sequence in rows}

    async def record(self, key: tuple[str, int], sequence: int) -> None:
        """Persist that `sequence` of `key` was accepted."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._upsert, key, sequence)

    def close(self) -> None:
        """Close the file and the worker thread."""
        self._executor.shutdown(wait=True)
        self._db.close()

    def _upsert(self, key: tuple[str, int], sequence: int) -> None:
        self._db.execute(
            "INSERT INTO accepted (sender, epoch, sequence) VALUES (?, ?, ?) "
            "ON CONFLICT (sender, epoch) DO UPDATE SET sequence = excluded.sequence",
            (key[0], key[1], sequence),
        )

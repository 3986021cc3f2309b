"""A BatchUplink whose buffer is the on-disk Outbox: store and forward across link and node failures.

`send_many` and `store_batch` return once the messages are committed to disk (the gateway's batch is
acknowledged then), batches are built from the outbox with persisted numbers, and acknowledgements delete
them: the writer deletes what was acknowledged and takes the next batch in one transaction. All disk work
runs in one worker thread, never on the event loop. Overflow follows the outbox's policy: oldest bulk rows
are dropped and counted; when safety messages alone fill it, `send_many` waits
(backpressure) and raises TimeoutError after `timeout_s`.

Bytes pass through: an inbound batch is stored as one row per field holding the field's wire bytes (one
`SerializeToString` of the batch, see `roadside.batch_payload`), and an outbound batch is a serialized
header followed by the stored rows, written to the stream as bytes. No message is decoded or encoded one by
one on the way to the cloud.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias, TypeVar

from google.protobuf.message import Message
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.domain.clock import now_unix_ms
from roadlink.wire.backoff import Backoff
from roadlink.wire.publish_server import current_commit_group
from roadlink.wire.uplink import BATCH_FIELDS, SAFETY_FIELDS, BatchUplink, OnDone, OutboundBatch
from roadside.batch_payload import encode_items, request_bytes, split_batch
from roadside.outbox import Outbox, OutboxFull, OutboxRow, StoredBatch

__all__ = ["DurableUplink", "OutboxLedger"]

_T = TypeVar("_T")
_FULL_RETRY_S = 0.05
_Entry: TypeAlias = tuple[list[OutboxRow], tuple[str, int, int] | None]  # rows, (sender, epoch, sequence)


@dataclass(frozen=True, slots=True)
class _Staged:
    """An inbound batch staged in a commit group: its outbox entry and its caller's timeout, s."""

    entry: _Entry
    timeout_s: float | None


class DurableUplink(BatchUplink):
    """Publish client backed by an Outbox file at `path`. Call `close()` after the run task ends."""

    def __init__(
        self,
        target: str,
        sender_id: str,
        path: Path,
        *,
        max_batch_items: int = 256,
        linger_s: float = 0.002,
        capacity_items: int = 1_000_000,
        backoff: Backoff | None = None,
        durable_sync: bool = False,
        access_token: str | None = None,
        ca_file: Path | None = None,
        client_cert_file: Path | None = None,
        client_key_file: Path | None = None,
    ) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roadside-outbox")
        self.outbox = Outbox(path, capacity_items, durable_sync=durable_sync)
        super().__init__(
            target,
            sender_id,
            max_batch_items=max_batch_items,
            linger_s=linger_s,
            capacity_items=capacity_items,
            backoff=backoff,
            sender_epoch=self.outbox.epoch,
            access_token=access_token,
            ca_file=ca_file,
            client_cert_file=client_cert_file,
            client_key_file=client_key_file,
        )
        self._acked_up_to = 0  # highest sequence the cloud acknowledged; deleted with the writer's next take

    @property
    def pending_items(self) -> int:
        """Messages on disk that the cloud has not acknowledged."""
        return self.outbox.pending

    def held_by_field(self) -> dict[str, int]:
        """Messages on disk per batch field (queued, or sent and not acknowledged)."""
        return {name: depth.items for name, depth in dict(self.outbox.depth).items()}

    def held_bytes_by_field(self) -> dict[str, int]:
        """Payload bytes on disk per batch field."""
        return {name: depth.bytes for name, depth in dict(self.outbox.depth).items()}

    @property
    def oldest_unacked_age_ms(self) -> int:
        """Age of the oldest message on disk (queued or sent, not acknowledged), ms; 0 when none."""
        oldest = self.outbox.oldest_pending_unix_ms
        return 0 if oldest is None else max(0, now_unix_ms() - oldest)

    async def send(
        self, field: str, message: Message, *, timeout_s: float | None = None, on_done: OnDone | None = None
    ) -> None:
        """Commit one message to the outbox (the in-memory fast path of the base class does not apply)."""
        await self.send_many(field, (message,), timeout_s=timeout_s, on_done=on_done)

    async def send_many(
        self,
        field: str,
        messages: Iterable[Message],
        *,
        timeout_s: float | None = None,
        on_done: OnDone | None = None,
    ) -> None:
        """Commit messages to the outbox (rows of at most one batch each); `on_done` runs once they are on disk."""
        if field not in BATCH_FIELDS:
            raise ValueError(f"unknown batch field {field!r}")
        serialized = [message.SerializeToString() for message in messages]
        size, safety = self._max_batch, field in SAFETY_FIELDS
        rows = [
            OutboxRow(field, safety, len(chunk), encode_items(field, chunk))
            for chunk in (serialized[start : start + size] for start in range(0, len(serialized), size))
        ]
        await self._store([(rows, None)], timeout_s)
        if on_done is not None:
            on_done()

    async def store_batch(self, batch: rs_pb2.PublishRequest, *, timeout_s: float | None = None) -> None:
        """Commit every item of an inbound batch, and its (sender, epoch, sequence), in one transaction.

        Inside the publish servicer's commit group the batch is only staged: the group commits it together
        with the other batches of the group (`write_group`), before any of them is acknowledged.
        """
        rows = [
            OutboxRow(part.field, part.field in SAFETY_FIELDS, part.items, part.data) for part in split_batch(batch)
        ]
        entry: _Entry = (rows, (batch.sender_id, batch.sender_epoch, batch.sequence))
        group = current_commit_group()
        if group is not None:
            group.stage(self, _Staged(entry, timeout_s))
            return
        await self._store([entry], timeout_s)

    async def write_group(self, items: Sequence[object]) -> None:
        """Commit batches staged by `store_batch` in one transaction (rows and ledger entries of all of them).

        If their safety messages together do not fit under the outbox's hard limit, they are committed one
        by one in order instead, each waiting for room; TimeoutError after the shortest staged timeout.
        """
        staged = [item for item in items if isinstance(item, _Staged)]
        if len(staged) != len(items):
            raise TypeError("write_group got items that store_batch did not stage")
        timeouts = [item.timeout_s for item in staged if item.timeout_s is not None]
        entries = [item.entry for item in staged]
        async with asyncio.timeout(min(timeouts) if timeouts else None):
            try:
                await self._store(entries, None, retry=len(entries) == 1)
            except OutboxFull:
                for entry in entries:
                    await self._store([entry], None)

    async def _store(self, entries: list[_Entry], timeout_s: float | None, *, retry: bool = True) -> None:
        """Commit `entries` in one transaction; while the outbox is full, wait and retry (or raise OutboxFull)."""
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    dropped = await self._disk(self.outbox.append_many, entries)
                    break
                except OutboxFull:
                    if not retry:
                        raise
                    await asyncio.sleep(_FULL_RETRY_S)
        self.stats.items_queued += sum(row.items for rows, _ in entries for row in rows)
        self.stats.items_dropped += dropped
        if dropped:
            self.stats.dropped_by_field = dict(self.outbox.dropped_by_field)
        self._items_ready.set()

    async def close(self) -> None:
        """Apply the last acknowledgement, close the outbox file and its worker thread."""
        await self._count_acked(await self._disk(self.outbox.acknowledge, self._acked_up_to))
        await self._disk(self.outbox.close)
        self._executor.shutdown(wait=True)

    async def _next_batch(self) -> tuple[int, OutboundBatch]:
        """Delete what the cloud acknowledged and take the next batch, in one disk transaction."""
        while True:
            self._items_ready.clear()
            removed, stored = await self._disk(self.outbox.acknowledge_and_take, self._acked_up_to, self._max_batch)
            await self._count_acked(removed)
            if stored is not None:
                return stored.sequence, self._request(stored)
            await self._items_ready.wait()
            if self._linger_s > 0:
                await asyncio.sleep(self._linger_s)

    async def _unacknowledged_batches(self) -> list[tuple[int, OutboundBatch]]:
        await self._count_acked(await self._disk(self.outbox.acknowledge, self._acked_up_to))
        return [(stored.sequence, self._request(stored)) for stored in await self._disk(self.outbox.unacknowledged)]

    async def _on_ack(self, response: rs_pb2.PublishResponse) -> None:
        """Note the acknowledgement and wake the writer, which deletes the rows together with its next take."""
        self._acked_up_to = max(self._acked_up_to, response.acknowledged_sequence)
        self.stats.items_rejected += len(response.rejections)
        self._items_ready.set()

    async def _count_acked(self, removed: int) -> None:
        """Count messages deleted as acknowledged and wake `flush` waiters."""
        if removed:
            self.stats.items_acked += removed
            async with self._changed:
                self._changed.notify_all()

    def _request(self, stored: StoredBatch) -> bytes:
        """The serialized PublishRequest of a stored batch: a fresh header, then the rows' wire bytes."""
        header = rs_pb2.PublishRequest(
            sender_id=self._sender_id,
            sender_epoch=self._epoch,
            sequence=stored.sequence,
            sent_time_unix_ms=now_unix_ms(),
        )
        return request_bytes(header, stored.payloads)

    async def _disk(self, call: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(call, *args))


class OutboxLedger:
    """The PublishServicer ledger of a durable roadside node: the outbox's own `accepted` table.

    `record` does nothing because `DurableUplink.store_batch` / `write_group` already wrote the sequence in
    the transaction of the batch's rows; `load` gives the servicer what was stored before a restart.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def load(self) -> dict[tuple[str, int], int]:
        """The ledger as stored (call at start-up)."""
        return self._outbox.accepted_sequences()

    async def record(self, key: tuple[str, int], sequence: int) -> None:
        """Already recorded atomically with the rows."""

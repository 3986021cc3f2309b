"""Server side of `RoadsideService.Publish`: de-duplicate batches by sequence, hand them on, acknowledge.

Both the roadside node and the cloud node accept edge data this way; they differ only in the `BatchSink`
that receives accepted batches. A batch counts as accepted when the sink's `accept` returned, so the sink
decides what "safe" means (in memory for now; the durable queue makes it disk).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from grpc import aio
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from roadlink.domain.errors import ValidationError

__all__ = ["AcceptedLedger", "BatchSink", "PublishServicer", "PublishStats", "batch_item_count"]

_log = logging.getLogger(__name__)


class AcceptedLedger(Protocol):
    """Durable memory of the highest accepted sequence per (sender_id, sender_epoch)."""

    def load(self) -> dict[tuple[str, int], int]: ...

    async def record(self, key: tuple[str, int], sequence: int) -> None: ...


class BatchSink(Protocol):
    """Receives each newly accepted batch once; returns the items it rejected."""

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]: ...


@dataclass(slots=True)
class PublishStats:
    """Counters of one PublishServicer."""

    batches_accepted: int = 0
    batches_duplicate: int = 0
    items_accepted: int = 0
    items_rejected: int = 0


def batch_item_count(batch: rs_pb2.PublishRequest) -> int:
    """Number of messages in a batch, over every repeated field."""
    return (
        len(batch.frames)
        + len(batch.vehicle_states)
        + len(batch.signal_timings)
        + len(batch.maps)
        + len(batch.road_side_infos)
        + len(batch.statuses)
    )


class PublishServicer(rs_grpc.RoadsideServiceServicer):
    """Accepts batches, drops ones already accepted from the same (sender, epoch), acks cumulatively.

    The table of highest accepted sequence per (sender_id, sender_epoch) is bounded to `max_senders`
    entries; the least recently used entry is evicted when it is full. With a `ledger` it is also kept on
    disk and reloaded at start, so the node still drops resent batches after a restart.
    """

    def __init__(self, sink: BatchSink, *, max_senders: int = 10_000, ledger: AcceptedLedger | None = None) -> None:
        self._sink = sink
        self._max_senders = max_senders
        self._ledger = ledger
        self._accepted: OrderedDict[tuple[str, int], int] = OrderedDict(ledger.load() if ledger else {})
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._inflight: set[asyncio.Future[Sequence[rs_pb2.ItemRejection]]] = set()
        self.stats = PublishStats()

    async def Publish(  # noqa: N802 - generated method name
        self,
        request_iterator: AsyncIterator[rs_pb2.PublishRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[rs_pb2.PublishResponse]:
        async for batch in request_iterator:
            yield await self._handle(batch)

    async def drain(self, timeout_s: float) -> None:
        """Wait for batches already being accepted (e.g. after a hard server stop) before closing the ledger."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout_s)

    async def _handle(self, batch: rs_pb2.PublishRequest) -> rs_pb2.PublishResponse:
        if not batch.sender_id or batch.sequence == 0:
            raise ValidationError("invalid_batch", "sender_id must be set and sequence must be >= 1")
        key = (batch.sender_id, batch.sender_epoch)
        async with self._lock_for(key):  # a reconnected sender's old and new streams never race
            last = self._accepted.get(key, 0)
            if batch.sequence <= last:
                self.stats.batches_duplicate += 1
                return rs_pb2.PublishResponse(acknowledged_sequence=last)
            work = asyncio.ensure_future(self._accept(key, batch))
            self._inflight.add(work)
            work.add_done_callback(self._inflight.discard)
            rejections = await asyncio.shield(work)  # a cancelled call never splits accept from record
        return rs_pb2.PublishResponse(acknowledged_sequence=batch.sequence, rejections=rejections)

    async def _accept(self, key: tuple[str, int], batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        rejections = await self._sink.accept(batch)
        self._remember(key, batch.sequence)
        if self._ledger is not None:
            await self._ledger.record(key, batch.sequence)
        self.stats.batches_accepted += 1
        self.stats.items_rejected += len(rejections)
        self.stats.items_accepted += batch_item_count(batch) - len(rejections)
        for item in rejections:
            _log.warning("rejected %s[%d] from %s: %s", item.field, item.index, key, item.reason)
        return rejections

    def _lock_for(self, key: tuple[str, int]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _remember(self, key: tuple[str, int], sequence: int) -> None:
        self._accepted[key] = sequence
        self._accepted.move_to_end(key)
        while len(self._accepted) > self._max_senders:
            evicted, _ = self._accepted.popitem(last=False)
            lock = self._locks.get(evicted)
            if lock is not None and not lock.locked():
                del self._locks[evicted]

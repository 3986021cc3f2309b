"""Server side of `RoadsideService.Publish`: de-duplicate batches by sequence, hand them on, acknowledge.

Both the roadside node and the cloud node accept edge data this way; they differ only in the `BatchSink`
that receives accepted batches. A batch counts as accepted when the sink's `accept` returned and the
batches' commit group (below) committed, so the sink decides what "safe" means (in memory, or on disk for
the roadside node's durable outbox).

Group commit: each stream is read ahead by up to `read_ahead` batches (a reader task, bounded by a
semaphore: at most `read_ahead` batches of one stream are read and not yet acknowledged; when they are
all held, the reader stops reading and gRPC flow control slows the sender). The batches already waiting
when the servicer is free are handled together: their sink `accept`s run one after another, in order,
inside one `CommitGroup`; a sink that writes to disk stages its writes in the group instead of committing
each, and the group commits them all at once (one transaction for the durable outbox, the rows of every
batch together with its ledger entry). Only then is each batch acknowledged, in order. If the commit
fails, none of the group's batches is acknowledged or remembered. If a sink's `accept` fails, the batches
before it are committed and acknowledged, and then the stream ends with the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from grpc import aio
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from roadlink.domain.errors import ValidationError

__all__ = [
    "AcceptedLedger",
    "BatchSink",
    "CommitGroup",
    "GroupWriter",
    "PublishServicer",
    "PublishStats",
    "batch_item_count",
    "current_commit_group",
]

_log = logging.getLogger(__name__)

DEFAULT_READ_AHEAD = 16  # batches per stream read and not yet acknowledged (256 states each: ~4,000 states)


class AcceptedLedger(Protocol):
    """Durable memory of the highest accepted sequence per (sender_id, sender_epoch)."""

    def load(self) -> dict[tuple[str, int], int]: ...

    async def record(self, key: tuple[str, int], sequence: int) -> None: ...


class BatchSink(Protocol):
    """Receives each newly accepted batch once; returns the items it rejected."""

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]: ...


class GroupWriter(Protocol):
    """Something that stages writes in a `CommitGroup` and commits them together in `write_group`."""

    async def write_group(self, items: Sequence[object]) -> None: ...


class CommitGroup:
    """Writes staged while the servicer accepts a group of batches; `commit` hands each writer its items.

    A sink finds the open group with `current_commit_group()` (None outside the servicer: then it commits
    itself, at once). Items keep the order they were staged in, which is the batches' order.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[GroupWriter, object]] = []

    def stage(self, writer: GroupWriter, item: object) -> None:
        """Defer `item` until `commit`; `writer.write_group` then gets it with the writer's other items."""
        self._staged.append((writer, item))

    def mark(self) -> int:
        """A point to `discard_after` (the number of items staged so far)."""
        return len(self._staged)

    def discard_after(self, mark: int) -> None:
        """Forget what was staged after `mark` (the writes of a batch whose accept failed)."""
        del self._staged[mark:]

    async def commit(self) -> None:
        """Give every writer its staged items, in staging order, one `write_group` call per writer."""
        writers: dict[int, tuple[GroupWriter, list[object]]] = {}
        for writer, item in self._staged:
            writers.setdefault(id(writer), (writer, []))[1].append(item)
        self._staged.clear()
        for writer, items in writers.values():
            await writer.write_group(items)


_GROUP: contextvars.ContextVar[CommitGroup | None] = contextvars.ContextVar("roadlink_commit_group", default=None)


def current_commit_group() -> CommitGroup | None:
    """The commit group of the batches being accepted in this task, if any."""
    return _GROUP.get()


@dataclass(slots=True)
class PublishStats:
    """Counters of one PublishServicer."""

    batches_read: int = 0  # batches read from streams (ahead of their acknowledgement)
    batches_accepted: int = 0
    batches_duplicate: int = 0
    items_accepted: int = 0
    items_rejected: int = 0
    groups_committed: int = 0


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
    disk and reloaded at start, so the node still drops resent batches after a restart. `read_ahead`
    (>= 1) bounds the batches per stream read and not yet acknowledged, and so the size of a commit group.
    """

    def __init__(
        self,
        sink: BatchSink,
        *,
        max_senders: int = 10_000,
        ledger: AcceptedLedger | None = None,
        read_ahead: int = DEFAULT_READ_AHEAD,
    ) -> None:
        if read_ahead < 1:
            raise ValueError("read_ahead must be >= 1")
        self._sink = sink
        self._max_senders = max_senders
        self._ledger = ledger
        self._read_ahead = read_ahead
        self._accepted: OrderedDict[tuple[str, int], int] = OrderedDict(ledger.load() if ledger else {})
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._inflight: set[asyncio.Future[tuple[list[Sequence[rs_pb2.ItemRejection]], Exception | None]]] = set()
        self.stats = PublishStats()

    async def Publish(  # noqa: N802 - generated method name
        self,
        request_iterator: AsyncIterator[rs_pb2.PublishRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[rs_pb2.PublishResponse]:
        reader = _ReadAhead(request_iterator, self._read_ahead, self.stats)
        try:
            while group := await reader.next_group():
                valid, invalid = _valid_prefix(group)
                responses, failure = await self._handle_group(valid)
                for response in responses:
                    yield response
                    reader.release(1)
                error = failure or invalid  # a failed accept comes first: the batches after it were not handled
                if error is not None:
                    raise error
        finally:
            await reader.close()

    async def drain(self, timeout_s: float) -> None:
        """Wait for batches already being accepted (e.g. after a hard server stop) before closing the ledger."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout_s)

    async def _handle_group(
        self, group: list[rs_pb2.PublishRequest]
    ) -> tuple[list[rs_pb2.PublishResponse], Exception | None]:
        """Accept the new batches of `group` in one commit group; one response per batch, in order.

        If a sink's accept fails, the batches before the failing one are still committed and answered, and the
        error is returned to end the stream after them (the sender resends the rest).
        """
        if not group:
            return [], None
        keys = sorted({(batch.sender_id, batch.sender_epoch) for batch in group})
        async with contextlib.AsyncExitStack() as stack:
            for key in keys:  # sorted: two streams never wait for each other's locks in opposite order
                await stack.enter_async_context(self._lock_for(key))  # old and new streams of a sender never race
            last = {key: self._accepted.get(key, 0) for key in keys}
            fresh: list[rs_pb2.PublishRequest] = []
            for batch in group:
                key = (batch.sender_id, batch.sender_epoch)
                if batch.sequence > last[key]:
                    last[key] = batch.sequence
                    fresh.append(batch)
            rejections: list[Sequence[rs_pb2.ItemRejection]] = []
            failure: Exception | None = None
            if fresh:
                work = asyncio.ensure_future(self._accept_group(fresh))
                self._inflight.add(work)
                work.add_done_callback(self._inflight.discard)
                rejections, failure = await asyncio.shield(work)  # a cancelled call never splits accept from commit
        if failure is not None:  # answer only the batches before the one that failed
            failed = fresh[len(rejections)]
            group = group[: next(index for index, batch in enumerate(group) if batch is failed)]
            fresh = fresh[: len(rejections)]
        self.stats.batches_duplicate += len(group) - len(fresh)
        return _responses(group, fresh, rejections, self._accepted), failure

    async def _accept_group(
        self, batches: list[rs_pb2.PublishRequest]
    ) -> tuple[list[Sequence[rs_pb2.ItemRejection]], Exception | None]:
        """Run in its own task: the sinks' accepts in one commit group, the commit, then the ledger.

        Returns the rejections of the batches accepted, in order, and the error of the first batch whose
        accept failed (its staged writes are discarded; it and the batches after it are not accepted).
        """
        group = CommitGroup()
        _GROUP.set(group)  # this task's context only
        rejections: list[Sequence[rs_pb2.ItemRejection]] = []
        failure: Exception | None = None
        for batch in batches:
            mark = group.mark()
            try:
                rejections.append(await self._sink.accept(batch))
            except Exception as exc:  # the stream ends with it once the batches before it are committed
                group.discard_after(mark)
                failure = exc
                break
        accepted = batches[: len(rejections)]
        if accepted:
            await group.commit()
            self.stats.groups_committed += 1
        highest: dict[tuple[str, int], int] = {}
        for batch, rejected in zip(accepted, rejections, strict=True):
            key = (batch.sender_id, batch.sender_epoch)
            highest[key] = batch.sequence
            self._count(key, batch, rejected)
        for key, sequence in highest.items():
            self._remember(key, sequence)
            if self._ledger is not None:
                await self._ledger.record(key, sequence)
        return rejections, failure

    def _count(
        self, key: tuple[str, int], batch: rs_pb2.PublishRequest, rejected: Sequence[rs_pb2.ItemRejection]
    ) -> None:
        self.stats.batches_accepted += 1
        self.stats.items_rejected += len(rejected)
        self.stats.items_accepted += batch_item_count(batch) - len(rejected)
        for item in rejected:
            _log.warning("rejected %s[%d] from %s: %s", item.field, item.index, key, item.reason)

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


def _valid_prefix(group: list[rs_pb2.PublishRequest]) -> tuple[list[rs_pb2.PublishRequest], ValidationError | None]:
    """The batches before the first invalid one, and the error for that one (the stream ends with it)."""
    for index, batch in enumerate(group):
        if not batch.sender_id or batch.sequence == 0:
            return group[:index], ValidationError("invalid_batch", "sender_id must be set and sequence must be >= 1")
    return group, None


def _responses(
    group: list[rs_pb2.PublishRequest],
    fresh: list[rs_pb2.PublishRequest],
    rejections: list[Sequence[rs_pb2.ItemRejection]],
    accepted: OrderedDict[tuple[str, int], int],
) -> list[rs_pb2.PublishResponse]:
    """Per batch of `group`: its own sequence and rejections if it was new, else the sender's highest."""
    by_batch = {id(batch): rejected for batch, rejected in zip(fresh, rejections, strict=True)}
    responses = []
    for batch in group:
        rejected = by_batch.get(id(batch))
        if rejected is not None:
            responses.append(rs_pb2.PublishResponse(acknowledged_sequence=batch.sequence, rejections=rejected))
        else:
            key = (batch.sender_id, batch.sender_epoch)
            responses.append(rs_pb2.PublishResponse(acknowledged_sequence=accepted.get(key, batch.sequence)))
    return responses


class _ReadAhead:
    """Reads one stream's batches in an owned task, at most `limit` read and not yet released.

    Overflow policy: none is needed; when `limit` batches are held the reader waits (backpressure through
    gRPC flow control). The end of the stream or a read error is delivered after the batches before it.
    """

    def __init__(self, requests: AsyncIterator[rs_pb2.PublishRequest], limit: int, stats: PublishStats) -> None:
        self._requests = requests
        self._stats = stats
        self._limit = limit
        self._room = asyncio.Semaphore(limit)
        self._ready: asyncio.Queue[rs_pb2.PublishRequest | BaseException | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._read(), name="publish-read-ahead")

    async def _read(self) -> None:
        try:
            while True:
                await self._room.acquire()
                batch = await anext(self._requests, None)
                self._ready.put_nowait(batch)
                if batch is None:
                    return
                self._stats.batches_read += 1
        except Exception as exc:  # the handler raises it after the batches read before it
            self._ready.put_nowait(exc)

    async def next_group(self) -> list[rs_pb2.PublishRequest]:
        """The next batches (at least one, up to `limit`); empty at the end of the stream."""
        first = await self._ready.get()
        group: list[rs_pb2.PublishRequest] = []
        item: rs_pb2.PublishRequest | BaseException | None = first
        while True:
            if item is None:
                self._ready.put_nowait(None)  # the next call ends the stream
                return group
            if isinstance(item, BaseException):
                if group:
                    self._ready.put_nowait(item)
                    return group
                raise item
            group.append(item)
            if self._ready.empty():
                return group
            item = self._ready.get_nowait()

    def release(self, count: int) -> None:
        """`count` batches were acknowledged: the reader may read as many more."""
        for _ in range(count):
            self._room.release()

    async def close(self) -> None:
        """Stop reading (the stream ended or failed)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

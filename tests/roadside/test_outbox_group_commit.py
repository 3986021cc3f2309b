"""Group commit: inbound batches read ahead are committed in one outbox transaction, then acknowledged.

Unit level: `Outbox.append_many` stores every batch's rows and ledger entry together, or nothing. Servicer
level, over a real gRPC stream: batches the servicer read while a commit was running go into one commit
(one `append_many` of the durable uplink's outbox) and are acknowledged only after it; a failed group
commit acknowledges and remembers none of its batches, so the sender's resend is accepted; a failed accept
keeps the batches before it in the group and drops its own staged write.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from grpc import aio
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from roadlink.wire.publish_server import BatchSink, PublishServicer, current_commit_group
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from roadside.batch_payload import encode_items
from roadside.durable_uplink import DurableUplink, OutboxLedger
from roadside.forwarding import ForwardingSink
from roadside.outbox import Outbox, OutboxFull, OutboxRow

WAIT_S = 30.0
SENDER = "gw-1"
_T = TypeVar("_T")


def _rows(first: int, items: int) -> list[OutboxRow]:
    """One safety row of `items` vehicle states with distinct ids."""
    batch = rs_pb2.PublishRequest()
    for index in range(first, first + items):
        batch.vehicle_states.add(temporary_id=index.to_bytes(4, "big"))
    serialized = [state.SerializeToString() for state in batch.vehicle_states]
    return [OutboxRow("vehicle_states", True, items, encode_items("vehicle_states", serialized))]


def _batch(sequence: int, items: int = 3, *, sender_id: str = SENDER) -> rs_pb2.PublishRequest:
    request = rs_pb2.PublishRequest(sender_id=sender_id, sender_epoch=1, sequence=sequence)
    for index in range(items):
        request.vehicle_states.add(temporary_id=(sequence * 1000 + index).to_bytes(4, "big"))
    return request


# ---- Outbox.append_many ------------------------------------------------------------------------------


def test_append_many_stores_every_batch_and_its_ledger_entry_in_one_go(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, capacity_items=100)
    outbox.append_many(
        [
            (_rows(0, 2), (SENDER, 1, 7)),
            (_rows(2, 3), ("gw-2", 4, 1)),
            (_rows(5, 1), (SENDER, 1, 8)),
        ]
    )
    assert outbox.accepted_sequences() == {(SENDER, 1): 8, ("gw-2", 4): 1}
    assert outbox.pending == 6
    outbox.close()

    reopened = Outbox(path, capacity_items=100)
    assert reopened.accepted_sequences() == {(SENDER, 1): 8, ("gw-2", 4): 1}
    assert (reopened.pending, reopened.depth["vehicle_states"].rows) == (6, 3)
    reopened.close()


def _refused_for_room(outbox: Outbox) -> None:
    """Safety messages over twice the capacity (10): the group does not fit."""
    outbox.append_many([(_rows(10, 9), (SENDER, 1, 2)), (_rows(19, 9), (SENDER, 1, 3))])


def _refused_by_the_database(outbox: Outbox) -> None:
    """The last batch's row breaks a NOT NULL constraint after the ledger and the first rows were written."""
    broken = OutboxRow("vehicle_states", True, 1, None)  # type: ignore[arg-type]  # a payload the schema refuses
    outbox.append_many([(_rows(10, 1), (SENDER, 1, 2)), ([broken], (SENDER, 1, 3))])


@pytest.mark.parametrize("refuse", [_refused_for_room, _refused_by_the_database], ids=["outbox-full", "db-error"])
def test_append_many_that_fails_stores_no_row_and_no_ledger_entry(
    tmp_path: Path, refuse: Callable[[Outbox], None]
) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, capacity_items=10)
    outbox.append(_rows(0, 4), accepted=(SENDER, 1, 1))

    with pytest.raises((OutboxFull, sqlite3.IntegrityError)):
        refuse(outbox)

    assert outbox.accepted_sequences() == {(SENDER, 1): 1}
    assert outbox.pending == 4
    outbox.close()
    reopened = Outbox(path, capacity_items=10)
    assert reopened.accepted_sequences() == {(SENDER, 1): 1}
    assert (reopened.pending, reopened.depth["vehicle_states"].rows) == (4, 1)
    reopened.close()


# ---- the servicer's group commit over gRPC -------------------------------------------------------------


class GateSink:
    """Holds the accept of batch `hold_sequence` until `opened` is set, then passes every batch on."""

    def __init__(self, inner: BatchSink, hold_sequence: int = 1) -> None:
        self.inner = inner
        self.hold_sequence = hold_sequence
        self.opened = asyncio.Event()

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        if batch.sequence == self.hold_sequence and not self.opened.is_set():
            async with asyncio.timeout(WAIT_S):
                await self.opened.wait()
        return await self.inner.accept(batch)


class FailingWriterSink:
    """Stages each batch's sequence in the servicer's commit group; `write_group` call `fail_call` fails."""

    def __init__(self, fail_call: int | None = None, fail_accept: int | None = None) -> None:
        self.fail_call = fail_call
        self.fail_accept = fail_accept  # this sequence's accept raises once, after staging it
        self.calls = 0
        self.committed: list[list[int]] = []

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        group = current_commit_group()
        assert group is not None
        group.stage(self, batch.sequence)
        if batch.sequence == self.fail_accept:
            self.fail_accept = None
            raise RuntimeError("sink stuck")
        return ()

    async def write_group(self, items: Sequence[object]) -> None:
        self.calls += 1
        if self.calls == self.fail_call:
            raise RuntimeError("disk gone")
        self.committed.append([item for item in items if isinstance(item, int)])


def _counted(calls: list[int], method: Callable[..., _T]) -> Callable[..., _T]:
    """`method`, appending the number of entries of each call to `calls` (an observer, not a fake)."""

    @functools.wraps(method)
    def counted(entries: Sequence[Any]) -> _T:
        calls.append(len(entries))
        return method(entries)

    return counted


@contextlib.asynccontextmanager
async def serving(servicer: PublishServicer) -> AsyncIterator[RunningServer]:
    binding = ServiceBinding(servicer, rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    try:
        yield server
    finally:
        await server.stop(grace_s=0)


@contextlib.asynccontextmanager
async def publish_call(port: int) -> AsyncIterator[aio.StreamStreamCall[Any, Any]]:
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = rs_grpc.RoadsideServiceStub(channel).Publish()
        try:
            yield call
        finally:
            call.cancel()


async def _write_while_held(call: aio.StreamStreamCall[Any, Any], servicer: PublishServicer, gate: GateSink) -> None:
    """Write batches 1-5 while batch 1 is held in its accept, wait until the servicer read them all, open."""
    async with asyncio.timeout(WAIT_S):
        for sequence in range(1, 6):
            await call.write(_batch(sequence))
        while servicer.stats.batches_read < 5:
            await asyncio.sleep(0.005)
    gate.opened.set()


async def _acks(call: aio.StreamStreamCall[Any, Any], count: int) -> list[int]:
    async with asyncio.timeout(WAIT_S):
        return [(await call.read()).acknowledged_sequence for _ in range(count)]


async def test_batches_read_ahead_are_committed_in_one_outbox_transaction_then_acked(tmp_path: Path) -> None:
    uplink = DurableUplink("127.0.0.1:1", "rsu-1", tmp_path / "outbox.db")  # never run: no cloud needed
    appends: list[int] = []
    uplink.outbox.append_many = _counted(appends, uplink.outbox.append_many)  # type: ignore[method-assign]
    gate = GateSink(ForwardingSink(uplink))
    servicer = PublishServicer(gate, ledger=OutboxLedger(uplink.outbox), read_ahead=8)
    try:
        async with serving(servicer) as server, publish_call(server.port) as call:
            await _write_while_held(call, servicer, gate)
            assert await _acks(call, 5) == [1, 2, 3, 4, 5]
        # Batch 1 alone (it was being accepted when the others arrived), then 2-5 in one transaction.
        assert appends == [1, 4]
        assert servicer.stats.groups_committed == 2
        assert uplink.outbox.accepted_sequences() == {(SENDER, 1): 5}
        assert uplink.outbox.pending == 15
    finally:
        await uplink.close()


async def test_a_failed_group_commit_acknowledges_and_remembers_none_of_its_batches() -> None:
    writer = FailingWriterSink(fail_call=2)  # batch 1 commits alone; the group of 2-5 fails
    gate = GateSink(writer)
    servicer = PublishServicer(gate, read_ahead=8)
    async with serving(servicer) as server:
        async with publish_call(server.port) as call:
            await _write_while_held(call, servicer, gate)
            assert await _acks(call, 1) == [1]
            with pytest.raises(aio.AioRpcError) as failed:
                await _acks(call, 1)
        assert failed.value.code() == grpc.StatusCode.UNKNOWN
        assert writer.committed == [[1]]

        async with publish_call(server.port) as call:  # the sender resends what was not acknowledged
            for sequence in range(2, 6):
                await call.write(_batch(sequence))
            assert await _acks(call, 4) == [2, 3, 4, 5]
    assert [sequence for group in writer.committed for sequence in group] == [1, 2, 3, 4, 5]
    assert servicer.stats.batches_duplicate == 0
    assert servicer.stats.batches_accepted == 5


async def test_a_failed_accept_commits_and_acks_the_batches_before_it_in_its_group_only() -> None:
    writer = FailingWriterSink(fail_accept=4)  # the group of 2-5 breaks at 4
    gate = GateSink(writer)
    servicer = PublishServicer(gate, read_ahead=8)
    async with serving(servicer) as server:
        async with publish_call(server.port) as call:
            await _write_while_held(call, servicer, gate)
            assert await _acks(call, 3) == [1, 2, 3]
            with pytest.raises(aio.AioRpcError) as failed:
                await _acks(call, 1)
        assert failed.value.code() == grpc.StatusCode.UNKNOWN
        assert writer.committed == [[1], [2, 3]]  # batch 4's staged write was discarded with its failure

        async with publish_call(server.port) as call:  # the sender resends from the first unacknowledged batch
            for sequence in range(4, 6):
                await call.write(_batch(sequence))
            assert await _acks(call, 2) == [4, 5]
    assert [sequence for group in writer.committed for sequence in group] == [1, 2, 3, 4, 5]
    assert (servicer.stats.batches_accepted, servicer.stats.batches_duplicate) == (5, 0)

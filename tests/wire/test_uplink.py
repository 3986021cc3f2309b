"""BatchUplink and PublishServicer against each other over real grpc.aio servers on 127.0.0.1.

Messages are VehicleState protos numbered by `message_count` (and `temporary_id`), so a recording sink can
tell order, losses and duplicates apart. No timing is asserted: only counts, contents and order.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pytest
from grpc import aio
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.wire.backoff import Backoff
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink

pytestmark = pytest.mark.integration

FIELD = "vehicle_states"
FAST_BACKOFF = Backoff(initial_s=0.01, max_s=0.2)
WAIT_S = 20.0


def state(number: int) -> vehicle_pb2.VehicleState:
    """Message number `number`: its message_count and its 4-byte temporary_id both carry the number."""
    return vehicle_pb2.VehicleState(temporary_id=number.to_bytes(4, "big"), message_count=number)


def batch(sequence: int, *numbers: int, sender_id: str = "sender-a", epoch: int = 1) -> rs_pb2.PublishRequest:
    return rs_pb2.PublishRequest(
        sender_id=sender_id,
        sender_epoch=epoch,
        sequence=sequence,
        vehicle_states=[state(n) for n in numbers],
    )


class RecordingSink:
    """A BatchSink that keeps every batch it accepts; rejects the message numbered `reject_number`, if any.

    `accept` has no await point, so a batch is recorded exactly when the servicer counts it as accepted.
    """

    def __init__(self, reject_number: int | None = None) -> None:
        self.batches: list[rs_pb2.PublishRequest] = []
        self._reject_number = reject_number

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.batches.append(batch)
        return [
            rs_pb2.ItemRejection(sequence=batch.sequence, field=FIELD, index=index, reason="number is rejected")
            for index, item in enumerate(batch.vehicle_states)
            if item.message_count == self._reject_number
        ]

    @property
    def numbers(self) -> list[int]:
        """Message numbers in the order the sink received them, duplicates included."""
        return [item.message_count for b in self.batches for item in b.vehicle_states]

    @property
    def sequences(self) -> list[int]:
        return [b.sequence for b in self.batches]


def free_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def serve(servicer: PublishServicer, port: int = 0) -> RunningServer:
    binding = ServiceBinding(servicer, rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    return await start_server([binding], f"127.0.0.1:{port}")


@contextlib.asynccontextmanager
async def serving(servicer: PublishServicer, port: int = 0) -> AsyncIterator[RunningServer]:
    server = await serve(servicer, port)
    try:
        yield server
    finally:
        await server.stop(grace_s=0)


@contextlib.asynccontextmanager
async def running(uplink: BatchUplink) -> AsyncIterator[asyncio.Task[None]]:
    """Runs the uplink's `run()` as a task owned by this block."""
    task = asyncio.create_task(uplink.run(), name="test-uplink")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_until_received(sink: RecordingSink, count: int) -> None:
    async with asyncio.timeout(WAIT_S):
        while len(sink.numbers) < count:
            await asyncio.sleep(0.005)


async def test_5000_messages_arrive_once_in_order_in_bounded_batches() -> None:
    sink = RecordingSink()
    servicer = PublishServicer(sink)
    async with serving(servicer) as server:
        uplink = BatchUplink(f"127.0.0.1:{server.port}", "sender-a", max_batch_items=64, backoff=FAST_BACKOFF)
        async with running(uplink):
            for number in range(5000):
                await uplink.send(FIELD, state(number), timeout_s=WAIT_S)
            assert await uplink.flush(WAIT_S) is True

    assert sink.numbers == list(range(5000))
    sizes = [len(b.vehicle_states) for b in sink.batches]
    assert max(sizes) <= 64
    assert sum(sizes) == 5000
    assert sink.sequences == list(range(1, len(sink.batches) + 1))
    assert {(b.sender_id, b.sender_epoch) for b in sink.batches} == {("sender-a", sink.batches[0].sender_epoch)}
    assert (uplink.stats.items_queued, uplink.stats.items_acked, uplink.stats.items_rejected) == (5000, 5000, 0)
    assert uplink.pending_items == 0
    assert (servicer.stats.batches_accepted, servicer.stats.batches_duplicate) == (len(sink.batches), 0)
    assert servicer.stats.items_accepted == 5000


class ReplyHoldingProxy:
    """A loopback TCP proxy to a gRPC server that can hold back everything the server sends.

    While `holding`, the server's bytes (acks included) are kept instead of forwarded, so batches can be
    accepted by the node without the sender learning it. `cut()` closes every connection and discards what
    was held, like a network failure. The proxy's listening port stays open throughout.
    """

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()
        self.holding = False

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def cut(self) -> None:
        self.holding = False
        for writer in self._writers:
            writer.close()
        for pump in self._pumps:
            pump.cancel()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _connect(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError:
            client_writer.close()
            return
        self._writers.add(upstream_writer)
        for reader, writer, holdable in (
            (client_reader, upstream_writer, False),
            (upstream_reader, client_writer, True),
        ):
            pump = asyncio.create_task(self._pump(reader, writer, holdable))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, holdable: bool) -> None:
        try:
            while chunk := await reader.read(65536):
                if not (holdable and self.holding):
                    writer.write(chunk)
                    await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


@pytest.mark.parametrize("keep_servicer", [False, True], ids=["fresh-servicer", "same-servicer"])
async def test_server_restart_mid_stream_loses_nothing(keep_servicer: bool) -> None:
    """2000 messages acked, 500 accepted but their acks lost, node restarted, 2500 more sent meanwhile.

    The restarted node is on the same port, with either the same PublishServicer (it remembers what it
    accepted, so the 500 resent messages are dropped) or a fresh one (it cannot know: they arrive twice).
    """
    first_sink = RecordingSink()
    first = PublishServicer(first_sink)
    server = await serve(first)
    port = server.port
    second_sink = first_sink if keep_servicer else RecordingSink()
    second = first if keep_servicer else PublishServicer(second_sink)
    proxy = ReplyHoldingProxy(port)
    uplink = BatchUplink(f"127.0.0.1:{await proxy.start()}", "sender-a", max_batch_items=50, backoff=FAST_BACKOFF)
    try:
        async with running(uplink):
            await uplink.send_many(FIELD, [state(n) for n in range(2000)], timeout_s=WAIT_S)
            assert await uplink.flush(WAIT_S) is True
            proxy.holding = True
            await uplink.send_many(FIELD, [state(n) for n in range(2000, 2500)], timeout_s=WAIT_S)
            await wait_until_received(first_sink, 2500)
            await server.stop(grace_s=0)
            proxy.cut()
            # The node is gone: further sends buffer instead of failing, and nothing is acked.
            await uplink.send_many(FIELD, [state(n) for n in range(2500, 5000)], timeout_s=WAIT_S)
            assert uplink.pending_items == 3000
            server = await serve(second, port)
            assert await uplink.flush(WAIT_S) is True
    finally:
        await server.stop(grace_s=0)
        await proxy.close()

    held_batches = {b.sequence for b in first_sink.batches if 2000 <= b.vehicle_states[0].message_count < 2500}
    received = first_sink.numbers + ([] if keep_servicer else second_sink.numbers)
    duplicates = len(received) - len(set(received))
    assert set(received) == set(range(5000)), "a message was lost"
    assert uplink.stats.items_acked == 5000
    assert uplink.stats.reconnects >= 1
    if keep_servicer:
        assert duplicates == 0
        assert received == list(range(5000))
        assert first.stats.items_accepted == 5000
        assert first.stats.batches_duplicate == len(held_batches)
    else:
        assert duplicates == 500
        assert second_sink.numbers == list(range(2000, 5000))
        assert second.stats.batches_duplicate == 0
    assert uplink.stats.batches_resent >= len(held_batches) >= 10


class ClosingServicer(rs_grpc.RoadsideServiceServicer):
    """A node that is shutting down: it ends every Publish stream with UNAVAILABLE at the first batch."""

    def __init__(self) -> None:
        self.streams = 0

    async def Publish(  # noqa: N802 - generated method name
        self, request_iterator: AsyncIterator[rs_pb2.PublishRequest], context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[rs_pb2.PublishResponse]:
        self.streams += 1
        async for _ in request_iterator:
            raise ServiceError(StatusCode.UNAVAILABLE, "node is shutting down")
        yield rs_pb2.PublishResponse()


async def test_uplink_survives_streams_closed_while_writing() -> None:
    """Regression: a write after the node ended the call raised InvalidStateError and killed `run()`.

    The race needs the stream to end while the writer is busy, so the node ends 200 streams in a row.
    """
    closing = ClosingServicer()
    binding = ServiceBinding(closing, rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    port = server.port
    uplink = BatchUplink(f"127.0.0.1:{port}", "sender-a", max_batch_items=1, backoff=Backoff(0.001, 0.01))
    await uplink.send_many(FIELD, [state(n) for n in range(500)])
    sink = RecordingSink()
    try:
        async with running(uplink) as task:
            async with asyncio.timeout(WAIT_S):
                while closing.streams < 200 and not task.done():
                    await asyncio.sleep(0.005)
            assert not task.done(), f"run() ended: {task.exception()!r}"
            await server.stop(grace_s=0)
            server = await serve(PublishServicer(sink), port)
            assert await uplink.flush(WAIT_S) is True
    finally:
        await server.stop(grace_s=0)
    assert sink.numbers == list(range(500))


async def test_full_buffer_pushes_back_without_dropping() -> None:
    port = free_port()
    uplink = BatchUplink(f"127.0.0.1:{port}", "sender-a", capacity_items=100, backoff=FAST_BACKOFF)
    sink = RecordingSink()
    async with running(uplink):
        for number in range(100):
            await uplink.send(FIELD, state(number), timeout_s=WAIT_S)
        with pytest.raises(TimeoutError):
            await uplink.send(FIELD, state(100), timeout_s=0.2)
        assert uplink.pending_items == 100
        assert uplink.stats.items_queued == 100
        async with serving(PublishServicer(sink), port):
            assert await uplink.flush(WAIT_S) is True
    assert sink.numbers == list(range(100))
    assert uplink.stats.items_acked == 100


@contextlib.asynccontextmanager
async def publish_call(port: int) -> AsyncIterator[aio.StreamStreamCall]:
    """A hand-driven Publish stream through the generated stub."""
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = rs_grpc.RoadsideServiceStub(channel).Publish()
        try:
            yield call
        finally:
            call.cancel()


async def exchange(call: aio.StreamStreamCall, request: rs_pb2.PublishRequest) -> rs_pb2.PublishResponse:
    async with asyncio.timeout(WAIT_S):
        await call.write(request)
        response: rs_pb2.PublishResponse = await call.read()
    return response


async def test_servicer_drops_repeated_sequences_and_acks_cumulatively() -> None:
    sink = RecordingSink()
    servicer = PublishServicer(sink)
    async with serving(servicer) as server, publish_call(server.port) as call:
        acks = [(await exchange(call, batch(seq, seq))).acknowledged_sequence for seq in (1, 2, 2, 3, 1)]
        new_epoch_ack = (await exchange(call, batch(1, 10, epoch=2))).acknowledged_sequence
        other_sender_ack = (await exchange(call, batch(1, 20, sender_id="sender-b"))).acknowledged_sequence
        await call.done_writing()
        async with asyncio.timeout(WAIT_S):
            assert await call.code() == grpc.StatusCode.OK
    assert acks == [1, 2, 2, 3, 3]
    assert (new_epoch_ack, other_sender_ack) == (1, 1)
    keys = [(b.sender_id, b.sender_epoch, b.sequence) for b in sink.batches]
    assert keys == [("sender-a", 1, 1), ("sender-a", 1, 2), ("sender-a", 1, 3), ("sender-a", 2, 1), ("sender-b", 1, 1)]
    assert sink.numbers == [1, 2, 3, 10, 20]
    assert (servicer.stats.batches_accepted, servicer.stats.batches_duplicate) == (5, 2)


@pytest.mark.parametrize(
    "request_",
    [batch(0, 1), batch(1, 1, sender_id="")],
    ids=["sequence-0", "empty-sender-id"],
)
async def test_servicer_refuses_invalid_batch_with_invalid_argument(request_: rs_pb2.PublishRequest) -> None:
    sink = RecordingSink()
    async with serving(PublishServicer(sink)) as server, publish_call(server.port) as call:
        with pytest.raises(aio.AioRpcError) as raised:
            await exchange(call, request_)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sink.batches == []


async def test_rejected_item_is_listed_and_counted() -> None:
    sink = RecordingSink(reject_number=1)
    servicer = PublishServicer(sink)
    async with serving(servicer) as server:
        async with publish_call(server.port) as call:
            response = await exchange(call, batch(1, 0, 1, 2))
        assert list(response.rejections) == [
            rs_pb2.ItemRejection(sequence=1, field=FIELD, index=1, reason="number is rejected")
        ]
        assert (servicer.stats.items_accepted, servicer.stats.items_rejected) == (2, 1)

        uplink = BatchUplink(f"127.0.0.1:{server.port}", "sender-b", backoff=FAST_BACKOFF)
        async with running(uplink):
            await uplink.send_many(FIELD, [state(n) for n in range(3)], timeout_s=WAIT_S)
            assert await uplink.flush(WAIT_S) is True
    assert (uplink.stats.items_acked, uplink.stats.items_rejected) == (3, 1)
    assert (servicer.stats.items_accepted, servicer.stats.items_rejected) == (4, 2)

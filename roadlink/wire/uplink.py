"""Client side of `RoadsideService.Publish`: micro-batched, sequenced, acknowledged and reconnecting.

The gateway uses it towards the roadside node and the roadside node towards the cloud. Messages are
collected into batches (at most `max_batch_items`, waiting at most `linger_s` for a batch to fill), each
batch gets the next sequence number, and a batch is forgotten only when the node acknowledges it. After a
reconnect every unacknowledged batch is resent in order; the node drops the ones it already has. A
message's `on_done` callback runs once the node has acknowledged it (or once it was dropped on purpose),
which is when the gateway acknowledges the MQTT message it came from.

Batches go out either as messages or as ready serialized bytes (`OutboundBatch`): the durable roadside
uplink assembles each batch from stored wire bytes and never re-encodes its items.

Transport security: with `ca_file` the channel is TLS, verifying the node's certificate against that CA
(PEM); `client_cert_file` + `client_key_file` add a client certificate for servers that require one (mTLS).
Without `ca_file` the channel is plaintext (loopback and trusted networks only).

Priority: safety messages (vehicle states, signal timing) are taken into batches before bulk messages.

Buffer bound and overflow policy: at most `capacity_items` messages are held (queued plus unacknowledged).
When full, a new message replaces the oldest queued message of a `droppable_fields` field, if one is
queued (counted in `stats.items_dropped`); otherwise `send` waits (backpressure to the caller: the
gateway stops reading MQTT), raising TimeoutError after `timeout_s`. Nothing else is ever dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import grpc
from google.protobuf.message import Message
from grpc import aio
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ConfigurationError
from roadlink.task_cancel import cancel_and_wait
from roadlink.wire.auth import bearer_metadata
from roadlink.wire.backoff import Backoff

__all__ = [
    "BATCH_FIELDS",
    "SAFETY_FIELDS",
    "BatchUplink",
    "OnDone",
    "OutboundBatch",
    "UplinkStats",
    "channel_credentials",
]

_log = logging.getLogger(__name__)

BATCH_FIELDS = frozenset({"frames", "vehicle_states", "signal_timings", "maps", "road_side_infos", "statuses"})
SAFETY_FIELDS = frozenset({"vehicle_states", "signal_timings"})
OnDone: TypeAlias = Callable[[], None]
_Entry: TypeAlias = tuple[str, Message, OnDone | None]
_CONNECT_TIMEOUT_S = 5.0
OutboundBatch: TypeAlias = rs_pb2.PublishRequest | bytes
_PublishCall: TypeAlias = aio.StreamStreamCall[OutboundBatch, rs_pb2.PublishResponse]
_PUBLISH_METHOD = f"/{rs_pb2.DESCRIPTOR.services_by_name['RoadsideService'].full_name}/Publish"
AckObserver: TypeAlias = Callable[[float], None]


@dataclass(slots=True)
class UplinkStats:
    """Counters of one uplink."""

    items_queued: int = 0
    items_acked: int = 0
    items_rejected: int = 0
    items_dropped: int = 0
    batches_sent: int = 0
    batches_resent: int = 0
    reconnects: int = 0
    connected: bool = False
    dropped_by_field: dict[str, int] = field(default_factory=dict)  # items_dropped split by batch field


class BatchUplink:
    """A reconnecting, batching Publish client. Run `run()` as a task owned by the caller."""

    def __init__(
        self,
        target: str,
        sender_id: str,
        *,
        max_batch_items: int = 256,
        linger_s: float = 0.002,
        capacity_items: int = 50_000,
        backoff: Backoff | None = None,
        sender_epoch: int | None = None,
        droppable_fields: Iterable[str] = (),
        access_token: str | None = None,
        ca_file: Path | None = None,
        client_cert_file: Path | None = None,
        client_key_file: Path | None = None,
    ) -> None:
        self._target = target
        self._credentials = channel_credentials(ca_file, client_cert_file, client_key_file)
        self._sender_id = sender_id
        self._epoch = sender_epoch if sender_epoch is not None else time.time_ns() // 1_000_000
        self._max_batch = max_batch_items
        self._linger_s = linger_s
        self._capacity = capacity_items
        self._backoff = backoff or Backoff()
        self._droppable = frozenset(droppable_fields)
        self._metadata = bearer_metadata(access_token)
        self._safety: deque[_Entry] = deque()
        self._bulk: deque[_Entry] = deque()
        self._unacked: deque[tuple[rs_pb2.PublishRequest, int, list[OnDone]]] = deque()
        self._unacked_items = 0
        self._next_sequence = 1
        self._changed = asyncio.Condition()
        self._items_ready = asyncio.Event()  # set when a queue gets a message; the writer waits on it
        self._space_waiters = 0  # senders blocked on a full buffer; the fast path must not overtake them
        # (sequence, monotonic write time) of batches written in this session and not yet acked; at most
        # one entry per batch the node holds unacknowledged, so it is bounded by the buffer.
        self._written: deque[tuple[int, float]] = deque()
        self.ack_observer: AckObserver | None = None  # gets each batch's write-to-ack time, s
        self.stats = UplinkStats()

    @property
    def pending_items(self) -> int:
        """Messages queued or sent but not yet acknowledged."""
        return len(self._safety) + len(self._bulk) + self._unacked_items

    @property
    def unacked_batches(self) -> int:
        """Batches written but not yet acknowledged by the node."""
        return len(self._unacked)

    @property
    def oldest_unacked_age_ms(self) -> int:
        """How long the oldest unacknowledged batch has waited for its ack, ms (0 when none): the uplink lag."""
        if not self._unacked:
            return 0
        return max(0, now_unix_ms() - self._unacked[0][0].sent_time_unix_ms)

    def held_by_field(self) -> dict[str, int]:
        """Messages held per batch field: queued plus written and not yet acknowledged. Call on the event loop."""
        held = dict.fromkeys(BATCH_FIELDS, 0)
        for queue in (self._safety, self._bulk):
            for name, _, _ in queue:
                held[name] += 1
        for batch, _, _ in self._unacked:
            for name in BATCH_FIELDS:
                held[name] += len(getattr(batch, name))
        return held

    async def send(
        self, field: str, message: Message, *, timeout_s: float | None = None, on_done: OnDone | None = None
    ) -> None:
        """Queue one message for the PublishRequest field `field`; waits while the buffer is full.

        `on_done` runs (on the event loop) when the node has acknowledged the message, or when the message
        was dropped under the droppable-overflow policy.
        """
        if field not in BATCH_FIELDS:
            raise ValueError(f"unknown batch field {field!r}")
        if self.pending_items < self._capacity and not self._space_waiters:
            # Fast path: no lock, no timeout, no notify. Nothing here awaits, so it is atomic on the loop.
            queue = self._safety if field in SAFETY_FIELDS else self._bulk
            queue.append((field, message, on_done))
            self.stats.items_queued += 1
            self._items_ready.set()
            return
        await self.send_many(field, (message,), timeout_s=timeout_s, on_done=on_done)

    async def send_many(
        self,
        field: str,
        messages: Iterable[Message],
        *,
        timeout_s: float | None = None,
        on_done: OnDone | None = None,
    ) -> None:
        """Queue messages for `field`, waiting for space as needed (TimeoutError after `timeout_s`).

        `on_done`, if given, belongs to the last message: it runs once all of them are acknowledged.
        """
        if field not in BATCH_FIELDS:
            raise ValueError(f"unknown batch field {field!r}")
        batch = list(messages)
        queue = self._safety if field in SAFETY_FIELDS else self._bulk
        async with asyncio.timeout(timeout_s), self._changed:
            for index, message in enumerate(batch):
                if self.pending_items >= self._capacity and not self._drop_oldest(field):
                    self._space_waiters += 1
                    try:
                        await self._changed.wait_for(lambda: self.pending_items < self._capacity)
                    finally:
                        self._space_waiters -= 1
                queue.append((field, message, on_done if index == len(batch) - 1 else None))
                self.stats.items_queued += 1
                self._items_ready.set()
            self._changed.notify_all()

    def _drop_oldest(self, field: str) -> bool:
        """Drop the oldest queued droppable message to make room for one of `field` (any field: a safety
        message never waits behind droppable perception); False when nothing droppable is queued."""
        for index, entry in enumerate(self._bulk):
            if entry[0] in self._droppable:
                del self._bulk[index]
                self.stats.items_dropped += 1
                self.stats.dropped_by_field[entry[0]] = self.stats.dropped_by_field.get(entry[0], 0) + 1
                if entry[2] is not None:
                    entry[2]()
                return True
        return False

    async def flush(self, timeout_s: float) -> bool:
        """Wait until every queued message is acknowledged; False if `timeout_s` passed first."""
        try:
            async with asyncio.timeout(timeout_s), self._changed:
                await self._changed.wait_for(lambda: self.pending_items == 0)
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        """Connect, stream and reconnect with backoff until cancelled."""
        attempt = 0
        while True:
            try:
                await self._session()
                attempt = 0
            except (grpc.RpcError, TimeoutError, ConnectionError, asyncio.InvalidStateError) as exc:
                _log.warning("uplink to %s lost: %s", self._target, _describe(exc))
            finally:
                self.stats.connected = False
            self.stats.reconnects += 1
            await asyncio.sleep(self._backoff.delay_s(attempt))
            attempt += 1

    def _channel(self) -> aio.Channel:
        if self._credentials is None:
            return aio.insecure_channel(self._target)
        return aio.secure_channel(self._target, self._credentials)

    async def _session(self) -> None:
        async with self._channel() as channel:
            async with asyncio.timeout(_CONNECT_TIMEOUT_S):
                await channel.channel_ready()
            publish = channel.stream_stream(
                _PUBLISH_METHOD,
                request_serializer=_serialize,
                response_deserializer=rs_pb2.PublishResponse.FromString,
            )
            call: _PublishCall = publish(metadata=self._metadata)
            self.stats.connected = True
            writer = asyncio.create_task(self._write_loop(call), name="uplink-writer")
            try:
                await self._read_acks(call)
            finally:
                # Not `suppress(CancelledError): await writer`: that also swallows a cancellation of this
                # task arriving meanwhile, and the cancelled uplink then reconnects forever.
                await cancel_and_wait(writer, ignore=(grpc.RpcError, asyncio.InvalidStateError))
                call.cancel()

    async def _write_loop(self, call: _PublishCall) -> None:
        self._written.clear()
        for sequence, batch in await self._unacknowledged_batches():
            self._written.append((sequence, time.monotonic()))
            await call.write(batch)
            self.stats.batches_resent += 1
        while True:
            sequence, batch = await self._next_batch()
            self._written.append((sequence, time.monotonic()))
            await call.write(batch)
            self.stats.batches_sent += 1

    async def _next_batch(self) -> tuple[int, OutboundBatch]:
        """The next batch to write and its sequence number; waits until there is one."""
        while not (self._safety or self._bulk):
            self._items_ready.clear()
            await self._items_ready.wait()
        if len(self._safety) + len(self._bulk) < self._max_batch and self._linger_s > 0:
            await asyncio.sleep(self._linger_s)
        batch = self._take_batch()
        return batch.sequence, batch

    def _take_batch(self) -> rs_pb2.PublishRequest:
        batch = rs_pb2.PublishRequest(
            sender_id=self._sender_id,
            sender_epoch=self._epoch,
            sequence=self._next_sequence,
            sent_time_unix_ms=now_unix_ms(),
        )
        callbacks: list[OnDone] = []
        count = 0
        for queue in (self._safety, self._bulk):
            while queue and count < self._max_batch:
                field, message, on_done = queue.popleft()
                getattr(batch, field).append(message)
                count += 1
                if on_done is not None:
                    callbacks.append(on_done)
        self._next_sequence += 1
        self._unacked.append((batch, count, callbacks))
        self._unacked_items += count
        return batch

    async def _read_acks(self, call: _PublishCall) -> None:
        async for response in call:
            self._observe_ack(response.acknowledged_sequence)
            await self._on_ack(response)
        raise ConnectionError("node closed the publish stream")

    def _observe_ack(self, acknowledged_sequence: int) -> None:
        """Report the write-to-ack time of every batch the ack covers to `ack_observer`."""
        now = time.monotonic()
        while self._written and self._written[0][0] <= acknowledged_sequence:
            _, written_at = self._written.popleft()
            if self.ack_observer is not None:
                self.ack_observer(now - written_at)

    # The batch store: in memory here; roadside.durable_uplink overrides these three with a disk outbox.

    async def _unacknowledged_batches(self) -> list[tuple[int, OutboundBatch]]:
        """(sequence, batch) to resend, in order, when a session starts."""
        return [(batch.sequence, batch) for batch, _, _ in self._unacked]

    async def _on_ack(self, response: rs_pb2.PublishResponse) -> None:
        """Forget every batch the response acknowledges."""
        async with self._changed:
            self._acknowledge(response)
            self._changed.notify_all()

    def _acknowledge(self, response: rs_pb2.PublishResponse) -> None:
        while self._unacked and self._unacked[0][0].sequence <= response.acknowledged_sequence:
            _, count, callbacks = self._unacked.popleft()
            self._unacked_items -= count
            self.stats.items_acked += count
            for on_done in callbacks:
                on_done()
        self.stats.items_rejected += len(response.rejections)


def channel_credentials(
    ca_file: Path | None, client_cert_file: Path | None = None, client_key_file: Path | None = None
) -> grpc.ChannelCredentials | None:
    """TLS credentials from PEM files (None without `ca_file`); the client pair is for mTLS and optional."""
    if (client_cert_file is None) != (client_key_file is None):
        raise ConfigurationError("client_cert_file and client_key_file go together")
    if ca_file is None:
        if client_cert_file is not None:
            raise ConfigurationError("a client certificate needs ca_file (TLS)")
        return None
    try:
        root = ca_file.read_bytes()
        key = client_key_file.read_bytes() if client_key_file is not None else None
        chain = client_cert_file.read_bytes() if client_cert_file is not None else None
    except OSError as exc:
        raise ConfigurationError(f"cannot read TLS file: {exc}") from exc
    return grpc.ssl_channel_credentials(root_certificates=root, private_key=key, certificate_chain=chain)


def _serialize(batch: OutboundBatch) -> bytes:
    return batch if isinstance(batch, bytes) else batch.SerializeToString()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"

"""Peer processes of `bench.roadside`: each role runs in its own spawned process with its own event loop.

Roles (see `ROLES`), each driven by the parent through a pipe of `(command, *args)` tuples:

- `sink`: the far end of the uplink. A `start_server` + `PublishServicer` whose sink counts vehicle states and
  records, per batch, its receive wall time and the states' `time_unix_ms` (stamped by the sender when it
  sent them), so latency = receive time - stamp. The same process hosts the raw baseline server: a bare
  `grpc.aio.server` with a minimal `VehicleService.PublishState` (client stream, counts states) and a minimal
  `RoadsideService.Publish` (acks every request), no roadlink code.
- `roadside`: hosts one `RoadsideNode` at a time (`start_node` / `stop_node`), durable (state_dir in a temporary
  directory of the parent's) or in memory, forwarding to the sink. The outbox's methods are wrapped with
  timers (bench-side, the product is untouched) to show how busy its one disk thread is.
- `sender`: `BatchUplink` (256 per batch, default linger) sending VehicleStates one `send` at a time, each
  stamped with the wall time just before its `send`; also the raw baseline clients.
- `cloud`: a real `CloudNode` (in-memory picture) recording, per vehicle state its store receives, the receive
  wall time and the state's stamp.
- `sdk`: the OEM SDK (`roadlink.sdk.VehicleClient`) simulating many vehicles on one channel.

Every wait is bounded; a peer whose parent disappears sees EOF on its pipe and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import multiprocessing
import shutil
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol, TypeVar

import grpc
from grpc import aio
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.cloud.v1 import vehicle_service_pb2_grpc as vs_grpc
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2 as vh_pb2

from bench.uplink import AckServicer, measure_raw, vehicle_states
from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.spatial import Position
from roadlink.domain.vehicle import VehicleState
from roadlink.sdk import VehicleClient
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink
from roadside.durable_uplink import DurableUplink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

__all__ = ["ROLES", "Peer", "spawn_peers"]

FIELD = "vehicle_states"
BATCH_ITEMS = 256
# More pooled states than the sender's uplink may hold (capacity 50,000): a pooled state is copied into its
# batch before the pool wraps around and restamps it.
_POOL_STATES = 65_536
_DISTINCT_STATES = 1_000
_CONNECT_TIMEOUT_S = 5.0
_STOP_TIMEOUT_S = 5.0
_MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_T = TypeVar("_T")


# ---- process plumbing --------------------------------------------------------------------------------


class Role(Protocol):
    """What a peer process runs: `start` (its answer is the peer's ready message), commands, `close`."""

    async def start(self) -> object: ...

    async def handle(self, command: str, *args: Any) -> object: ...

    async def close(self) -> None: ...


def peer_main(conn: Connection, role: str, args: tuple[Any, ...]) -> None:
    """Process entry point: run role `role` until the parent says stop or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and stops us
    asyncio.run(_run_peer(conn, ROLES[role](*args)))


async def _run_peer(conn: Connection, role: Role) -> None:
    try:
        info = await role.start()
    except Exception as exc:  # the parent raises it with context
        conn.send(RuntimeError(f"start failed: {exc!r}"))
        await role.close()
        return
    conn.send(info)
    try:
        while True:
            message = await asyncio.to_thread(_receive_command, conn)
            if message is None or message[0] == "stop":
                return
            try:
                reply = await role.handle(message[0], *message[1:])
            except Exception as exc:
                reply = RuntimeError(f"{message[0]} failed: {exc!r}")
            conn.send(reply)
    finally:
        await role.close()


def _receive_command(conn: Connection) -> tuple[Any, ...] | None:
    try:
        message: tuple[Any, ...] = conn.recv()
    except (EOFError, OSError):
        return None
    return message


class Peer:
    """The parent's handle on one peer process."""

    def __init__(self, name: str, process: BaseProcess, conn: Connection) -> None:
        self.name = name
        self.process = process
        self.conn = conn
        self.info: Any = None

    def call(self, command: str, *args: object, timeout_s: float) -> Any:
        """Send a command and return its answer; TimeoutError after `timeout_s`, RuntimeError if it failed."""
        self.conn.send((command, *args))
        return self.receive(timeout_s, command)

    def receive(self, timeout_s: float, what: str) -> Any:
        """The next message from the peer; an exception it sent back is raised here."""
        if not self.conn.poll(timeout_s):
            raise TimeoutError(f"{self.name}: no answer to {what!r} within {timeout_s} s")
        try:
            reply = self.conn.recv()
        except EOFError:
            raise RuntimeError(
                f"{self.name}: exited while handling {what!r} (exit code {self.process.exitcode})"
            ) from None
        if isinstance(reply, BaseException):
            raise RuntimeError(f"{self.name}: {what!r}: {reply}") from reply
        return reply

    def stop(self) -> None:
        """Ask the peer to stop; terminate, then kill it if it does not exit in time."""
        with contextlib.suppress(OSError):
            self.conn.send(("stop",))
        self.conn.close()
        for end in (None, self.process.terminate, self.process.kill):
            if end is not None and self.process.is_alive():
                end()
            self.process.join(_STOP_TIMEOUT_S)
            if not self.process.is_alive():
                return


@contextlib.contextmanager
def spawn_peers(specs: Sequence[tuple[str, tuple[Any, ...]]], start_timeout_s: float) -> Iterator[list[Peer]]:
    """Start one spawned process per (role, args), all at once; yields them ready, always stops them."""
    context = multiprocessing.get_context("spawn")
    peers: list[Peer] = []
    try:
        for role, args in specs:
            parent_conn, child_conn = context.Pipe()
            name = f"bench-roadside-{role}"
            process = context.Process(target=peer_main, args=(child_conn, role, args), name=name, daemon=True)
            process.start()
            child_conn.close()
            peers.append(Peer(name, process, parent_conn))
        deadline = time.monotonic() + start_timeout_s
        for peer in peers:
            peer.info = peer.receive(max(0.1, deadline - time.monotonic()), "start")
        yield peers
    finally:
        for peer in reversed(peers):
            peer.stop()


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}
    ordered = sorted(values)

    def pick(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": ordered[-1]}


# ---- sink --------------------------------------------------------------------------------------------


class LatencySink:
    """A `BatchSink` that counts vehicle states (not the node's own heartbeats) and keeps (receive wall ms,
    stamps) per batch."""

    def __init__(self) -> None:
        self.items = 0
        self.batches: list[tuple[float, list[int]]] = []

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        received_ms = time.time_ns() / 1e6
        self.batches.append((received_ms, [state.time_unix_ms for state in batch.vehicle_states]))
        self.items += len(batch.vehicle_states)
        return ()


class CountingStateServicer(vs_grpc.VehicleServiceServicer):
    """The minimal PublishState servicer of the raw baseline: counts states, answers at the end."""

    async def PublishState(  # noqa: N802 - generated method name
        self, request_iterator: AsyncIterator[vs_pb2.PublishStateRequest], context: aio.ServicerContext[Any, Any]
    ) -> vs_pb2.PublishStateResponse:
        count = 0
        async for request in request_iterator:
            count += len(request.states)
        return vs_pb2.PublishStateResponse(accepted_count=count)

    async def WatchSituation(  # noqa: N802 - generated method name
        self, request_iterator: AsyncIterator[vs_pb2.WatchSituationRequest], context: aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[vs_pb2.WatchSituationResponse]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not part of the raw baseline")
        yield vs_pb2.WatchSituationResponse()  # pragma: no cover - makes this an async generator


class SinkRole:
    """The counting, latency-recording Publish server, plus the raw baseline server."""

    def __init__(self) -> None:
        self.sink = LatencySink()
        self.server: RunningServer | None = None
        self.raw: aio.Server | None = None
        self.cpu_start = time.process_time()

    async def start(self) -> object:
        binding = ServiceBinding(
            PublishServicer(self.sink), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE
        )
        self.server = await start_server([binding], "127.0.0.1:0")
        self.raw = aio.server(
            options=[
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ]
        )
        vs_grpc.add_VehicleServiceServicer_to_server(CountingStateServicer(), self.raw)
        rs_grpc.add_RoadsideServiceServicer_to_server(AckServicer(), self.raw)
        raw_port = self.raw.add_insecure_port("127.0.0.1:0")
        await self.raw.start()
        return {"sink": self.server.port, "raw": raw_port}

    async def handle(self, command: str, *args: Any) -> object:
        if command == "reset":
            self.sink.items, self.sink.batches = 0, []
            self.cpu_start = time.process_time()
            return "ok"
        if command == "count":
            return self.sink.items
        if command == "collect":
            batches = self.sink.batches
            latencies = [received - stamp for received, stamps in batches for stamp in stamps]
            return {
                "items": self.sink.items,
                "first_ms": batches[0][0] if batches else math.nan,
                "last_ms": batches[-1][0] if batches else math.nan,
                "batches": len(batches),
                "cpu_s": time.process_time() - self.cpu_start,
                **_percentiles(latencies),
            }
        raise ValueError(f"unknown command {command!r}")

    async def close(self) -> None:
        if self.server is not None:
            await self.server.stop(0.5)
        if self.raw is not None:
            await self.raw.stop(0.5)


# ---- roadside node -----------------------------------------------------------------------------------


OUTBOX_METHODS = ("append_many", "acknowledge_and_take", "take_batch", "acknowledge")  # the ones the node calls


@dataclass(slots=True)
class DiskTimes:
    """Time the outbox's disk thread spent per method (bench-side timers around the product's methods)."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def wrap(self, name: str, method: Callable[..., _T]) -> Callable[..., _T]:
        self.seconds[name], self.calls[name] = 0.0, 0

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> _T:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


class RoadsideRole:
    """Hosts one RoadsideNode at a time; durable state dirs go under `base_dir`."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = Path(base_dir)
        self.node: RoadsideNode | None = None
        self.state_dir: Path | None = None
        self.disk: DiskTimes | None = None
        self.cpu_start = 0.0
        self.wall_start = 0.0
        self.max_pending = 0
        self.sampler: asyncio.Task[None] | None = None

    async def start(self) -> object:
        return "ok"

    async def _sample_pending(self, node: RoadsideNode) -> None:
        """The most messages the node held for the sink (outbox rows, or queued + unacked in memory)."""
        while True:
            self.max_pending = max(self.max_pending, node.uplink.pending_items)
            await asyncio.sleep(0.01)

    async def handle(self, command: str, *args: Any) -> object:
        if command == "start_node":
            return await self._start(*args)
        if command == "stop_node":
            return await self._stop()
        raise ValueError(f"unknown command {command!r}")

    async def _start(self, node_id: str, durable: bool, cloud_target: str) -> int:
        if self.node is not None:
            raise RuntimeError("a node is already running")
        self.state_dir = self.base_dir / node_id if durable else None
        settings = RoadsideSettings.load(
            node_id=node_id, listen="127.0.0.1:0", cloud_target=cloud_target, state_dir=self.state_dir
        )
        node = RoadsideNode(settings)
        self.disk = None
        if isinstance(node.uplink, DurableUplink):
            self.disk = DiskTimes()
            outbox = node.uplink.outbox
            for name in OUTBOX_METHODS:
                setattr(outbox, name, self.disk.wrap(name, getattr(outbox, name)))
        await node.__aenter__()
        self.node = node
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            while not node.uplink.stats.connected:  # noqa: ASYNC110 - BatchUplink has no "connected" event
                await asyncio.sleep(0.005)
        self.cpu_start, self.wall_start = time.process_time(), time.perf_counter()
        self.max_pending = 0
        self.sampler = asyncio.create_task(self._sample_pending(node), name="bench-roadside-pending")
        return node.port

    async def _stop(self) -> dict[str, Any]:
        node, self.node = self.node, None
        if node is None:
            raise RuntimeError("no node is running")
        cpu_s, wall_s = time.process_time() - self.cpu_start, time.perf_counter() - self.wall_start
        if self.sampler is not None:
            self.sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sampler
        counters = node.counters()
        stats = node.uplink.stats
        try:
            await asyncio.wait_for(node.__aexit__(None, None, None), 10.0)
        finally:
            if self.state_dir is not None:
                shutil.rmtree(self.state_dir, ignore_errors=True)
        return {
            **counters,
            "batches_sent": stats.batches_sent,
            "inbound_batches": node.publish.stats.batches_accepted,
            "inbound_groups": node.publish.stats.groups_committed,
            "dropped": stats.items_dropped,
            "reconnects": stats.reconnects,
            "max_pending": self.max_pending,
            "cpu_s": cpu_s,
            "wall_s": wall_s,
            "disk_s": dict(self.disk.seconds) if self.disk else {},
            "disk_calls": dict(self.disk.calls) if self.disk else {},
        }

    async def close(self) -> None:
        if self.node is not None:
            with contextlib.suppress(Exception):
                await self._stop()


# ---- sender and raw clients --------------------------------------------------------------------------


def _state_pool() -> list[vh_pb2.VehicleState]:
    distinct = vehicle_states(_DISTINCT_STATES)
    pool = []
    for index in range(_POOL_STATES):
        state = vh_pb2.VehicleState()
        state.CopyFrom(distinct[index % len(distinct)])
        pool.append(state)
    return pool


def _requests(states: Sequence[vh_pb2.VehicleState], per_request: int) -> list[rs_pb2.PublishRequest]:
    requests = []
    for first in range(0, _DISTINCT_STATES, per_request):
        request = rs_pb2.PublishRequest(
            sender_id="bench-raw", sender_epoch=1, sent_time_unix_ms=time.time_ns() // 10**6
        )
        request.vehicle_states.extend(states[(first + i) % len(states)] for i in range(per_request))
        requests.append(request)
    return requests


class SenderRole:
    """BatchUplink sender of stamped VehicleStates, and the raw baseline clients."""

    def __init__(self) -> None:
        self.pool: list[vh_pb2.VehicleState] = []
        self.bidi: list[rs_pb2.PublishRequest] = []
        self.cstream: list[vs_pb2.PublishStateRequest] = []

    async def start(self) -> object:
        self.pool = _state_pool()
        self.bidi = _requests(self.pool, BATCH_ITEMS)
        self.cstream = [vs_pb2.PublishStateRequest(states=request.vehicle_states) for request in self.bidi]
        return "ok"

    async def handle(self, command: str, *args: Any) -> object:
        if command == "uplink":
            return await self._uplink(*args)
        if command == "raw_cstream":
            return await self._raw_cstream(*args)
        if command == "raw_bidi":
            return await self._raw_bidi(*args)
        raise ValueError(f"unknown command {command!r}")

    async def _uplink(self, target: str, sender_id: str, messages: int, rate_per_s: float | None) -> dict[str, Any]:
        """Send `messages` states (paced at `rate_per_s`, or as fast as possible) and flush them."""
        uplink = BatchUplink(target, sender_id, max_batch_items=BATCH_ITEMS)
        runner = asyncio.create_task(uplink.run(), name="bench-sender-uplink")
        pool, size = self.pool, len(self.pool)
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT_S):
                while not uplink.stats.connected:  # noqa: ASYNC110 - BatchUplink has no "connected" event
                    await asyncio.sleep(0.005)
            cpu_start, start_ns, started = time.process_time(), time.time_ns(), time.perf_counter()
            sent = 0
            while sent < messages:
                due = (
                    messages if rate_per_s is None else min(messages, int((time.perf_counter() - started) * rate_per_s))
                )
                while sent < due:
                    state = pool[sent % size]
                    state.time_unix_ms = time.time_ns() // 1_000_000
                    await uplink.send(FIELD, state)
                    sent += 1
                if rate_per_s is not None:
                    await asyncio.sleep(0.001)
            sent_ns = time.time_ns()
            if not await uplink.flush(timeout_s=120.0):
                raise TimeoutError(f"flush of {messages} states did not complete")
            end_ns = time.time_ns()
            cpu_s = time.process_time() - cpu_start
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        return {
            "start_ns": start_ns,
            "sent_ns": sent_ns,
            "end_ns": end_ns,
            "acked": uplink.stats.items_acked,
            "cpu_s": cpu_s,
        }

    async def _raw_cstream(self, target: str, messages: int) -> float:
        """Seconds to send `messages` states as PublishState client-stream writes of 256 until the answer."""
        writes = messages // BATCH_ITEMS
        async with aio.insecure_channel(target) as channel:
            await asyncio.wait_for(channel.channel_ready(), _CONNECT_TIMEOUT_S)
            call = vs_grpc.VehicleServiceStub(channel).PublishState()
            started = time.perf_counter()
            for index in range(writes):
                await call.write(self.cstream[index % len(self.cstream)])
            await call.done_writing()
            response = await call
            elapsed = time.perf_counter() - started
        if response.accepted_count != writes * BATCH_ITEMS:
            raise RuntimeError(f"raw client stream: {response.accepted_count} of {writes * BATCH_ITEMS} counted")
        return elapsed

    async def _raw_bidi(self, target: str, messages: int) -> float:
        """Seconds to send `messages` states as Publish bidi writes of 256, every write acked."""
        return await measure_raw(self.bidi, target, messages)

    async def close(self) -> None:
        return None


# ---- cloud node and SDK ------------------------------------------------------------------------------


class CloudRole:
    """A real CloudNode; every vehicle state its store receives is recorded as (receive wall ms, stamp ms).

    The record comes from a bench-side wrapper around the store's `update_vehicle` (the product is untouched).
    """

    def __init__(self) -> None:
        self.node: CloudNode | None = None
        self.received: list[tuple[float, int]] = []
        self.cpu_start = time.process_time()
        self.wall_start = time.perf_counter()

    async def start(self) -> object:
        node = CloudNode(CloudSettings.load(listen="127.0.0.1:0"))
        update_vehicle = node.store.update_vehicle
        received = self.received

        def recording_update(state: VehicleState) -> None:
            received.append((time.time_ns() / 1e6, state.time_unix_ms))
            update_vehicle(state)

        node.store.update_vehicle = recording_update  # type: ignore[method-assign]
        await node.__aenter__()
        self.node = node
        return node.port

    async def handle(self, command: str, *args: Any) -> object:
        if command == "reset":
            self.received.clear()
            self.cpu_start, self.wall_start = time.process_time(), time.perf_counter()
            return "ok"
        if command == "collect":
            return self._collect(*args)
        raise ValueError(f"unknown command {command!r}")

    def _collect(self, start_ms: float, end_ms: float) -> dict[str, Any]:
        """States stamped in [start_ms, end_ms): how many arrived, and their stamp -> cloud latency."""
        latencies = [received - stamp for received, stamp in self.received if start_ms <= stamp < end_ms]
        return {
            "states": len(latencies),
            "total": len(self.received),
            "cpu_s": time.process_time() - self.cpu_start,
            "wall_s": time.perf_counter() - self.wall_start,
            **_percentiles(latencies),
        }

    async def close(self) -> None:
        if self.node is not None:
            await asyncio.wait_for(self.node.__aexit__(None, None, None), 15.0)


def _vehicle_ids(vehicles: int) -> list[bytes]:
    return [(0xB0000000 + index).to_bytes(4, "big") for index in range(vehicles)]


def _vehicle_positions(vehicles: int) -> list[Position]:
    side = math.ceil(math.sqrt(vehicles))
    return [Position(39.90 + (i // side) * 1e-4, 116.40 + (i % side) * 1e-4, 45.0) for i in range(vehicles)]


@dataclass(slots=True)
class Ticks:
    """The simulation clock: ticks of `period_s` from `t0`, and how late they ran."""

    period_s: float
    t0: float = field(default_factory=time.perf_counter)
    late: int = 0
    max_lag_s: float = 0.0

    async def wait(self, tick: int) -> None:
        delay = self.t0 + tick * self.period_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
            return
        self.max_lag_s = max(self.max_lag_s, -delay)
        if -delay > self.period_s / 2:
            self.late += 1
        await asyncio.sleep(0)


class SdkRole:
    """One SDK client process simulating `vehicles` vehicles at `rate_hz` each over one channel."""

    async def start(self) -> object:
        return "ok"

    async def handle(self, command: str, *args: Any) -> object:
        if command == "managed":
            return await self._managed(*args)
        if command == "plain":
            return await self._plain(*args)
        raise ValueError(f"unknown command {command!r}")

    async def _managed(self, target: str, vehicles: int, rate_hz: float, warmup_s: float, measure_s: float) -> object:
        """`VehicleClient.publish_state` per vehicle per tick (the SDK batches pending vehicles per write)."""
        ids, positions = _vehicle_ids(vehicles), _vehicle_positions(vehicles)
        warm_ticks, ticks = round(warmup_s * rate_hz), round((warmup_s + measure_s) * rate_hz)
        async with VehicleClient(target, connect_timeout_s=_CONNECT_TIMEOUT_S) as client:
            clock = Ticks(1.0 / rate_hz)
            window: dict[str, Any] = {}
            publish_s = 0.0
            for tick in range(ticks + 1):
                await clock.wait(tick)
                if tick == warm_ticks:
                    window |= _mark("start", client.publish_stats.states_sent, client.publish_stats.states_replaced)
                    clock.late, clock.max_lag_s, publish_s = 0, 0.0, 0.0
                if tick == ticks:
                    window |= _mark("end", client.publish_stats.states_sent, client.publish_stats.states_replaced)
                    break
                begun = time.perf_counter()
                now_ms = time.time_ns() // 1_000_000
                for index in range(vehicles):
                    state = VehicleState(
                        temporary_id=ids[index],
                        time_unix_ms=now_ms,
                        position=positions[index],
                        message_count=tick % 128,
                        speed_mps=12.5,
                        heading_deg=90.0,
                    )
                    await client.publish_state(state)
                publish_s += time.perf_counter() - begun
        return {
            **window,
            "offered": (ticks - warm_ticks) * vehicles,
            "sent": window["end_sent"] - window["start_sent"],
            "replaced": window["end_replaced"] - window["start_replaced"],
            "late_ticks": clock.late,
            "max_lag_ms": clock.max_lag_s * 1e3,
            "app_publish_s": publish_s,
        }

    async def _plain(self, target: str, vehicles: int, rate_hz: float, warmup_s: float, measure_s: float) -> object:
        """`VehicleClient.publisher().publish(*states)`: all vehicles' states in one write per tick."""
        ids, positions = _vehicle_ids(vehicles), _vehicle_positions(vehicles)
        warm_ticks, ticks = round(warmup_s * rate_hz), round((warmup_s + measure_s) * rate_hz)
        async with VehicleClient(target, connect_timeout_s=_CONNECT_TIMEOUT_S) as client:
            publisher = client.publisher()
            clock = Ticks(1.0 / rate_hz)
            window: dict[str, Any] = {}
            sent = 0
            for tick in range(ticks + 1):
                await clock.wait(tick)
                if tick == warm_ticks:
                    window |= _mark("start", sent, 0)
                    clock.late, clock.max_lag_s = 0, 0.0
                if tick == ticks:
                    window |= _mark("end", sent, 0)
                    break
                now_ms = time.time_ns() // 1_000_000
                states = [
                    VehicleState(
                        temporary_id=ids[index],
                        time_unix_ms=now_ms,
                        position=positions[index],
                        message_count=tick % 128,
                        speed_mps=12.5,
                        heading_deg=90.0,
                    )
                    for index in range(vehicles)
                ]
                await asyncio.wait_for(publisher.publish(*states), _CONNECT_TIMEOUT_S)
                sent += len(states)
            result = await asyncio.wait_for(publisher.close(), 15.0)
        return {
            **window,
            "offered": (ticks - warm_ticks) * vehicles,
            "sent": window["end_sent"] - window["start_sent"],
            "replaced": 0,
            "accepted_total": result.accepted,
            "late_ticks": clock.late,
            "max_lag_ms": clock.max_lag_s * 1e3,
        }

    async def close(self) -> None:
        return None


def _mark(name: str, sent: int, replaced: int) -> dict[str, Any]:
    return {
        f"{name}_ns": time.time_ns(),
        f"{name}_cpu_s": time.process_time(),
        f"{name}_sent": sent,
        f"{name}_replaced": replaced,
    }


ROLES: dict[str, Callable[..., Role]] = {
    "sink": SinkRole,
    "roadside": RoadsideRole,
    "sender": SenderRole,
    "cloud": CloudRole,
    "sdk": SdkRole,
}

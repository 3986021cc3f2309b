"""Store and forward: nothing bound for the cloud is lost or doubled when the cloud or the roadside dies.

Safety messages (vehicle states) are counted at the cloud by identity; each must arrive exactly once.
Bulk perception may be dropped under the outbox's bound, but only oldest-first and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from v2x.roadside.v1 import perception_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.sequence_ledger import SequenceLedger
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

pytestmark = pytest.mark.integration

WAIT_S = 60.0


class CloudCounter:
    """Counts what reaches the cloud: vehicle states by temporary id, frames by sequence."""

    def __init__(self) -> None:
        self.states: Counter[bytes] = Counter()
        self.frames: Counter[int] = Counter()

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.states.update(state.temporary_id for state in batch.vehicle_states)
        self.frames.update(frame.frame_sequence for frame in batch.frames)
        return ()


class Cloud:
    """A cloud endpoint whose accepted-sequence ledger lives in `ledger_path` (as a cloud node's does)."""

    def __init__(self, counter: CloudCounter, ledger_path: Path) -> None:
        self.counter = counter
        self.ledger_path = ledger_path
        self.port = 0
        self._server: RunningServer | None = None
        self._ledger: SequenceLedger | None = None
        self._servicer: PublishServicer | None = None

    async def start(self) -> None:
        self._ledger = SequenceLedger(self.ledger_path)
        servicer = self._servicer = PublishServicer(self.counter, ledger=self._ledger)
        binding = ServiceBinding(servicer, rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
        self._server = await start_server([binding], f"127.0.0.1:{self.port}")
        self.port = self._server.port

    async def kill(self) -> None:
        """Stop hard (no grace for calls); batches already being accepted finish, as in a cloud node."""
        if self._server is not None:
            await self._server.server.stop(0)
        if self._servicer is not None:
            await self._servicer.drain(10.0)
        if self._ledger is not None:
            self._ledger.close()


def _state(index: int) -> vehicle_pb2.VehicleState:
    return vehicle_pb2.VehicleState(temporary_id=index.to_bytes(4, "big"), message_count=index % 128, speed_mps=9.5)


def _frame(index: int) -> perception_pb2.PerceptionFrame:
    objects = [perception_pb2.DetectedObject(object_id=i) for i in range(20)]
    return perception_pb2.PerceptionFrame(source_id="rsu-1", frame_sequence=index, objects=objects)


async def _until(predicate: Callable[[], bool], what: str) -> None:
    """Poll `predicate` until it holds; fail naming `what` after WAIT_S."""
    try:
        async with asyncio.timeout(WAIT_S):
            while not predicate():
                await asyncio.sleep(0.001)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def _writer(target: str) -> AsyncIterator[BatchUplink]:
    """The gateway side: an in-memory uplink into the roadside node."""
    uplink = BatchUplink(target, "gateway-1", max_batch_items=100)
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_cloud_down_for_a_while_loses_no_safety_message(tmp_path: Path) -> None:
    cloud = Cloud(CloudCounter(), tmp_path / "cloud-ledger.db")
    await cloud.start()
    settings = RoadsideSettings.load(
        listen="127.0.0.1:0",
        cloud_target=f"127.0.0.1:{cloud.port}",
        state_dir=tmp_path / "rsu",
        uplink_capacity_items=4_000,
    )
    async with RoadsideNode(settings) as roadside, _writer(f"127.0.0.1:{roadside.port}") as writer:
        for i in range(500):
            await writer.send("vehicle_states", _state(i))
        await _until(lambda: len(cloud.counter.states) >= 200, "first states at the cloud")
        await cloud.kill()
        for i in range(500, 3_000):
            await writer.send("vehicle_states", _state(i))
            await writer.send("frames", _frame(i))
        assert await writer.flush(WAIT_S)  # everything is in the roadside outbox now
        assert roadside.uplink.pending_items > 2_000
        await cloud.start()  # a new process would see the same ledger file
        await _until(lambda: len(cloud.counter.states) == 3_000, "every state at the cloud")
        assert await roadside.uplink.flush(WAIT_S)
        # Frames, and possibly the node's own startup heartbeat (`statuses`, also bulk), give way at the bound.
        dropped_by_field = dict(roadside.uplink.stats.dropped_by_field)
        dropped = dropped_by_field.pop("frames", 0)
    await cloud.kill()
    assert set(dropped_by_field) <= {"statuses"}
    assert set(cloud.counter.states) == {i.to_bytes(4, "big") for i in range(3_000)}
    assert max(cloud.counter.states.values()) == 1
    assert dropped > 0  # the bound was hit, and only bulk frames gave way
    assert len(cloud.counter.frames) + dropped == 2_500
    assert cloud.counter.frames  # at most 3,000 states are held, so frames fit beside them
    assert max(cloud.counter.frames.values()) == 1


async def _send_states(writer: BatchUplink, count: int) -> None:
    """Keep a steady stream going, so that a crash lands while batches are in flight."""
    for i in range(count):
        await writer.send("vehicle_states", _state(i))
        if i % 20 == 0:
            await asyncio.sleep(0.002)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _start_roadside_process(env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "roadlink.cli", "roadside"]
    process = await asyncio.to_thread(subprocess.Popen, command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)
    assert "listening" in line, line
    return process


async def test_roadside_killed_mid_stream_loses_and_doubles_nothing(tmp_path: Path) -> None:
    cloud = Cloud(CloudCounter(), tmp_path / "cloud-ledger.db")
    await cloud.start()
    port = _free_port()
    env = dict(
        os.environ,
        ROADLINK_ROADSIDE_LISTEN=f"127.0.0.1:{port}",
        ROADLINK_ROADSIDE_CLOUD_TARGET=f"127.0.0.1:{cloud.port}",
        ROADLINK_ROADSIDE_STATE_DIR=str(tmp_path / "rsu"),
    )
    roadside = await _start_roadside_process(env)
    try:
        async with _writer(f"127.0.0.1:{port}") as writer:
            sending = asyncio.create_task(_send_states(writer, 3_000))
            await _until(lambda: len(cloud.counter.states) >= 500, "first states at the cloud")
            await _until(lambda: writer.unacked_batches > 0, "a gateway batch in flight")
            roadside.send_signal(signal.SIGKILL)  # a crash mid-stream: batches in flight, no clean shutdown
            await asyncio.to_thread(roadside.wait, 10)
            resent_before = writer.stats.batches_resent
            roadside = await _start_roadside_process(env)
            await asyncio.wait_for(sending, WAIT_S)
            assert await writer.flush(WAIT_S)
            await _until(lambda: len(cloud.counter.states) == 3_000, "every state at the cloud")
            await asyncio.sleep(0.5)  # give a duplicate, if any, the time to show up
            resent = writer.stats.batches_resent - resent_before
    finally:
        roadside.send_signal(signal.SIGTERM)
        await asyncio.to_thread(roadside.wait, 10)
        await cloud.kill()
    assert resent > 0  # the crash caught gateway batches in flight, which were sent again
    assert set(cloud.counter.states) == {i.to_bytes(4, "big") for i in range(3_000)}
    assert max(cloud.counter.states.values()) == 1

"""The uplink's overflow policy: droppable messages give way oldest-first; everything else waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest
from v2x.roadside.v1 import perception_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2

from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.frames: list[int] = []
        self.states: list[int] = []

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.frames += [f.frame_sequence for f in batch.frames]
        self.states += [s.message_count for s in batch.vehicle_states]
        return ()


def _frame(n: int) -> perception_pb2.PerceptionFrame:
    return perception_pb2.PerceptionFrame(source_id="rsu", frame_sequence=n)


def _state(n: int) -> vehicle_pb2.VehicleState:
    return vehicle_pb2.VehicleState(temporary_id=b"\x01\x02\x03\x04", message_count=n)


async def test_droppable_frames_give_way_oldest_first_and_safety_never_waits() -> None:
    probe = await start_server([], "127.0.0.1:0")  # reserve a port with nothing serving Publish yet
    port = probe.port
    await probe.stop(0)
    uplink = BatchUplink(f"127.0.0.1:{port}", "gw", capacity_items=10, droppable_fields=["frames"])
    done: list[int] = []
    for n in range(10):
        await uplink.send("frames", _frame(n), on_done=lambda n=n: done.append(n))  # type: ignore[misc]
    for n in range(3):
        await asyncio.wait_for(uplink.send("vehicle_states", _state(n)), 1.0)  # never blocks behind frames
    await uplink.send("frames", _frame(10))
    assert uplink.stats.items_dropped == 4
    assert done == [0, 1, 2, 3]  # a dropped message's callback runs, so its MQTT message is released
    for n in range(3, 10):
        await uplink.send("vehicle_states", _state(n))  # the remaining seven frames give way too
    with pytest.raises(TimeoutError):  # nothing droppable left: backpressure, not loss
        await uplink.send("vehicle_states", _state(99), timeout_s=0.2)
    recorder = Recorder()
    binding = ServiceBinding(PublishServicer(recorder), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], f"127.0.0.1:{port}")
    running = asyncio.create_task(uplink.run())
    try:
        assert await uplink.flush(10.0)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await server.stop(0)
    assert recorder.states == list(range(10))
    assert recorder.frames == []
    assert uplink.stats.items_dropped == 11
